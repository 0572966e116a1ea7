"""Benchmark: generate a big synthetic scenario (default ~100 M positions) and report time and peak memory.

    python bench/simulate.py --ships 500 --days 30 --format parquet --out /tmp/sim-bench

The scenario: ``--ships`` ships shuttling between 12 ports on an open-sea grid (straight lanes, so
routing is not what is measured) at the full AIS rate (class A, 10 s at 11-13 kn, 3 min moored),
3 % random loss, one coverage hole. Prints positions, wall and CPU seconds, positions/s (wall), peak RSS
(MB) and file sizes as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from supplyline.simulate import simulate

PORTS = [(54.0 + 0.6 * (i // 4), 3.0 + 0.8 * (i % 4)) for i in range(12)]  # 3 x 4 grid, open sea


def scenario_text(ships: int, days: int) -> str:
    lines = [
        "[scenario]",
        'name = "bench"',
        "start = 2024-01-01T00:00:00Z",
        f"end = 2024-01-{1 + days:02d}T00:00:00Z" if days < 31 else "end = 2024-03-01T00:00:00Z",
        "seed = 1",
        "[reception]",
        "min_interval_s = 0",
        "loss = 0.03",
        "[[area]]",
        'kind = "hole"',
        "lat = 54.6",
        "lon = 4.2",
        "radius_km = 10",
        "reception = 0.0",
    ]
    for i, (lat, lon) in enumerate(PORTS):
        lines += [
            "[[place]]",
            f'id = "p{i}"',
            f'name = "Port {i}"',
            f"lat = {lat}",
            f"lon = {lon}",
            "r_in_m = 3000",
        ]
    for i in range(len(PORTS)):
        for j in range(i + 1, len(PORTS)):
            lines += ["[[lane]]", f'from = "p{i}"', f'to = "p{j}"', "via = []"]
    for k in range(ships):
        a, b = k % len(PORTS), (k * 5 + 3) % len(PORTS)
        if a == b:
            b = (b + 1) % len(PORTS)
        lines += [
            "[[ship]]",
            f'key = "s{k}"',
            f"mmsi = {211000000 + k}",
            f'start_place = "p{a}"',
            f"speed_kn = {11 + (k % 3)}",
            "[[ship.shuttle]]",
            f'load = "p{a}"',
            f'unload = "p{b}"',
            f"first = 2024-01-01T{(k % 12) + 2:02d}:00:00Z",
            f"count = {days * 2}",
            "every_days = 0.5",
            "load_dwell_h = 1",
            "unload_dwell_h = 1",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ships", type=int, default=500)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--format", choices=["parquet", "nmea", "both"], default="parquet")
    ap.add_argument("--out", type=Path, default=Path("/tmp/sim-bench"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "bench-scenario.toml"
    path.write_text(scenario_text(args.ships, args.days), encoding="utf-8")
    formats = ("nmea", "parquet") if args.format == "both" else (args.format,)
    t0 = time.perf_counter()
    res = simulate(path, args.out / "out", formats=formats)
    secs = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = ru.ru_maxrss / 1024
    cpu_s = ru.ru_utime + ru.ru_stime  # the machine is shared: CPU time shows the cost without contention
    sizes = {k: round(p.stat().st_size / 1e6, 1) for k, p in res.paths.items() if k in ("positions", "nmea")}
    print(
        json.dumps(
            {
                "ships": args.ships,
                "days": args.days,
                "format": args.format,
                "positions": res.n_positions,
                "statics": res.n_statics,
                "seconds": round(secs, 1),
                "cpu_seconds": round(cpu_s, 1),
                "positions_per_s": round(res.n_positions / secs),
                "peak_rss_mb": round(rss_mb),
                "file_mb": sizes,
            }
        )
    )


if __name__ == "__main__":
    main()
