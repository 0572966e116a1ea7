"""Imagery speed: a 10,000 x 10,000 px SAR scene detected, and 10,000 detections matched to a day of AIS.

    python bench/imagery.py [--size 10000] [--vessels 1000] [--out /tmp/imagery-bench] [--only scene|match]

Scene: a synthetic GRD-like float32 GeoTIFF (simulate/scenes.py: 10 m pixels, 2,000 px of coast, 300 ships,
azimuth ghosts), detected with the default SAR pipeline (2048 px tiles, case-polygon land mask, CFAR,
objects, ghost suppression) in a child process, whose peak RSS is read from the OS (``ru_maxrss``).
Matching: a synthetic harbour of ``--vessels`` vessels with a full day of AIS (10 s moving, 3 min at anchor)
and 10 passes spread over the day imaging all of them, ~10,000 detections, matched in memory
(``match_scene``) and through a store (``match_store``: one DuckDB scan of the positions for all scenes).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

T0 = 1_700_000_000.0


def make_scene(path: Path, size: int) -> tuple[float, int]:
    from supplyline.simulate.scenes import SceneSpec, random_ships, write_scene

    spec = SceneSpec(height=size, width=size, land_cols=size // 5, ghost_offset_px=300, seed=2)
    spec = dataclasses.replace(spec, ships=random_ships(spec, 300, np.random.default_rng(2)))
    t = time.perf_counter()
    write_scene(spec, path)
    (path.parent / "land.json").write_text(json.dumps({"land_bounds": spec.land_polygon().bounds}))
    return time.perf_counter() - t, len(spec.ships)


def detect_child(path: Path) -> None:
    """Runs in a child process: detect, print seconds and detections as JSON."""
    import shapely

    from supplyline.imagery.detect import DetectConfig, detect_scene
    from supplyline.imagery.ghosts import GhostConfig
    from supplyline.imagery.landmask import polygons

    land = shapely.box(*json.loads((path.parent / "land.json").read_text())["land_bounds"])
    t = time.perf_counter()
    det = detect_scene(
        path,
        acquired=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        is_land=polygons([land]),
        cfg=DetectConfig(ghosts=GhostConfig(offset_px=300)),
    )
    print(json.dumps({"seconds": time.perf_counter() - t, "detections": det.num_rows}))


def bench_scene(out: Path, size: int) -> dict[str, float]:
    path = out / f"scene_{size}.tif"
    write_s, n_ships = make_scene(path, size)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, __file__, "--detect-child", str(path)], capture_output=True, text=True, check=True
    )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "pixels": size * size,
        "file_mb": path.stat().st_size / 1e6,
        "write_s": write_s,
        "detect_s": got["seconds"],
        "peak_rss_mb": max(peak_kb, before) / 1024,
        "ships": n_ships,
        "detections": got["detections"],
    }


def bench_match(out: Path, n_vessels: int) -> dict[str, float]:
    from supplyline.imagery.match import MatchConfig, match_scene
    from supplyline.imagery.run import match_store, store_detections
    from supplyline.ingest.pipeline import ingest
    from supplyline.simulate.harbour import fleet_ais, fleet_at, random_fleet
    from supplyline.simulate.passes import Area, PassConfig, PassResult, image_pass
    from supplyline.store import Store

    rng = np.random.default_rng(4)
    fleet = random_fleet(n_vessels, 42.0, 130.0, 60_000.0, T0, rng, moored_share=0.4)
    t = time.perf_counter()
    positions, statics = fleet_ais(fleet, T0, T0 + 86400, rng, 10.0)
    gen_s = time.perf_counter() - t
    passes = PassResult()
    cfg = PassConfig(l50_calm_m=0.0, l50_per_sea_state_m=0.0, false_alarms_per_100km2=0.0)
    for t_pass in T0 + 3600 + np.arange(10) * 8280.0:
        image_pass(
            fleet_at(fleet, t_pass), float(t_pass), Area("bench", 42.0, 130.0, 1_000_000.0), cfg, rng, passes
        )
    det, _ = passes.tables()
    pos = {c: positions[c].to_numpy() for c in ("mmsi", "lat", "lon")}
    pos["ts"] = positions["ts"].cast(pa.int64()).to_numpy() / 1e6
    pos["sog_kn"] = positions["sog_kn"].to_numpy().astype(np.float64)
    pos["cog_deg"] = positions["cog_deg"].to_numpy().astype(np.float64)
    lengths = dict(zip(statics["mmsi"].to_pylist(), statics["length_m"].to_pylist(), strict=True))
    t = time.perf_counter()
    for scene in sorted(set(det["scene_id"].to_pylist())):
        match_scene(det.filter(pc.equal(det["scene_id"], scene)), pos, lengths, MatchConfig())
    kernel_s = time.perf_counter() - t
    pq.write_table(positions, out / "pos.parquet")
    pq.write_table(statics, out / "statics.parquet")
    store = Store.create(out / "store")
    ingest(store, [out / "pos.parquet", out / "statics.parquet"])
    store_detections(store, det, "bench")
    t = time.perf_counter()
    match_store(store)
    store_s = time.perf_counter() - t
    return {
        "vessels": n_vessels,
        "ais_positions": positions.num_rows,
        "ais_generate_s": gen_s,
        "detections": det.num_rows,
        "scenes": 10,
        "match_kernel_s": kernel_s,
        "match_store_s": store_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--vessels", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/imagery-bench"))
    ap.add_argument("--only", choices=("scene", "match"), help="run one of the two benchmarks")
    ap.add_argument("--detect-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.detect_child:
        detect_child(args.detect_child)
        return
    import shutil

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    if args.only != "match":
        print(json.dumps({"scene": bench_scene(args.out, args.size)}, indent=1), flush=True)
    if args.only != "scene":
        print(json.dumps({"match": bench_match(args.out, args.vessels)}, indent=1), flush=True)


if __name__ == "__main__":
    main()
