"""Detection throughput: our kernels vs MovingPandas (stops) and a plain DuckDB window query (gaps).

Data: the real NY Harbor week (172,679 positions, 140 vessels, no SOG) replicated ``--copies`` times with
shifted MMSIs and times (copy k is k weeks later), so every copy is a distinct fleet with real sampling,
gaps and noise. Places: the six Lower Manhattan / Upper Bay ferry terminals a case file would list
(``--gazetteer`` adds the ~70k shipped places).

Figures (positions/s; wall-clock, and CPU time where the shared machine's load makes wall time noisy):
  * suite: every per-vessel kernel (segments, visits, voyages, gaps, loitering, draught) and the core four
    (segments + visits + voyages + gaps), in ``--workers`` processes, each running the kernels over its
    half of the vessels (data built inside each worker, so no pickling is timed);
  * engine: ``engine.local.detect`` end to end on a store (DuckDB split + kernels + encounters + gap
    coverage + Parquet writes);
  * MovingPandas 0.23: ObservationGapSplitter (24 h) then TrajectoryStopDetector (5 min, 100 m) on
    ``--mp-vessels`` vessels drawn at random (seed 0) from one copy (it is per-trajectory Python; the whole set would take many minutes); our suite on
    the same vessels, one process, for the same-data ratio;
  * DuckDB: ``lag(ts) OVER (PARTITION BY mmsi ORDER BY ts)`` gaps of >= 6 h over all copies, 2 threads.

Usage: python bench/detect.py [--copies 20] [--workers 2] [--mp-vessels 20] [--gazetteer]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_detect_nyharbor import load_week  # noqa: E402

from supplyline import schema  # noqa: E402
from supplyline.detect import Route, Thresholds, run_vessel_kernels  # noqa: E402
from supplyline.places import places_from_records  # noqa: E402

WEEK = REPO.parent / "shared" / "data" / "noaa_ais_nyharbor_2020" / "nyharbor_2020-12-01_to_07_points.csv.gz"
CORE = ("segments", "visits", "voyages", "gaps")
TERMINALS = [
    ("whitehall", 40.7013, -74.0131, 400, 600),
    ("pier11", 40.7034, -74.0068, 300, 500),
    ("stgeorge", 40.6437, -74.0730, 500, 700),
    ("bpc", 40.7145, -74.0184, 300, 450),
    ("governors", 40.6933, -74.0153, 300, 450),
    ("bayonne", 40.6650, -74.0950, 500, 700),
]
ROUTES = [Route("sif", ("case:whitehall",), ("case:stgeorge",))]


def terminals() -> pa.Table:
    """The six terminals as a case's places table."""
    return places_from_records(
        [
            {"id": i, "name": i, "lat": la, "lon": lo, "r_in_m": ri, "r_out_m": ro}
            for i, la, lo, ri, ro in TERMINALS
        ],
        source="case",
    )


def places(gazetteer: bool) -> pa.Table:
    from supplyline.places import assemble_places  # here: bench/detect_cpu.py also runs older checkouts

    return assemble_places(extra=[terminals()], gazetteer=gazetteer)


def replicate(week: pa.Table, copies: range) -> pa.Table:
    """Copy k: MMSIs + k * 10^9 and times + k weeks (so copies never meet: no false encounters)."""
    m = week["mmsi"].to_numpy()
    t = week["ts"].cast(pa.int64()).to_numpy()
    parts = []
    for k in copies:
        c = week.set_column(0, "mmsi", pa.array(m + k * 1_000_000_000, pa.int64()))
        shifted = pa.array(t + k * 7 * 86_400_000_000, pa.int64()).cast(schema.TS)
        parts.append(c.set_column(1, "ts", shifted))
    return pa.concat_tables(parts).combine_chunks()


def _worker(args: tuple[int, int, int, bool, tuple[str, ...]]) -> tuple[int, float, float]:
    """Build this worker's share of the copies, warm up, then time the kernels: best of 2, wall and CPU."""
    part, workers, copies, gaz, tables = args
    week = load_week(WEEK)
    data = replicate(week, range(part, copies, workers))
    pl = places(gaz)
    th = Thresholds()
    run_vessel_kernels(week.slice(0, 20000), pl, th, ROUTES, tables=tables)  # build indexes, warm caches
    wall = cpu = np.inf
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        run_vessel_kernels(data, pl, th, ROUTES, tables=tables)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return data.num_rows, wall, cpu


def suite(copies: int, workers: int, gaz: bool, tables: tuple[str, ...]) -> tuple[int, float, float]:
    """(positions, wall s, CPU s of the slowest worker); workers run concurrently, so the slowest one
    sets the wall time. CPU seconds show what an unloaded core would take (the machine is shared)."""
    with ProcessPoolExecutor(workers) as pool:
        res = list(pool.map(_worker, [(p, workers, copies, gaz, tables) for p in range(workers)]))
    return sum(r[0] for r in res), max(r[1] for r in res), max(r[2] for r in res)


def engine(week: pa.Table, copies: int, workers: int, gaz: bool) -> tuple[int, float, dict[str, int]]:
    from supplyline.engine.local import detect
    from supplyline.store import Store

    data = replicate(week, range(copies))
    data = data.set_column(
        data.schema.get_field_index("input_id"), "input_id", pa.array(["bench"] * len(data))
    )
    root = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    store = Store.create(root / "store")
    day = pc.strftime(data["ts"], format="%Y-%m-%d")
    with store.transaction() as txn:
        for d in pc.unique(day).to_pylist():
            txn.put(f"positions/day={d}/part-bench.parquet", data.filter(pc.equal(day, d)))
    t0 = time.perf_counter()
    res = detect(store, places(gaz), Thresholds(), ROUTES, workers=workers)
    return data.num_rows, time.perf_counter() - t0, res.counts


def movingpandas(week: pa.Table, n_vessels: int) -> dict[str, float]:
    import geopandas as gpd
    import movingpandas as mpd

    ids = (
        np.random.default_rng(0)
        .choice(sorted(set(week["mmsi"].to_pylist())), n_vessels, replace=False)
        .tolist()
    )
    sub = week.filter(pc.is_in(week["mmsi"], pa.array(ids, pa.int64())))
    df = sub.select(["mmsi", "ts", "lat", "lon"]).to_pandas()
    df["ts"] = df["ts"].dt.tz_localize(None)
    t0, c0 = time.perf_counter(), time.process_time()
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf, "mmsi", t="ts")
    split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(hours=24))
    stops = mpd.TrajectoryStopDetector(split).get_stop_segments(
        min_duration=timedelta(minutes=5), max_diameter=100
    )
    mp_wall, mp_cpu = time.perf_counter() - t0, time.process_time() - c0
    pl = places(False)
    run_vessel_kernels(sub, pl, Thresholds(), ROUTES)
    t0, c0 = time.perf_counter(), time.process_time()
    ours = run_vessel_kernels(sub, pl, Thresholds(), ROUTES)
    return {
        "n": sub.num_rows,
        "mp_wall": mp_wall,
        "mp_cpu": mp_cpu,
        "stops": len(stops),
        "ours_wall": time.perf_counter() - t0,
        "ours_cpu": time.process_time() - c0,
        "visits": ours["visits"].num_rows,
    }


def duckdb_gaps(week: pa.Table, copies: int, workers: int) -> tuple[int, float, int]:
    data = replicate(week, range(copies)).select(["mmsi", "ts", "lat", "lon"])
    con = duckdb.connect()
    con.execute(f"SET threads = {workers}")
    con.execute("CREATE TABLE p AS SELECT * FROM data")
    q = """SELECT count(*) FROM (SELECT ts - lag(ts) OVER (PARTITION BY mmsi ORDER BY ts) AS dt FROM p)
           WHERE dt >= INTERVAL 6 HOUR"""
    con.sql(q).fetchall()
    t0 = time.perf_counter()
    n = con.sql(q).fetchall()[0][0]
    return len(data), time.perf_counter() - t0, int(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mp-vessels", type=int, default=20)
    ap.add_argument("--gazetteer", action="store_true")
    ap.add_argument("--skip-engine", action="store_true")
    a = ap.parse_args()
    week = load_week(WEEK)
    print(
        f"data: NY Harbor week x {a.copies} copies; places: {places(a.gazetteer).num_rows}; workers {a.workers}"
    )
    print(f"load average before: {os.getloadavg()}")
    n, s, c = suite(a.copies, a.workers, a.gazetteer, CORE)
    print(
        f"suite core (segments+visits+voyages+gaps): {n:,} positions in {s:.2f} s wall = {n / s:,.0f} pos/s; "
        f"CPU {c:.2f} s per worker = {n / c:,.0f} pos/s on {a.workers} unloaded cores"
    )
    n, s, c = suite(a.copies, a.workers, a.gazetteer, tuple(schema_tables()))
    all_wall, all_cpu = n / s, n / c
    print(
        f"suite all kernels: {n:,} positions in {s:.2f} s wall = {all_wall:,.0f} pos/s; "
        f"CPU {c:.2f} s per worker = {all_cpu:,.0f} pos/s on {a.workers} unloaded cores"
    )
    if not a.skip_engine:
        n, s, counts = engine(week, a.copies, a.workers, a.gazetteer)
        print(
            f"engine.local.detect end to end: {n:,} positions in {s:.2f} s wall = {n / s:,.0f} pos/s; {counts}"
        )
    m = movingpandas(week, a.mp_vessels)
    mp_wall, mp_cpu = m["n"] / m["mp_wall"], m["n"] / m["mp_cpu"]
    print(
        f"MovingPandas gap split + stop detector: {m['n']:,} positions ({a.mp_vessels} vessels): "
        f"{m['mp_wall']:.2f} s wall ({mp_wall:,.0f} pos/s), {m['mp_cpu']:.2f} s CPU ({mp_cpu:,.0f} pos/s), "
        f"{m['stops']} stops"
    )
    print(
        f"  our suite, same rows, 1 process: {m['ours_wall']:.3f} s wall, {m['ours_cpu']:.3f} s CPU "
        f"({m['visits']} visits); same-data ratio {m['mp_wall'] / m['ours_wall']:,.0f}x wall, "
        f"{m['mp_cpu'] / m['ours_cpu']:,.0f}x CPU"
    )
    print(
        f"  suite all kernels ({a.workers} workers, {a.copies} copies) vs MovingPandas: "
        f"{all_wall / mp_wall:,.0f}x wall, {all_cpu / mp_cpu:,.0f}x CPU"
    )
    n, s, g = duckdb_gaps(week, a.copies, a.workers)
    print(
        f"DuckDB window-query gaps ({a.workers} threads): {n:,} positions in {s:.2f} s = {n / s:,.0f} pos/s ({g} gaps)"
    )
    print(f"load average after: {os.getloadavg()}")


def schema_tables() -> list[str]:
    from supplyline.detect import KERNEL_TABLES

    return [t for t in KERNEL_TABLES if t in schema.EVENT_TABLES]


if __name__ == "__main__":
    main()
