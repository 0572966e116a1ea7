"""Vectorised NMEA 0183 AIS encoder: position reports (types 1, 3, 18) and static data (types 5, 24).

Fields are packed into a (messages x bits) 0/1 matrix, grouped by six, "armoured" into payload characters
(ITU-R M.1371 / IEC 61162-1), and framed as ``\\s:sim,c:<unix>*hh\\!AIVDM,...*hh`` lines. Every message of
one type has the same width (tag blocks use 10-digit unix seconds), so whole batches become fixed-width
byte matrices and checksums are an XOR-reduce along the rows: no per-message Python loop.
"""

from __future__ import annotations

import numpy as np

SOURCE = "sim"
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_POW10 = 10 ** np.arange(9, -1, -1, dtype=np.int64)


def _field(values: np.ndarray | int, width: int, n: int) -> np.ndarray:
    """(n, width) bits of integer ``values`` (two's complement for negatives), most significant first."""
    v = np.broadcast_to(np.asarray(values, dtype=np.int64), (n,)) & ((1 << width) - 1)
    bits = np.unpackbits(v.astype(">u8").view(np.uint8).reshape(n, 8), axis=1)  # (n, 64), MSB first
    return bits[:, 64 - width :]


def _text(values: np.ndarray, chars: int) -> np.ndarray:
    """(n, 6*chars) bits of AIS 6-bit text, padded with '@' (code 0)."""
    raw = np.asarray(values, dtype=f"S{chars}").view(np.uint8).reshape(len(values), chars).astype(np.int64)
    codes = np.where(raw >= 64, raw - 64, raw)  # '@'..'_' -> 0..31, ' '..'?' -> 32..63, NUL pad -> 0
    return ((codes[:, :, None] >> np.arange(5, -1, -1)) & 1).reshape(len(values), chars * 6).astype(np.uint8)


def _armour(bits: np.ndarray) -> np.ndarray:
    """(n, nbits) bits -> (n, ceil(nbits/6)) payload characters (fill bits are zeros)."""
    n, nb = bits.shape
    pad = (-nb) % 6
    if pad:
        bits = np.hstack([bits, np.zeros((n, pad), dtype=np.uint8)])
    b = bits.reshape(n, -1, 6)
    v = (
        (b[:, :, 0] << 5)
        | (b[:, :, 1] << 4)
        | (b[:, :, 2] << 3)
        | (b[:, :, 3] << 2)
        | (b[:, :, 4] << 1)
        | b[:, :, 5]
    )
    return v + np.where(v >= 40, 56, 48).astype(np.uint8)


def _const(text: bytes, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))


def _checksum(body: np.ndarray) -> np.ndarray:
    """(n, 2) uppercase hex of the XOR of each row."""
    x = np.bitwise_xor.reduce(body, axis=1)
    return np.stack([_HEX[x >> 4], _HEX[x & 15]], axis=1)


def _tag(ts: np.ndarray, source: str) -> np.ndarray:
    """``\\s:<source>,c:<unix>*hh\\`` tag blocks (unix seconds must have 10 digits)."""
    n = len(ts)
    digits = ((ts[:, None] // _POW10) % 10 + 48).astype(np.uint8)
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
    out = np.zeros((n, 0), dtype=np.uint8)
    rows = []
    if a.any():
        k = int(a.sum())
        bits = np.hstack(
            [
                _field(msg_type[a], 6, k), _field(0, 2, k), _field(mmsi[a], 30, k), _field(nav[a], 4, k),
                _field(-128, 8, k), _field(sog_i[a], 10, k), _field(0, 1, k), _field(lon_i[a], 28, k),
                _field(lat_i[a], 27, k), _field(cog_i[a], 12, k), _field(hdg[a], 9, k), _field(second[a], 6, k),
                _field(0, 2, k), _field(0, 3, k), _field(0, 1, k), _field(0, 19, k),
            ]
        )  # fmt: skip
        rows.append((np.flatnonzero(a), _sentences(ts[a], _armour(bits), 0, _channel(ts[a]), source)))
    b = ~a
    if b.any():
        k = int(b.sum())
        bits = np.hstack(
            [
                _field(18, 6, k), _field(0, 2, k), _field(mmsi[b], 30, k), _field(0, 8, k), _field(sog_i[b], 10, k),
                _field(0, 1, k), _field(lon_i[b], 28, k), _field(lat_i[b], 27, k), _field(cog_i[b], 12, k),
                _field(hdg[b], 9, k), _field(second[b], 6, k), _field(0, 2, k), _field(1, 1, k),
                _field(0, 1, k), _field(1, 1, k), _field(1, 1, k), _field(0, 1, k), _field(0, 1, k),
                _field(0, 1, k), _field(0, 20, k),
            ]
        )  # fmt: skip
        rows.append((np.flatnonzero(b), _sentences(ts[b], _armour(bits), 0, _channel(ts[b]), source)))
    if len(rows) == 1:
        return rows[0][1]
    out = np.zeros((n, rows[0][1].shape[1]), dtype=np.uint8)  # types 1/3 and 18 have the same width
    for idx, mat in rows:
        out[idx] = mat
    return out


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
    bow = np.rint(length_m * 0.6).astype(np.int64)
    port = (width_m // 2).astype(np.int64)
    bits = np.hstack(
        [
            _field(5, 6, n), _field(0, 2, n), _field(mmsi, 30, n), _field(0, 2, n), _field(imo, 30, n),
            _text(callsign, 7), _text(name, 20), _field(ship_type, 8, n), _field(bow, 9, n),
            _field(length_m.astype(np.int64) - bow, 9, n), _field(port, 6, n),
            _field(width_m.astype(np.int64) - port, 6, n), _field(1, 4, n), _field(eta[:, 0], 4, n),
            _field(eta[:, 1], 5, n), _field(eta[:, 2], 5, n), _field(eta[:, 3], 6, n),
            _field(np.rint(draught * 10), 8, n), _text(destination, 20), _field(0, 1, n), _field(0, 1, n),
        ]
    )  # fmt: skip
    return _two_part(ts, _armour(bits), 2, _channel(ts), (np.arange(n) % 10).astype(np.int64), source)


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
    bow = np.rint(length_m * 0.6).astype(np.int64)
    port = (width_m // 2).astype(np.int64)
    part_a = np.hstack([_text(name, 20), _field(0, 8, n)])
    part_b = np.hstack(
        [
            _field(ship_type, 8, n), _text(np.full(n, "SIM"), 3), _field(0, 4, n), _field(0, 20, n),
            _text(callsign, 7), _field(bow, 9, n), _field(length_m.astype(np.int64) - bow, 9, n),
            _field(port, 6, n), _field(width_m.astype(np.int64) - port, 6, n), _field(0, 6, n),
        ]
    )  # fmt: skip
    body = np.where((part == 0)[:, None], part_a, part_b)
    bits = np.hstack([_field(24, 6, n), _field(0, 2, n), _field(mmsi, 30, n), _field(part, 2, n), body])
    return _sentences(ts, _armour(bits), 0, _channel(ts), source)


def interleave(groups: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Merge fixed-width line groups [(ts, (n, w) matrix), ...] into one byte string ordered by time."""
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
