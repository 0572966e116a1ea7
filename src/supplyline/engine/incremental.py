"""Time-incremental detect: re-analyse each vessel with new positions only from a safe horizon.

The local engine's own incremental mode works per vessel shard: a shard with any new position is
re-analysed whole, so a live feed touching every vessel re-analyses the whole store on every run. This
layer, used by `supplyline watch`, works per vessel and per time instead, with results equal to a batch
detect (tests/test_detect_incremental.py; the one difference is in docs/detect.md):

1. **Snapshot.** The inputs (manifest rows) present at the start are the run's positions; inputs not in
   the state of the last run are new. Views over exactly those files, so inputs stored meanwhile wait.
2. **Plan** (:mod:`supplyline.engine.horizon`). Per vessel with new rows: *whole* (new vessel, rows not
   after its last analysed one, or its speed class changes) or a *cut* C: before every stored event the
   new rows can change, with a margin.
3. **Kernels** over each vessel's rows from C with and without the new rows, joined to the stored events
   by the splice rule (:mod:`supplyline.engine.splice`); a vessel failing its checks is redone whole.
4. **Cross-vessel** steps over the time window new rows can change (:mod:`supplyline.engine.window`).
5. **Commit**: the event tables (one part each), the places and the state, in one transaction; the local
   engine's shard state is dropped (a later `detect` recomputes every shard).

The state (``tables/detect_incr``, ``tables/detect_incr_vessels``) holds the inputs analysed, a hash of the
places and thresholds, a fingerprint of the event tables as written (another engine's run means a rebuild)
and per vessel its last time, fast-pair count and speed class.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from supplyline import schema
from supplyline.detect import Route, Thresholds
from supplyline.engine import horizon, reanalyse, window
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
PART = "incr"
"""Part name of the event tables this layer writes (one part per table, rewritten each run)."""
_META = schema.DETECT_INCR


def detect_incremental(
    store: Store,
    places: pa.Table,
    thresholds: Thresholds,
    routes: Sequence[Route] = (),
    memory_limit: str | None = None,
    *,
    chunk_rows: int | None = None,
) -> DetectResult:
    """Detect over the store's new inputs since the last run of this function (module docstring); the
    first run (or one after another engine wrote the events) analyses everything. ``memory_limit``
    (default 1GB) is the run's budget: DuckDB gets half, and vessels are analysed in groups of about
    ``chunk_rows`` new positions (default: what fits the other half, with the context read around them and
    the two kernel runs), so a run's memory stays bounded however far the analysis has fallen behind."""
    budget = parse_bytes(memory_limit) if memory_limit else 2**30
    if chunk_rows is None:
        chunk_rows = max(10_000, budget // 2 // (ROWS_READ_PER_NEW * KERNEL_BYTES_PER_POSITION))
    with store.lock():
        con = store.connect(memory_limit=f"{budget // 2 // 2**20}MB", threads=1)
        try:
            con.execute(f"SET temp_directory = {literal(store.scratch_dir('duckdb-tmp'))}")
            return _run(store, con, places, thresholds, routes, chunk_rows)
        except duckdb.Error as exc:
            raise EngineError(
                f"DuckDB failed while detecting incrementally: {exc}; try a larger --memory-limit"
            ) from exc
        finally:
            con.close()


def _run(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    places: pa.Table,
    th: Thresholds,
    routes: Sequence[Route],
    chunk_rows: int,
) -> DetectResult:
    index, places_used = places_in_use(places)
    result = DetectResult()
    phase = Phases(result.seconds, result.cpu_seconds)
    snap = Snapshot.take(store)
    params = _params_hash(places_used, th, routes, 0)
    meta, vessels, end = _load_state(store, params)
    new = snap.inputs - meta if meta is not None else snap.inputs
    if meta is not None and not new:
        result.counts, result.data_end_us = _counts(store), end
        return result
    snap.view(con, "_new_positions", "positions", inputs=new)
    snap.view(con, "_new_statics", "statics", inputs=new)
    old = _old_events(store, rebuild=meta is None)
    plan = horizon.plan(con, old, vessels, th)
    phase.done("signatures")
    kernel = horizon.Kernels(places_used, th, routes)
    events, vessels_after, counts = reanalyse.analyse(
        con, snap, plan, old, vessels, kernel, chunk_rows, phase
    )
    if plan.t_min is not None:
        events["gaps"] = window.coverage_since(con, snap, events["gaps"], plan.t_min, th)
        phase.done("coverage")
        prior = window.Prior(vessels, new)
        events["encounters"] = window.encounters_since(
            con, snap, old["encounters"], plan.t_min, th, index, prior
        )
        phase.done("encounters")
    else:
        events["encounters"] = old["encounters"]
    end = max((e for e in (end, plan.t_max) if e is not None), default=None)
    _commit(store, events, places_used, (params, snap.inputs, end), vessels_after)
    phase.done("write")
    result.data_end_us = end
    result.counts = {name: t.num_rows for name, t in events.items()}
    result.incremental = plan.summary() | counts
    return result


def _old_events(store: Store, rebuild: bool) -> dict[str, pa.Table]:
    """The stored event tables (empty when rebuilding)."""
    if rebuild:
        return {name: schema.empty(s) for name, s in schema.EVENT_TABLES.items()}
    return {name: store.read_table(name, s).cast(s) for name, s in schema.EVENT_TABLES.items()}


def _load_state(store: Store, params: str) -> tuple[set[str] | None, pa.Table, int | None]:
    """(inputs analysed, vessel state, latest position analysed) of the last run, or (None, empty, None)
    when there is none to build on: never run, other places or thresholds, or the event tables written
    since by another engine."""
    meta = store.read_part(STATE, WHOLE)
    vessels = store.read_part(VESSELS, WHOLE)
    if meta is None or vessels is None or meta.num_rows != 1 or "end_us" not in meta.column_names:
        return None, horizon.empty_state(), None
    row = meta.to_pylist()[0]
    if row["params"] != params or row["fingerprint"] != _fingerprint(store):
        return None, horizon.empty_state(), None
    return set(row["inputs"]), vessels.cast(VESSEL_STATE), row["end_us"]


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
    meta: tuple[str, set[str], int | None],
    vessels: pa.Table,
) -> None:
    """One transaction: every event table (part :data:`PART`), the places, the vessel state; the local
    engine's shard state dropped. The fingerprint is taken after the commit and written in a second one
    (a crash between the two leaves a stale fingerprint: the next run rebuilds, which is safe)."""
    from supplyline.detect.kernels import sort_events

    with store.transaction() as txn:
        for name, table in events.items():
            txn.replace_parts(name, {PART: sort_events(name, table)})
        txn.put_part(PLACES_TABLE, WHOLE, places_used)
        txn.drop_table(STATE_TABLE)
        txn.put_part(VESSELS, WHOLE, vessels)
    params, inputs, end = meta
    row = {
        "params": [params],
        "fingerprint": [_fingerprint(store)],
        "inputs": [sorted(inputs)],
        "end_us": [end],
    }
    store.write_table(STATE, pa.table(row, schema=_META))


def _counts(store: Store) -> dict[str, int]:
    return {name: store.count_rows(name) for name in schema.EVENT_TABLES}


__all__ = ["PART", "STATE", "VESSELS", "Plan", "Snapshot", "detect_incremental"]
