"""AIS six-bit payloads -> message fields, for many messages at once (the payload stage of the NMEA decoder).

Messages are grouped by kind (class A position reports 1-3, class B 18 and 19, long-range 27, static and
voyage data 5, static data report 24); each group's payload characters become one char-major matrix of
six-bit values (:class:`_Bits`), and every field is cut out of all rows at once (:mod:`._sixbit`). Field
offsets and semantics are pyais 3's, including its handling of truncated payloads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supplyline.ingest import _sixbit as sb
from supplyline.ingest._scan_py import D_CHARS, D_PARTNO, D_SHORT

# --- byte tables --------------------------------------------------------------------------------------------

POSITION_TYPES = (1, 2, 3, 18, 19, 27)
STATIC_TYPES = (5, 19, 24)


# --- small vectorised helpers -------------------------------------------------------------------------------
# Every gather reads a zero-padded copy of the input (``pbuf``): sentinel positions point into the padding,
# so look-ups past the end of a line or of the file read zeros instead of needing masks.

PAD = 256


def padded(data: bytes, room: int = 0) -> np.ndarray:
    """``data`` + 256 zero bytes (+ ``room`` more: calloc'd pages cost nothing until written)."""
    pbuf = np.zeros(len(data) + PAD + room, np.uint8)
    pbuf[: len(data)] = np.frombuffer(data, np.uint8)
    return pbuf


def _window(pbuf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``pbuf[at[i] : at[i] + width]`` for every i as an (n, width) uint8 matrix (one strided gather)."""
    view = np.ndarray((pbuf.size - width + 1, width), np.uint8, buffer=pbuf, strides=(1, 1))  # no copy
    return view[at]


# --- payload decoding ---------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Bits:
    """The six-bit payload values of one group of messages: ``v6`` char-major (chars, messages), each
    message's length in bits, and the group's shortest length (``min_bits``: fields inside it need no
    truncation handling)."""

    v6: np.ndarray
    nbits: np.ndarray
    min_bits: int

    def field(self, off: int, width: int, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Bit field ``[off, off + width)`` of every message: (values, valid); see :func:`_sixbit.field`."""
        return sb.field(self.v6, self.nbits, off, width, signed=signed, min_bits=self.min_bits)

    def text(self, off: int, nchars: int) -> tuple[np.ndarray, np.ndarray]:
        """Six-bit text field as an ASCII matrix plus ``valid``; see :func:`_sixbit.text`."""
        return sb.text(self.v6, self.nbits, off, nchars, min_bits=self.min_bits)

    def subset(self, mask: np.ndarray) -> _Bits:
        """The messages selected by ``mask`` (``min_bits`` stays the group's)."""
        return _Bits(self.v6[:, mask], self.nbits[mask], self.min_bits)


# decoding groups: (types, chars to decode, minimum bits: through latitude / the first field read)
_GROUPS: tuple[tuple[tuple[int, ...], int, int], ...] = (
    ((1, 2, 3), 28, 116),
    ((18,), 28, 112),
    ((19,), 52, 112),
    ((27,), 16, 79),
    ((5,), 71, 38),
    ((24,), 28, 40),
)
# bit offsets of the position fields: class A (1-3), long-range (27), class B (18, 19)
# message type -> decoding group of decode_fields (-1: not decoded)
_GROUP_OF_TYPE = np.full(64, -1, np.int64)
for _g, (_types, _, _) in enumerate(_GROUPS):
    _GROUP_OF_TYPE[list(_types)] = _g
_POSITION_OFFSETS = {
    1: {"status": 38, "speed": 50, "lon": 61, "lat": 89, "course": 116, "heading": 128},
    27: {"status": 40, "lon": 44, "lat": 62, "speed": 79, "course": 85},
    18: {"speed": 46, "lon": 57, "lat": 85, "course": 112, "heading": 124},
}
_DIMENSIONS = ("to_bow", "to_stern", "to_port", "to_starboard")


def _empty_fields(msg_type: np.ndarray) -> dict[str, np.ndarray]:
    """The decoder's output columns for ``msg_type.size`` messages, all missing (NaN / -1 / '@' text)."""
    n = msg_type.size
    out: dict[str, np.ndarray] = {
        "msg_type": msg_type,
        "mmsi": np.zeros(n, np.int64),
        "bad": np.where(np.isin(msg_type, (*POSITION_TYPES, 5, 24)), -1, 100 + msg_type),
    }
    for name in ("lat", "lon", "sog", "cog", "heading", "draught"):
        out[name] = np.full(n, np.nan)
    for name in ("nav_status", "imo", "ship_type", *_DIMENSIONS, "partno"):
        out[name] = np.full(n, -1, np.int64)
    for name in ("month", "day", "hour", "minute"):
        out[f"eta_{name}"] = np.full(n, -1, np.int64)
    for name, nchars in (("name", 20), ("callsign", 7), ("destination", 20)):
        out[f"{name}_chars"] = np.full((n, nchars), ord("@"), np.uint8)
        out[f"{name}_ok"] = np.zeros(n, np.bool_)
    return out


def _put(out: dict[str, np.ndarray], name: str, rows: np.ndarray, val: np.ndarray, ok: np.ndarray) -> None:
    """``out[name][rows] = val`` where the field was present (``ok``)."""
    if ok.all():
        out[name][rows] = val
    else:
        out[name][rows[ok]] = val[ok]


def _put_text(
    out: dict[str, np.ndarray], name: str, rows: np.ndarray, text: tuple[np.ndarray, np.ndarray]
) -> None:
    chars, ok = text
    out[f"{name}_chars"][rows] = chars
    out[f"{name}_ok"][rows] = ok


def _group_bits(
    pbuf: np.ndarray, pstart: np.ndarray, plen: np.ndarray, nbits: np.ndarray, width: int
) -> tuple[_Bits, np.ndarray]:
    """The first ``width`` payload characters of a group's messages as six-bit values, and "all legal"."""
    raw = _window(pbuf, pstart, width)
    if (plen < width).any():  # zero the bytes after short payloads (they belong to the next NMEA field)
        raw = np.where(np.arange(width)[None, :] < plen[:, None], raw, ord("0"))
    v6, chars_ok = _armor(raw)
    return _Bits(v6, nbits, int(nbits.min())), chars_ok


def decode_fields(
    pbuf: np.ndarray, pstart: np.ndarray, plen: np.ndarray, fill: np.ndarray
) -> dict[str, np.ndarray]:
    """Decode position (1, 2, 3, 18, 19, 27) and static (5, 19, 24) fields of many payloads at once.

    Returns NumPy columns, one row per payload: ``msg_type``, ``mmsi``, ``bad`` (detail code, -1 = fine),
    ``is_pos``/``is_static``; position columns (NaN / -1 where missing) and static columns, text fields
    as ASCII matrices (``name_chars`` ...) with ``*_ok`` masks.
    """
    msg_type = np.where(plen > 0, sb.ARMOR[pbuf[pstart]], 0).astype(np.int64)
    nbits = 6 * plen - fill
    out = _empty_fields(msg_type)
    group_of = _GROUP_OF_TYPE[msg_type]
    by_group = np.argsort(group_of, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(group_of + 1, minlength=len(_GROUPS) + 1))))
    for g, (types, width, min_bits) in enumerate(_GROUPS):
        rows = by_group[bounds[g + 1] : bounds[g + 2]]
        if rows.size == 0:
            continue
        bits, chars_ok = _group_bits(pbuf, pstart[rows], plen[rows], nbits[rows], width)
        bad = np.where(~chars_ok, D_CHARS, np.where(bits.nbits < min_bits, D_SHORT, -1))
        mmsi, _ = bits.field(8, 30)
        out["mmsi"][rows] = mmsi
        first_type = types[0]
        if first_type in (1, 18, 19, 27):
            _position_fields(out, rows, bits, first_type)
        if first_type == 19:
            _extended_class_b_statics(out, rows, bits)
        elif first_type == 5:
            _static_and_voyage(out, rows, bits)
        elif first_type == 24:
            bad = _static_data_report(out, rows, bits, mmsi, bad)
        out["bad"][rows] = bad
    good = out["bad"] < 0
    out["is_pos"] = good & np.isin(msg_type, POSITION_TYPES)
    out["is_static"] = good & np.isin(msg_type, STATIC_TYPES)
    return out


def _position_fields(out: dict[str, np.ndarray], rows: np.ndarray, bits: _Bits, msg_type: int) -> None:
    """Position, speed, course, heading and status of types 1-3, 18, 19 (class B) and 27 (long range)."""
    long_range = msg_type == 27
    offs = _POSITION_OFFSETS[1 if msg_type == 1 else 27 if long_range else 18]
    lon, lon_ok = bits.field(offs["lon"], 18 if long_range else 28, signed=True)
    lat, lat_ok = bits.field(offs["lat"], 17 if long_range else 27, signed=True)
    scale = 10000 if long_range else 10
    _put(out, "lon", rows, _lat_lon(lon, scale), lon_ok)
    _put(out, "lat", rows, _lat_lon(lat, scale), lat_ok)
    sog, sog_ok = bits.field(offs["speed"], 6 if long_range else 10)
    cog, cog_ok = bits.field(offs["course"], 9 if long_range else 12)
    if long_range:  # its own "not available" codes mapped to the others' (see the module docstring)
        _put(out, "sog", rows, np.where(sog == 63, 102.3, sog.astype(np.float64)), sog_ok)
        _put(out, "cog", rows, np.where(cog == 511, 360.0, cog.astype(np.float64)), cog_ok)
    else:
        _put(out, "sog", rows, sog / 10.0, sog_ok)
        _put(out, "cog", rows, cog / 10.0, cog_ok)
    if "heading" in offs:
        heading, heading_ok = bits.field(offs["heading"], 9)
        _put(out, "heading", rows, heading.astype(np.float64), heading_ok)
    if "status" in offs:
        _put(out, "nav_status", rows, *bits.field(offs["status"], 4))


def _extended_class_b_statics(out: dict[str, np.ndarray], rows: np.ndarray, bits: _Bits) -> None:
    """The static half of type 19: name, ship type, dimensions."""
    _put_text(out, "name", rows, bits.text(143, 20))
    for name, off, width in (
        ("ship_type", 263, 8),
        ("to_bow", 271, 9),
        ("to_stern", 280, 9),
        ("to_port", 289, 6),
        ("to_starboard", 295, 6),
    ):
        _put(out, name, rows, *bits.field(off, width))


def _static_and_voyage(out: dict[str, np.ndarray], rows: np.ndarray, bits: _Bits) -> None:
    """Type 5: IMO, call sign, name, ship type, dimensions, ETA, draught, destination."""
    for name, off, width in (
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
        _put(out, name, rows, *bits.field(off, width))
    draught, draught_ok = bits.field(294, 8)
    _put(out, "draught", rows, draught / 10.0, draught_ok)
    for name, off, nchars in (("callsign", 70, 7), ("name", 112, 20), ("destination", 302, 20)):
        _put_text(out, name, rows, bits.text(off, nchars))


def _static_data_report(
    out: dict[str, np.ndarray], rows: np.ndarray, bits: _Bits, mmsi: np.ndarray, bad: np.ndarray
) -> np.ndarray:
    """Type 24: part A (name) or part B (ship type, call sign, dimensions); other part numbers are bad."""
    part, _ = bits.field(38, 2)
    out["partno"][rows] = part
    bad = np.where((bad < 0) & (part > 1), D_PARTNO, bad)
    is_a, is_b = part == 0, part == 1
    _put_text(out, "name", rows[is_a], bits.subset(is_a).text(40, 20))
    rows_b, bits_b = rows[is_b], bits.subset(is_b)
    _put(out, "ship_type", rows_b, *bits_b.field(40, 8))
    _put_text(out, "callsign", rows_b, bits_b.text(90, 7))
    auxiliary = (mmsi[is_b] >= 980000000) & (mmsi[is_b] <= 989999999)  # auxiliary craft: mothership instead
    for name, off, width in (
        ("to_bow", 132, 9),
        ("to_stern", 141, 9),
        ("to_port", 150, 6),
        ("to_starboard", 156, 6),
    ):
        value, ok = bits_b.field(off, width)
        _put(out, name, rows_b, value, ok & ~auxiliary)
    return bad
