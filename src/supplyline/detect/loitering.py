"""Loitering: slow drifting away from places (GFW: mean speed below 2 kn), per track.

A loitering event is a run of consecutive track rows with speed below ``loiter_speed_kn`` that are at least
``loiter_port_km`` from every place, not broken by a silence of ``dark_gap_h`` or more, lasting at least
``loiter_min_h``. Mean speed is distance sailed over elapsed time (robust when SOG is missing).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect._arrays import (
    US_PER_H,
    FloatArray,
    IntArray,
    circular_mean_lon,
    interval_sum,
    run_bounds,
    run_reduce,
    to_ts,
)
from supplyline.detect.segments import Tracks
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import KM_PER_NM
from supplyline.ids import stable_ids

# (lat, lon, max_m) -> (place row or -1, distance in m): PlaceIndex.nearest
Nearest = Callable[[FloatArray, FloatArray, float], tuple[IntArray, FloatArray]]


def _rows(first: IntArray, last: IntArray) -> IntArray:
    """All row indices of the runs first..last (inclusive)."""
    lengths = last - first + 1
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.asarray(np.repeat(first, lengths) + offsets, dtype=np.int64)


def loitering_table(tr: Tracks, th: Thresholds, nearest: Nearest) -> pa.Table:
    """Loitering events of the tracks; ``nearest`` is the place index's nearest-place lookup."""
    n = len(tr)
    if n == 0:
        return schema.empty(schema.LOITERING)
    slow = tr.speed_kn < th.loiter_speed_kn  # NaN (duplicate timestamps) is not slow
    breaks = tr.track_start | (tr.dt_us >= th.dark_gap_h * US_PER_H)
    # Only rows of slow runs long enough to qualify can be loitering: look places up for those alone.
    f0, l0 = run_bounds(slow, breaks)
    long_enough = (tr.ts[l0] - tr.ts[f0]) >= th.loiter_min_h * US_PER_H
    f0, l0 = f0[long_enough], l0[long_enough]
    cand = _rows(f0, l0)
    away = np.zeros(n, dtype=bool)
    if len(cand):
        idx, _ = nearest(tr.lat[cand], tr.lon[cand], th.loiter_port_km * 1000.0)
        away[cand] = idx < 0
    first, last = run_bounds(slow & away, breaks)
    dur_h = (tr.ts[last] - tr.ts[first]) / US_PER_H
    ok = (dur_h >= th.loiter_min_h) & (dur_h > 0)
    first, last, dur_h = first[ok], last[ok], dur_h[ok]
    if len(first) == 0:
        return schema.empty(schema.LOITERING)
    dist = interval_sum(tr.step_km, first + 1, last + 1)
    lat = run_reduce(np.add, tr.lat, first, last) / (last - first + 1)
    lon = circular_mean_lon(tr.lon, first, last)
    _, d_m = nearest(lat, lon, float("inf"))
    d_km = np.where(np.isfinite(d_m), d_m / 1000.0, np.nan)
    mmsi = tr.mmsi[first]
    return pa.table(
        {
            "loiter_id": stable_ids("loiter", mmsi, tr.ts[first]),
            "mmsi": pa.array(mmsi, pa.int64()),
            "start_ts": to_ts(tr.ts[first]),
            "end_ts": to_ts(tr.ts[last]),
            "duration_h": pa.array(dur_h, pa.float64()),
            "mean_speed_kn": pa.array(dist / KM_PER_NM / dur_h, pa.float64()),
            "lat": pa.array(lat),
            "lon": pa.array(lon),
            "dist_to_place_km": pa.array(d_km, from_pandas=True),
        },
        schema=schema.LOITERING,
    )
