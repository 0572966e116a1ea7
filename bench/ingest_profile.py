"""Where the NMEA ingest spends its time: wall and CPU over repeated runs, and CPU per pipeline step.

The same 320,984-line file as bench/ingest.py (the DMA 5-minute sample, 4 copies; ``--one-day`` shifts the
copies by an hour instead of a day). Each run ingests into a fresh store. The per-step figures are the CPU
time (``time.thread_time``) of the thread running each step, summed over the run's pieces, from the last
run: they show what the decoder threads, the writer and the set-up cost, not what they overlap.

Knobs for the experiments recorded in bench/RESULTS.md: ``--pieces`` (how many pieces a small input is cut
into, ``MIN_PIECES``), ``--duckdb-threads`` and ``--switch-interval`` (Python's GIL switch interval, s).

    python bench/ingest_profile.py --runs 7 [--one-day] [--pieces 4] [--duckdb-threads 1]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

import supplyline.ingest.dedup as dedup
import supplyline.ingest.inputs as inputs
import supplyline.ingest.nmea as nmea
import supplyline.ingest.pipeline as pipeline
import supplyline.ingest.quarantine as quarantine
import supplyline.ingest.run as run_mod
import supplyline.ingest.staging as staging
import supplyline.ingest.statics as statics
import supplyline.ingest.writer as writer
from bench.ingest_data import nmea_copies
from supplyline.store import Store

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SAMPLE = DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz"

# (owner, attribute, label): the steps timed; nested steps are indented under the step that calls them
STEPS: list[tuple[Any, str, str]] = [
    (inputs.Input, "sha256", "content hash"),
    (run_mod, "connect", "DuckDB connect"),
    (nmea, "decode_nmea", "decode"),
    (writer.InputWriter, "prepare", "prepare (decoder threads)"),
    (writer, "store_order", "  store order"),
    (writer, "group_statics", "  static grouping"),
    (writer.InputWriter, "add_prepared", "add (writer thread)"),
    (dedup.PositionStager, "add", "  positions"),
    (staging.Staging, "by_day", "  Parquet day files (positions, statics)"),
    (quarantine.Quarantine, "add_decoded", "  quarantine"),
    (statics.StaticRuns, "add_groups", "  static runs"),
    (writer.InputWriter, "finish", "finish (cross-chunk repeats)"),
]


def timed(cpu: Counter[str], owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so each call adds its thread's CPU seconds to ``cpu[label]``."""
    fn: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            cpu[label] += time.thread_time() - t

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--one-day", action="store_true", help="copies shifted by an hour: one day")
    ap.add_argument("--pieces", type=int, default=pipeline.MIN_PIECES)
    ap.add_argument("--duckdb-threads", type=int, default=None)
    ap.add_argument("--switch-interval", type=float, default=None)
    args = ap.parse_args()
    pipeline.MIN_PIECES = args.pieces
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    if args.duckdb_threads is not None:
        connect = run_mod.connect

        def with_threads(memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
            con = connect(memory_limit, spill)
            con.execute(f"SET threads = {int(args.duckdb_threads)}")
            return con

        run_mod.connect = with_threads
    cpu: Counter[str] = Counter()
    for owner, name, label in STEPS:
        timed(cpu, owner, name, label)
    with tempfile.TemporaryDirectory(prefix="supplyline-bench-") as d:
        src = Path(d) / "x.nmea"
        lines = nmea_copies(SAMPLE, src, 4, unit="hour" if args.one_day else "day")
        walls, cpus = [], []
        for i in range(args.runs):
            cpu.clear()
            store = Store.create(Path(d) / f"s{i}")
            w, c = time.perf_counter(), time.process_time()
            (res,) = pipeline.ingest(store, [src]).files
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            assert res.status == "ingested", res.message
    print(
        f"{lines:,} lines{' (one day)' if args.one_day else ''}, pieces {args.pieces}, {args.runs} runs, "
        f"load {os.getloadavg()[0]:.1f}: wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s; "
        f"process CPU min {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s"
    )
    print("thread CPU per step, last run:")
    for _, _, label in STEPS:
        print(f"  {label:42s} {cpu[label] * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
