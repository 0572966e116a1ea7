"""Dark gaps: silences of at least ``dark_gap_h`` between two positions of one MMSI (noise excluded).

The per-vessel kernel reports each gap with its end points, distance, implied speed and the watched place
(if any) within ``watch_radius_km`` of its start and end. Whether *other* vessels were still heard nearby
during the silence is cross-vessel, so the engines answer it afterwards with one SQL query
(:func:`supplyline.detect._sql.coverage_sql`): positions of other MMSIs are counted in the 3 x 3 cells
(``coverage_cell_deg``) around the gap's start during its first ``coverage_window_h`` and around its end
during its last ``coverage_window_h`` (whole clock hours inside those windows, so a lower bound), per
(cell, hour) and per (cell, hour, mmsi) first, so each gap looks up its few (cell, hour) keys: equality
joins, never all pairs. :func:`apply_coverage` then sets ``likely``: "coverage" (nobody else was heard: a
reception hole), "disabled" (others were heard and the silence lasted ``dark_disabled_h`` or more:
transmitter likely switched off) or "unknown". This module is pure; the query runs in the engines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect._arrays import US_PER_H, BoolArray, FloatArray, IntArray, to_ts
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import KM_PER_NM, haversine_km
from supplyline.ids import stable_ids

NearWatched = Callable[[FloatArray, FloatArray], list[str | None]]


def gaps_table(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    noise: BoolArray,
    th: Thresholds,
    near_watched: NearWatched,
) -> pa.Table:
    """Gaps of positions sorted by (mmsi, ts); ``near_watched`` names the watched place near each point."""
    keep = np.flatnonzero(~noise)
    if len(keep) < 2:
        return schema.empty(schema.GAPS)
    m, t = mmsi[keep], ts[keep]
    dt = t[1:] - t[:-1]
    hit = (m[1:] == m[:-1]) & (dt >= th.dark_gap_h * US_PER_H)
    i = np.flatnonzero(hit)
    if len(i) == 0:
        return schema.empty(schema.GAPS)
    a, b = keep[i], keep[i + 1]
    dur_h = (ts[b] - ts[a]) / US_PER_H
    dist = haversine_km(lat[a], lon[a], lat[b], lon[b])
    near = near_watched(np.concatenate([lat[a], lat[b]]), np.concatenate([lon[a], lon[b]]))
    k = len(a)
    return pa.table(
        {
            "gap_id": stable_ids("gap", mmsi[a], ts[a]),
            "mmsi": pa.array(mmsi[a], pa.int64()),
            "start_ts": to_ts(ts[a]),
            "end_ts": to_ts(ts[b]),
            "duration_h": pa.array(dur_h, pa.float64()),
            "start_lat": pa.array(lat[a]),
            "start_lon": pa.array(lon[a]),
            "end_lat": pa.array(lat[b]),
            "end_lon": pa.array(lon[b]),
            "dist_km": pa.array(dist),
            "implied_speed_kn": pa.array(dist / KM_PER_NM / dur_h),
            "near_start_place": pa.array(near[:k], pa.string()),
            "near_end_place": pa.array(near[k:], pa.string()),
            "others_received": pa.nulls(k, pa.int64()),
            "likely": pa.array(["unknown"] * k, pa.string()),
        },
        schema=schema.GAPS,
    )


def apply_coverage(gaps: pa.Table, counts: pa.Table, th: Thresholds) -> pa.Table:
    """Set ``others_received`` from ``counts`` (gap_id, others; missing = 0) and decide ``likely``."""
    if gaps.num_rows == 0:
        return gaps
    at = pc.index_in(gaps.column("gap_id"), value_set=counts.column("gap_id"))  # row of counts, or null
    found = pc.take(counts.column("others").cast(pa.int64()), at.fill_null(0)) if counts.num_rows else None
    others = np.zeros(gaps.num_rows, dtype=np.int64)
    if found is not None:
        hit = np.asarray(at.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        vals = np.asarray(found.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        others = np.where(hit, vals, 0)
    dur = np.asarray(gaps.column("duration_h").to_numpy(zero_copy_only=False), dtype=np.float64)
    heard = others >= th.coverage_min_others
    likely = np.where(~heard, "coverage", np.where(dur >= th.dark_disabled_h, "disabled", "unknown"))
    out = gaps.set_column(
        gaps.schema.get_field_index("others_received"), "others_received", pa.array(others, pa.int64())
    )
    return out.set_column(
        out.schema.get_field_index("likely"), "likely", pa.array(likely.tolist(), pa.string())
    )
