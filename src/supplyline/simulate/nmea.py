"""Vectorised NMEA 0183 AIS encoder: position reports (types 1, 3, 18) and static data (types 5, 24).

Fields are packed into 64-bit words (one array per word across all messages), cut into six-bit groups,
"armoured" into payload characters (ITU-R M.1371 / IEC 61162-1), and framed as ``\\s:sim,c:<unix>*hh\\!AIVDM,...*hh`` lines. Every message of
one type has the same width (tag blocks use 10-digit unix seconds), so whole batches become fixed-width
byte matrices and checksums are an XOR-reduce along the rows: no per-message Python loop.
"""

from __future__ import annotations

import numpy as np

SOURCE = "sim"
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


Field = tuple["np.ndarray | int", int]
"""(values, width in bits): integers (two's complement for negatives) or a scalar for every message."""


def _text(values: np.ndarray, chars: int) -> list[Field]:
    """AIS 6-bit text as ``chars`` six-bit fields, padded with '@' (code 0)."""
    raw = np.asarray(values, dtype=f"S{chars}").view(np.uint8).reshape(len(values), chars).astype(np.int64)
    codes = np.where(raw >= 64, raw - 64, raw)  # '@'..'_' -> 0..31, ' '..'?' -> 32..63, NUL pad -> 0
    return [(codes[:, k], 6) for k in range(chars)]


def _payload(fields: list[Field], n: int) -> np.ndarray:
    """Pack ``fields`` MSB-first into 64-bit words, then cut six-bit groups and armour them as payload
    characters (ITU-R M.1371 table 44): (n, ceil(bits / 6)) uint8. Fill bits are zeros.

    Every step is one NumPy operation over all n messages per field or per character.
    """
    total = sum(w for _, w in fields)
    nchars = -(-total // 6)
    words = np.zeros((-(-nchars * 6 // 64), n), dtype=np.uint64)
    pos = 0
    for vals, w in fields:
        if not (isinstance(vals, int) and vals == 0):  # zero fields need no work
            v = (np.asarray(vals, dtype=np.int64) & ((1 << w) - 1)).astype(np.uint64)
            wi, off = divmod(pos, 64)
            room = 64 - off
            if w <= room:
                words[wi] |= v << np.uint64(room - w)
            else:  # the field straddles two words
                lo = w - room
                words[wi] |= v >> np.uint64(lo)
                words[wi + 1] |= (v & np.uint64((1 << lo) - 1)) << np.uint64(64 - lo)
        pos += w
    out = np.empty((nchars, n), dtype=np.uint8)
    six = np.uint64(63)
    for k in range(nchars):
        wi, off = divmod(6 * k, 64)
        room = 64 - off
        if room >= 6:
            c = (words[wi] >> np.uint64(room - 6)) & six
        else:
            need = 6 - room
            c = ((words[wi] & np.uint64((1 << room) - 1)) << np.uint64(need)) | (
                words[wi + 1] >> np.uint64(64 - need)
            )
        c8 = c.astype(np.uint8)
        out[k] = c8 + np.where(c8 >= 40, 56, 48).astype(np.uint8)
    return np.ascontiguousarray(out.T)


def _const(text: bytes, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))


def _checksum(body: np.ndarray) -> np.ndarray:
    """(n, 2) uppercase hex of the XOR of each row."""
    x = np.bitwise_xor.reduce(body, axis=1)
    return np.stack([_HEX[x >> 4], _HEX[x & 15]], axis=1)


def _tag(ts: np.ndarray, source: str) -> np.ndarray:
    """``\\s:<source>,c:<unix>*hh\\`` tag blocks (unix seconds must have 10 digits)."""
    n = len(ts)
    digits = np.asarray(ts, dtype=np.int64).astype("S10").view(np.uint8).reshape(n, 10)
    body = np.hstack([_const(f"s:{source},c:".encode(), n), digits])
    return np.hstack([_const(b"\\", n), body, _const(b"*", n), _checksum(body), _const(b"\\", n)])


def _sentences(
    ts: np.ndarray, payload: np.ndarray, fill: int, channel: np.ndarray, source: str
) -> np.ndarray:
    """Single-sentence messages, one line each (n, width) including the newline."""
    n = len(ts)
    body = np.hstack(
        [
            _const(b"AIVDM,1,1,,", n),
            channel[:, None],
            _const(b",", n),
            payload,
            _const(f",{fill}".encode(), n),
        ]
    )
    return np.hstack(
        [_tag(ts, source), _const(b"!", n), body, _const(b"*", n), _checksum(body), _const(b"\n", n)]
    )


def _two_part(
    ts: np.ndarray, payload: np.ndarray, fill: int, channel: np.ndarray, seq: np.ndarray, source: str
) -> np.ndarray:
    """Two-sentence messages (type 5): both lines in one row (n, width)."""
    n = len(ts)
    tag = _tag(ts, source)
    parts = []
    cut = 60
    for k, (chunk, f) in enumerate(((payload[:, :cut], 0), (payload[:, cut:], fill)), start=1):
        body = np.hstack(
            [
                _const(f"AIVDM,2,{k},".encode(), n),
                (seq[:, None] + 48).astype(np.uint8),
                _const(b",", n),
                channel[:, None],
                _const(b",", n),
                chunk,
                _const(f",{f}".encode(), n),
            ]
        )
        parts.append(
            np.hstack([tag, _const(b"!", n), body, _const(b"*", n), _checksum(body), _const(b"\n", n)])
        )
    return np.hstack(parts)


def _channel(ts: np.ndarray) -> np.ndarray:
    return np.where(ts % 2 == 0, ord("A"), ord("B")).astype(np.uint8)


def encode_positions(
    mmsi: np.ndarray,
    ts: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    sog: np.ndarray,
    cog: np.ndarray,
    heading: np.ndarray,
    nav: np.ndarray,
    msg_type: np.ndarray,
    source: str = SOURCE,
) -> np.ndarray:
    """(n, width) NMEA lines for position reports; class B rows (type 18) ignore ``nav``; NaN heading = 511."""
    n = len(mmsi)
    sog_i = np.where(np.isnan(sog), 1023, np.rint(sog * 10)).astype(np.int64)
    cog_i = np.where(np.isnan(cog), 3600, np.rint(cog * 10)).astype(np.int64)
    hdg = np.where(np.isnan(heading), 511, heading).astype(np.int64)
    lon_i, lat_i = np.rint(lon * 600_000).astype(np.int64), np.rint(lat * 600_000).astype(np.int64)
    second = ts % 60
    a = msg_type != 18
    rows = []
    if a.any():
        k = int(a.sum())
        fields: list[Field] = [
            (msg_type[a], 6), (0, 2), (mmsi[a], 30), (nav[a], 4), (-128, 8), (sog_i[a], 10), (0, 1),
            (lon_i[a], 28), (lat_i[a], 27), (cog_i[a], 12), (hdg[a], 9), (second[a], 6), (0, 2), (0, 3),
            (0, 1), (0, 19),
        ]  # fmt: skip
        rows.append((np.flatnonzero(a), _sentences(ts[a], _payload(fields, k), 0, _channel(ts[a]), source)))
    b = ~a
    if b.any():
        k = int(b.sum())
        fields = [
            (18, 6), (0, 2), (mmsi[b], 30), (0, 8), (sog_i[b], 10), (0, 1), (lon_i[b], 28), (lat_i[b], 27),
            (cog_i[b], 12), (hdg[b], 9), (second[b], 6), (0, 2), (1, 1), (0, 1), (1, 1), (1, 1), (0, 1),
            (0, 1), (0, 1), (0, 20),
        ]  # fmt: skip
        rows.append((np.flatnonzero(b), _sentences(ts[b], _payload(fields, k), 0, _channel(ts[b]), source)))
    if len(rows) == 1:
        return rows[0][1]
    out = np.zeros((n, rows[0][1].shape[1]), dtype=np.uint8)  # types 1/3 and 18 have the same width
    for idx, mat in rows:
        out[idx] = mat
    return out


def _dimensions(length_m: np.ndarray, width_m: np.ndarray) -> list[Field]:
    """Metres to bow, stern, port and starboard (9, 9, 6, 6 bits); antenna 60 % aft of the bow, amidships."""
    length, width = length_m.astype(np.int64), width_m.astype(np.int64)
    bow = np.rint(length_m * 0.6).astype(np.int64)
    port = (width_m // 2).astype(np.int64)
    return [(bow, 9), (length - bow, 9), (port, 6), (width - port, 6)]


def encode_type5(
    mmsi: np.ndarray,
    ts: np.ndarray,
    imo: np.ndarray,
    callsign: np.ndarray,
    name: np.ndarray,
    ship_type: np.ndarray,
    length_m: np.ndarray,
    width_m: np.ndarray,
    eta: np.ndarray,
    draught: np.ndarray,
    destination: np.ndarray,
    source: str = SOURCE,
) -> np.ndarray:
    """(n, width) two-line type 5 messages. ``eta`` is (n, 4) month, day, hour, minute (0 = n/a)."""
    n = len(mmsi)
    fields: list[Field] = [
        (5, 6), (0, 2), (mmsi, 30), (0, 2), (imo, 30), *_text(callsign, 7), *_text(name, 20),
        (ship_type, 8), *_dimensions(length_m, width_m), (1, 4), (eta[:, 0], 4), (eta[:, 1], 5),
        (eta[:, 2], 5), (eta[:, 3], 6), (np.rint(draught * 10).astype(np.int64), 8), *_text(destination, 20),
        (0, 1), (0, 1),
    ]  # fmt: skip
    return _two_part(ts, _payload(fields, n), 2, _channel(ts), (np.arange(n) % 10).astype(np.int64), source)


def encode_type24(
    mmsi: np.ndarray,
    ts: np.ndarray,
    part: np.ndarray,
    name: np.ndarray,
    callsign: np.ndarray,
    ship_type: np.ndarray,
    length_m: np.ndarray,
    width_m: np.ndarray,
    source: str = SOURCE,
) -> np.ndarray:
    """(n, width) type 24 lines: part 0 (A) carries the name, part 1 (B) type, call sign and dimensions."""
    n = len(mmsi)
    lines = np.zeros((n, 0), dtype=np.uint8)
    out: np.ndarray | None = None
    for p in (0, 1):
        sel = np.flatnonzero(part == p)
        if len(sel) == 0:
            continue
        head: list[Field] = [(24, 6), (0, 2), (mmsi[sel], 30), (p, 2)]
        if p == 0:
            body: list[Field] = [*_text(name[sel], 20), (0, 8)]
        else:
            body = [
                (ship_type[sel], 8), *_text(np.full(len(sel), "SIM"), 3), (0, 4), (0, 20),
                *_text(callsign[sel], 7), *_dimensions(length_m[sel], width_m[sel]), (0, 6),
            ]  # fmt: skip
        lines = _sentences(ts[sel], _payload(head + body, len(sel)), 0, _channel(ts[sel]), source)
        if out is None:
            out = np.zeros((n, lines.shape[1]), dtype=np.uint8)  # parts A and B have the same width
        out[sel] = lines
    return out if out is not None else lines


def interleave(groups: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Merge fixed-width line groups [(ts, (n, w) matrix), ...] into one byte string ordered by time.

    Builds an (n, w) index matrix: meant for the few static messages (positions use ``merge_sorted``).
    """
    groups = [(t, m) for t, m in groups if len(t)]
    if not groups:
        return b""
    ts = np.concatenate([t for t, _ in groups])
    width = np.concatenate([np.full(len(t), m.shape[1], dtype=np.int64) for t, m in groups])
    order = np.argsort(ts, kind="stable")
    offs = np.empty(len(ts), dtype=np.int64)
    offs[order] = np.concatenate([[0], np.cumsum(width[order])[:-1]])
    buf = np.empty(int(width.sum()), dtype=np.uint8)
    start = 0
    for t, m in groups:
        o = offs[start : start + len(t)]
        buf[(o[:, None] + np.arange(m.shape[1])).ravel()] = m.ravel()
        start += len(t)
    return buf.tobytes()


def merge_sorted(
    pos_ts: np.ndarray, pos_lines: np.ndarray, statics: list[tuple[np.ndarray, np.ndarray]]
) -> bytes:
    """Position lines (time-ordered, one width) with the few static messages inserted in time order.

    The statics are interleaved among themselves first; then each goes in after the last position report
    of its second: one ``np.insert`` over the byte buffer, linear in its size.
    """
    flat = pos_lines.ravel()
    statics = [(t, m) for t, m in statics if len(t)]
    if not statics:
        return flat.tobytes()
    sta_ts = np.concatenate([t for t, _ in statics])
    order = np.argsort(sta_ts, kind="stable")
    width = np.concatenate([np.full(len(t), m.shape[1], dtype=np.int64) for t, m in statics])[order]
    sta_bytes = np.frombuffer(interleave(statics), dtype=np.uint8)
    at = np.searchsorted(pos_ts, sta_ts[order], side="right") * pos_lines.shape[1]
    return np.insert(flat, np.repeat(at, width), sta_bytes).tobytes()
