"""Time-incremental detect: re-analyse each vessel with new positions only from a safe horizon.

The local engine's own incremental mode works per vessel shard: a shard with any new position is
re-analysed whole, so a live feed touching every vessel re-analyses the whole store on every run. This
layer, used by `supplyline watch`, works per vessel and per time instead, with results equal to a batch
detect (tests/test_detect_incremental.py; the one difference is in docs/detect.md):

1. **Snapshot.** The inputs (manifest rows) present at the start are the run's positions; inputs not in
   the state of the last run are new. Views over exactly those files, so inputs stored meanwhile wait.
2. **Plan** (:mod:`supplyline.engine.horizon`). Per vessel with new rows: *whole* (new vessel, rows not
   after its last analysed one, or its speed class changes) or a *cut* C: before every stored event the
   new rows can change, with a margin. Over the live events, plus the archived ones the plan needs
   (:mod:`supplyline.engine.archive`: events that ended 30 days before the data are read only there).
3. **Kernels** over each vessel's rows from C with and without the new rows, joined to the stored events
   by the splice rule (:mod:`supplyline.engine.splice`); a vessel failing its checks is redone whole.
4. **Cross-vessel** steps over the time window new rows can change (:mod:`supplyline.engine.window`).
5. **Commit**: the event tables (the live part, and the archive parts that lose or gain rows), the places
   and the state, in one transaction; the local engine's shard state is dropped (a later `detect`
   recomputes every shard).

The state (``tables/detect_incr``, ``tables/detect_incr_vessels``) holds the inputs analysed, a hash of the
places and thresholds, a fingerprint of the event tables as written (another engine's run means a rebuild)
and per vessel its last time, fast-pair count and speed class; the archive boundary. Counts of a run
(``DetectResult.incremental``): vessels planned, whole, cut, rows read, speed-class changes, splice
failures, and ``archive_vessels``: vessels whose archived events the run replaced (deep or whole).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect import Route, Thresholds
from supplyline.engine import archive, horizon, reanalyse, window
from supplyline.engine.base import (
    PLACES_TABLE,
    STATE_TABLE,
    DetectResult,
    Phases,
    places_in_use,
)
from supplyline.engine.horizon import VESSEL_STATE, Plan
from supplyline.engine.local import KERNEL_BYTES_PER_POSITION, _params_hash, parse_bytes
from supplyline.engine.snapshot import Snapshot
from supplyline.errors import EngineError
from supplyline.sqlquote import literal
from supplyline.store import WHOLE, Store

STATE = "detect_incr"
VESSELS = "detect_incr_vessels"
ROWS_READ_PER_NEW = 6
"""Rows a group holds per new position, for sizing groups: about 2.5 read (the context from each vessel's
cut) in the watch soak, kept twice (the kernels with and without the new rows), rounded up."""
PART = archive.LIVE
"""Part name of the live events this layer writes (rewritten each run; the rest: :mod:`.archive`)."""
_META = schema.DETECT_INCR


def detect_incremental(
    store: Store,
    places: pa.Table,
    thresholds: Thresholds,
    routes: Sequence[Route] = (),
    memory_limit: str | None = None,
    *,
    chunk_rows: int | None = None,
    archive_after_h: float = archive.ARCHIVE_AFTER_H,
    archive_step_h: float = archive.ARCHIVE_STEP_H,
) -> DetectResult:
    """Detect over the store's new inputs since the last run of this function (module docstring); the
    first run (or one after another engine wrote the events) analyses everything. ``memory_limit``
    (default 1GB) is the run's budget: DuckDB gets half, and vessels are analysed in groups of about
    ``chunk_rows`` new positions (default: what fits the other half, with the context read around them and
    the two kernel runs), so a run's memory stays bounded however far the analysis has fallen behind.
    Events ending ``archive_after_h`` before the latest position are archived (:mod:`.archive`), the
    boundary moving in steps of ``archive_step_h``: a run reads them only where its new positions need."""
    budget = parse_bytes(memory_limit) if memory_limit else 2**30
    if chunk_rows is None:
        chunk_rows = max(10_000, budget // 2 // (ROWS_READ_PER_NEW * KERNEL_BYTES_PER_POSITION))
    with store.lock():
        # no store views: the run makes its own over the files it reads (the views read every file schema)
        con = store.connect(memory_limit=f"{budget // 2 // 2**20}MB", threads=1, views=False)
        try:
            con.execute(f"SET temp_directory = {literal(store.scratch_dir('duckdb-tmp'))}")
            run = _Run(places, thresholds, routes, chunk_rows, (archive_after_h, archive_step_h))
            return run.over(store, con)
        except duckdb.Error as exc:
            raise EngineError(
                f"DuckDB failed while detecting incrementally: {exc}; try a larger --memory-limit"
            ) from exc
        finally:
            con.close()


@dataclass
class _State:
    """The last run's state (``tables/detect_incr`` and ``tables/detect_incr_vessels``)."""

    params: str
    inputs: set[str]
    end_us: int | None
    archive_us: int | None
    vessels: pa.Table = field(default_factory=horizon.empty_state)


@dataclass
class _Run:
    places: pa.Table
    th: Thresholds
    routes: Sequence[Route]
    chunk_rows: int
    archiving: tuple[float, float]  # archive_after_h, archive_step_h

    def over(self, store: Store, con: duckdb.DuckDBPyConnection) -> DetectResult:
        """One run (module docstring)."""
        index, places_used = places_in_use(self.places)
        result = DetectResult()
        phase = Phases(result.seconds, result.cpu_seconds)
        snap = Snapshot.take(store)
        params = _params_hash(places_used, self.th, self.routes, 0)
        last = _load_state(store, params)
        new = snap.inputs - last.inputs if last is not None else snap.inputs
        if last is not None and not new:
            result.counts, result.data_end_us = _counts(store), last.end_us
            return result
        snap.view(con, "_new_positions", "positions", inputs=new)
        snap.view(con, "_new_statics", "statics", inputs=new)
        state = last or _State(params, set(), None, None)
        plan, old, replace = _plan(store, con, state, self.th, rebuild=last is None)
        phase.done("signatures")
        kernel = horizon.Kernels(places_used, self.th, self.routes)
        events, vessels_after, counts, whole = reanalyse.analyse(
            con, snap, plan, old, state.vessels, kernel, self.chunk_rows, phase
        )
        replace.since |= _whole_since(plan, whole)
        events = self._window(con, snap, plan, old, events, (state.vessels, new, index), phase)
        del old  # as large as the live events: freed before the write
        end = max((e for e in (state.end_us, plan.t_max) if e is not None), default=None)
        after = _State(params, snap.inputs, end, archive.boundary(state.archive_us, end, *self.archiving))
        _commit(store, events, places_used, after, vessels_after, replace, state.archive_us)
        phase.done("write")
        result.data_end_us = end
        result.counts = _counts(store)
        result.incremental = plan.summary() | counts | {"archive_vessels": len(replace.since)}
        return result

    def _window(
        self,
        con: duckdb.DuckDBPyConnection,
        snap: Snapshot,
        plan: Plan,
        old: dict[str, pa.Table],
        events: dict[str, pa.Table],
        prior_index: tuple[pa.Table, set[str], Any],
        phase: Phases,
    ) -> dict[str, pa.Table]:
        """The cross-vessel steps over the time window new positions can change: gap coverage, encounters."""
        if plan.t_min is None:
            return events | {"encounters": old["encounters"]}
        vessels, new, index = prior_index
        events["gaps"] = window.coverage_since(con, snap, events["gaps"], plan.t_min, self.th)
        phase.done("coverage")
        prior = window.Prior(vessels, new)
        events["encounters"] = window.encounters_since(
            con, snap, old["encounters"], plan.t_min, self.th, index, prior
        )
        phase.done("encounters")
        return events


def _plan(
    store: Store, con: duckdb.DuckDBPyConnection, state: _State, th: Thresholds, *, rebuild: bool
) -> tuple[Plan, dict[str, pa.Table], archive.Replace]:
    """The plan over the live events, with the archived rows it needs read in (:mod:`.archive`): of every
    vessel when new positions reach back before the boundary plus the coverage window, else of the vessels
    whose cut falls before the boundary (their cuts then planned again, over all their events)."""
    old = _live_events(store, rebuild)
    a = state.archive_us
    if a is None:
        return horizon.plan(con, old, state.vessels, th), old, archive.Replace(everything=rebuild)
    touched = con.sql(
        "SELECT DISTINCT mmsi FROM (SELECT mmsi FROM _new_positions UNION ALL SELECT mmsi FROM _new_statics)"
    ).to_arrow_table()
    stops = archive.last_stops(con, store, touched.column("mmsi").combine_chunks())
    plan = horizon.plan(con, old, state.vessels, th, stops)
    if plan.t_min is not None and window.coverage_reach(plan.t_min, th) < a:
        old = _with(old, archive.load(con, store, None))
        return horizon.plan(con, old, state.vessels, th), old, archive.Replace(everything=True)
    cut = np.asarray(plan.vessels.column("cut_us").to_numpy(), np.int64)
    deep = np.asarray(plan.vessels.column("mmsi").to_numpy(), np.int64)[
        (cut != horizon.WHOLE_CUT) & (cut < a)
    ]
    if len(deep) == 0:
        return plan, old, archive.Replace()
    old = _with(old, archive.load(con, store, deep))
    plan = horizon.plan(con, old, state.vessels, th, stops)
    again = dict(
        zip(plan.vessels.column("mmsi").to_pylist(), plan.vessels.column("cut_us").to_pylist(), strict=True)
    )
    return plan, old, archive.Replace({int(m): int(again[m]) for m in deep.tolist()})


def _with(old: dict[str, pa.Table], archived: dict[str, pa.Table]) -> dict[str, pa.Table]:
    return {name: pa.concat_tables([t, archived[name]]) if name in archived else t for name, t in old.items()}


def _whole_since(plan: Plan, whole: set[int]) -> dict[int, int]:
    """Per vessel analysed before and re-analysed whole now: the earliest time its old and new events can
    end (its first row, old or new): every archived row of it ends at or after it and is replaced."""
    v = plan.vessels
    first = v.column("first_us").to_pylist()
    return {
        m: min(f, n)
        for m, f, n in zip(v.column("mmsi").to_pylist(), first, v.column("new_min").to_pylist(), strict=True)
        if m in whole and f is not None
    }


def _live_events(store: Store, rebuild: bool) -> dict[str, pa.Table]:
    """The live part of every event table (empty when rebuilding)."""
    out = {}
    for name, s in schema.EVENT_TABLES.items():
        t = None if rebuild else store.read_part(name, PART)
        out[name] = schema.empty(s) if t is None else t.cast(s)
    return out


def _load_state(store: Store, params: str) -> _State | None:
    """The last run's state, or None when there is none to build on: never run, other places or
    thresholds, a state from before the archive, or the event tables written since by another engine."""
    meta = store.read_part(STATE, WHOLE)
    vessels = store.read_part(VESSELS, WHOLE)
    if meta is None or vessels is None or meta.num_rows != 1 or "archive_us" not in meta.column_names:
        return None
    row = meta.to_pylist()[0]
    if row["params"] != params or row["fingerprint"] != _fingerprint(store):
        return None
    return _State(params, set(row["inputs"]), row["end_us"], row["archive_us"], vessels.cast(VESSEL_STATE))


def _fingerprint(store: Store) -> str:
    """The event tables' parts with their sizes and modification times, as written by the last commit."""
    parts = []
    for name in (*schema.EVENT_TABLES, STATE_TABLE):
        for part in store.parts(name):
            st = os.stat(store.table_dir(name) / f"{part}.parquet")
            parts.append([name, part, st.st_size, st.st_mtime_ns])
    return json.dumps(parts)


def _commit(
    store: Store,
    events: dict[str, pa.Table],
    places_used: pa.Table,
    after: _State,
    vessels: pa.Table,
    replace: archive.Replace,
    a_old: int | None,
) -> None:
    """One transaction: every event table (its live part :data:`PART` and the archive parts that change),
    the places, the vessel state; the local engine's shard state dropped. The fingerprint is taken after
    the commit and written in a second one (a crash between the two leaves a stale fingerprint: the next
    run rebuilds, which is safe)."""
    from supplyline.detect.kernels import sort_events

    with store.transaction() as txn:
        for name, table in events.items():
            if name in archive.END:
                parts, keep = archive.parts_after(store, name, table, replace, (a_old, after.archive_us))
            else:
                parts, keep = {PART: table}, []
            txn.replace_parts(name, {p: sort_events(name, t) for p, t in parts.items()}, keep=keep)
        txn.put_part(PLACES_TABLE, WHOLE, places_used)
        txn.drop_table(STATE_TABLE)
        txn.put_part(VESSELS, WHOLE, vessels)
    row = {
        "params": [after.params],
        "fingerprint": [_fingerprint(store)],
        "inputs": [sorted(after.inputs)],
        "end_us": [after.end_us],
        "archive_us": [after.archive_us],
    }
    store.write_table(STATE, pa.table(row, schema=_META))


def _counts(store: Store) -> dict[str, int]:
    return {name: store.count_rows(name) for name in schema.EVENT_TABLES}


__all__ = ["PART", "STATE", "VESSELS", "Plan", "Snapshot", "detect_incremental"]
