"""Ship-to-ship encounters (GFW rules) as one DuckDB query: a grid-cell x time-bucket join, never all pairs.

1. Each vessel's positions are reduced to one point per ``encounter_bucket_min`` bucket (median lat/lon;
   speed = mean reported SOG, else distance from the previous bucket over elapsed time).
2. Buckets are placed in grid cells at least ``encounter_dist_km`` wide; one side of the pair is expanded
   to its 3 x 3 neighbouring cells, so an equality join on (bucket, cell) finds every pair closer than
   the threshold (longitude cells are 4x wider than latitude cells, which keeps this true up to 75 deg
   latitude; the wrap at the antimeridian is handled by taking cell columns modulo the number of columns).
3. Close buckets of a pair (great-circle distance <= ``encounter_dist_km``) form runs whose consecutive
   buckets are at most ``encounter_max_gap_h`` apart; a run lasting ``encounter_min_h`` with a median
   speed below ``encounter_speed_kn`` is an encounter if its position is ``encounter_port_km`` or more
   from every place.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect.config import Thresholds
from supplyline.detect.kernels import PlaceLookup
from supplyline.geo import EARTH_RADIUS_KM, KM_PER_NM
from supplyline.ids import stable_ids

HAVERSINE_MACRO = f"""
CREATE OR REPLACE TEMP MACRO hav_km(la1, lo1, la2, lo2) AS
  2 * {EARTH_RADIUS_KM} * asin(sqrt(least(1.0,
    pow(sin(radians(la2 - la1) / 2), 2)
    + cos(radians(la1)) * cos(radians(la2)) * pow(sin(radians(lo2 - lo1) / 2), 2))))
"""
"""Great-circle distance in km in SQL, the same formula and radius as supplyline.geo.haversine_km."""


def encounters_sql(th: Thresholds, positions: str = "positions") -> str:
    """The encounter query over the view/table ``positions`` (columns mmsi, ts, lat, lon, sog_kn)."""
    bucket_us = int(th.encounter_bucket_min * 60e6)
    bucket_h = th.encounter_bucket_min / 60.0
    dlat = th.encounter_dist_km / (np.pi * EARTH_RADIUS_KM / 180.0)
    dlon = 4 * dlat
    ncol = int(np.ceil(360.0 / dlon))
    max_gap = max(1, int(np.floor(th.encounter_max_gap_h / bucket_h + 1e-9)))
    return f"""
    WITH b AS (
        SELECT mmsi, CAST(floor(epoch_us(ts) / {bucket_us}) AS BIGINT) AS bk,
               median(lat) AS lat, median(lon) AS lon, avg(sog_kn) AS sog
        FROM {positions} GROUP BY mmsi, bk
    ), s AS (
        SELECT mmsi, bk, lat, lon,
               coalesce(sog, hav_km(lag(lat) OVER w, lag(lon) OVER w, lat, lon) / {KM_PER_NM}
                        / ((bk - lag(bk) OVER w) * {bucket_h})) AS spd,
               CAST(floor(lat / {dlat}) AS BIGINT) AS cy,
               CAST(floor((lon + 180) / {dlon}) AS BIGINT) % {ncol} AS cx
        FROM b WINDOW w AS (PARTITION BY mmsi ORDER BY bk)
    ), nb AS (
        SELECT s.*, cy + dy AS ny, (cx + dx + {ncol}) % {ncol} AS nx
        FROM s, range(-1, 2) r1(dy), range(-1, 2) r2(dx)
    ), close AS (
        SELECT a.mmsi AS mmsi_a, b.mmsi AS mmsi_b, a.bk,
               hav_km(a.lat, a.lon, b.lat, b.lon) AS d_km,
               (coalesce(a.spd, b.spd) + coalesce(b.spd, a.spd)) / 2 AS spd,
               (a.lat + b.lat) / 2 AS lat,
               degrees(atan2(sin(radians(a.lon)) + sin(radians(b.lon)),
                             cos(radians(a.lon)) + cos(radians(b.lon)))) AS lon
        FROM s a JOIN nb b ON a.bk = b.bk AND a.cy = b.ny AND a.cx = b.nx AND a.mmsi < b.mmsi
        WHERE hav_km(a.lat, a.lon, b.lat, b.lon) <= {th.encounter_dist_km}
    ), runs AS (
        SELECT *, sum(CASE WHEN bk - prev_bk <= {max_gap} THEN 0 ELSE 1 END)
                  OVER (PARTITION BY mmsi_a, mmsi_b ORDER BY bk) AS run
        FROM (SELECT *, lag(bk) OVER (PARTITION BY mmsi_a, mmsi_b ORDER BY bk) AS prev_bk FROM close)
    )
    SELECT mmsi_a, mmsi_b, min(bk) * {bucket_us} AS start_us, (max(bk) + 1) * {bucket_us} AS end_us,
           (max(bk) + 1 - min(bk)) * {bucket_h} AS duration_h,
           median(d_km) AS median_dist_km, median(spd) AS median_speed_kn,
           median(lat) AS lat, median(lon) AS lon
    FROM runs GROUP BY mmsi_a, mmsi_b, run
    HAVING (max(bk) + 1 - min(bk)) * {bucket_h} >= {th.encounter_min_h} - 1e-9
       AND median(spd) < {th.encounter_speed_kn}
    ORDER BY mmsi_a, mmsi_b, start_us
    """


def detect_encounters(
    con: duckdb.DuckDBPyConnection, th: Thresholds, index: PlaceLookup, positions: str = "positions"
) -> pa.Table:
    """Encounters over every vessel in ``positions`` (a view of ``con``), away from the places of ``index``."""
    con.execute(HAVERSINE_MACRO)
    raw = con.sql(encounters_sql(th, positions)).to_arrow_table()
    assert raw is not None
    if raw.num_rows == 0:
        return schema.empty(schema.ENCOUNTERS)
    lat = raw.column("lat").to_numpy()
    lon = raw.column("lon").to_numpy()
    near, _ = index.nearest(lat, lon, th.encounter_port_km * 1000.0)
    raw = raw.filter(pa.array(near < 0))
    if raw.num_rows == 0:
        return schema.empty(schema.ENCOUNTERS)
    a = raw.column("mmsi_a").to_numpy()
    b = raw.column("mmsi_b").to_numpy()
    start = raw.column("start_us").to_numpy()
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "encounter_id": stable_ids("encounter", a, b, start),
            "mmsi_a": raw.column("mmsi_a").cast(pa.int64()),
            "mmsi_b": raw.column("mmsi_b").cast(pa.int64()),
            "start_ts": raw.column("start_us").cast(pa.int64()).cast(ts),
            "end_ts": raw.column("end_us").cast(pa.int64()).cast(ts),
            "duration_h": raw.column("duration_h").cast(pa.float64()),
            "median_dist_km": raw.column("median_dist_km").cast(pa.float64()),
            "median_speed_kn": raw.column("median_speed_kn").cast(pa.float64()),
            "lat": raw.column("lat").cast(pa.float64()),
            "lon": raw.column("lon").cast(pa.float64()),
        },
        schema=schema.ENCOUNTERS,
    )


__all__ = ["HAVERSINE_MACRO", "detect_encounters", "encounters_sql"]
