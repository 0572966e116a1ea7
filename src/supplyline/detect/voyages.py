"""Voyages: from one stop in port to the next stop in port of the same track.

Departure is the last position of the origin visit, arrival the first of the destination visit; distance
sailed is the sum of great-circle steps between them (not the straight line), ``max_gap_h`` the longest
silence on the way, and draught change = draught on arrival minus draught on departure (a fall means cargo
discharged on the way or a crew update). A voyage whose origin is one of a route's origins and whose
destination is one of its destinations is flagged with the route's name (first matching route wins).
A voyage ends at every visit where the vessel stopped: class ``port_call`` or ``short_stop`` (GFW builds
voyages between port visits with a stop or port gap, of any length); passing through a port without
stopping is part of the voyage. ``origin_class``/``destination_class`` keep the classes of the two ends, so
a count of voyages between port calls stays one filter away, and a ferry docking for 10 minutes at each
terminal still makes one trip per crossing. ``voyage_min_confidence`` can narrow the ends further.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect._arrays import US_PER_H, interval_sum, run_reduce, to_ts
from supplyline.detect.segments import Tracks
from supplyline.detect.thresholds import Route
from supplyline.detect.visits import PlaceArrays, VisitRuns
from supplyline.ids import stable_ids

VOYAGE_END_CLASSES = ("port_call", "short_stop")  # visits with a stop (or port gap) end a voyage


def route_names(origin: np.ndarray, destination: np.ndarray, routes: Sequence[Route]) -> list[str | None]:
    """The first route each (origin, destination) place-id pair belongs to, else None."""
    out = np.full(len(origin), None, dtype=object)
    for route in reversed(routes):  # reversed so the first matching route is written last
        hit = np.isin(origin, route.origins) & np.isin(destination, route.destinations)
        out[hit] = route.name
    return out.tolist()


def voyages_table(
    tr: Tracks, visits: VisitRuns, pl: PlaceArrays, routes: Sequence[Route], min_confidence: float = 0.0
) -> pa.Table:
    """One voyage per pair of consecutive stopped visits (of at least ``min_confidence``) on the same track."""
    first, last, place = visits.first, visits.last, visits.place
    if len(first) == 0:
        return schema.empty(schema.VOYAGES)
    vt = visits.table
    conf = vt.column("confidence").to_numpy(zero_copy_only=False)
    vclass = vt.column("visit_class").to_numpy(zero_copy_only=False)
    stopped = pc.is_in(vt.column("visit_class"), pa.array(VOYAGE_END_CLASSES)).to_numpy(zero_copy_only=False)
    q = np.flatnonzero(stopped & (conf >= min_confidence - 1e-6))  # the visits voyages may start or end at
    if len(q) < 2:
        return schema.empty(schema.VOYAGES)
    track_id = np.cumsum(tr.track_start) - 1
    same = track_id[first[q[1:]]] == track_id[last[q[:-1]]]
    a, b = q[:-1][same], q[1:][same]  # origin visit, destination visit
    if len(a) == 0:
        return schema.empty(schema.VOYAGES)
    dep_row, arr_row = last[a], first[b]
    dep_us, arr_us = tr.ts[dep_row], tr.ts[arr_row]
    # Steps dep_row+1 .. arr_row (inclusive) are the sailing; step_km[i] is the step into row i.
    dist = interval_sum(tr.step_km, dep_row + 1, arr_row + 1)
    max_gap_h = run_reduce(np.maximum, tr.dt_us, dep_row + 1, arr_row) / US_PER_H
    d_dep = vt.column("draught_departure_m").to_numpy(zero_copy_only=False)[a]
    d_arr = vt.column("draught_arrival_m").to_numpy(zero_copy_only=False)[b]
    origin, dest = pl.place_id[place[a]], pl.place_id[place[b]]
    mmsi = tr.mmsi[dep_row]
    return pa.table(
        {
            "voyage_id": stable_ids("voyage", mmsi, dep_us, origin),
            "mmsi": pa.array(mmsi, pa.int64()),
            "origin_id": pa.array(origin.tolist(), pa.string()),
            "origin_name": pa.array(pl.name[place[a]].tolist(), pa.string()),
            "destination_id": pa.array(dest.tolist(), pa.string()),
            "destination_name": pa.array(pl.name[place[b]].tolist(), pa.string()),
            "departure_ts": to_ts(dep_us),
            "arrival_ts": to_ts(arr_us),
            "duration_h": pa.array((arr_us - dep_us) / US_PER_H, pa.float64()),
            "dist_km": pa.array(dist, pa.float64()),
            "max_gap_h": pa.array(max_gap_h, pa.float64()),
            "draught_departure_m": pa.array(d_dep.astype(np.float32), from_pandas=True),
            "draught_arrival_m": pa.array(d_arr.astype(np.float32), from_pandas=True),
            "draught_change_m": pa.array((d_arr - d_dep).astype(np.float32), from_pandas=True),
            "route": pa.array(route_names(origin, dest, routes), pa.string()),
            "origin_class": pa.array(vclass[a].tolist(), pa.string()),
            "destination_class": pa.array(vclass[b].tolist(), pa.string()),
        },
        schema=schema.VOYAGES,
    )
