"""Peak memory of the watch's analysis run by run, with the default allocators and with the watch's own.

The NY Harbor week (real) is ingested ``--copies`` times, each copy a week later, and after each copy the
watch's analysis runs in the same process as a watch runs it (time-incremental ``detect``, then ``monitor``
on its kept facts). Per run: the peak resident set (``VmHWM``, reset before the run through
``/proc/self/clear_refs``) and the resident set after it. Two child processes in the same run: ``default``
(the libraries' allocators as they come) and ``watch`` (:func:`supplyline.watch.memory.settle_allocators`
at start, :func:`~supplyline.watch.memory.release_free_memory` after each run, as `supplyline watch` does).

Run: ``python bench/watch_memory.py --copies 30`` (Linux; about 2 minutes per variant on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _status(key: str) -> int:
    """A /proc/self/status field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(key)


def child(copies: int, settle: bool) -> None:
    """One variant: one JSON line per run on stdout."""
    from tests.watch_support import CASE, WEEK, nyharbor_nmea

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
    for k in range(copies):
        ingest_bytes(
            store, nyharbor_nmea(DATA / WEEK, 24 * 7, shift_s=k * 7 * 86400), name=f"w{k}", fmt="nmea"
        )
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        detect_incremental(store, places, case.thresholds, case.routes, memory_limit="1GB")
        run_monitor(store, case)
        peak = _status("VmHWM")
        if settle:
            release_free_memory()
        print(json.dumps({"run": k + 1, "peak_mb": peak, "rss_after_mb": _status("VmRSS")}), flush=True)


def variant(copies: int, settle: bool) -> list[dict[str, Any]]:
    args = [sys.executable, __file__, "--copies", str(copies), "--child", "watch" if settle else "default"]
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")}
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=30, help="weeks fed, one analysis run each")
    ap.add_argument("--child", choices=["default", "watch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.copies, args.child == "watch")
        return
    runs = {name: variant(args.copies, name == "watch") for name in ("default", "watch")}
    print("| run | default peak / after (MB) | watch's allocators peak / after (MB) |")
    print("| ---: | ---: | ---: |")
    for a, b in zip(runs["default"], runs["watch"], strict=True):
        print(f"| {a['run']} | {a['peak_mb']} / {a['rss_after_mb']} | {b['peak_mb']} / {b['rss_after_mb']} |")


if __name__ == "__main__":
    main()
