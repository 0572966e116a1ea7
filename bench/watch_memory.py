"""Peak memory of the watch's analysis run by run, with the default allocators and with the watch's own.

The NY Harbor week (real) is ingested ``--copies`` times, each copy a week later, and after each copy the
watch's analysis runs in the same process as a watch runs it (time-incremental ``detect``, then ``monitor``
on its kept facts). Per run: the peak resident set (``VmHWM``, reset before the run through
``/proc/self/clear_refs``) and the resident set after it. Two child processes in the same run: ``default``
(the libraries' allocators as they come) and ``watch`` (:func:`supplyline.watch.memory.settle_allocators`
at start, :func:`~supplyline.watch.memory.release_free_memory` after each run, as `supplyline watch` does).

Run: ``python bench/watch_memory.py --copies 30`` (Linux; about 2 minutes per variant on 2 cores).

``--parts N`` feeds each week in N time slices (one run each, as a watch under a fast feed runs) and, with
``--phases``, runs only the ``watch`` variant and prints per run the peaks of ``detect`` and ``monitor``
apart and the seconds of each, summarised per ``--every`` runs: ``python bench/watch_memory.py --copies 52
--parts 3 --phases`` replays a year of the harbour in 156 runs, as the 30-minute soak does (about 5 min).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.watch_support import proc_status_mb

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _peak() -> int:
    """VmHWM in MB, then reset to the current resident set (``/proc/self/clear_refs``)."""
    peak = proc_status_mb("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")
    return peak


def child(copies: int, settle: bool, parts: int = 1) -> None:
    """One variant: one JSON line per run on stdout."""
    from tests.watch_support import CASE, WEEK, week_slices

    from supplyline.case import load_case
    from supplyline.engine.incremental import detect_incremental
    from supplyline.ingest.pipeline import ingest_bytes
    from supplyline.monitor.run import run_monitor
    from supplyline.places import conform_places
    from supplyline.store import Store
    from supplyline.watch.memory import release_free_memory, settle_allocators

    if settle:
        settle_allocators()
    case = load_case(CASE)
    places = conform_places(case.places)
    store = Store.create(Path(tempfile.mkdtemp(prefix="watch-memory-")) / "store")
    for k, (name, data) in enumerate(week_slices(DATA / WEEK, copies, parts)):
        ingest_bytes(store, data, name=name, fmt="nmea")
        _peak()
        t0 = time.perf_counter()
        detect_incremental(store, places, case.thresholds, case.routes, memory_limit="1GB")
        t1, detect_peak = time.perf_counter(), _peak()
        run_monitor(store, case)
        t2, monitor_peak = time.perf_counter(), proc_status_mb("VmHWM")
        if settle:
            release_free_memory()
        after = proc_status_mb("VmRSS")
        run = {"run": k + 1, "peak_mb": max(detect_peak, monitor_peak), "rss_after_mb": after,
               "detect_peak_mb": detect_peak, "monitor_peak_mb": monitor_peak,
               "detect_s": round(t1 - t0, 3), "monitor_s": round(t2 - t1, 3)}  # fmt: skip
        print(json.dumps(run), flush=True)


def variant(copies: int, settle: bool, parts: int = 1) -> list[dict[str, Any]]:
    args = [sys.executable, __file__, "--copies", str(copies), "--parts", str(parts),
            "--child", "watch" if settle else "default"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")}
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=30, help="weeks fed, one analysis run each")
    ap.add_argument("--parts", type=int, default=1, help="runs per week (each a time slice of it)")
    ap.add_argument("--phases", action="store_true", help="the watch variant only, detect and monitor apart")
    ap.add_argument("--every", type=int, default=20, help="with --phases: runs per summary row")
    ap.add_argument("--child", choices=["default", "watch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.copies, args.child == "watch", args.parts)
        return
    if args.phases:
        _phases(variant(args.copies, True, args.parts), args.every)
        return
    runs = {name: variant(args.copies, name == "watch") for name in ("default", "watch")}
    print("| run | default peak / after (MB) | watch's allocators peak / after (MB) |")
    print("| ---: | ---: | ---: |")
    for a, b in zip(runs["default"], runs["watch"], strict=True):
        print(f"| {a['run']} | {a['peak_mb']} / {a['rss_after_mb']} | {b['peak_mb']} / {b['rss_after_mb']} |")


def _phases(runs: list[dict[str, Any]], every: int) -> None:
    """Per ``every`` runs: max and mean of each phase's peak, the resident set after, seconds per phase."""
    print(
        "| runs | detect peak max / mean (MB) | monitor peak max / mean (MB) | after (MB) | detect s | monitor s |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for i in range(0, len(runs), every):
        w = runs[i : i + every]

        def stat(key: str, w: list[dict[str, Any]] = w) -> str:
            return f"{max(r[key] for r in w)} / {statistics.mean(r[key] for r in w):.0f}"

        def mean(key: str, w: list[dict[str, Any]] = w) -> str:
            return f"{statistics.mean(r[key] for r in w):.2f}"

        print(f"| {w[0]['run']}-{w[-1]['run']} | {stat('detect_peak_mb')} | {stat('monitor_peak_mb')} | "
              f"{stat('rss_after_mb')} | {mean('detect_s')} | {mean('monitor_s')} |")  # fmt: skip


if __name__ == "__main__":
    main()
