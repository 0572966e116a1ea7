"""Vectorised NMEA 0183 AIS decoder (``!xxVDM`` / ``!xxVDO``), field-for-field identical to pyais 3.

Why vectorised: a Python loop over sentences (pyais) decodes ~50k messages/s; ingest must be several times
faster. Every stage below works on the whole byte buffer with NumPy: line bounds, tag blocks, checksums
(XOR ``reduceat`` over all sentences at once), field commas, ``$PGHP`` timestamps and the six-bit payload
bit fields. Python loops remain only over multi-sentence fragments (reassembly) and lines that carry
receiver prefixes or suffixes.

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
from supplyline.ingest import _sixbit as sb

__all__ = ["POSITIONS_OUT", "STATICS_OUT", "NmeaResult", "decode_nmea", "decode_payloads"]

NOTIME = np.iinfo(np.int64).min  # "no time known" sentinel in int64 microsecond arrays


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
(
    D_NODELIM,
    _D_UNUSED,
    D_TAGNOCHK,
    D_TAGCHK,
    D_NOCHK,
    D_CHK,
    D_FIELDS,
    D_FRAG,
    D_FILL,
    D_EMPTY,
    D_NONAIS,
    D_PGHP,
    D_ORPHAN,
    D_INCOMPLETE,
    D_CHARS,
    D_SHORT,
    D_PARTNO,
    D_TAGJUNK,
) = range(18)
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

_WS = np.zeros(256, np.bool_)
_WS[[0, 9, 10, 11, 12, 13, 32]] = True
_HEX = np.full(256, -1, np.int16)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i
_DELIM = np.zeros(256, np.bool_)
_DELIM[[ord("\\"), ord("!"), ord("$")]] = True

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


def _positions(mask: np.ndarray, sentinel: int) -> np.ndarray:
    """Indices where ``mask`` holds, followed by 16 sentinels so look-ups past the end stay in bounds."""
    return np.concatenate((np.flatnonzero(mask), np.full(16, sentinel, np.int64)))


def _next(pos: np.ndarray, at: np.ndarray, k: int = 0) -> np.ndarray:
    """The (k+1)-th position in sorted ``pos`` at or after ``at`` (a sentinel if none)."""
    return pos[np.searchsorted(pos, at) + k]


def _window(pbuf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``pbuf[at[i] : at[i] + width]`` for every i as an (n, width) uint8 matrix (one strided gather)."""
    view = np.ndarray((pbuf.size - width + 1, width), np.uint8, buffer=pbuf, strides=(1, 1))  # no copy
    return view[at]


def _uint(pbuf: np.ndarray, a: np.ndarray, b: np.ndarray, maxw: int) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned decimal integers in ``pbuf[a:b]``: (values, ok); ok needs 1..maxw digits and nothing else.

    One 1-D pass per digit position, right to left (fields are short); measured faster than a 2-D digit
    matrix. Values are exact up to 18 digits.
    """
    w = b - a
    ok = (w >= 1) & (w <= maxw)
    end = np.where(ok, b, maxw)
    val = np.zeros(a.size, np.int64)
    for j in range(maxw):
        inside = w > j
        d = np.take(pbuf, end - 1 - j) - np.uint8(48)  # wraps: anything but a digit is > 9
        ok &= (d <= 9) | ~inside
        val += np.where(inside, d, 0).astype(np.int64) * (10**j)
    return np.where(ok, val, 0), ok


# two ASCII bytes -> their decimal value: "dd" -> 0..99, ",d" -> 0..9 (one digit after the field comma)
_PAIR = np.full(65536, -1, np.int16)
for _hi in range(48, 58):
    for _lo in range(48, 58):
        _PAIR[_hi * 256 + _lo] = (_hi - 48) * 10 + _lo - 48
for _lo in range(48, 58):
    _PAIR[ord(",") * 256 + _lo] = _lo - 48


# the same table indexed by the two bytes read as one little-endian uint16 (first byte low)
_PAIR_LE = _PAIR.reshape(256, 256).T.reshape(-1).copy()


def _words(pbuf: np.ndarray, dtype: str) -> np.ndarray:
    """``pbuf`` viewed as overlapping little-endian words starting at every byte (no copy)."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((pbuf.size - size + 1,), dtype, buffer=pbuf, strides=(1,))


def _pair(pbuf: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The two bytes before ``end`` as a decimal number via ``_PAIR`` (-1 if not "dd" or ",d")."""
    return _PAIR_LE[_words(pbuf, "<u2")[end - 2]]


def _pghp_numbers(pbuf: np.ndarray, f: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Hour, minute, second, millisecond of ``$PGHP`` lines, and whether all four are well formed.

    ``f[j]`` is the position of the comma ending field j (field 1 = "1", field 2 = year ...). Each field
    is looked up two bytes at a time in ``_PAIR`` (every field follows a comma), which is several times
    cheaper than digit-by-digit parsing on every third line of a DMA log.
    """
    ok = np.ones(f[0].size, np.bool_)
    out = []
    for j in range(5, 9):
        a, b = f[j - 1] + 1, f[j]
        w = b - a
        low = _pair(pbuf, b)
        if j == 8:  # milliseconds: 1 to 3 digits
            hundreds = np.take(pbuf, b - 3).astype(np.int64) - 48
            good = ((w == 3) & (hundreds >= 0) & (hundreds <= 9) & (low >= 0)) | (
                ((w == 1) | (w == 2)) & (low >= 0)
            )
            val = np.where(w == 3, hundreds * 100, 0) + low
        else:  # 1 or 2 digits
            good = ((w == 1) | (w == 2)) & (low >= 0)
            val = low.astype(np.int64)
        ok &= good
        out.append(np.where(good, val, 0))
    return (*out, ok)


def _pghp_days(pbuf: np.ndarray, f: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of the ``yyyy,mm,dd`` fields of ``$PGHP`` lines, and whether the date is valid.

    A log's lines share a handful of dates, in runs: the date text (at most 16 bytes, as two words) is
    compared with the line before, and only the first line of each run is parsed and checked (year exactly
    4 digits, month and day 1-2 digits, day within the month).
    """
    n = f[0].size
    a, b = f[1] + 1, f[4]
    span = b - a
    # for spans of at most 16 bytes, the words at a and at b - 8 cover the whole text
    words = _words(pbuf, "<u8")
    head, tail = words[a], words[np.maximum(b - 8, 0)]
    change = np.ones(n, np.bool_)
    change[1:] = (head[1:] != head[:-1]) | (tail[1:] != tail[:-1]) | (span[1:] != span[:-1])
    change |= span > 16
    first = np.flatnonzero(change)
    run = np.cumsum(change) - 1
    fy, fm, fd = (f[j][first] for j in (2, 3, 4))
    y = _pair(pbuf, fy - 2).astype(np.int64) * 100 + _pair(pbuf, fy)
    ok = (fy - f[1][first] - 1 == 4) & (_pair(pbuf, fy - 2) >= 0) & (_pair(pbuf, fy) >= 0)
    ok &= np.take(pbuf, fy - 4) != ord(",")
    mo_, d_ = _pair(pbuf, fm).astype(np.int64), _pair(pbuf, fd).astype(np.int64)
    for val, end, start in ((mo_, fm, fy), (d_, fd, fm)):
        w = end - start - 1
        ok &= ((w == 1) | (w == 2)) & (val >= 0)
    ok &= (mo_ >= 1) & (mo_ <= 12) & (d_ >= 1)
    y, mo_, d_ = np.where(ok, y, 1970), np.where(ok, mo_, 1), np.where(ok, d_, 1)
    months = ((y - 1970) * 12 + mo_ - 1).astype("datetime64[M]")
    day_first = months.astype("datetime64[D]").astype(np.int64)
    ok &= d_ <= (months + 1).astype("datetime64[D]").astype(np.int64) - day_first
    return (day_first + d_ - 1)[run], ok[run]


_COMMAS = np.uint64(0x2C2C2C2C2C2C2C2C)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_GATHER = np.uint64(0x0102040810204080)  # moves bit 8i to bit 56+i (all partial products distinct)


def _field_ends(data: bytes, pbuf: np.ndarray, s0: np.ndarray, star: np.ndarray, k: int) -> list[np.ndarray]:
    """Positions of the first ``k`` commas of each line ``data[s0:star]`` (``star`` where there are fewer).

    The first 64 bytes of every line become one 64-bit word of comma flags (eight 8-byte words, SWAR); the
    j-th comma is then the lowest set bit after clearing j of them (``x & -x``, a power of two whose float
    exponent is its position). This avoids a ``nonzero`` over a byte matrix, the costly part of a comma
    scan. The rare line that needs commas beyond 64 bytes is finished with ``bytes.find``.
    """
    length = star - s0
    words = _window(pbuf, s0, 64).view("<u8")  # one gather of 64-byte rows, read as 8 words each
    bits = np.zeros(s0.size, np.uint64)
    for w in range(8):  # 8 bytes at a time: a byte equal to ',' -> its bit (SWAR, no carries between bytes)
        t = words[:, w] ^ _COMMAS
        flag = ~(((t & _LOW7) + _LOW7) | t | _LOW7)  # 0x80 in each byte that was a comma
        bits |= (((flag >> np.uint64(7)) * _GATHER) >> np.uint64(56)) << np.uint64(8 * w)
    short = length < 64
    bits[short] &= (np.uint64(1) << length[short].astype(np.uint64)) - np.uint64(1)
    out = []
    for _ in range(k):
        low = bits & (~bits + np.uint64(1))
        found = low != 0
        pos = (low.astype(np.float64).view(np.int64) >> 52) - 1023  # exponent of a power of two
        out.append(np.where(found, s0 + pos, star))
        bits ^= low
    for i in np.flatnonzero(~found & (length > 64)).tolist():  # commas past the window
        at = int(s0[i]) - 1
        for j in range(k):
            at = data.find(b",", at + 1, int(star[i]))
            if at < 0:
                break
            out[j][i] = at
    return out


def _commas_in(
    pbuf: np.ndarray, at: np.ndarray, length: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Commas inside ``pbuf[at[i] : at[i] + min(length[i], width)]``: (row i, offset), sorted by row, offset.

    ``width`` is capped at the buffer padding (256 bytes): fields further into a line are not seen.
    """
    width = min(max(width, 1), _PAD)
    hit = _window(pbuf, at, width) == ord(",")
    hit &= np.arange(width)[None, :] < length[:, None]
    rows, col = np.nonzero(hit)
    return rows, col.astype(np.int64)


def _xor_segments(pbuf: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """XOR of the bytes of each segment ``pbuf[a[i]:b[i]]`` (segments in file order, a <= b)."""
    if a.size == 0:
        return np.zeros(0, np.int64)
    idx = np.empty(2 * a.size, np.int64)
    idx[0::2] = a
    idx[1::2] = b
    out = np.bitwise_xor.reduceat(pbuf, idx)[0::2]
    return np.where(b > a, out, 0).astype(np.int64)


def _hex2(pbuf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Two hex digits at ``at`` as an int (-1 when not hex)."""
    hi = _HEX[pbuf[at]]
    lo = _HEX[pbuf[at + 1]]
    return np.where((hi >= 0) & (lo >= 0), hi * 16 + lo, -1)


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


# --- line scanning ------------------------------------------------------------------------------------------


def _line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start/end of every physical line, surrounding whitespace (incl. CR) excluded."""
    n = buf.size
    nl = np.flatnonzero(buf == 10)
    starts = np.empty(nl.size + 1, np.int64)
    starts[0] = 0
    starts[1:] = nl + 1
    ends = np.empty(nl.size + 1, np.int64)
    ends[:-1] = nl
    ends[-1] = n
    if starts[-1] >= n:  # nothing after the final newline (or empty input)
        starts, ends = starts[:-1], ends[:-1]
    if n == 0:
        return starts, ends
    while True:  # usually one pass for CR, one to confirm
        m = np.take(_WS, np.take(buf, ends - 1, mode="clip")) & (ends > starts)
        if not m.any():
            break
        ends -= m
    while True:
        m = np.take(_WS, np.take(buf, starts, mode="clip")) & (ends > starts)
        if not m.any():
            break
        starts += m
    return starts, ends


_DELIM_RE = re.compile(rb"[\\!$]")
_PGHP = np.uint64(int.from_bytes(b"PGHP,", "little"))
_VDM = np.uint64(int.from_bytes(b"VDM,", "little"))
_VDO = np.uint64(int.from_bytes(b"VDO,", "little"))
_ISO = re.compile(rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?")
_UNIX = re.compile(rb"(?<![\d.])(\d{10}|\d{13})(?:\.(\d{1,6}))?(?![\d])")
_STATION_CHAR = np.zeros(256, np.bool_)  # characters of a receiver id after its leading r/b
_STATION_CHAR[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")] = True


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


def _suffix_meta(pbuf: np.ndarray, a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver metadata after the checksum, ``pbuf[a:e]`` = ``,field,field...``, for many lines at once.

    Returns (unix time in us or NOTIME, station start, station end; -1 if none): the time is the first
    field of exactly 10 digits (optionally ``.`` + 1..6 digits), the station the first field
    ``[rb][A-Za-z0-9_-]+`` (USCG receiver ids such as ``b003669705`` / ``r003669946``; at most 32 bytes).
    Works on the commas of the suffixes (first 256 bytes), then only on the few candidate fields.
    """
    k = a.size
    t = np.full(k, NOTIME, np.int64)
    sa = np.full(k, -1, np.int64)
    sb_ = np.full(k, -1, np.int64)
    row, col = _commas_in(pbuf, a, e - a, int((e - a).max()))
    cpos = a[row] + col
    if cpos.size == 0:
        return t, sa, sb_
    same = np.zeros(cpos.size, np.bool_)
    same[:-1] = row[1:] == row[:-1]
    nxt = np.zeros(cpos.size, np.int64)
    nxt[:-1] = cpos[1:]
    fstart = cpos + 1
    fend = np.where(same, nxt, e[row])
    flen = fend - fstart

    def first_per_row(cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, field index) of the first candidate field of each row."""
        i = np.flatnonzero(cand)
        r = row[i]
        lead = np.ones(i.size, np.bool_)
        lead[1:] = r[1:] != r[:-1]
        return r[lead], i[lead]

    # time
    tc = np.flatnonzero((flen == 10) | ((flen >= 12) & (flen <= 17)))
    if tc.size:
        ok = np.asarray((_window(pbuf, fstart[tc], 10) - np.uint8(48) <= 9).all(axis=1))  # non-digit > 9
        fr = np.flatnonzero(ok & (flen[tc] > 10))  # with a fraction: '.' then digits to the field end
        if fr.size:
            w = _window(pbuf, fstart[tc[fr]] + 10, 7)
            inside = np.arange(7)[None, :] < (flen[tc[fr]] - 10)[:, None]
            digits = (w - np.uint8(48) <= 9) | ~inside
            digits[:, 0] = w[:, 0] == ord(".")
            ok[fr] = digits.all(axis=1)
        cand = np.zeros(cpos.size, np.bool_)
        cand[tc[ok]] = True
        r, i = first_per_row(cand)
        sec, _ = _uint(pbuf, fstart[i], fstart[i] + 10, 10)
        flen_i = flen[i] - 11
        frac, _ = _uint(pbuf, fstart[i] + 11, fend[i], 6)
        frac = np.where(flen_i > 0, frac * 10 ** np.clip(6 - flen_i, 0, 6), 0)
        t[r] = sec * 1_000_000 + frac
    # station
    first_b = np.take(pbuf, fstart)
    sc = np.flatnonzero(((first_b == ord("r")) | (first_b == ord("b"))) & (flen >= 2) & (flen <= 32))
    if sc.size:
        w = _window(pbuf, fstart[sc] + 1, 31)
        inside = np.arange(31)[None, :] < (flen[sc] - 1)[:, None]
        ok = (_STATION_CHAR[w] | ~inside).all(axis=1)
        cand = np.zeros(cpos.size, np.bool_)
        cand[sc[ok]] = True
        r, i = first_per_row(cand)
        sa[r], sb_[r] = fstart[i], fend[i]
    return t, sa, sb_


# --- the decoder --------------------------------------------------------------------------------------------


def decode_nmea(data: bytes, *, file: str, input_id: str, source_default: str = "nmea") -> NmeaResult:
    """Decode a whole NMEA 0183 AIS log (bytes) into positions, statics and quarantined lines.

    ``file`` and ``input_id`` label the quarantine rows and every output row. Lines are 1-based.
    """
    n = len(data)
    pbuf = _padded(data, room=n + _PAD)  # reassembled payloads (under n bytes in all) go after the padding
    buf = pbuf[:n]
    big = n + _PAD // 2  # sentinel position: inside the zero padding
    st, en = _line_bounds(buf)
    nl = st.size
    first = pbuf[st]
    active = (en > st) & (first != ord("#"))
    qdet = np.full(nl, -1, np.int64)  # detail code of a line-level rejection

    def reject(mask: np.ndarray, code: int) -> None:
        qdet[mask & (qdet < 0)] = code

    # the sentence (or its tag block) normally starts the line; search only lines with a receiver prefix
    d0 = st.copy()
    for i in np.flatnonzero(active & ~_DELIM[first]).tolist():
        m = _DELIM_RE.search(data, int(st[i]), int(en[i]))
        d0[i] = m.start() if m else -1
    has_delim = active & (d0 >= 0)
    reject(active & ~has_delim, D_NODELIM)
    d0 = np.where(has_delim, d0, st)
    star_cache: list[np.ndarray] = []

    def next_star(at: np.ndarray) -> np.ndarray:
        """First '*' at or after ``at`` (the file's '*' positions are found once, only if needed)."""
        if not star_cache:
            star_cache.append(_positions(buf == ord("*"), big))
        return _next(star_cache[0], at)

    # tag blocks \...*hh\ (checksum over the bytes between '\' and '*')
    is_tag = has_delim & (pbuf[d0] == ord("\\"))
    tags = np.flatnonzero(is_tag)
    tstar = np.full(nl, big, np.int64)
    # a tag-only line ends in "*hh\"; inline tag blocks need a search
    cand = en[tags] - 4
    alone = (cand > d0[tags]) & (np.take(pbuf, cand) == ord("*")) & (np.take(pbuf, en[tags] - 1) == ord("\\"))
    tstar[tags[alone]] = cand[alone]
    if (~alone).any():
        tstar[tags[~alone]] = next_star(d0[tags[~alone]] + 1)
    tclose = tstar + 3
    tchk = np.full(nl, -1, np.int64)
    tchk[tags] = _hex2(pbuf, tstar[tags] + 1)
    tag_form = is_tag & (tclose < en) & (np.take(pbuf, tclose) == ord("\\")) & (tchk >= 0)
    reject(is_tag & ~tag_form, D_TAGNOCHK)
    tf = np.flatnonzero(tag_form)
    tag_good = np.zeros(nl, np.bool_)
    tag_good[tf] = _xor_segments(pbuf, d0[tf] + 1, tstar[tf]) == tchk[tf]
    reject(tag_form & ~tag_good, D_TAGCHK)
    s0 = np.where(is_tag, np.minimum(tclose + 1, en), d0)
    tag_only = is_tag & (s0 >= en)
    sfirst = np.take(pbuf, s0)
    sent = has_delim & ~tag_only & (qdet < 0)
    reject(sent & (sfirst != ord("!")) & (sfirst != ord("$")), D_TAGJUNK)
    sent &= qdet < 0

    # sentences: checksum, then the name (talker + type) from the 8 bytes after the delimiter
    ss = np.flatnonzero(sent)
    star = np.full(nl, big, np.int64)
    cand = en[ss] - 3  # "*hh" normally ends the line; lines with receiver suffixes need a search
    at_end = (cand > s0[ss]) & (np.take(pbuf, cand) == ord("*"))
    star[ss[at_end]] = cand[at_end]
    if (~at_end).any():
        star[ss[~at_end]] = next_star(s0[ss[~at_end]])
    chk = np.full(nl, -1, np.int64)
    chk[ss] = _hex2(pbuf, star[ss] + 1)
    formed = sent & (star + 3 <= en) & (chk >= 0)
    reject(sent & ~formed, D_NOCHK)
    fm = np.flatnonzero(formed)
    chk_good = np.zeros(nl, np.bool_)
    chk_good[fm] = _xor_segments(pbuf, s0[fm] + 1, star[fm]) == chk[fm]
    name = _window(pbuf, s0[fm] + 1, 8).view("<u8")[:, 0]
    is_vdm = np.zeros(nl, np.bool_)
    is_pghp = np.zeros(nl, np.bool_)
    vd = (name >> np.uint64(16)) & np.uint64(0xFFFFFFFF)  # bytes 3..6: "VDM," / "VDO,"
    is_vdm[fm] = (sfirst[fm] == ord("!")) & ((vd == _VDM) | (vd == _VDO))
    is_pghp[fm] = (sfirst[fm] == ord("$")) & ((name & np.uint64(0xFFFFFFFFFF)) == _PGHP)
    reject(formed & ~chk_good, D_CHK)
    reject(formed & ~is_vdm & ~is_pghp, D_NONAIS)

    # VDM/VDO fields: !xxVDM,count,number,seq,channel,payload,fill*hh. The header fields are single
    # characters (seq and channel may be empty), so they are read from a 10-byte window after the name;
    # the payload ends at the comma before the fill digit, just before the '*'.
    vv = np.flatnonzero(is_vdm & (qdet < 0))
    vs0, vstar = s0[vv], star[vv]
    head = _window(pbuf, vs0 + 6, 10).astype(np.int64)  # ",1,1,,A,..."
    comma = head == ord(",")
    vbad = np.full(vv.size, -1, np.int64)

    def vreject(mask: np.ndarray, code: int) -> None:
        vbad[mask & (vbad < 0)] = code

    fc, fn = head[:, 1] - 48, head[:, 3] - 48
    seq_empty = comma[:, 5]
    seq = np.where(seq_empty, -1, head[:, 5] - 48)
    o = np.where(seq_empty, 5, 6)  # offset of the comma ending the sequence id
    rows = np.arange(vv.size)
    after = [comma[rows, np.minimum(o + k, 9)] for k in (1, 2, 3)]
    chan_len = np.where(after[0], 0, np.where(after[1], 1, np.where(after[2], 2, -1)))
    frag_ok = comma[:, 2] & comma[:, 4] & (fc >= 1) & (fc <= 9) & (fn >= 1) & (fn <= fc)
    frag_ok &= seq_empty | (comma[:, 6] & (seq >= 0) & (seq <= 9))
    vreject(~frag_ok, D_FRAG)
    vreject(chan_len < 0, D_FIELDS)
    chan = np.where(chan_len > 0, head[rows, np.minimum(o + 1, 9)], 0)
    pstart = vs0 + 6 + o + chan_len + 2
    fill_comma = np.take(pbuf, vstar - 2) == ord(",")
    empty_fill = np.take(pbuf, vstar - 1) == ord(",")
    vreject(~fill_comma & ~empty_fill, D_FIELDS)
    plen = np.where(fill_comma, vstar - 2, vstar - 1) - pstart
    fill = np.where(fill_comma, np.take(pbuf, vstar - 1).astype(np.int64) - 48, 0)
    vreject((fill < 0) | (fill > 5), D_FILL)
    vreject(plen <= 0, D_EMPTY)
    qdet[vv[vbad >= 0]] = vbad[vbad >= 0]

    # $PGHP,1,yyyy,mm,dd,HH,MM,SS,ms,country,region,site,...: time and receiving site of the next sentence
    pg = np.flatnonzero(is_pghp & (qdet < 0))
    pghp_us = np.full(nl, NOTIME, np.int64)
    src_a = np.full(nl, -1, np.int64)  # source text slice per line
    src_b = np.full(nl, -1, np.int64)
    if pg.size:
        pstar = star[pg]
        f = _field_ends(data, pbuf, s0[pg], pstar, 12)  # field j of the line ends at its comma j (or the '*')
        days, date_ok = _pghp_days(pbuf, f)
        h, mi, sec, ms, ok = _pghp_numbers(pbuf, f)
        ok &= date_ok & (h < 24) & (mi < 60) & (sec < 61)
        us = (((days * 24 + h) * 60 + mi) * 60 + sec) * 1_000_000 + ms * 1000
        pghp_us[pg[ok]] = us[ok]
        qdet[pg[~ok]] = D_PGHP
        # the site MMSI (field 11) when present, else the country MID (field 9)
        use_site = (f[11] > f[10] + 1) & (f[10] < pstar)
        has_cty = f[9] > f[8] + 1
        src_a[pg] = np.where(use_site, f[10] + 1, np.where(has_cty, f[8] + 1, -1))
        src_b[pg] = np.where(use_site, f[11], np.where(has_cty, f[9], -1))

    # tag block fields c: (unix s or ms), s: (source), g: (sentence group), inline or on a tag-only line
    tag_c = np.full(nl, NOTIME, np.int64)
    tag_s = np.full((2, nl), -1, np.int64)
    tag_g = np.full((2, nl), -1, np.int64)
    tg = np.flatnonzero(tag_good)
    if tg.size:
        ta, te = d0[tg] + 1, tstar[tg]  # tag content
        rows, col = _commas_in(pbuf, ta, te - ta, int((te - ta).max()))
        cpos = ta[rows] + col
        cnt = np.bincount(rows, minlength=tg.size)
        first = np.minimum(np.cumsum(cnt) - cnt, max(cpos.size - 1, 0))
        same_next = np.zeros(cpos.size, np.bool_)
        same_next[:-1] = rows[1:] == rows[:-1]
        next_pos = np.zeros(cpos.size, np.int64)
        next_pos[:-1] = cpos[1:]
        # fields: the first of each tag block, then one after each comma; each ends at the next comma or '*'
        fstart = np.concatenate((ta, cpos + 1))
        frow = np.concatenate((tg, tg[rows]))
        fend = np.concatenate(
            (np.where(cnt > 0, cpos[first] if cpos.size else te, te), np.where(same_next, next_pos, te[rows]))
        )
        key = np.where(pbuf[fstart + 1] == ord(":"), pbuf[fstart], 0)
        m = key == ord("c")
        v, okc = _uint(pbuf, fstart[m] + 2, fend[m], 13)
        ms_ = fend[m] - fstart[m] - 2 >= 12
        tag_c[frow[m][okc]] = np.where(ms_, v * 1000, v * 1_000_000)[okc]
        for code, arr in ((ord("s"), tag_s), (ord("g"), tag_g)):
            m = key == code
            arr[0, frow[m]] = fstart[m] + 2
            arr[1, frow[m]] = fend[m]

    # context lines (tag-only, $PGHP) apply to the next record line; a later context line of the same kind
    # before that record supersedes them (orphans are quarantined)
    ctx_like = tag_only | is_pghp
    records = np.flatnonzero(active & ~ctx_like)
    prev_rec = np.concatenate(([-1], records[:-1]))
    consumed = np.zeros(nl, np.bool_)
    assigned: dict[str, np.ndarray] = {}
    for kind, ctx in (("tag", tag_only & tag_good & (qdet < 0)), ("pghp", is_pghp & (qdet < 0))):
        cidx = np.flatnonzero(ctx)
        assigned[kind] = np.full(records.size, -1, np.int64)
        if cidx.size and records.size:
            j = np.searchsorted(cidx, records) - 1
            cand = np.where(j >= 0, cidx[np.maximum(j, 0)], -1)
            got = cand > prev_rec
            assigned[kind] = np.where(got, cand, -1)
            consumed[cand[got]] = True
        reject(ctx & ~consumed, D_ORPHAN)
    lines_read = int(active.sum() - consumed.sum())

    # valid VDM lines: time and source, in order of preference
    keep = qdet[vv] < 0
    vl = vv[keep]
    fc, fn, seq, chan, pstart, plen, fill = (x[keep] for x in (fc, fn, seq, chan, pstart, plen, fill))
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
    # receiver suffixes / prefixes (Python, only on lines that have them)
    suf = np.flatnonzero(star[vl] + 3 < en[vl])
    if suf.size:
        tt, xa, xb = _suffix_meta(pbuf, star[vl[suf]] + 3, en[vl[suf]])
        t[suf] = np.where(t[suf] == NOTIME, tt, t[suf])
        use = (sa[suf] < 0) & (xa >= 0)
        sa[suf] = np.where(use, xa, sa[suf])
        sb_[suf] = np.where(use, xb, sb_[suf])
    for i in np.flatnonzero((d0[vl] > st[vl]) & (t == NOTIME)).tolist():
        t[i] = _prefix_time(data[int(st[vl[i]]) : int(d0[vl[i]])])

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
        talker = (
            pbuf[s0[vl[multi]] + 1].astype(np.int64) * 65536 + pbuf[s0[vl[multi]] + 2].astype(np.int64) * 256
        )
        talker += pbuf[s0[vl[multi]] + 5]
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
