"""How detector recall falls as AIS reception drops and gaps grow (the table in docs/simulator.md).

    python bench/sim_recall.py [--ships 8] [--days 20] [--out /tmp/sim-recall]

One scenario (ships shuttling between four open-sea ports, full AIS rate) is simulated under worse and
worse reception; each run is detected with the default thresholds (supplyline.detect.run_vessel_kernels)
and scored against its ground truth with supplyline.simulate.score.score. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyarrow.parquet as pq

from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.simulate import simulate
from supplyline.simulate.score import Score, score

PORTS = {"west": (54.0, 3.0), "east": (54.0, 5.0), "north": (55.0, 4.0), "south": (53.2, 4.0)}
PAIRS = [("west", "east"), ("north", "south"), ("west", "north"), ("east", "south")]


def scenario(ships: int, days: int, reception: str, areas: str) -> str:
    out = ["[scenario]", 'name = "recall"', "start = 2024-03-01T00:00:00Z", f"end = 2024-03-{1 + days:02d}T00:00:00Z",
           "seed = 3", "[reception]", reception, areas]  # fmt: skip
    for pid, (lat, lon) in PORTS.items():
        out += [
            "[[place]]",
            f'id = "{pid}"',
            f'name = "{pid}"',
            f"lat = {lat}",
            f"lon = {lon}",
            "r_in_m = 3000",
        ]
    for k in range(ships):
        a, b = PAIRS[k % len(PAIRS)]
        out += [
            "[[ship]]", f'key = "s{k}"', f"mmsi = {244000000 + k}", f'start_place = "{a}"',
            f"speed_kn = {10 + k % 4}", "[[ship.shuttle]]", f'load = "{a}"', f'unload = "{b}"',
            f"first = 2024-03-01T{6 + k:02d}:00:00Z", f"count = {days // 2}", "every_days = 2.0",
            "load_dwell_h = 3", "unload_dwell_h = 3", "jitter_h = 4",
        ]  # fmt: skip
    return "\n".join(out) + "\n"


def holes(radius_km: float, reception: float = 0.0) -> str:
    """Reception multiplied by ``reception`` within ``radius_km`` of every port (0: arrive/leave unseen)."""
    return "\n".join(
        f'[[area]]\nkind = "hole"\nlat = {lat}\nlon = {lon}\nradius_km = {radius_km}\nreception = {reception}'
        for lat, lon in PORTS.values()
    )


CASES: list[tuple[str, str, str]] = [
    ("full reception (10 s at sea, 3 min moored)", "min_interval_s = 0", ""),
    ("random loss 50 %", "loss = 0.5", ""),
    ("random loss 90 %", "loss = 0.9", ""),
    ("random loss 99 %", "loss = 0.99", ""),
    ("one report per 10 min", "min_interval_s = 600", ""),
    ("one report per 30 min", "min_interval_s = 1800", ""),
    ("one report per 1 h", "min_interval_s = 3600", ""),
    ("one report per 2 h", "min_interval_s = 7200", ""),
    ("one report per 4 h", "min_interval_s = 14400", ""),
    ("1 % of messages heard within 5 km of ports", "min_interval_s = 0", holes(5, 0.01)),
    ("0.1 % of messages heard within 5 km of ports", "min_interval_s = 0", holes(5, 0.001)),
    ("no reception within 2 km of ports", "min_interval_s = 0", holes(2)),
    ("no reception within 5 km of ports", "min_interval_s = 0", holes(5)),
    ("no reception within 10 km of ports", "min_interval_s = 0", holes(10)),
    ("satellite only (10 min pass every 90 min)", "min_interval_s = 0",
     '[[area]]\nkind = "satellite"\npolygon = [[0, 50], [10, 50], [10, 60], [0, 60]]'),
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ships", type=int, default=8)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("/tmp/sim-recall"))
    args = ap.parse_args()
    print("| reception | positions | visits P | visits R | voyages P | voyages R | arrival error (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    t0 = time.perf_counter()
    for i, (label, rec, areas) in enumerate(CASES):
        d = args.out / f"case{i}"
        d.mkdir(parents=True, exist_ok=True)
        path = d / "scenario.toml"
        path.write_text(scenario(args.ships, args.days, rec, areas), encoding="utf-8")
        res = simulate(path, d / "out", formats=("parquet",))
        pos = pq.read_table(res.paths["positions"])
        sta = pq.read_table(res.paths["statics"])
        found = run_vessel_kernels(pos, res.scenario.places_table, Thresholds(), statics=sta)
        s = score(res.truth, found)
        v, y = s["visits"], s["voyages"]
        err = f"{v.timing_error_h * 60:.1f} min" if v.matched else "-"

        def prec(x: Score) -> str:
            return f"{x.precision:.3f}" if x.detected else "- (none found)"

        print(
            f"| {label} | {res.n_positions:,} | {prec(v)} | {v.recall:.3f} | {prec(y)} | {y.recall:.3f} | {err} |",
            flush=True,
        )
    print(f"\n({len(CASES)} runs, {args.ships} ships x {args.days} days, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
