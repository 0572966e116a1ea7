"""The watch's monitor run by run while the store's history grows: seconds (wall and CPU) and peak memory.

The real NY Harbor week is replayed ``--weeks`` times, each copy a week later, in ``--parts`` slices; after
each slice the watch's analysis runs in this process as a watch runs it (ingest, time-incremental
``detect``, then ``monitor`` on its kept facts, recording its alerts). The new positions per run are the
same every week, so a monitor whose per-run work is bounded by the new data costs the same at run 156 as at
run 1. Per run (one JSON line): the monitor's wall and CPU seconds, its peak resident set (``VmHWM``,
reset before it through ``/proc/self/clear_refs``), the resident set after it, the alerts it emitted and
the files of the ``alerts`` table; at the end a summary of runs 1, 50, 100 and the last.

Run: ``python bench/monitor_per_run.py --parts 3 --weeks 52`` (Linux; ~4 minutes on 2 cores; the store is
left in a temporary folder, printed first, for profiling).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def run(parts: int, weeks: int) -> list[dict[str, float]]:
    from tests.watch_support import CASE, WEEK, proc_status_mb, week_slices

    from supplyline.case import load_case
    from supplyline.engine.incremental import detect_incremental
    from supplyline.ingest.pipeline import ingest_bytes
    from supplyline.monitor.run import run_monitor
    from supplyline.places import conform_places
    from supplyline.store import Store
    from supplyline.watch.memory import release_free_memory, settle_allocators

    settle_allocators()
    case = load_case(CASE)
    places = conform_places(case.places)
    store = Store.create(Path(tempfile.mkdtemp(prefix="monitor-per-run-")) / "store")
    print(json.dumps({"store": str(store.root)}), flush=True)
    out = []
    blocks = (data for _, data in week_slices(DATA / WEEK, weeks, parts, source="ny"))
    for k, block in enumerate(blocks, start=1):
        ingest_bytes(store, block, name=f"b{k:04d}", fmt="nmea")
        detect_incremental(store, places, case.thresholds, case.routes, memory_limit="1GB")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        t0, c0 = time.perf_counter(), time.process_time()
        alerts = run_monitor(store, case)
        wall, cpu, peak = time.perf_counter() - t0, time.process_time() - c0, proc_status_mb("VmHWM")
        release_free_memory()
        row = {"run": k, "mon_s": round(wall, 3), "mon_cpu_s": round(cpu, 3), "mon_peak_mb": peak,
               "rss_after_mb": proc_status_mb("VmRSS"), "alerts": alerts.num_rows,
               "alert_files": len(store.files("alerts"))}  # fmt: skip
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=3, help="slices per week, one analysis run each")
    ap.add_argument("--weeks", type=int, default=52, help="copies of the week, each a week later")
    args = ap.parse_args()
    rows = run(args.parts, args.weeks)
    for r in (1, 50, 100, len(rows)):
        if r <= len(rows):
            print(json.dumps({"summary_run": r, **rows[r - 1]}))
    last = rows[-10:]
    print(json.dumps({"last_10_mean_cpu_s": round(sum(r["mon_cpu_s"] for r in last) / len(last), 3)}))


if __name__ == "__main__":
    main()
