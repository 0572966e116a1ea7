"""The cross-vessel SQL (encounters, gap coverage), written once for DuckDB and Spark SQL.

Both queries are grid-cell x time-bucket equality joins (never all pairs). The dialects differ only in a
few spellings, collected in :class:`Dialect`; everything else is plain SQL both engines accept. Distances
use the haversine formula with supplyline.geo's Earth radius (no SQL macros, so Spark can run it too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supplyline.detect.thresholds import Thresholds
from supplyline.geo import EARTH_RADIUS_KM, KM_PER_DEG, KM_PER_NM


@dataclass(frozen=True)
class Dialect:
    """Spellings that differ between DuckDB and Spark SQL."""

    name: str
    epoch_us: str  # function: timestamp -> microseconds since the epoch
    neighbours: str  # FROM-clause fragment giving columns dy, dx in -1..1 (9 rows)
    series: str  # template with {a} {b}: SELECT-list generator of one row per integer a <= x < b (maybe none)


DUCKDB = Dialect(
    "duckdb",
    "epoch_us",
    "(VALUES (-1), (0), (1)) r1(dy), (VALUES (-1), (0), (1)) r2(dx)",
    "unnest(range({a}, {b}))",
)
SPARK = Dialect(
    "spark",
    "unix_micros",
    "(VALUES (-1), (0), (1)) AS r1(dy), (VALUES (-1), (0), (1)) AS r2(dx)",
    "explode(CASE WHEN {b} > {a} THEN sequence({a}, {b} - 1) ELSE CAST(array() AS ARRAY<BIGINT>) END)",
)


def hav_km(la1: str, lo1: str, la2: str, lo2: str) -> str:
    """SQL expression: great-circle distance in km (same radius as supplyline.geo.haversine_km)."""
    return (
        f"(2 * {EARTH_RADIUS_KM} * asin(sqrt(least(1.0, pow(sin(radians(({la2}) - ({la1})) / 2), 2)"
        f" + cos(radians({la1})) * cos(radians({la2})) * pow(sin(radians(({lo2}) - ({lo1})) / 2), 2)))))"
    )


def circular_mean_lon(lon: str) -> str:
    """SQL aggregate: mean longitude in degrees on the circle (right across the antimeridian)."""
    return f"degrees(atan2(avg(sin(radians({lon}))), avg(cos(radians({lon})))))"


def _row_columns(row: str, dlat: float) -> str:
    """SQL: columns of latitude row ``row`` (height ``dlat`` degrees) of the encounter grid. Cells are at
    least ``dlat / cos(poleward edge)`` degrees wide, i.e. at least ``dlat`` of great-circle distance, so a
    search reach of one cell height spans few columns at any latitude; the rows touching a pole are one cell."""
    h = f"CAST({dlat!r} AS DOUBLE)"  # a 17-digit decimal literal would make DuckDB multiply in 128-bit decimals
    edge = f"least(90.0, greatest(abs(({row}) * {h}), abs((({row}) + 1) * {h})))"
    return f"greatest(1, CAST(floor(360.0 * cos(radians({edge})) / {dlat}) AS BIGINT))"


def _column(lon: str, ncol: str) -> str:
    """SQL: column of longitude ``lon`` in a row of ``ncol`` columns (180 wraps to column 0)."""
    return f"(CAST(floor(({lon} + 180) * {ncol} / 360.0) AS BIGINT) % {ncol})"


def _lon_reach_deg(lat: str, dist_km: float) -> str:
    """SQL: the widest longitude difference (degrees) of a point within ``dist_km`` of a point at ``lat``:
    asin(sin(d/R) / cos(lat)) for a spherical cap, 180 when the cap holds a pole."""
    sd = float(np.sin(dist_km / EARTH_RADIUS_KM))
    return f"(CASE WHEN cos(radians({lat})) > {sd} THEN degrees(asin({sd} / cos(radians({lat})))) ELSE 180.0 END)"


def encounter_bucket_us(th: Thresholds) -> int:
    """Length of an encounter time bucket in microseconds."""
    return int(th.encounter_bucket_min * 60e6)


def encounter_buckets_sql(th: Thresholds, positions: str = "positions", dialect: Dialect = DUCKDB) -> str:
    """Step 1 of :func:`encounters_sql`: one row per (mmsi, bucket) with median lat/lon and mean SOG.

    Groups never span buckets, so the local engine can run this over time slices of ``positions`` (a
    view or a filtered subquery) and append the results: the holistic medians then need memory for one
    slice only. The median longitude of a bucket that straddles the antimeridian would land near 0, so
    such a bucket takes the circular mean instead."""
    bk = f"CAST(floor({dialect.epoch_us}(ts) / {encounter_bucket_us(th)}) AS BIGINT)"
    lon = f"CASE WHEN max(lon) - min(lon) > 180 THEN {circular_mean_lon('lon')} ELSE median(lon) END"
    return f"""SELECT mmsi, {bk} AS bk, median(lat) AS lat, {lon} AS lon, avg(sog_kn) AS sog
        FROM {positions} GROUP BY mmsi, {bk}"""


def encounters_sql(
    th: Thresholds, positions: str = "positions", dialect: Dialect = DUCKDB, buckets: str | None = None
) -> str:
    """Candidate encounters (before the distance-from-port filter) over ``positions`` (mmsi, ts, lat, lon,
    sog_kn), or over ``buckets`` already reduced by :func:`encounter_buckets_sql`. Columns: mmsi_a, mmsi_b,
    start_us, end_us, duration_h, median_dist_km, median_speed_kn, lat, lon.
    See :mod:`supplyline.detect.encounters` for the rules.

    The query is three steps, each also available alone so an engine can run it where its input is whole:
    per vessel (:func:`encounter_cells_sql`: speed and grid cell of each bucket), per time bucket
    (:func:`encounter_close_sql`: the close pairs) and per pair (:func:`encounter_runs_sql`: runs, medians)."""
    source = (
        f"SELECT mmsi, bk, lat, lon, sog FROM {buckets}"
        if buckets
        else encounter_buckets_sql(th, positions, dialect)
    )
    runs, final = _runs_ctes(th, "close")
    return f"""
    WITH b AS (
        {source}
    ), {_cells_ctes(th, "b")}, {_close_ctes(th, "sc", dialect)}, {runs}
    {final}
    """


ENCOUNTER_CELLS = "mmsi BIGINT, bk BIGINT, lat DOUBLE, lon DOUBLE, spd DOUBLE, cy BIGINT, cx BIGINT"
"""Columns (Spark DDL) of :func:`encounter_cells_sql`."""
ENCOUNTER_CLOSE = "mmsi_a BIGINT, mmsi_b BIGINT, bk BIGINT, d_km DOUBLE, spd DOUBLE, lat DOUBLE, lon DOUBLE"
"""Columns (Spark DDL) of :func:`encounter_close_sql`."""
ENCOUNTER_RUNS = (
    "mmsi_a BIGINT, mmsi_b BIGINT, start_us BIGINT, end_us BIGINT, duration_h DOUBLE,"
    " median_dist_km DOUBLE, median_speed_kn DOUBLE, lat DOUBLE, lon DOUBLE"
)
"""Columns (Spark DDL) of :func:`encounter_runs_sql` and :func:`encounters_sql`."""


def encounter_cells_sql(th: Thresholds, positions: str = "positions", dialect: Dialect = DUCKDB) -> str:
    """Step 1 of :func:`encounters_sql` over ``positions`` holding whole vessels: one row per (mmsi, bucket)
    with its speed (from the previous bucket where no SOG was reported) and grid cell
    (:data:`ENCOUNTER_CELLS`)."""
    return f"""WITH b AS ({encounter_buckets_sql(th, positions, dialect)}), {_cells_ctes(th, "b")}
        SELECT mmsi, bk, lat, lon, spd, cy, cx FROM sc"""


def encounter_close_sql(th: Thresholds, cells: str, dialect: Dialect = DUCKDB) -> str:
    """Step 2 of :func:`encounters_sql` over ``cells`` (:func:`encounter_cells_sql` rows) holding whole time
    buckets: every pair of vessels closer than ``encounter_dist_km`` in a bucket (:data:`ENCOUNTER_CLOSE`)."""
    return f"WITH {_close_ctes(th, cells, dialect)} SELECT mmsi_a, mmsi_b, bk, d_km, spd, lat, lon FROM close"


def encounter_runs_sql(th: Thresholds, close: str) -> str:
    """Step 3 of :func:`encounters_sql` over ``close`` (:func:`encounter_close_sql` rows) holding whole
    pairs: runs of close buckets long and slow enough (:data:`ENCOUNTER_RUNS`)."""
    runs, final = _runs_ctes(th, close)
    return f"WITH {runs} {final}"


def _grid_dlat(th: Thresholds) -> float:
    """Height of an encounter grid row in degrees (a hair over ``encounter_dist_km``)."""
    return th.encounter_dist_km / KM_PER_DEG * (1 + 1e-9)


def _cells_ctes(th: Thresholds, src: str) -> str:
    """CTEs ``s``, ``sc`` over bucket rows ``src`` (mmsi, bk, lat, lon, sog): speed and grid cell."""
    bucket_h = f"CAST({th.encounter_bucket_min / 60.0!r} AS DOUBLE)"  # a double, not a decimal literal
    dlat = _grid_dlat(th)
    step = hav_km("lag(lat) OVER w", "lag(lon) OVER w", "lat", "lon")
    return f"""s AS (
        SELECT mmsi, bk, lat, lon,
               coalesce(sog, {step} / {KM_PER_NM} / ((bk - lag(bk) OVER w) * {bucket_h})) AS spd,
               CAST(floor(lat / {dlat}) AS BIGINT) AS cy
        FROM {src} WINDOW w AS (PARTITION BY mmsi ORDER BY bk)
    ), sc AS (
        SELECT s.*, {_column("lon", _row_columns("cy", dlat))} AS cx FROM s
    )"""


def _close_ctes(th: Thresholds, src: str, dialect: Dialect) -> str:
    """CTEs ``nr``, ``nc``, ``nb``, ``close`` over cell rows ``src``: one side of each pair expanded to the
    cells that could hold a partner, then an equality join on (bucket, row, column)."""
    dlat = _grid_dlat(th)
    # columns of the neighbour row ny a point may meet a partner in: its longitude +- the reach, mod the row
    c0 = _column("(lon - reach)", "n")
    span = "least(CAST(floor((lon + reach + 180) * n / 360.0) AS BIGINT) - CAST(floor((lon - reach + 180) * n / 360.0) AS BIGINT) + 1, n)"
    cols = dialect.series.format(a="c0", b="c0 + span")
    close = hav_km("a.lat", "a.lon", "b.lat", "b.lon")
    return f"""nr AS (
        SELECT sc.*, cy + dy AS ny, {_row_columns("cy + dy", dlat)} AS n, {_lon_reach_deg("lat", th.encounter_dist_km)} AS reach
        FROM {src} sc, {dialect.neighbours} WHERE dx = 0
    ), nc AS (
        SELECT nr.*, {c0} AS c0, {span} AS span FROM nr
    ), nb AS (
        SELECT mmsi, bk, lat, lon, spd, ny, ((c % n) + n) % n AS nx
        FROM (SELECT nc.*, {cols} AS c FROM nc) x
    ), close AS (
        SELECT a.mmsi AS mmsi_a, b.mmsi AS mmsi_b, a.bk, {close} AS d_km,
               (coalesce(a.spd, b.spd) + coalesce(b.spd, a.spd)) / 2 AS spd,
               (a.lat + b.lat) / 2 AS lat,
               degrees(atan2(sin(radians(a.lon)) + sin(radians(b.lon)),
                             cos(radians(a.lon)) + cos(radians(b.lon)))) AS lon
        FROM {src} a JOIN nb b ON a.bk = b.bk AND a.cy = b.ny AND a.cx = b.nx AND a.mmsi < b.mmsi
        WHERE {close} <= {th.encounter_dist_km}
    )"""


def _runs_ctes(th: Thresholds, src: str) -> tuple[str, str]:
    """CTEs ``lagged``, ``runs``, ``long_runs`` over close rows ``src``, and the final SELECT."""
    bucket_us = encounter_bucket_us(th)
    hours_per_bucket = th.encounter_bucket_min / 60.0
    bucket_h = f"CAST({hours_per_bucket!r} AS DOUBLE)"
    max_gap = max(1, int(np.floor(th.encounter_max_gap_h / hours_per_bucket + 1e-9)))
    ctes = f"""lagged AS (
        SELECT *, lag(bk) OVER (PARTITION BY mmsi_a, mmsi_b ORDER BY bk) AS prev_bk FROM {src}
    ), runs AS (
        SELECT *, sum(CASE WHEN bk - prev_bk <= {max_gap} THEN 0 ELSE 1 END)
                  OVER (PARTITION BY mmsi_a, mmsi_b ORDER BY bk) AS run
        FROM lagged
    ), long_runs AS (
        SELECT mmsi_a, mmsi_b, run FROM runs GROUP BY mmsi_a, mmsi_b, run
        HAVING (max(bk) + 1 - min(bk)) * {bucket_h} >= {th.encounter_min_h} - 1e-9
    )"""
    final = f"""SELECT mmsi_a, mmsi_b, min(bk) * {bucket_us} AS start_us, (max(bk) + 1) * {bucket_us} AS end_us,
           (max(bk) + 1 - min(bk)) * {bucket_h} AS duration_h,
           median(d_km) AS median_dist_km, median(spd) AS median_speed_kn,
           median(lat) AS lat, {circular_mean_lon("lon")} AS lon
    FROM runs JOIN long_runs USING (mmsi_a, mmsi_b, run)
    GROUP BY mmsi_a, mmsi_b, run
    HAVING median(spd) < {th.encounter_speed_kn}
    ORDER BY mmsi_a, mmsi_b, start_us"""
    return ctes, final


def _coverage_columns(lat: str, cell: float, ncol: int) -> str:
    """SQL: how many cell columns k either side of a gap end's own to search, so that its rows -1..1 and
    columns -k..k hold every position within half a cell (``cell * KM_PER_DEG / 2`` km) of it at any
    latitude: k = 1 (the plain 3 x 3) wherever cos(lat) >= ~1/2, more towards the poles (k = 3 at 80 deg),
    every column when the half-cell cap holds a pole."""
    reach = _lon_reach_deg(lat, cell * KM_PER_DEG / 2.0)
    return f"least({ncol // 2}, greatest(1, CAST(ceil({reach} / {cell}) AS BIGINT)))"


def coverage_sql(
    th: Thresholds,
    gaps: str = "_gaps_in",
    positions: str = "positions",
    dialect: Dialect = DUCKDB,
    counts: str | None = None,
) -> str:
    """Reception evidence of each gap (columns gap_id, others_start, others_end, path_heard): positions of
    other vessels heard near its start early in the gap and near its end late in it (3 rows of cells, and
    3 columns or more towards the poles: :func:`_coverage_columns`), and
    positions of any vessel heard, within ``reception_window_h``, in the cells of three points of the silent
    path (a quarter, half and three quarters of the way, interpolated in time too); see
    :mod:`supplyline.detect.gaps` for the rule. ``gaps`` needs gap_id, mmsi, start_ts,
    end_ts, start_lat, start_lon, end_lat, end_lon. ``counts`` (instead of ``positions``) is a table of
    :func:`coverage_counts_sql` rows, e.g. computed per vessel partition and gathered: the same answer.
    A gap none of whose cells was heard has no row (it counts 0: :func:`supplyline.detect.gaps.apply_coverage`)."""
    if counts is None:
        pos, n = _cell_hours(th, positions, dialect), "count(*)"
    else:
        pos, n = f"SELECT cy, cx, hb, mmsi, n FROM {counts}", "sum(p.n)"
    return f"""
    WITH {_coverage_keys_ctes(th, gaps, dialect)}, pos AS (
        {pos}
    ), wanted AS (
        SELECT DISTINCT cy, cx, hb FROM keys
    ), own AS (
        -- only the (cell, hour)s some gap asks about: an inner join on the small key set keeps the
        -- aggregation (and DuckDB's memory) proportional to the gaps, not to all positions
        SELECT p.cy, p.cx, p.hb, p.mmsi, {n} AS n
        FROM pos p JOIN wanted w ON p.cy = w.cy AND p.cx = w.cx AND p.hb = w.hb
        GROUP BY p.cy, p.cx, p.hb, p.mmsi
    ), tot AS (
        SELECT cy, cx, hb, sum(n) AS n FROM own GROUP BY cy, cx, hb
    ), heard AS (
        -- every vessel's positions in each (gap, side, cell, hour) where any were heard
        SELECT k.gap_id, k.side, k.mmsi, k.cy, k.cx, k.hb, t.n
        FROM keys k JOIN tot t ON t.cy = k.cy AND t.cx = k.cx AND t.hb = k.hb
    ), terms AS (
        -- ... minus, at the gap's two ends, the gap vessel's own (joined only where there are any: the
        -- join's build side is then the small one)
        SELECT gap_id, side, n FROM heard
        UNION ALL
        SELECT h.gap_id, h.side, -o.n FROM heard h
        JOIN own o ON o.cy = h.cy AND o.cx = h.cx AND o.hb = h.hb AND o.mmsi = h.mmsi
        WHERE h.side < 2
    )
    SELECT gap_id,
           CAST(coalesce(sum(CASE WHEN side = 0 THEN n END), 0) AS BIGINT) AS others_start,
           CAST(coalesce(sum(CASE WHEN side = 1 THEN n END), 0) AS BIGINT) AS others_end,
           CAST(coalesce(sum(CASE WHEN side = 2 THEN n END), 0) AS BIGINT) AS path_heard
    FROM terms
    GROUP BY gap_id
    """


COVERAGE_COUNTS = "cy BIGINT, cx BIGINT, hb BIGINT, mmsi BIGINT, n BIGINT"
"""Columns (Spark DDL) of :func:`coverage_counts_sql`."""


def coverage_counts_sql(th: Thresholds, positions: str = "positions", dialect: Dialect = DUCKDB) -> str:
    """Positions per (coverage cell, UTC hour, mmsi) (:data:`COVERAGE_COUNTS`): what the coverage query
    counts, summable across partitions, so it can be computed where the positions are and gathered."""
    return f"""SELECT cy, cx, hb, mmsi, count(*) AS n FROM ({_cell_hours(th, positions, dialect)}) p
        GROUP BY cy, cx, hb, mmsi"""


def coverage_wanted_sql(th: Thresholds, gaps: str = "_gaps_in", dialect: Dialect = DUCKDB) -> str:
    """The (cell, hour)s the coverage query of ``gaps`` asks about (columns cy, cx, hb)."""
    return f"WITH {_coverage_keys_ctes(th, gaps, dialect)} SELECT DISTINCT cy, cx, hb FROM keys"


def _cell_hours(th: Thresholds, positions: str, dialect: Dialect) -> str:
    """SQL: each position's coverage cell and UTC hour (columns mmsi, cy, cx, hb)."""
    cell = float(th.coverage_cell_deg)
    ncol = int(np.ceil(360.0 / cell))
    return f"""SELECT mmsi, CAST(floor(lat / {cell}) AS BIGINT) AS cy,
               CAST(floor((lon + 180) / {cell}) AS BIGINT) % {ncol} AS cx,
               CAST(floor({dialect.epoch_us}(ts) / {_HOUR_US}) AS BIGINT) AS hb
        FROM {positions}"""


_HOUR_US = 3_600_000_000


def _coverage_keys_ctes(th: Thresholds, gaps: str, dialect: Dialect) -> str:
    """CTEs ``g`` .. ``keys``: the (gap, side, cell, hour)s whose positions count for each gap of ``gaps``,
    each once. A gap's path points in one cell have windows of one length, so sorted by start each
    overlaps only the earlier ones' union, which ends at their latest end: each window is trimmed to start
    there (``spans``) instead of expanding every point's hours and taking the distinct rows (the hours are
    most of the query's rows: 145 per path point at the default 72 h)."""
    cell = float(th.coverage_cell_deg)
    ncol = int(np.ceil(360.0 / cell))
    win_us = round(th.coverage_window_h * 3600e6)
    path_us = round(th.reception_window_h * 3600e6)
    dlon = "(((end_lon - start_lon + 540) % 360) - 180)"  # shortest way east (+) or west (-), degrees
    e = dialect.epoch_us
    earlier = (
        "PARTITION BY gap_id, mmsi, side, cy, cx ORDER BY w0 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    )
    return f"""g AS (
        SELECT gap_id, mmsi, start_lat, start_lon, end_lat, end_lon, {e}(start_ts) AS s_us, {e}(end_ts) AS e_us
        FROM {gaps}
    ), ends AS (
        SELECT gap_id, mmsi, 0 AS side, start_lat AS lat, start_lon AS lon, s_us AS w0,
               least(e_us, s_us + {win_us}) AS w1 FROM g
        UNION ALL
        SELECT gap_id, mmsi, 1 AS side, end_lat AS lat, end_lon AS lon, greatest(s_us, e_us - {win_us}) AS w0,
               e_us AS w1 FROM g
        UNION ALL
        SELECT gap_id, mmsi, 2 AS side, start_lat + f * (end_lat - start_lat) AS lat,
               ((start_lon + f * {dlon} + 540) % 360) - 180 AS lon,
               s_us + f * (e_us - s_us) - {path_us} AS w0, s_us + f * (e_us - s_us) + {path_us} AS w1
        FROM g, (VALUES (0.25), (0.5), (0.75)) AS fr(f)
    ), reach AS (
        SELECT ends.*, CASE WHEN side < 2 THEN {_coverage_columns("lat", cell, ncol)} ELSE 0 END AS k FROM ends
    ), cols AS (
        SELECT reach.*, {dialect.series.format(a="-k", b="k + 1")} AS ddx FROM reach
    ), cells AS (
        SELECT gap_id, mmsi, side, w0,
               CAST(floor(lat / {cell}) AS BIGINT) + dy AS cy,
               ((CAST(floor((lon + 180) / {cell}) AS BIGINT) + ddx) % {ncol} + {ncol}) % {ncol} AS cx,
               CAST(ceil(w0 / {_HOUR_US}) AS BIGINT) AS h0, CAST(floor(w1 / {_HOUR_US}) AS BIGINT) AS h1
        FROM cols, {dialect.neighbours}
        WHERE dx = 0 AND (side < 2 OR dy = 0)
    ), spans AS (
        SELECT gap_id, mmsi, side, cy, cx, greatest(h0, coalesce(max(h1) OVER ({earlier}), h0)) AS h0, h1
        FROM cells
    ), keys AS (
        SELECT gap_id, mmsi, side, cy, cx, {dialect.series.format(a="h0", b="h1")} AS hb FROM spans
    )"""
