"""CPU cost of the short-rest check (detect/rests.py) inside the per-vessel kernels, on the real NY week.

    python bench/short_rests.py [--repeat 7]

Runs the kernels (all tables, shipped gazetteer, default thresholds) with the check off
(``short_stop_radius_m = 0``) and on, alternating, and prints the median CPU seconds of each
(time.process_time: all threads of this process) and the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_detect_nyharbor import load_week  # noqa: E402

from supplyline.detect import Thresholds, run_vessel_kernels  # noqa: E402
from supplyline.places import load_gazetteer  # noqa: E402

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", REPO.parent / "shared" / "data"))
WEEK = DATA / "noaa_ais_nyharbor_2020" / "nyharbor_2020-12-01_to_07_points.csv.gz"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    week, places = load_week(WEEK), load_gazetteer()
    runs: dict[str, list[float]] = {"off": [], "on": []}
    settings = {"off": Thresholds(short_stop_radius_m=0.0), "on": Thresholds()}
    run_vessel_kernels(week, places, settings["on"])  # warm-up (imports, caches)
    for _ in range(a.repeat):
        for name, th in settings.items():
            t0 = time.process_time()
            run_vessel_kernels(week, places, th)
            runs[name].append(time.process_time() - t0)
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    print(
        f"kernels, NY week ({week.num_rows:,} positions): short rests off {off:.3f} s CPU, on {on:.3f} s "
        f"({(on / off - 1) * 100:+.1f} %), median of {a.repeat}"
    )


if __name__ == "__main__":
    main()
