"""Port visits with hysteresis (GFW port-visit rules), per track, fully vectorised.

Rule, applied along each track in time order:
  * a visit to place P starts at a position whose nearest containing place within ``r_in`` is P
    (``PlaceIndex.assign(..., "r_in")``) when the vessel is not already visiting P;
  * it continues while positions stay within ``r_out`` of P (distance to P's centre <= ``r_out_m``, or
    still assigned to P within ``r_in``), across silences of any length (a silence of ``visit_gap_h`` or
    more is a *port gap*: it raises confidence instead of ending the visit);
  * it ends at the last position before the vessel leaves ``r_out``, or enters ``r_in`` of another place,
    or the track ends (``open`` when that is the end of the data).
Arrival/departure are the first/last position of the visit; stopped time uses the stop/move speed
hysteresis (below ``stop_speed_kn`` stopped, above ``move_speed_kn`` moving, in between unchanged).
Confidence follows GFW's port-visit levels: entry + (stop or port gap) + exit = 1.0; stop or gap with entry
or exit = 0.75; entry and exit only (passing through) or a stop/gap alone = 0.5; anything less = 0.25.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect._arrays import (
    US_PER_H,
    FloatArray,
    IntArray,
    interval_sum,
    last_true_index,
    run_bounds,
    run_reduce,
    start_index,
    to_ts,
)
from supplyline.detect.segments import Tracks
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import haversine_km
from supplyline.ids import stable_ids


@dataclass
class PlaceArrays:
    """The columns of the places table the kernels need, as NumPy/Python arrays."""

    place_id: np.ndarray
    name: np.ndarray
    lat: FloatArray
    lon: FloatArray
    r_out_m: FloatArray
    watched: np.ndarray
    is_polygon: np.ndarray

    @property
    def has_polygons(self) -> bool:
        return bool(self.is_polygon.any())

    @classmethod
    def from_table(cls, places: pa.Table) -> PlaceArrays:
        watched = (
            np.asarray(places.column("watched").fill_null(False).to_numpy(zero_copy_only=False), bool)
            if "watched" in places.column_names
            else np.zeros(places.num_rows, dtype=bool)
        )
        poly = (
            np.asarray(places.column("geometry_wkb").is_valid().to_numpy(zero_copy_only=False), bool)
            if "geometry_wkb" in places.column_names
            else np.zeros(places.num_rows, dtype=bool)
        )
        return cls(
            np.asarray(places.column("place_id").to_pylist(), dtype=object),
            np.asarray(places.column("name").to_pylist(), dtype=object),
            np.asarray(places.column("lat").to_numpy(zero_copy_only=False), dtype=np.float64),
            np.asarray(places.column("lon").to_numpy(zero_copy_only=False), dtype=np.float64),
            np.asarray(places.column("r_out_m").to_numpy(zero_copy_only=False), dtype=np.float64),
            watched,
            poly,
        )


@dataclass
class VisitRuns:
    """Visits as runs of track rows (``first``..``last`` inclusive) at place row ``place``, and the table."""

    first: IntArray
    last: IntArray
    place: IntArray
    table: pa.Table


def stopped_state(tr: Tracks, th: Thresholds) -> np.ndarray:
    """Stopped (True) / moving per row with hysteresis; rows before any decisive speed count as moving."""
    spd = tr.speed_kn
    decisive = (spd < th.stop_speed_kn) | (spd > th.move_speed_kn)  # NaN compares False: undecided
    last = last_true_index(decisive)
    ok = last >= start_index(tr.track_start)
    return ok & (spd[np.maximum(last, 0)] < th.stop_speed_kn)


def visit_runs(
    tr: Tracks,
    inner: IntArray,
    pl: PlaceArrays,
    outer: IntArray | None = None,
    maybe_out: np.ndarray | None = None,
) -> tuple[IntArray, IntArray, IntArray]:
    """(first, last, place) of every visit; ``inner``/``outer`` are the r_in/r_out place rows of each track
    row (-1 none; ``outer`` is only needed for polygon places, circles use the distance to the centre);
    ``maybe_out`` (optional) is False for rows proven farther than r_out from every place, which skips
    their distance computation."""
    n = len(tr)
    if n == 0:
        e = np.empty(0, np.int64)
        return e, e, e
    entered = inner >= 0
    # Candidate place: the latest r_in place seen on this track.
    li = last_true_index(entered)
    ok = li >= start_index(tr.track_start)
    cand = np.where(ok, inner[np.maximum(li, 0)], -1)
    has = cand >= 0
    c = np.maximum(cand, 0)
    d_m = np.full(n, np.inf)
    todo = has & (inner != cand)  # rows inside r_in of the candidate stay without measuring
    if maybe_out is not None:
        todo &= maybe_out
    h = np.flatnonzero(todo)
    d_m[h] = haversine_km(tr.lat[h], tr.lon[h], pl.lat[c[h]], pl.lon[c[h]]) * 1000.0
    stay = has & ((inner == cand) | ((d_m <= pl.r_out_m[c]) & ~pl.is_polygon[c]))
    if outer is not None:
        stay |= has & (outer == cand)
    brk = has & ~stay
    # Inside when the latest entry into the candidate is later than the latest exit from it.
    last_entry = last_true_index(has & (inner == cand))
    last_break = last_true_index(brk)
    inside = has & (last_entry > last_break)
    # A new visit also starts where the candidate place changes between two inside rows.
    change = np.zeros(n, dtype=bool)
    change[1:] = cand[1:] != cand[:-1]
    starts = tr.track_start | change
    first, last = run_bounds(inside, starts)
    return first, last, cand[first]


def visits_table(
    tr: Tracks,
    runs: tuple[IntArray, IntArray, IntArray],
    pl: PlaceArrays,
    stopped: np.ndarray,
    draught_at: FloatArray,
    vessel_last: np.ndarray,
    th: Thresholds,
) -> VisitRuns:
    """Build the visits table; ``draught_at`` is the reported draught in force at each row (NaN unknown),
    ``vessel_last`` marks rows that are their vessel's last position in the data."""
    first, last, place = runs
    if len(first) == 0:
        return VisitRuns(first, last, place, schema.empty(schema.VISITS))
    ts = tr.ts
    dwell_h = (ts[last] - ts[first]) / US_PER_H
    # Intervals i -> i+1 inside the visit: rows first..last-1.
    dt_next = np.zeros(len(tr))
    dt_next[:-1] = np.where(tr.track_start[1:], 0, tr.dt_us[1:])
    stopped_h = interval_sum(np.where(stopped, dt_next, 0.0), first, last) / US_PER_H
    gap_in = np.where(tr.track_start, 0, tr.dt_us)
    max_gap_h = (
        np.where(last > first, run_reduce(np.maximum, gap_in, np.minimum(first + 1, last), last), 0)
        / US_PER_H
    )
    entry = ~tr.track_start[first]
    is_open = vessel_last[last]
    track_end = (last == len(tr) - 1) | tr.track_start[np.minimum(last + 1, len(tr) - 1)]
    exit_ = ~track_end
    evidence = (stopped_h > 0) | (max_gap_h >= th.visit_gap_h)
    level = np.where(
        evidence & entry & exit_,
        4,
        np.where(evidence & (entry | exit_), 3, np.where(evidence | (entry & exit_), 2, 1)),
    )
    confidence = (level / 4.0).astype(np.float32)
    mmsi = tr.mmsi[first]
    pid = pl.place_id[place]
    table = pa.table(
        {
            "visit_id": stable_ids("visit", mmsi, ts[first], pid),
            "mmsi": pa.array(mmsi, pa.int64()),
            "place_id": pa.array(pid.tolist(), pa.string()),
            "place_name": pa.array(pl.name[place].tolist(), pa.string()),
            "arrival_ts": to_ts(ts[first]),
            "departure_ts": to_ts(ts[last]),
            "dwell_h": pa.array(dwell_h, pa.float64()),
            "stopped_h": pa.array(stopped_h, pa.float64()),
            "n_positions": pa.array(last - first + 1, pa.int64()),
            "max_gap_h": pa.array(max_gap_h, pa.float64()),
            "draught_arrival_m": pa.array(draught_at[first].astype(np.float32), from_pandas=True),
            "draught_departure_m": pa.array(draught_at[last].astype(np.float32), from_pandas=True),
            "confidence": pa.array(confidence, pa.float32()),
            "open": pa.array(is_open, pa.bool_()),
        },
        schema=schema.VISITS,
    )
    return VisitRuns(first, last, place, table)
