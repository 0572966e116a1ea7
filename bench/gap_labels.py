"""How well the gap classes match the simulator's truth as reception worsens (the table in docs/detect.md).

    python bench/gap_labels.py [--ships 8] [--days 20] [--out /tmp/gap-labels]

One synthetic scenario: ships shuttling 500 km between two North Sea ports (54 N, 0.5 E and 8.0 E), half
of them switching their transponder off on every loaded leg (``dark = "loaded"``: off 5 km out, on 25 km
before arrival), and a reception hole (radius 80 km, nothing heard) across the middle of the lane. It is
simulated under worse and worse random loss and sampling; each run is detected with the default thresholds
(kernels, then the coverage SQL on DuckDB, as the local engine does) and every detected gap is matched to
the truth silence of the same vessel it overlaps most. Truth "disabled" = switched off; "coverage",
"satellite" and "loss" = not switched off. Prints Markdown tables: per reception level the precision and
recall of ``switched_off``, and the confusion of truth cause x class over all levels. Synthetic data.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.detect.gaps import GAP_CLASSES
from supplyline.engine.local import annotate_coverage
from supplyline.simulate import simulate

PORTS = {"west": (54.0, 0.5), "east": (54.0, 8.0)}
HOLE = (54.0, 4.2, 80.0)  # lat, lon, radius km
CASES: list[tuple[str, str]] = [
    ("full reception", "min_interval_s = 0"),
    ("random loss 50 %", "loss = 0.5"),
    ("random loss 90 %", "loss = 0.9"),
    ("random loss 99 %", "loss = 0.99"),
    ("one report per 30 min", "min_interval_s = 1800"),
    ("one report per 2 h", "min_interval_s = 7200"),
]
TRUTH_CAUSES = ("disabled", "coverage", "satellite", "loss", "none")


def scenario(ships: int, days: int, reception: str) -> str:
    out = ["[scenario]", 'name = "gap-labels"', "start = 2024-03-01T00:00:00Z",
           f"end = 2024-03-{1 + days:02d}T00:00:00Z", "seed = 5", "dark_min_h = 6", "[reception]", reception,
           "[[area]]", 'kind = "hole"', f"lat = {HOLE[0]}", f"lon = {HOLE[1]}", f"radius_km = {HOLE[2]}",
           "reception = 0.0"]  # fmt: skip
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
        out += [
            "[[ship]]", f'key = "s{k}"', f"mmsi = {244000000 + k}", 'start_place = "west"',
            f"speed_kn = {10 + k % 4}", "[[ship.shuttle]]", 'load = "west"', 'unload = "east"',
            f"first = 2024-03-01T{6 + 2 * k:02d}:00:00Z", f"count = {days // 4}", "every_days = 4.0",
            "load_dwell_h = 6", "unload_dwell_h = 6", "jitter_h = 6",
            f'dark = "{"loaded" if k % 2 else "none"}"',
        ]  # fmt: skip
    return "\n".join(out) + "\n"


def labelled(pos: pa.Table, places: pa.Table, th: Thresholds) -> pa.Table:
    """Detected gaps with their class, as the local engine computes them."""
    gaps = run_vessel_kernels(pos, places, th, tables=("gaps",))["gaps"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("positions", pos)
    return annotate_coverage(con, gaps, th)


def match(found: pa.Table, truth: pa.Table) -> list[tuple[str, str]]:
    """(truth cause, detected class) per detected gap, plus ("disabled"/..., "missed") per unmatched truth."""
    f, t = found.to_pylist(), truth.to_pylist()
    used: set[int] = set()
    pairs = []
    for g in f:
        best, overlap = -1, 0.0
        for j, r in enumerate(t):
            if r["mmsi"] != g["mmsi"] or r["end_ts"] is None:
                continue
            ov = (min(g["end_ts"], r["end_ts"]) - max(g["start_ts"], r["start_ts"])).total_seconds()
            if ov > overlap:
                best, overlap = j, ov
        pairs.append((t[best]["likely"] if best >= 0 else "none", g["likely"]))
        used.add(best)
    pairs += [(r["likely"], "missed") for j, r in enumerate(t) if j not in used and r["end_ts"] is not None]
    return pairs


def _row(label: str, n_pos: int, pairs: list[tuple[str, str]]) -> str:
    off = sum(1 for c, k in pairs if k == "switched_off")
    hit = sum(1 for c, k in pairs if k == "switched_off" and c == "disabled")
    truth = sum(1 for c, k in pairs if c == "disabled")
    cov = sum(1 for c, k in pairs if k == "coverage")
    cov_ok = sum(1 for c, k in pairs if k == "coverage" and c != "disabled")
    kinds = Counter(k for _, k in pairs if k != "missed")
    p = f"{hit / off:.3f}" if off else "-"
    cp = f"{cov_ok / cov:.3f}" if cov else "-"
    shown = ", ".join(f"{k} {kinds[k]}" for k in GAP_CLASSES if kinds[k])
    return f"| {label} | {n_pos:,} | {truth} | {shown} | {p} | {hit / truth if truth else 0:.3f} | {cp} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ships", type=int, default=8)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("/tmp/gap-labels"))
    args = ap.parse_args()
    th = Thresholds()
    print("| reception | positions | truth switched off | detected classes | switched_off P | switched_off R "
          "| coverage P |")  # fmt: skip
    print("|---|---:|---:|---|---:|---:|---:|")
    confusion: Counter[tuple[str, str]] = Counter()
    t0 = time.perf_counter()
    for i, (label, rec) in enumerate(CASES):
        d = args.out / f"case{i}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "scenario.toml").write_text(scenario(args.ships, args.days, rec), encoding="utf-8")
        res = simulate(d / "scenario.toml", d / "out", formats=("parquet",))
        found = labelled(pq.read_table(res.paths["positions"]), res.scenario.places_table, th)
        pairs = match(found, res.truth["dark"])
        confusion.update(pairs)
        print(_row(label, res.n_positions, pairs), flush=True)
    print("\n| truth cause \\ class | " + " | ".join((*GAP_CLASSES, "missed")) + " |")
    print("|---|" + "---:|" * (len(GAP_CLASSES) + 1))
    for c in TRUTH_CAUSES:
        cells = [str(confusion[(c, k)]) for k in (*GAP_CLASSES, "missed")]
        if any(x != "0" for x in cells):
            print(f"| {c} | " + " | ".join(cells) + " |")
    print(f"\n({len(CASES)} runs, {args.ships} ships x {args.days} days, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
