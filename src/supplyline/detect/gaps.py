"""Dark gaps: silences of at least ``dark_gap_h`` between two positions of one MMSI (noise excluded).

The per-vessel kernel reports each gap with its end points, how far the vessel moved (``dist_km``), implied
speed, the watched place (if any) within ``watch_radius_km`` of its start and end, and *where* it started
and ended: ``in_port`` (inside the exit circle or polygon of any place), ``near_shore`` (within
``gap_shore_km`` of the Natural Earth coastline, :mod:`supplyline.detect.shore`) or ``at_sea``.

Whether *other* vessels were still heard nearby during the silence is the reception evidence (GFW's gap
method weighs reception quality the same way) and is cross-vessel, so the engines answer it afterwards with
one SQL query (:func:`supplyline.detect._sql.coverage_sql`): positions of other MMSIs are counted in the
3 x 3 cells (``coverage_cell_deg``; more columns towards the poles, so the cells always hold everything
within half a cell of the point) around the gap's start during its first ``coverage_window_h``
(``others_start``) and around its end during its last ``coverage_window_h`` (``others_end``), whole clock
hours inside those windows (a lower bound), and positions of *any* vessel (this one included: it proves
the receiver works there) heard within ``reception_window_h`` in the cells of three points of the silent
path (``path_heard``: zero means the path crosses a reception hole), via (cell, hour) equality joins,
never all pairs.
:func:`apply_coverage` then gives each gap its class (``likely``), first rule that applies:

- ``in_port_silence``: moved less than ``gap_stationary_km`` and both ends in port (a moored ship that
  stops reporting, or is not interrogated: no dark alert);
- ``coverage``: nothing heard on the silent path for days around it (fewer than ``coverage_min_others``
  positions): a reception hole;
- ``switched_off``: others were heard near its ends while this vessel was silent, the path was in
  reception, the vessel was not moored (moved ``gap_stationary_km`` or more, or sat at sea) and the
  silence lasted ``dark_disabled_h`` or more;
- ``unknown``: the rest (nobody else around to tell; moored at a berth the places do not know; short).

This module is pure; the query runs in the engines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect._arrays import US_PER_H, BoolArray, FloatArray, IntArray, to_ts
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import KM_PER_NM, haversine_km
from supplyline.ids import stable_ids

NearWatched = Callable[[FloatArray, FloatArray], list[str | None]]
Where = Callable[[FloatArray, FloatArray], npt.NDArray[np.str_]]
"""(lat, lon) -> "in_port" | "near_shore" | "at_sea" per point."""
GAP_CLASSES = ("switched_off", "in_port_silence", "coverage", "unknown")
WHERE = ("in_port", "near_shore", "at_sea")


def gaps_table(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    noise: BoolArray,
    th: Thresholds,
    near_watched: NearWatched,
    where: Where,
) -> pa.Table:
    """Gaps of positions sorted by (mmsi, ts); ``near_watched`` names the watched place near each point,
    ``where`` says whether each point is in port, near shore or at sea."""
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
    both_lat, both_lon = np.concatenate([lat[a], lat[b]]), np.concatenate([lon[a], lon[b]])
    near = near_watched(both_lat, both_lon)
    at = where(both_lat, both_lon).tolist()
    k = len(a)
    unset = pa.nulls(k, pa.int64())
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
            "start_where": pa.array(at[:k], pa.string()),
            "end_where": pa.array(at[k:], pa.string()),
            "others_start": unset,
            "others_end": unset,
            "others_received": unset,
            "path_heard": unset,
            "likely": pa.array(["unknown"] * k, pa.string()),
        },
        schema=schema.GAPS,
    )


def _counts(gaps: pa.Table, counts: pa.Table, column: str) -> IntArray:
    """``counts[column]`` for each gap (by gap_id; a gap the query did not return counts 0)."""
    if counts.num_rows == 0:
        return np.zeros(gaps.num_rows, dtype=np.int64)
    at = pc.index_in(gaps.column("gap_id"), value_set=counts.column("gap_id"))  # row of counts, or null
    found = pc.take(counts.column(column).cast(pa.int64()), at.fill_null(0)).fill_null(0)
    hit = np.asarray(at.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(hit, np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64), 0)


def classify(
    others: IntArray,
    path_heard: IntArray,
    dist_km: FloatArray,
    duration_h: FloatArray,
    start_where: npt.NDArray[np.str_],
    end_where: npt.NDArray[np.str_],
    th: Thresholds,
) -> npt.NDArray[np.str_]:
    """The class of each gap (rules in the module docstring), vectorised."""
    still = dist_km < th.gap_stationary_km
    in_port = still & (start_where == "in_port") & (end_where == "in_port")
    moored = still & (start_where != "at_sea")
    heard = others >= th.coverage_min_others
    hole = path_heard < th.coverage_min_others
    doubtful = moored | (duration_h < th.dark_disabled_h) | ~heard
    out = np.where(hole, "coverage", np.where(doubtful, "unknown", "switched_off"))
    return np.where(in_port, "in_port_silence", out)


def apply_coverage(gaps: pa.Table, counts: pa.Table, th: Thresholds) -> pa.Table:
    """Set the reception evidence from ``counts`` (gap_id, others_start, others_end, path_heard; a
    missing gap counts 0) and decide ``likely``."""
    if gaps.num_rows == 0:
        return gaps
    start, end = _counts(gaps, counts, "others_start"), _counts(gaps, counts, "others_end")
    path = _counts(gaps, counts, "path_heard")

    def col(name: str) -> npt.NDArray[np.generic]:
        return np.asarray(gaps.column(name).to_numpy(zero_copy_only=False))

    likely = classify(
        start + end,
        path,
        col("dist_km").astype(np.float64),
        col("duration_h").astype(np.float64),
        col("start_where").astype(str),
        col("end_where").astype(str),
        th,
    )
    new = {
        "others_start": pa.array(start, pa.int64()),
        "others_end": pa.array(end, pa.int64()),
        "others_received": pa.array(start + end, pa.int64()),
        "path_heard": pa.array(path, pa.int64()),
        "likely": pa.array(likely.tolist(), pa.string()),
    }
    for name, values in new.items():
        gaps = gaps.set_column(gaps.schema.get_field_index(name), name, values)
    return gaps
