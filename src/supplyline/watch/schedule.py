"""When to run incremental `detect` + `monitor` during a watch: after N new positions or every T seconds.

`detect` is incremental by vessel shard (only shards whose positions changed are recomputed, see
docs/architecture.md), and `monitor` records every alert it raises in the store's ``alerts`` table once, so
running both often costs time proportional to the new data, not the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
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
        """Incremental detect, then monitor; returns the alerts raised now (recorded in the store)."""
        from supplyline.engine.local import detect
        from supplyline.monitor.run import run_monitor

        detect(store, self.places, self.thresholds, self.routes, workers=workers, memory_limit="1GB")
        return run_monitor(store, self.case)


@dataclass
class Schedule:
    """Due after ``after_positions`` new stored positions, or ``every_s`` seconds after the first new one."""

    every_s: float = 60.0
    after_positions: int = 50_000
    new_positions: int = 0
    since: float = field(default_factory=time.monotonic)
    runs: int = 0

    def add(self, positions: int) -> None:
        if positions and not self.new_positions:
            self.since = time.monotonic()
        self.new_positions += positions

    def due(self, *, final: bool = False) -> bool:
        if not self.new_positions:
            return False
        waited = time.monotonic() - self.since
        return final or self.new_positions >= self.after_positions or waited >= self.every_s

    def done(self) -> None:
        self.new_positions = 0
        self.runs += 1
