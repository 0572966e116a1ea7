"""NMEA 0183 AIS decoder (``!xxVDM`` / ``!xxVDO``), field-for-field identical to pyais 3.

Why not a loop over sentences: pyais decodes ~250k lines/s; ingest must be several times faster. The
per-line work (line bounds, tag blocks and their fields, checksums, the VDM header, ``$PGHP`` timestamps)
is one pass of a small C scanner (``_scan.c``, GIL released); everything else works on whole arrays with
NumPy: context lines, time and source, and the six-bit payload bit fields of all messages at once. Python
loops remain only over multi-sentence fragments (reassembly) and lines that carry receiver prefixes.

Accepted input, per physical line (CR/LF or LF, surrounding blanks ignored):

* ``#`` comments and blank lines (not counted in ``lines_read``);
* an optional receiver prefix before the sentence; a leading ISO-8601 or Unix timestamp there is used
  as the time when nothing better is known;
* an optional NMEA 4.0 tag block ``\\g:1-2-1604,s:src,c:1418169601*hh\\`` (``c:`` in seconds or
  milliseconds; ``g:`` groups multipart sentences), inline or on a line of its own, in which case it
  applies to the next sentence (DMA/Gatehouse style: ``\\si:AISD*3F\\``);
* ``$PGHP,1,yyyy,mm,dd,HH,MM,SS,ms,country,region,site,...`` (Gatehouse) lines, giving the time and the
  receiving site of the next sentence;
* ``!<talker>VDM|VDO,<count>,<number>,<seq>,<channel>,<payload>,<fill>*hh`` for any talker id, optionally
  followed by receiver metadata (``,b003669705,1272412827`` or ``,d-109,S2105,t..,r003669946,1325394060``:
  the first 10-digit Unix time there is used as a time fallback, an ``r``/``b`` station id as source).

Time of a message, in order: tag block ``c:``, ``$PGHP``, trailing Unix time, leading timestamp; the first
fragment carrying one wins. ``source``: tag block ``s:``, else the ``$PGHP`` site (its site MMSI, else its
country MID), else the trailing station id, else ``source_default``.

Decoded values keep the AIS "not available" codes as numbers (the shared normaliser turns them into null
or quarantine): **lat 91, lon 181, sog 102.3 kn, cog 360 deg, heading 511**. Type 27 (long-range, 1 kn and
1 deg resolution, lat/lon in 1/10 min) maps its own codes sog 63 -> 102.3 and cog 511 -> 360 so one rule
fits all; it has no heading (null). Types 18/19 have no navigational status (null). Latitude/longitude
are rounded to 1e-6 deg exactly as pyais does. Static strings are pyais-stripped; an empty string, IMO 0,
draught 0 and length/width 0 ("not available") become null.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.errors import InputError
from supplyline.ingest import _scan
from supplyline.ingest import _sixbit as sb
from supplyline.ingest._scan import (
    D_CHARS,
    D_CHK,
    D_EMPTY,
    D_FIELDS,
    D_FILL,
    D_FRAG,
    D_INCOMPLETE,
    D_NOCHK,
    D_NODELIM,
    D_NONAIS,
    D_ORPHAN,
    D_PARTNO,
    D_PGHP,
    D_SHORT,
    D_TAGCHK,
    D_TAGJUNK,
    D_TAGNOCHK,
    NOTIME,
)

__all__ = ["POSITIONS_OUT", "STATICS_OUT", "NmeaResult", "decode_nmea", "decode_payloads"]


def _with_lines(base: pa.Schema) -> pa.Schema:
    ts_i = base.get_field_index("ts")
    out = base.set(ts_i, base.field(ts_i).with_nullable(True))
    return out.append(pa.field("_lines", pa.int8())).append(pa.field("_line", pa.int64()))


POSITIONS_OUT = _with_lines(schema.POSITIONS)  # schema.POSITIONS (ts nullable) + _lines, _line
STATICS_OUT = _with_lines(schema.STATICS)


@dataclass(frozen=True)
class NmeaResult:
    """What one NMEA file decoded to.

    ``_lines`` is the number of physical lines a row used (fragments of a multi-sentence message; 0 for
    the static half of a type 19, whose line is counted by its position row), so that
    ``lines_read == positions._lines.sum() + statics._lines.sum() + quarantine.num_rows``.
    ``_line`` is the 1-based physical line where the row's message starts (its first fragment), so rows the
    normaliser rejects can be quoted.
    """

    positions: pa.Table
    statics: pa.Table
    quarantine: pa.Table
    lines_read: int
    physical_lines: int = 0  # all lines of the input, comments and blanks too (the last may lack a newline)
    # the decoded bytes and each physical line's (start, end) in them, for quoting rows rejected later
    _text: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def line_text(self, lines: np.ndarray) -> pa.Array:
        """Text of the given 1-based physical lines (surrounding whitespace removed); null where unknown."""
        lines = np.asarray(lines, np.int64)
        if self._text is None:
            return pa.nulls(lines.size, pa.string())
        buf, st, en = self._text
        ok = (lines >= 1) & (lines <= st.size)
        i = np.where(ok, lines - 1, 0)
        text = sb.slices_to_strings(buf, st[i], np.where(ok, en[i], st[i]))
        return text if ok.all() else pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))


# --- quarantine reasons and details -------------------------------------------------------------------------

_R = {name: i for i, name in enumerate(schema.QUARANTINE_REASONS)}
_DETAILS = [
    "no NMEA sentence start ('!', '$' or a tag block)",  # 0
    "(unused)",  # 1
    "tag block is not of the form \\...*hh\\",  # 2
    "tag block checksum mismatch",  # 3
    "no valid *hh checksum",  # 4
    "checksum mismatch",  # 5
    "VDM/VDO fields are not count,number,seq,channel,payload,fill",  # 6
    "bad fragment count/number or sequence id",  # 7
    "bad fill-bit count",  # 8
    "empty payload",  # 9
    "not an AIS VDM/VDO sentence",  # 10
    "$PGHP line with an invalid date/time",  # 11
    "context line ($PGHP or tag block) not followed by a sentence",  # 12
    "fragment of a multi-sentence message whose other fragments are missing or out of order",  # 13
    "payload has characters outside the AIS six-bit alphabet",  # 14
    "payload too short for its message type",  # 15
    "type 24 with a part number other than 0 (A) or 1 (B)",  # 16
    "tag block followed by something other than a sentence",  # 17
] + [""] * 82
_DETAILS += [f"AIS message type {t} (not a position or static report)" for t in range(64)]  # 100 + type
_DETAIL_REASON = {
    D_NODELIM: "unparsable",
    D_TAGNOCHK: "unparsable",
    D_TAGCHK: "bad_checksum",
    D_NOCHK: "unparsable",
    D_CHK: "bad_checksum",
    D_FIELDS: "unparsable",
    D_FRAG: "unparsable",
    D_FILL: "unparsable",
    D_EMPTY: "empty_payload",
    D_NONAIS: "unsupported_type",
    D_PGHP: "unparsable",
    D_ORPHAN: "unsupported_type",
    D_INCOMPLETE: "incomplete_multipart",
    D_CHARS: "unparsable",
    D_SHORT: "unparsable",
    D_PARTNO: "unparsable",
    D_TAGJUNK: "unparsable",
}
_DETAIL_REASON_CODE = np.full(len(_DETAILS), _R["unsupported_type"], np.int16)
for _d, _r in _DETAIL_REASON.items():
    _DETAIL_REASON_CODE[_d] = _R[_r]

# --- byte tables --------------------------------------------------------------------------------------------

_POSITION_TYPES = (1, 2, 3, 18, 19, 27)
_STATIC_TYPES = (5, 19, 24)


# --- small vectorised helpers -------------------------------------------------------------------------------
# Every gather reads a zero-padded copy of the input (``pbuf``): sentinel positions point into the padding,
# so look-ups past the end of a line or of the file read zeros instead of needing masks.

_PAD = 256


def _padded(data: bytes, room: int = 0) -> np.ndarray:
    """``data`` + 256 zero bytes (+ ``room`` more: calloc'd pages cost nothing until written)."""
    pbuf = np.zeros(len(data) + _PAD + room, np.uint8)
    pbuf[: len(data)] = np.frombuffer(data, np.uint8)
    return pbuf


def _window(pbuf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``pbuf[at[i] : at[i] + width]`` for every i as an (n, width) uint8 matrix (one strided gather)."""
    view = np.ndarray((pbuf.size - width + 1, width), np.uint8, buffer=pbuf, strides=(1, 1))  # no copy
    return view[at]


# --- payload decoding ---------------------------------------------------------------------------------------


# message type -> decoding group of _decode (-1: not decoded)
_GROUP_OF_TYPE = np.full(64, -1, np.int64)
for _g, _types in enumerate(((1, 2, 3), (18,), (19,), (27,), (5,), (24,))):
    _GROUP_OF_TYPE[list(_types)] = _g


def _armor(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, width) payload bytes -> char-major (width, rows) six-bit values and a per-row "all legal" mask.

    uint8 arithmetic instead of a table look-up: a gather with uint8 indices converts them to intp first,
    which cost more than the decode itself. Legal bytes are '0'..'W' (v = c - 48 in 0..39) and '`'..'w'
    (v in 48..71, six-bit v - 8); illegal bytes take pyais's table value (:data:`_sixbit.ARMOR`).
    """
    chars = np.ascontiguousarray(raw.T)
    v = chars - np.uint8(48)  # wraps below '0'
    hi = v > 39
    illegal = hi & ((v < 48) | (v > 71))
    v -= hi.view(np.uint8) << np.uint8(3)
    ok = np.logical_not(illegal.any(axis=0))
    if not ok.all():
        v = np.where(illegal, sb.ARMOR[chars], v)
    return v, ok


def _lat_lon(raw: np.ndarray, scale: int) -> np.ndarray:
    """Raw 1/10000 min (scale 10) or 1/10 min (scale 10000) units -> degrees rounded to 1e-6 like pyais."""
    return ((scale * raw + 3) // 6) / 1e6


def _decode(
    pbuf: np.ndarray, pstart: np.ndarray, plen: np.ndarray, fill: np.ndarray
) -> dict[str, np.ndarray]:
    """Decode position (1, 2, 3, 18, 19, 27) and static (5, 19, 24) fields of many payloads at once.

    Returns NumPy columns, one row per payload: ``msg_type``, ``mmsi``, ``bad`` (detail code, -1 = fine),
    ``is_pos``/``is_static``; position columns (NaN / -1 where missing) and static columns, text fields
    as ASCII matrices (``name_chars`` ...) with ``*_ok`` masks.
    """
    n = pstart.size
    msg_type = np.where(plen > 0, sb.ARMOR[pbuf[pstart]], 0).astype(np.int64)
    nbits = 6 * plen - fill
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {
        "msg_type": msg_type,
        "mmsi": np.zeros(n, np.int64),
        "bad": np.where(np.isin(msg_type, (*_POSITION_TYPES, 5, 24)), -1, 100 + msg_type),
        "lat": nan.copy(),
        "lon": nan.copy(),
        "sog": nan.copy(),
        "cog": nan.copy(),
        "heading": nan.copy(),
        "nav_status": np.full(n, -1, np.int64),
        "imo": np.full(n, -1, np.int64),
        "ship_type": np.full(n, -1, np.int64),
        "to_bow": np.full(n, -1, np.int64),
        "to_stern": np.full(n, -1, np.int64),
        "to_port": np.full(n, -1, np.int64),
        "to_starboard": np.full(n, -1, np.int64),
        "draught": nan.copy(),
        "eta_month": np.full(n, -1, np.int64),
        "eta_day": np.full(n, -1, np.int64),
        "eta_hour": np.full(n, -1, np.int64),
        "eta_minute": np.full(n, -1, np.int64),
        "partno": np.full(n, -1, np.int64),
        "name_chars": np.full((n, 20), ord("@"), np.uint8),
        "name_ok": np.zeros(n, np.bool_),
        "callsign_chars": np.full((n, 7), ord("@"), np.uint8),
        "callsign_ok": np.zeros(n, np.bool_),
        "destination_chars": np.full((n, 20), ord("@"), np.uint8),
        "destination_ok": np.zeros(n, np.bool_),
    }

    def put(name: str, rows: np.ndarray, val: np.ndarray, ok: np.ndarray) -> None:
        if ok.all():
            out[name][rows] = val
        else:
            out[name][rows[ok]] = val[ok]

    groups: list[tuple[tuple[int, ...], int, int]] = [
        ((1, 2, 3), 28, 116),  # (types, chars to decode, minimum bits: through latitude)
        ((18,), 28, 112),
        ((19,), 52, 112),
        ((27,), 16, 79),
        ((5,), 71, 38),
        ((24,), 28, 40),
    ]
    gid = _GROUP_OF_TYPE[msg_type]
    by_group = np.argsort(gid, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(gid + 1, minlength=len(groups) + 1))))
    for g, (types, width, min_bits) in enumerate(groups):
        rows = by_group[bounds[g + 1] : bounds[g + 2]]
        if rows.size == 0:
            continue
        raw = _window(pbuf, pstart[rows], width)
        short = plen[rows] < width
        if short.any():  # zero the bytes after short payloads (they belong to the next NMEA field)
            raw = np.where(np.arange(width)[None, :] < plen[rows][:, None], raw, ord("0"))
        v6, chars_ok = _armor(raw)
        nb = nbits[rows]
        nbmin = int(nb.min())
        bad = np.where(~chars_ok, D_CHARS, np.where(nb < min_bits, D_SHORT, -1))
        mmsi, _ = sb.field(v6, nb, 8, 30, min_bits=nbmin)
        out["mmsi"][rows] = mmsi
        t = types[0]
        if t in (1, 18, 19, 27):
            if t == 1:
                offs = {"status": 38, "speed": 50, "lon": 61, "lat": 89, "course": 116, "heading": 128}
            elif t == 27:
                offs = {"status": 40, "lon": 44, "lat": 62, "speed": 79, "course": 85}
            else:
                offs = {"speed": 46, "lon": 57, "lat": 85, "course": 112, "heading": 124}
            long_range = t == 27
            lon, lon_ok = sb.field(v6, nb, offs["lon"], 18 if long_range else 28, signed=True, min_bits=nbmin)
            lat, lat_ok = sb.field(v6, nb, offs["lat"], 17 if long_range else 27, signed=True, min_bits=nbmin)
            scale = 10000 if long_range else 10
            put("lon", rows, _lat_lon(lon, scale), lon_ok)
            put("lat", rows, _lat_lon(lat, scale), lat_ok)
            sog, sog_ok = sb.field(v6, nb, offs["speed"], 6 if long_range else 10, min_bits=nbmin)
            cog, cog_ok = sb.field(v6, nb, offs["course"], 9 if long_range else 12, min_bits=nbmin)
            if long_range:
                put("sog", rows, np.where(sog == 63, 102.3, sog.astype(np.float64)), sog_ok)
                put("cog", rows, np.where(cog == 511, 360.0, cog.astype(np.float64)), cog_ok)
            else:
                put("sog", rows, sog / 10.0, sog_ok)
                put("cog", rows, cog / 10.0, cog_ok)
            if "heading" in offs:
                hdg, hdg_ok = sb.field(v6, nb, offs["heading"], 9, min_bits=nbmin)
                put("heading", rows, hdg.astype(np.float64), hdg_ok)
            if "status" in offs:
                st, st_ok = sb.field(v6, nb, offs["status"], 4, min_bits=nbmin)
                put("nav_status", rows, st, st_ok)
        if t == 19:
            chars, ok = sb.text(v6, nb, 143, 20, min_bits=nbmin)
            out["name_chars"][rows] = chars
            out["name_ok"][rows] = ok
            for name, off, w in (
                ("ship_type", 263, 8),
                ("to_bow", 271, 9),
                ("to_stern", 280, 9),
                ("to_port", 289, 6),
                ("to_starboard", 295, 6),
            ):
                put(name, rows, *sb.field(v6, nb, off, w, min_bits=nbmin))
        elif t == 5:
            for name, off, w in (
                ("imo", 40, 30),
                ("ship_type", 232, 8),
                ("to_bow", 240, 9),
                ("to_stern", 249, 9),
                ("to_port", 258, 6),
                ("to_starboard", 264, 6),
                ("eta_month", 274, 4),
                ("eta_day", 278, 5),
                ("eta_hour", 283, 5),
                ("eta_minute", 288, 6),
            ):
                put(name, rows, *sb.field(v6, nb, off, w, min_bits=nbmin))
            dr, dr_ok = sb.field(v6, nb, 294, 8, min_bits=nbmin)
            put("draught", rows, dr / 10.0, dr_ok)
            for name, off, nch in (("callsign", 70, 7), ("name", 112, 20), ("destination", 302, 20)):
                chars, ok = sb.text(v6, nb, off, nch, min_bits=nbmin)
                out[f"{name}_chars"][rows] = chars
                out[f"{name}_ok"][rows] = ok
        elif t == 24:
            part, _ = sb.field(v6, nb, 38, 2, min_bits=nbmin)
            out["partno"][rows] = part
            bad = np.where((bad < 0) & (part > 1), D_PARTNO, bad)
            a = rows[part == 0]
            chars, ok = sb.text(v6[:, part == 0], nb[part == 0], 40, 20, min_bits=nbmin)
            out["name_chars"][a] = chars
            out["name_ok"][a] = ok
            isb = part == 1
            b = rows[isb]
            v6b, nbb = v6[:, isb], nb[isb]
            put("ship_type", b, *sb.field(v6b, nbb, 40, 8, min_bits=nbmin))
            chars, ok = sb.text(v6b, nbb, 90, 7, min_bits=nbmin)
            out["callsign_chars"][b] = chars
            out["callsign_ok"][b] = ok
            aux = (mmsi[isb] >= 980000000) & (mmsi[isb] <= 989999999)  # auxiliary craft: mothership instead
            for name, off, w in (
                ("to_bow", 132, 9),
                ("to_stern", 141, 9),
                ("to_port", 150, 6),
                ("to_starboard", 156, 6),
            ):
                val, ok = sb.field(v6b, nbb, off, w, min_bits=nbmin)
                put(name, b, val, ok & ~aux)
        out["bad"][rows] = bad
    good = out["bad"] < 0
    out["is_pos"] = good & np.isin(msg_type, _POSITION_TYPES)
    out["is_static"] = good & np.isin(msg_type, _STATIC_TYPES)
    return out


def decode_payloads(payloads: Sequence[bytes], fill_bits: Sequence[int]) -> pa.Table:
    """Decode armoured AIS payloads (already reassembled) into one row each, for tests and tools.

    Columns: msg_type, mmsi, bad (quarantine detail or null), lat, lon (deg), sog_kn, cog_deg, heading_deg,
    nav_status, imo, name, callsign, ship_type, to_bow/to_stern/to_port/to_starboard (m), draught_m,
    destination, eta_month/day/hour/minute, partno. Missing fields are null; AIS "not available" codes are
    kept (see the module docstring).
    """
    if len(payloads) != len(fill_bits):
        raise InputError("decode_payloads needs one fill-bit count per payload")
    data = b"".join(payloads)
    lens = np.fromiter((len(p) for p in payloads), np.int64, len(payloads))
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64) if len(payloads) else lens
    d = _decode(_padded(data), starts, lens, np.asarray(fill_bits, np.int64))
    cols: dict[str, pa.Array] = {
        "msg_type": pa.array(d["msg_type"], pa.int8()),
        "mmsi": pa.array(d["mmsi"], pa.int64()),
        "bad": pa.array([_DETAILS[b] if b >= 0 else None for b in d["bad"].tolist()], pa.string()),
    }
    for name, out in (
        ("lat", "lat"),
        ("lon", "lon"),
        ("sog", "sog_kn"),
        ("cog", "cog_deg"),
        ("heading", "heading_deg"),
        ("draught", "draught_m"),
    ):
        cols[out] = pa.array(d[name], pa.float64(), mask=np.isnan(d[name]))
    for name in ("nav_status", "imo", "ship_type", "to_bow", "to_stern", "to_port", "to_starboard", "partno"):
        cols[name] = pa.array(d[name], pa.int64(), mask=d[name] < 0)
    for name in ("eta_month", "eta_day", "eta_hour", "eta_minute"):
        cols[name] = pa.array(d[name], pa.int64(), mask=d[name] < 0)
    for name in ("name", "callsign", "destination"):
        cols[name] = sb.strings(d[f"{name}_chars"], d[f"{name}_ok"])
    return pa.table(cols)


# --- receiver prefixes --------------------------------------------------------------------------------------


_ISO = re.compile(rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?")
_UNIX = re.compile(rb"(?<![\d.])(\d{10}|\d{13})(?:\.(\d{1,6}))?(?![\d])")


def _unix_us(sec: bytes, frac: bytes | None) -> int:
    us = int(sec) * (1000 if len(sec) == 13 else 1_000_000)
    if frac:
        us += int((frac + b"000000")[:6]) // (1000 if len(sec) == 13 else 1)
    return us


def _prefix_time(text: bytes) -> int:
    """Leading receiver timestamp (ISO-8601 UTC or Unix seconds/ms) in microseconds, NOTIME if none."""
    m = _ISO.search(text)
    if m:
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        try:
            base = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
        except ValueError:
            return NOTIME
        frac = m.group(7) or b""
        return int(base.timestamp()) * 1_000_000 + (int((frac + b"000000")[:6]) if frac else 0)
    m = _UNIX.search(text)
    if m:
        return _unix_us(m.group(1), m.group(2))
    return NOTIME


def _scan_lines(pbuf: np.ndarray, n: int, big: int) -> np.ndarray:
    """Every line-level field of the ``n`` bytes in ``pbuf`` (see ``_scan.c``): (``_scan.N_FIELDS``, lines).

    Lines end at LF; a last line without one counts, an empty tail after the final LF does not.
    """
    nl = int(np.count_nonzero(pbuf[:n] == 10)) + int(n > 0 and pbuf[n - 1] != 10)
    out = np.empty((_scan.N_FIELDS, nl), np.int64)
    _scan.scan_into(pbuf, n, big, out)
    return out


# --- the decoder --------------------------------------------------------------------------------------------


def decode_nmea(data: bytes, *, file: str, input_id: str, source_default: str = "nmea") -> NmeaResult:
    """Decode a whole NMEA 0183 AIS log (bytes) into positions, statics and quarantined lines.

    ``file`` and ``input_id`` label the quarantine rows and every output row. Lines are 1-based.
    """
    n = len(data)
    pbuf = _padded(data, room=n + _PAD)  # reassembled payloads (under n bytes in all) go after the padding
    buf = pbuf[:n]
    scanned = _scan_lines(pbuf, n, big=n + _PAD // 2)  # one compiled pass: every line-level field
    st, en, flags, qdet = (scanned[k] for k in (_scan.F_ST, _scan.F_EN, _scan.F_FLAGS, _scan.F_QDET))
    nl = st.size
    active = (flags & _scan.FLAG_ACTIVE) > 0
    tag_only = (flags & _scan.FLAG_TAG_ONLY) > 0
    is_pghp = (flags & _scan.FLAG_PGHP) > 0

    # context lines (tag-only, $PGHP) apply to the next record line; a later context line of the same kind
    # before that record supersedes them (orphans are quarantined)
    ctx_like = tag_only | is_pghp
    records = np.flatnonzero(active & ~ctx_like)
    prev_rec = np.concatenate(([-1], records[:-1]))
    consumed = np.zeros(nl, np.bool_)
    assigned: dict[str, np.ndarray] = {}
    tag_ctx = tag_only & ((flags & _scan.FLAG_TAG_GOOD) > 0) & (qdet < 0)
    for kind, ctx in (("tag", tag_ctx), ("pghp", is_pghp & (qdet < 0))):
        cidx = np.flatnonzero(ctx)
        assigned[kind] = np.full(records.size, -1, np.int64)
        if cidx.size and records.size:
            j = np.searchsorted(cidx, records) - 1
            cand = np.where(j >= 0, cidx[np.maximum(j, 0)], -1)
            got = cand > prev_rec
            assigned[kind] = np.where(got, cand, -1)
            consumed[cand[got]] = True
        qdet[ctx & ~consumed] = D_ORPHAN  # ctx lines are not rejected yet
    lines_read = int(active.sum() - consumed.sum())

    # valid VDM lines: time and source, in order of preference
    vl = np.flatnonzero(((flags & _scan.FLAG_VDM) > 0) & (qdet < 0))
    fc, fn, seq, chan, pstart, plen, fill, d0, s0 = (
        scanned[k, vl]
        for k in (
            _scan.F_FC,
            _scan.F_FN,
            _scan.F_SEQ,
            _scan.F_CHAN,
            _scan.F_PSTART,
            _scan.F_PLEN,
            _scan.F_FILL,
            _scan.F_D0,
            _scan.F_S0,
        )
    )
    tag_c, pghp_us = scanned[_scan.F_TAG_C], scanned[_scan.F_PGHP_US]
    tag_s, tag_g = scanned[[_scan.F_TAG_SA, _scan.F_TAG_SB]], scanned[[_scan.F_TAG_GA, _scan.F_TAG_GB]]
    src_a, src_b = scanned[_scan.F_SRC_A], scanned[_scan.F_SRC_B]
    rpos = np.searchsorted(records, vl)
    a_tag = assigned["tag"][rpos]
    a_pg = assigned["pghp"][rpos]
    has_tag, has_pg = a_tag >= 0, a_pg >= 0
    a_tag, a_pg = np.maximum(a_tag, 0), np.maximum(a_pg, 0)
    t = tag_c[vl]
    t = np.where((t == NOTIME) & has_tag, tag_c[a_tag], t)
    t = np.where((t == NOTIME) & has_pg, pghp_us[a_pg], t)
    sa, sb_ = tag_s[0, vl], tag_s[1, vl]
    for ok_, arr_a, arr_b, at in ((has_tag, tag_s[0], tag_s[1], a_tag), (has_pg, src_a, src_b, a_pg)):
        use = (sa < 0) & ok_
        sa = np.where(use, arr_a[at], sa)
        sb_ = np.where(use, arr_b[at], sb_)
    use = (tag_g[0, vl] < 0) & has_tag
    ga = np.where(use, tag_g[0, a_tag], tag_g[0, vl])
    gb = np.where(use, tag_g[1, a_tag], tag_g[1, vl])
    # receiver suffixes (time, station), then a leading timestamp (Python, only on lines that have one)
    suf_t, xa, xb = (scanned[k, vl] for k in (_scan.F_SUF_T, _scan.F_SUF_SA, _scan.F_SUF_SB))
    t = np.where(t == NOTIME, suf_t, t)
    use = (sa < 0) & (xa >= 0)
    sa, sb_ = np.where(use, xa, sa), np.where(use, xb, sb_)
    for i in np.flatnonzero((d0 > st[vl]) & (t == NOTIME)).tolist():
        t[i] = _prefix_time(data[int(st[vl[i]]) : int(d0[i])])

    # messages: single sentences decode in place, multi-sentence ones are reassembled first
    single = fc == 1
    msgs = _Messages(
        first=vl[single],
        last=vl[single],
        nlines=np.ones(int(single.sum()), np.int64),
        t=t[single],
        sa=sa[single],
        sb=sb_[single],
    )
    d_start, d_len, d_fill = pstart[single], plen[single], fill[single]
    dbuf = pbuf  # reassembled payloads are written after the padding (one decode for all messages)
    multi = np.flatnonzero(~single)
    frag_lines = np.zeros(0, np.int64)
    frag_msg = np.zeros(0, np.int64)
    if multi.size:
        at = s0[multi]
        talker = pbuf[at + 1].astype(np.int64) * 65536 + pbuf[at + 2].astype(np.int64) * 256 + pbuf[at + 5]
        asm = _assemble(
            data,
            multi,
            fc[multi],
            fn[multi],
            np.stack((seq[multi], chan[multi], talker)),
            ga[multi],
            gb[multi],
        )
        for frags in asm.incomplete:
            qdet[vl[frags]] = D_INCOMPLETE
        if asm.messages:
            order_in = [f for f in asm.messages]
            lines_of = [vl[f] for f in order_in]
            payloads = [
                b"".join(data[int(pstart[x]) : int(pstart[x] + plen[x])] for x in f) for f in order_in
            ]
            lens = np.array([len(p) for p in payloads], np.int64)
            offs = np.concatenate(([0], np.cumsum(lens)[:-1]))
            # time/source from the first fragment that has a time (else the first fragment)
            pick = np.array([next((x for x in f if t[x] != NOTIME), f[0]) for f in order_in], np.int64)
            extra = np.frombuffer(b"".join(payloads), np.uint8)
            pbuf[n + _PAD : n + _PAD + extra.size] = extra  # only _decode reads past n from here on
            d_start = np.concatenate((d_start, n + _PAD + offs))
            d_len = np.concatenate((d_len, lens))
            d_fill = np.concatenate((d_fill, np.array([fill[f[-1]] for f in order_in], np.int64)))
            msgs = msgs.extend(
                first=np.array([x[0] for x in lines_of], np.int64),
                last=np.array([x[-1] for x in lines_of], np.int64),
                nlines=np.array([len(x) for x in lines_of], np.int64),
                t=t[pick],
                sa=sa[pick],
                sb=sb_[pick],
            )
            frag_lines = np.concatenate(lines_of)
            frag_msg = np.repeat(np.arange(len(lines_of)) + int(single.sum()), [len(x) for x in lines_of])

    dec = _decode(dbuf, d_start, d_len, d_fill)

    # message-level rejections (unsupported type, bad characters, too short): every line of the message
    bad = dec["bad"]
    qdet[msgs.last[(bad >= 0) & (msgs.nlines == 1)]] = bad[(bad >= 0) & (msgs.nlines == 1)]
    if frag_lines.size:
        sel = bad[frag_msg] >= 0
        qdet[frag_lines[sel]] = bad[frag_msg[sel]]

    # output rows in stream order (by the line completing each message); singles already are
    order = np.argsort(msgs.last, kind="stable") if multi.size else np.arange(msgs.last.size)
    pos_idx = order[dec["is_pos"][order]]
    sta_idx = order[dec["is_static"][order]]
    source = sb.slices_to_strings(buf, np.maximum(msgs.sa, 0), np.where(msgs.sa >= 0, msgs.sb, 0))
    source = pc.if_else(pa.array(msgs.sa >= 0), source, pa.scalar(source_default, pa.string()))
    no_t = msgs.t == NOTIME
    ts = pa.array(np.where(no_t, 0, msgs.t), pa.int64(), mask=no_t).cast(schema.TS)
    positions = _positions_table(dec, pos_idx, ts, source, input_id, msgs.nlines, msgs.first + 1)
    statics = _statics_table(dec, sta_idx, ts, source, input_id, msgs.nlines, msgs.first + 1)
    quarantine = _quarantine_table(buf, st, en, qdet, file, input_id)
    return NmeaResult(positions, statics, quarantine, lines_read, int(nl), (buf, st, en))


@dataclass(frozen=True)
class _Messages:
    """Per-message line bookkeeping: first/last physical line, line count, time (us) and source slice."""

    first: np.ndarray
    last: np.ndarray
    nlines: np.ndarray
    t: np.ndarray
    sa: np.ndarray
    sb: np.ndarray

    def extend(self, **more: np.ndarray) -> _Messages:
        return _Messages(**{k: np.concatenate((getattr(self, k), v)) for k, v in more.items()})


@dataclass
class _Assembled:
    messages: list[list[int]]  # indices (into the VDM line arrays) of each message's fragments, in order
    incomplete: list[list[int]]


def _assemble(
    data: bytes,
    idx: np.ndarray,
    count: np.ndarray,
    number: np.ndarray,
    slot: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
) -> _Assembled:
    """Reassemble multi-sentence messages (a Python loop over fragments only; they are few).

    Fragments belong together when they share the tag-block group id (``g:n-m-id``) or, without one, the
    sequence id, channel, talker and sentence type (the same slot pyais uses). A first fragment restarts
    its slot; fragments must arrive in order; leftovers are incomplete.
    """
    pending: dict[object, list[int]] = {}
    out = _Assembled([], [])
    slots = slot.T.tolist()
    for j, (i, cnt, num, g0, g1) in enumerate(
        zip(idx.tolist(), count.tolist(), number.tolist(), ga.tolist(), gb.tolist(), strict=True)
    ):
        key: object = ("g", data[g0:g1].rsplit(b"-", 1)[-1], cnt) if g0 >= 0 else (*slots[j], cnt)
        if num == 1:
            if key in pending:
                out.incomplete.append(pending.pop(key))
            pending[key] = [i]
        elif key in pending and len(pending[key]) + 1 == num:
            pending[key].append(i)
        else:
            out.incomplete.append([i])
            continue
        if len(pending[key]) == cnt:
            out.messages.append(pending.pop(key))
    out.incomplete.extend(pending.values())
    return out


def _table(cols: dict[str, pa.Array], out_schema: pa.Schema, k: int) -> pa.Table:
    """Arrange ``cols`` as ``out_schema``; columns the decoder does not produce are derived or null.

    ``last_ts``/``n_reports`` (run-length columns of the shared schema) start as ``ts`` and 1 per report.
    """
    arrays = []
    for f in out_schema:
        if f.name in cols:
            arrays.append(cols[f.name])
        elif f.name == "last_ts":
            arrays.append(cols["ts"])
        elif f.name == "n_reports":
            arrays.append(pa.array(np.ones(k, np.int64), f.type))
        else:
            arrays.append(pa.nulls(k, f.type))
    return pa.Table.from_arrays(arrays, schema=out_schema)


def _f32(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    v = values[idx]
    return pa.array(v.astype(np.float32), pa.float32(), mask=np.isnan(v))


def _positions_table(
    d: dict[str, np.ndarray],
    idx: np.ndarray,
    ts: pa.Array,
    source: pa.Array,
    input_id: str,
    nlines: np.ndarray,
    line: np.ndarray,
) -> pa.Table:
    k = idx.size
    take = pa.array(idx)
    status = d["nav_status"][idx]
    cols = {
        "mmsi": pa.array(d["mmsi"][idx], pa.int64()),
        "ts": ts.take(take),
        "lat": pa.array(d["lat"][idx], pa.float64()),
        "lon": pa.array(d["lon"][idx], pa.float64()),
        "sog_kn": _f32(d["sog"], idx),
        "cog_deg": _f32(d["cog"], idx),
        "heading_deg": _f32(d["heading"], idx),
        "nav_status": pa.array(status.astype(np.int8), pa.int8(), mask=status < 0),
        "msg_type": pa.array(d["msg_type"][idx].astype(np.int8), pa.int8()),
        "source": source.take(take),
        "input_id": pa.repeat(pa.scalar(input_id, pa.string()), k),
        "_lines": pa.array(nlines[idx].astype(np.int8), pa.int8()),
        "_line": pa.array(line[idx], pa.int64()),
    }
    return _table(cols, POSITIONS_OUT, k)


def _statics_table(
    d: dict[str, np.ndarray],
    idx: np.ndarray,
    ts: pa.Array,
    source: pa.Array,
    input_id: str,
    nlines: np.ndarray,
    line: np.ndarray,
) -> pa.Table:
    k = idx.size
    take = pa.array(idx)
    mt = d["msg_type"][idx]

    def dim(a: str, b: str) -> pa.Array:
        x, y = d[a][idx], d[b][idx]
        total = (x + y).astype(np.float32)
        return pa.array(total, pa.float32(), mask=(x < 0) | (y < 0) | (total == 0))

    imo = d["imo"][idx]
    ship_type = d["ship_type"][idx]
    dr = d["draught"][idx]
    mo, dd, hh, mm = (d[f"eta_{x}"][idx] for x in ("month", "day", "hour", "minute"))
    eta_na = (mo < 0) | (dd < 0) | (hh < 0) | (mm < 0) | ((mo == 0) & (dd == 0) & (hh == 24) & (mm == 60))

    def two(x: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(pa.array(np.maximum(x, 0)).cast(pa.string()), 2, "0")

    eta = pc.binary_join_element_wise(two(mo), "-", two(dd), " ", two(hh), ":", two(mm), "")
    eta = pc.if_else(pa.array(eta_na), pa.scalar(None, pa.string()), eta)
    cols = {
        "mmsi": pa.array(d["mmsi"][idx], pa.int64()),
        "ts": ts.take(take),
        "imo": pa.array(imo, pa.int64(), mask=imo <= 0),
        "name": sb.strings(d["name_chars"][idx], d["name_ok"][idx]),
        "callsign": sb.strings(d["callsign_chars"][idx], d["callsign_ok"][idx]),
        "ship_type": pa.array(ship_type.astype(np.int16), pa.int16(), mask=ship_type < 0),
        "length_m": dim("to_bow", "to_stern"),
        "width_m": dim("to_port", "to_starboard"),
        "draught_m": pa.array(dr.astype(np.float32), pa.float32(), mask=np.isnan(dr) | (dr == 0)),
        "destination": sb.strings(d["destination_chars"][idx], d["destination_ok"][idx]),
        "eta": eta,
        "msg_type": pa.array(mt.astype(np.int8), pa.int8()),
        "source": source.take(take),
        "input_id": pa.repeat(pa.scalar(input_id, pa.string()), k),
        "_lines": pa.array(np.where(mt == 19, 0, nlines[idx]).astype(np.int8), pa.int8()),
        "_line": pa.array(line[idx], pa.int64()),
    }
    return _table(cols, STATICS_OUT, k)


def _quarantine_table(
    buf: np.ndarray, st: np.ndarray, en: np.ndarray, qdet: np.ndarray, file: str, input_id: str
) -> pa.Table:
    rows = np.flatnonzero(qdet >= 0)
    codes = qdet[rows]
    k = rows.size
    reasons = pa.array(schema.QUARANTINE_REASONS, pa.string())
    details = pa.array(_DETAILS, pa.string())
    cols = [
        pa.repeat(pa.scalar(input_id, pa.string()), k),
        pa.repeat(pa.scalar(file, pa.string()), k),
        pa.array(rows + 1, pa.int64()),
        sb.slices_to_strings(buf, st[rows], en[rows]),
        reasons.take(pa.array(_DETAIL_REASON_CODE[codes])),
        details.take(pa.array(codes)),
    ]
    return pa.Table.from_arrays(cols, schema=schema.QUARANTINE)
