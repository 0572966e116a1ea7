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
from supplyline.detect._sql import DUCKDB, encounter_bucket_us, encounter_buckets_sql, encounters_sql
from supplyline.detect.thresholds import Thresholds
from supplyline.detect.kernels import PlaceLookup
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
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "encounter_id": stable_ids("encounter", a, b, start),
            "mmsi_a": a,
            "mmsi_b": b,
            "start_ts": start.cast(ts),
            "end_ts": raw.column("end_us").cast(pa.int64()).cast(ts),
            "duration_h": raw.column("duration_h").cast(pa.float64()),
            "median_dist_km": raw.column("median_dist_km").cast(pa.float64()),
            "median_speed_kn": raw.column("median_speed_kn").cast(pa.float64()),
            "lat": raw.column("lat").cast(pa.float64()),
            "lon": raw.column("lon").cast(pa.float64()),
        },
        schema=schema.ENCOUNTERS,
    )


def detect_encounters(
    con: duckdb.DuckDBPyConnection,
    th: Thresholds,
    index: PlaceLookup,
    positions: str = "positions",
    slice_rows: int | None = None,
) -> pa.Table:
    """Encounters over every vessel in ``positions`` (a view of ``con``), away from the places of ``index``.

    With ``slice_rows``, the per-bucket reduction runs over time slices of about that many positions into a
    temporary table first (same result; DuckDB's medians cannot spill, so this bounds their memory).
    """
    buckets = None
    if slice_rows is not None:
        buckets = "_enc_buckets"
        _reduce_in_slices(con, th, positions, slice_rows, buckets)
    try:
        raw = con.sql(encounters_sql(th, positions, DUCKDB, buckets=buckets)).to_arrow_table()
    finally:
        if buckets is not None:
            con.execute(f"DROP TABLE IF EXISTS {buckets}")
    assert raw is not None
    return encounters_table(raw, th, index)


def _reduce_in_slices(
    con: duckdb.DuckDBPyConnection, th: Thresholds, positions: str, slice_rows: int, out: str
) -> None:
    """``out`` = encounter_buckets_sql over ``positions``, computed over whole-bucket time slices."""
    lo, hi, n = con.execute(
        f"SELECT epoch_us(min(ts)), epoch_us(max(ts)), count(*) FROM {positions}"
    ).fetchone()  # type: ignore[misc]
    bucket = encounter_bucket_us(th)
    slices = max(1, -(-int(n) // max(1, slice_rows))) if n else 1
    first, last = (int(lo) // bucket, int(hi) // bucket + 1) if n else (0, 1)
    edges = np.unique(np.linspace(first, last, slices + 1).round().astype(np.int64))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} (mmsi BIGINT, bk BIGINT, lat DOUBLE, lon DOUBLE, sog DOUBLE)"
    )
    # the store's day partitions let DuckDB skip other days' files unopened (the ts bounds alone need
    # every file's footer: ~0.3 s a slice on a 4,000-day store)
    by_day = "day" in con.sql(f"SELECT * FROM {positions} LIMIT 0").columns
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        # bucket-aligned bounds on ts itself, so Parquet row groups outside the slice are skipped
        days = f"AND day BETWEEN {_day(a * bucket)} AND {_day(b * bucket - 1)}" if by_day else ""
        part = (
            f"(SELECT * FROM {positions} WHERE ts >= make_timestamp({a * bucket}) "
            f"AND ts < make_timestamp({b * bucket}) {days})"
        )
        con.execute(f"INSERT INTO {out} {encounter_buckets_sql(th, part, DUCKDB)}")


def _day(us: int) -> str:
    """SQL DATE literal of the UTC day holding ``us`` (microseconds since 1970)."""
    return f"DATE '{np.datetime64(us // 86_400_000_000, 'D')}'"


__all__ = ["detect_encounters", "encounters_sql", "encounters_table"]
