"""CPU time of the per-vessel kernels in one process: best of ``--repeat`` calls of run_vessel_kernels.

Data and places as in bench/detect.py (the real NY Harbor week replicated ``--copies`` times, the six
ferry terminals as a case's places table), built here, so no process pool or pickling is timed; the figure is
``time.process_time`` of the call, for the core tables (segments, visits, voyages, gaps) and for all.
A/B against another checkout's kernels: ``PYTHONPATH=<other>/src python bench/detect_cpu.py``. The data
and places still come from this checkout; the kernels from whichever ``supplyline`` is imported (the
script prints which). On a shared machine run the two interleaved, several times, and compare the best.

Usage: python bench/detect_cpu.py [--copies 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import supplyline  # noqa: E402
from bench.detect import CORE, ROUTES, WEEK, load_week, replicate, terminals  # noqa: E402
from supplyline.detect import Thresholds, run_vessel_kernels  # noqa: E402
from supplyline.detect.kernels import KERNEL_TABLES  # noqa: E402


def best_cpu(data: object, tables: tuple[str, ...], repeat: int) -> float:
    """Least CPU seconds of ``repeat`` calls (after one warm-up call that builds the place indexes)."""
    pl, th = terminals(), Thresholds()  # not assemble_places: older checkouts lack it
    run_vessel_kernels(data, pl, th, ROUTES, tables=tables)  # type: ignore[arg-type]
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        run_vessel_kernels(data, pl, th, ROUTES, tables=tables)  # type: ignore[arg-type]
        best = min(best, time.process_time() - c0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    data = replicate(load_week(WEEK), range(a.copies))
    print(f"kernels from {Path(supplyline.__file__).parents[1]}; {data.num_rows:,} positions")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    core = best_cpu(data, CORE, a.repeat)
    every = best_cpu(data, tuple(KERNEL_TABLES), a.repeat)
    print(f"core kernels: {core:.3f} s CPU (best of {a.repeat}); all kernels: {every:.3f} s CPU")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
