"""Benchmark PlaceIndex: the shipped gazetteer and 100k synthetic places against 1M points.

    python bench/places.py [--points 1000000] [--places 100000] [--workers 1]

Prints one Markdown table row per measurement (best of --repeat runs, wall-clock seconds).
Points: half within 12 km of a place (the hard case: dense anchorages), half uniform on the sphere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from supplyline.geo import destination_point
from supplyline.places import PlaceIndex, load_gazetteer, places_from_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of


def points_near(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    near = rng.integers(0, len(lat), n // 2)
    qlat1, qlon1 = destination_point(
        lat[near], lon[near], rng.uniform(0, 360, n // 2), rng.uniform(0, 12, n // 2)
    )
    m = n - n // 2
    qlat = np.concatenate([qlat1, np.degrees(np.arcsin(rng.uniform(-1, 1, m)))])
    qlon = np.concatenate([qlon1, rng.uniform(-180, 180, m)])
    return qlat, qlon


def synthetic_places(rng: np.random.Generator, n: int) -> pa.Table:
    centres = n // 50
    clat, clon = rng.uniform(-70, 70, centres), rng.uniform(-180, 180, centres)
    c = rng.integers(0, centres, n)
    lat, lon = destination_point(clat[c], clon[c], rng.uniform(0, 360, n), rng.exponential(8.0, n))
    r_in = rng.choice([500.0, 750.0, 2000.0, 3000.0, 5000.0, 8000.0], n) * rng.uniform(0.8, 1.2, n)
    return pa.table(
        {
            "place_id": [f"p{i}" for i in range(n)],
            "name": ["x"] * n,
            "lat": lat,
            "lon": lon,
            "r_in_m": r_in,
            "r_out_m": r_in * 4 / 3,
        }
    )


def synthetic_polygons(rng: np.random.Generator, n: int) -> pa.Table:
    """``n`` square-ish polygon places (2-10 km across) around 40 clusters, some across the antimeridian."""
    centres = 40
    clat, clon = rng.uniform(-60, 60, centres), np.concatenate([[179.9], rng.uniform(-180, 180, centres - 1)])
    c = rng.integers(0, centres, n)
    lat, lon = destination_point(clat[c], clon[c], rng.uniform(0, 360, n), rng.exponential(30.0, n))
    half = rng.uniform(0.01, 0.045, n)
    records = []
    for i in range(n):
        la, lo, h = float(lat[i]), float(lon[i]), float(half[i])
        ring = [[lo - h, la - h], [lo + h, la - h], [lo + h, la + h], [lo - h, la + h], [lo - h, la - h]]
        records.append({"name": f"poly{i}", "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return places_from_records(records)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--places", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--polygons", type=int, default=2_000)
    ap.add_argument("--polygon-points", type=int, default=200_000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    n, r = args.points, args.repeat
    print("| case | places | points | seconds | points/s |")
    print("| --- | ---: | ---: | ---: | ---: |")

    def row(case: str, n_places: int, n_points: int, secs: float) -> None:
        rate = f"{n_points / secs:,.0f}" if n_points else ""
        print(f"| {case} | {n_places:,} | {n_points:,} | {secs:.3f} | {rate} |", flush=True)

    gaz_t = best_of(1, lambda: load_gazetteer())  # first (cold) load, then cached
    gaz = load_gazetteer()
    row("load_gazetteer (cold)", gaz.num_rows, 0, gaz_t)
    row("PlaceIndex(gazetteer)", gaz.num_rows, 0, best_of(r, lambda: PlaceIndex(gaz)))
    idx = PlaceIndex(gaz, workers=args.workers)
    qlat, qlon = points_near(rng, gaz["lat"].to_numpy(), gaz["lon"].to_numpy(), n)
    row("gazetteer assign r_in", gaz.num_rows, n, best_of(r, lambda: idx.assign(qlat, qlon, "r_in")))
    row("gazetteer assign r_out", gaz.num_rows, n, best_of(r, lambda: idx.assign(qlat, qlon, "r_out")))
    row("gazetteer nearest", gaz.num_rows, n, best_of(r, lambda: idx.nearest(qlat, qlon)))
    row("gazetteer nearest max 20 km", gaz.num_rows, n, best_of(r, lambda: idx.nearest(qlat, qlon, 20_000)))
    idx.search("warmup")
    row("search 'Vostochny' (warm)", gaz.num_rows, 0, best_of(r, lambda: idx.search("Vostochny")))
    row("near(40.70, -74.01, 10 km)", gaz.num_rows, 0, best_of(r, lambda: idx.near(40.70, -74.01, 10_000)))

    syn = synthetic_places(rng, args.places)
    row("PlaceIndex(synthetic)", syn.num_rows, 0, best_of(r, lambda: PlaceIndex(syn)))
    sidx = PlaceIndex(syn, workers=args.workers)
    slat, slon = points_near(rng, syn["lat"].to_numpy(), syn["lon"].to_numpy(), n)
    row("synthetic assign r_in", syn.num_rows, n, best_of(r, lambda: sidx.assign(slat, slon, "r_in")))
    row("synthetic assign r_out", syn.num_rows, n, best_of(r, lambda: sidx.assign(slat, slon, "r_out")))
    row("synthetic nearest", syn.num_rows, n, best_of(r, lambda: sidx.nearest(slat, slon)))

    polys = synthetic_polygons(rng, args.polygons)
    pidx = PlaceIndex(polys, workers=args.workers)
    m = args.polygon_points
    plat, plon = points_near(rng, polys["lat"].to_numpy(), polys["lon"].to_numpy(), m)
    row("polygons assign r_in", polys.num_rows, m, best_of(r, lambda: pidx.assign(plat, plon, "r_in")))
    row("polygons assign r_out", polys.num_rows, m, best_of(r, lambda: pidx.assign(plat, plon, "r_out")))


if __name__ == "__main__":
    main()
