"""Ship-to-ship encounters (GFW rules) as one SQL query: a grid-cell x time-bucket join, never all pairs.

1. Each vessel's positions are reduced to one point per ``encounter_bucket_min`` bucket (median lat/lon;
   speed = mean reported SOG, else distance from the previous bucket over elapsed time).
2. Buckets are placed in grid cells: rows ``encounter_dist_km`` high, and in each row as many columns as
   fit cells at least ``encounter_dist_km`` wide at the row's poleward edge (one cell at the poles). One
   side of the pair is expanded to the cells that could hold a partner: the rows above and below, and in
   each the columns within the exact longitude reach of a spherical cap of radius ``encounter_dist_km``
   (asin(sin(d/R) / cos(lat)), the whole row when the cap holds a pole), taken modulo the row's columns
   (the antimeridian). An equality join on (bucket, row, column) then finds every pair closer than the
   threshold at any latitude, never all pairs. Bucket and encounter longitudes are circular means where a
   median would fail across the antimeridian.
3. Close buckets of a pair (great-circle distance <= ``encounter_dist_km``) form runs whose consecutive
   buckets are at most ``encounter_max_gap_h`` apart; a run lasting ``encounter_min_h`` with a median
   speed below ``encounter_speed_kn`` is an encounter if its position is ``encounter_port_km`` or more
   from every place.

This module is pure: the query text is built by :func:`encounters_sql` (DuckDB or Spark dialect) and run
by the engines (``engine.local.detect_encounters``, ``engine.spark``); :func:`encounters_table` turns its
rows into the table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect._sql import encounters_sql
from supplyline.detect.kernels import PlaceLookup
from supplyline.detect.thresholds import Thresholds
from supplyline.ids import stable_ids


def encounters_table(raw: pa.Table, th: Thresholds, index: PlaceLookup) -> pa.Table:
    """The encounters table from the query's rows (:func:`encounters_sql`), dropping those within
    ``encounter_port_km`` of a place of ``index``; shared by the local and Spark engines."""
    if raw.num_rows == 0:
        return schema.empty(schema.ENCOUNTERS)
    lat = np.asarray(raw.column("lat").to_numpy(), dtype=np.float64)
    lon = np.asarray(raw.column("lon").to_numpy(), dtype=np.float64)
    near, _ = index.nearest(lat, lon, th.encounter_port_km * 1000.0)
    raw = raw.filter(pa.array(near < 0))
    if raw.num_rows == 0:
        return schema.empty(schema.ENCOUNTERS)
    raw = raw.sort_by([("mmsi_a", "ascending"), ("mmsi_b", "ascending"), ("start_us", "ascending")])
    a = raw.column("mmsi_a").cast(pa.int64())
    b = raw.column("mmsi_b").cast(pa.int64())
    start = raw.column("start_us").cast(pa.int64())
    return pa.table(
        {
            "encounter_id": stable_ids("encounter", a, b, start),
            "mmsi_a": a,
            "mmsi_b": b,
            "start_ts": start.cast(schema.TS),
            "end_ts": raw.column("end_us").cast(pa.int64()).cast(schema.TS),
            "duration_h": raw.column("duration_h").cast(pa.float64()),
            "median_dist_km": raw.column("median_dist_km").cast(pa.float64()),
            "median_speed_kn": raw.column("median_speed_kn").cast(pa.float64()),
            "lat": raw.column("lat").cast(pa.float64()),
            "lon": raw.column("lon").cast(pa.float64()),
        },
        schema=schema.ENCOUNTERS,
    )


__all__ = ["encounters_sql", "encounters_table"]
