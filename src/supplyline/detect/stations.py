"""Which AIS stations are vessels: a class from the MMSI's digit structure (ITU-R M.585) and the message type.

Numbers are read as the 9-digit MMSI, zero-padded (an integer 2579999 is ``002579999``). Classes:

==================  ============================  =====================================================
class               MMSI pattern / message        what it is
==================  ============================  =====================================================
``vessel``          ``MIDxxxxxx`` (first 2-7)     a ship station
``coast_station``   ``00MIDxxxx``; msg 4, 11      a shore station (base station reports)
``group``           ``0MIDxxxxx``                 a group call number, not one station
``sar_aircraft``    ``111MIDxxx``; msg 9          search-and-rescue aircraft
``handheld``        ``8MIDxxxxx``                 handheld VHF with DSC/GNSS (a person, not a hull)
``associated_craft`` ``98MIDxxxx``                craft associated with a parent ship (tenders, RIBs);
                                                  also used by many fishing-gear buoys in real data
``aton``            ``99MIDxxxx``; msg 21         aid to navigation
``sart``            ``970xxyyyy``                 AIS search-and-rescue transmitter
``mob``             ``972xxyyyy``                 man-overboard device
``epirb``           ``974xxyyyy``                 EPIRB with AIS
``amrd``            ``979xxyyyy``                 autonomous maritime radio device, group B (M.585-9)
``gear_buoy``       any other ``9xxxxxxxx``       not an ITU pattern; fishing-net buoys transmit these
                                                  (94x, 96x, 91x ... are common in real data)
``unknown``         anything else: first digit 1  not a valid MMSI (no MID where one belongs): kept as
                    (not 111MID), 0 or 00 without  a vessel, since nothing says it is not one
                    a MID, > 9 digits, <= 0
==================  ============================  =====================================================

Ship type 0-99 does not mark shore stations, but a message type does: base stations (4, 11), SAR aircraft
(9) and AtoN (21) override the number's class. Everything except ``vessel`` and ``unknown`` is a
non-vessel station and is left out of visits, voyages, loitering and encounters unless the threshold
``include_non_vessels`` is true.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

CLASSES = (
    "vessel",
    "unknown",
    "coast_station",
    "group",
    "sar_aircraft",
    "handheld",
    "associated_craft",
    "aton",
    "sart",
    "mob",
    "epirb",
    "amrd",
    "gear_buoy",
)
"""Every station class, vessels first; index = the class code :func:`station_codes` returns."""

VESSEL_CODES = (0, 1)
"""Codes of the classes counted as vessels (``vessel``, ``unknown``)."""

_C = {name: i for i, name in enumerate(CLASSES)}
_MSG_CLASS = {4: "coast_station", 11: "coast_station", 9: "sar_aircraft", 21: "aton"}


def station_codes(mmsi: npt.ArrayLike, msg_type: npt.ArrayLike | None = None) -> npt.NDArray[np.int8]:
    """Class code (index into :data:`CLASSES`) of every row, from its MMSI and, if given, message type."""
    m = np.asarray(mmsi, dtype=np.int64)
    out = np.full(m.shape, _C["unknown"], dtype=np.int8)
    valid = (m > 0) & (m < 1_000_000_000)
    digit = [(m // 10 ** (8 - k)) % 10 for k in range(4)]  # first four digits of the 9-digit number
    d2 = m // 10_000_000  # first two digits
    d3 = m // 1_000_000  # first three digits

    def mid_at(k: int) -> npt.NDArray[np.bool_]:  # a Maritime Identification Digits block starts at k
        return (digit[k] >= 2) & (digit[k] <= 7)

    rules = [  # later rules win, so the specific patterns come after the general ones
        (mid_at(0), "vessel"),
        ((digit[0] == 0) & mid_at(1), "group"),
        ((d2 == 0) & mid_at(2), "coast_station"),
        ((d3 == 111) & mid_at(3), "sar_aircraft"),
        ((digit[0] == 8) & mid_at(1), "handheld"),
        (digit[0] == 9, "gear_buoy"),
        ((d2 == 98) & mid_at(2), "associated_craft"),
        ((d2 == 99) & mid_at(2), "aton"),
        (d3 == 970, "sart"),
        (d3 == 972, "mob"),
        (d3 == 974, "epirb"),
        (d3 == 979, "amrd"),
    ]
    for hit, name in rules:
        out[valid & hit] = _C[name]
    if msg_type is not None:
        mt = np.asarray(msg_type, dtype=np.float64)  # float: NaN for missing message types
        for code, name in _MSG_CLASS.items():
            out[mt == code] = _C[name]
    return out


def is_vessel(mmsi: npt.ArrayLike, msg_type: npt.ArrayLike | None = None) -> npt.NDArray[np.bool_]:
    """True for rows whose station counts as a vessel (class ``vessel`` or ``unknown``)."""
    m = np.asarray(mmsi, dtype=np.int64)
    if msg_type is not None:
        return np.isin(station_codes(m, msg_type), VESSEL_CODES)
    # Only 9-digit numbers starting 0, 1, 8 or 9 can be stations of another class: classify just those.
    first = m // 100_000_000
    maybe = (m > 0) & (m < 1_000_000_000) & ((first <= 1) | (first >= 8))
    out = np.ones(m.shape, dtype=bool)
    if maybe.any():
        rows = np.flatnonzero(maybe)
        out[rows] = np.isin(station_codes(m[rows]), VESSEL_CODES)
    return out


def station_class(mmsi: npt.ArrayLike, msg_type: npt.ArrayLike | None = None) -> list[str]:
    """Class name of every row (see the module table)."""
    names = np.asarray(CLASSES, dtype=object)
    return list(names[station_codes(mmsi, msg_type)])


def station_class_arrow(mmsi: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`station_class` over an Arrow int64 column (nulls stay null), for SQL views (a DuckDB UDF)."""
    filled = mmsi.fill_null(-1).to_numpy(zero_copy_only=False)
    names = pa.array(station_class(filled), pa.string())
    return pc.if_else(mmsi.is_null(), pa.nulls(len(mmsi), pa.string()), names)


def non_vessel_mmsis(mmsi: npt.ArrayLike, msg_type: npt.ArrayLike | None = None) -> npt.NDArray[np.int64]:
    """Distinct MMSIs with at least one row classed as a non-vessel station."""
    m = np.asarray(mmsi, dtype=np.int64)
    return np.unique(m[~is_vessel(m, msg_type)])


def vessel_pairs_only(encounters: pa.Table, include_non_vessels: bool = False) -> pa.Table:
    """``encounters`` without the pairs where either MMSI is a non-vessel station (a ship beside its own
    fishing-gear buoy is not a meeting of two vessels), unless ``include_non_vessels``."""
    if include_non_vessels or encounters.num_rows == 0:
        return encounters
    keep = is_vessel(encounters.column("mmsi_a").to_numpy()) & is_vessel(
        encounters.column("mmsi_b").to_numpy()
    )
    return encounters if keep.all() else encounters.filter(pa.array(keep))


__all__ = [
    "CLASSES",
    "VESSEL_CODES",
    "is_vessel",
    "non_vessel_mmsis",
    "station_class",
    "station_class_arrow",
    "station_codes",
    "vessel_pairs_only",
]
