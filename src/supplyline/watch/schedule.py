"""When to run incremental `detect` + `monitor` during a watch: after N new positions or every T seconds.

`detect` runs time-incrementally (:mod:`supplyline.engine.incremental`: each vessel with new positions is
re-analysed from a horizon near its end, the cross-vessel steps over the time the new positions touch),
and `monitor` updates the facts it derives from positions from the new positions only
(:mod:`supplyline.monitor.kept`) and records every alert it raises in the store's ``alerts`` table once,
so running both often costs time proportional to the new data, not the store. The analysis runs on its own
thread beside the storing (:class:`supplyline.watch.runner.Watch`); positions stored while it runs are counted for the next
run, which starts as soon as the current one ends if they are due: runs coalesce, nothing queues.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from supplyline.store import Store


@dataclass
class Analysis:
    """The places, routes and thresholds that `detect` and `monitor` use (the case's, or the gazetteer)."""

    places: pa.Table
    routes: list[Any]
    thresholds: Any
    case: Any | None = None
    last: Any | None = None  # the last run's DetectResult
    # the last run's monitor: seconds, CPU and what updating the kept facts did (monitor.kept.RunStats)
    monitor: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, case_path: Path | None) -> Analysis:
        from supplyline.detect import Thresholds
        from supplyline.places import conform_places

        if case_path is None:
            from supplyline.places import load_gazetteer

            return cls(conform_places(load_gazetteer()), [], Thresholds())
        from supplyline.case import load_case

        case = load_case(case_path)
        return cls(conform_places(case.places), list(case.routes), case.thresholds, case)

    def run(self, store: Store, workers: int = 1) -> pa.Table:
        """Time-incremental detect, then monitor; returns the alerts raised now (recorded in the store).
        ``workers`` is kept for callers; the incremental detect runs the kernels in this thread."""
        from supplyline.engine.incremental import detect_incremental
        from supplyline.monitor.run import run_monitor

        self.last = detect_incremental(store, self.places, self.thresholds, self.routes, memory_limit="1GB")
        # as of the last position detect saw: positions stored since (by the store thread) wait for the
        # next run, or the monitor would see a silence where detect has not looked yet
        end = self.last.data_end_us
        as_of = None if end is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=end)
        t0, cpu0 = time.perf_counter(), time.thread_time()
        stats: dict[str, Any] = {}
        alerts = run_monitor(store, self.case, as_of=as_of, stats=stats)  # on the kept facts (monitor.kept)
        self.monitor = {
            "seconds": round(time.perf_counter() - t0, 3),
            "cpu_s": round(time.thread_time() - cpu0, 3),
            **stats,
        }
        return alerts


@dataclass
class Schedule:
    """Due after ``after_positions`` new stored positions, or ``every_s`` seconds after the first new one.

    Thread-safe: the store thread adds positions while the analysis thread takes and finishes runs.
    ``coalesced`` counts the times positions were stored while a run was busy (they wait for the next run
    instead of queueing runs)."""

    every_s: float = 60.0
    after_positions: int = 50_000
    new_positions: int = 0
    since: float = field(default_factory=time.monotonic)
    runs: int = 0
    coalesced: int = 0
    busy: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _taken_at: float = 0.0

    def add(self, positions: int) -> None:
        with self._lock:
            if positions and not self.new_positions:
                self.since = time.monotonic()
            if positions and self.busy:
                self.coalesced += 1
            self.new_positions += positions

    def due(self, *, final: bool = False) -> bool:
        with self._lock:
            if not self.new_positions:
                return False
            waited = time.monotonic() - self.since
            return final or self.new_positions >= self.after_positions or waited >= self.every_s

    def take(self) -> int:
        """Start a run: the positions it covers (those stored so far)."""
        with self._lock:
            self.busy = True
            self._taken_at = time.monotonic()
            return self.new_positions

    def done(self, taken: int | None = None) -> None:
        """End a run that covered ``taken`` positions (default: all); later ones stay due."""
        with self._lock:
            self.new_positions = 0 if taken is None else max(0, self.new_positions - taken)
            self.since = self._taken_at if self.new_positions else self.since  # they came after the start
            self.busy = False
            self.runs += 1
