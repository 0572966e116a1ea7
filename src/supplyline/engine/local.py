"""The local engine: DuckDB splits the store into vessel shards, a process pool runs the kernels.

Incremental: positions are sharded by ``hash(mmsi) % shards``. A shard's *signature* is the hash of the
(input_id, row count) pairs of its positions and statics plus the hash of the detection parameters
(places, thresholds, routes); only shards whose signature changed since the last run are recomputed, and
their parts (``tables/<event>/shard-NNNN.parquet``) are replaced. The cross-vessel steps (encounters, gap
coverage) are re-run over all vessels whenever any shard changed: their per-vessel first steps come from
the kernel workers for the recomputed shards (:data:`AGGREGATES`) and from the positions for the others.
Everything a run writes (all event tables, the places used and the per-shard signatures in
``tables/detect_state``) is one store transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect import KERNEL_TABLES, Route, Thresholds, run_vessel_kernels
from supplyline.detect._sql import (
    DUCKDB,
    coverage_counts_sql,
    coverage_sql,
    encounter_bucket_us,
    encounter_buckets_sql,
    encounters_sql,
)
from supplyline.detect.kernels import PlaceLookup, place_indexes, sorted_positions, zone_index
from supplyline.detect.shore import shore_distance_km
from supplyline.engine.base import (
    STATE_TABLE,
    DetectResult,
    Phases,
    coverage_input,
    finish_coverage,
    finish_encounters,
    places_in_use,
    stage_cross_tables,
)
from supplyline.engine.lifeline import bind_to_parent
from supplyline.errors import EngineError, UsageError
from supplyline.sqlquote import glob_literal, literal
from supplyline.store import WHOLE, Store, shard_part

DEFAULT_SHARDS = 16
KERNEL_BYTES_PER_POSITION = 1_000
"""Peak memory a kernel worker needs per position of its shard: Arrow columns plus the kernels'
temporaries (~600 B measured with bench/scale.py on 10 M positions, rounded up for safety)."""
DUCKDB_BYTES_PER_POSITION = 400
"""DuckDB memory per position of one time slice of the encounter reduction (medians hold every value of a
group and cannot spill); slices are sized so that fits DuckDB's half of the budget."""
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _params_hash(places: pa.Table, thresholds: Thresholds, routes: Sequence[Route], shards: int) -> str:
    h = hashlib.sha1()
    h.update(json.dumps(thresholds.to_dict(), sort_keys=True).encode())
    h.update(json.dumps([[r.name, list(r.origins), list(r.destinations)] for r in routes]).encode())
    h.update(str(shards).encode())
    cols = [
        c
        for c in ("place_id", "lat", "lon", "r_in_m", "r_out_m", "watched", "geometry_wkb")
        if c in places.column_names
    ]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, places.select(cols).schema) as w:
        w.write_table(places.select(cols))
    h.update(sink.getvalue().to_pybytes())
    return h.hexdigest()


def _shard_expr(shards: int) -> str:
    return f"CAST(hash(mmsi) % {int(shards)} AS BIGINT)"


def _signatures(con: duckdb.DuckDBPyConnection, shards: int, params: str) -> dict[int, str]:
    rows = con.execute(
        f"""
        SELECT shard, string_agg(tbl || ':' || coalesce(input_id, '') || ':' || n, ',' ORDER BY tbl, input_id, n)
        FROM (
          SELECT 'p' AS tbl, {_shard_expr(shards)} AS shard, input_id, count(*) AS n FROM positions GROUP BY ALL
          UNION ALL
          SELECT 's', {_shard_expr(shards)}, input_id, count(*) FROM statics GROUP BY ALL
        ) GROUP BY shard
        """
    ).fetchall()
    return {int(s): hashlib.sha1((params + "|" + str(sig)).encode()).hexdigest() for s, sig in rows}


# Only what the kernels read travels through the shard files (strings like source/input_id are costly).
KERNEL_COLUMNS = {
    "positions": ("mmsi", "ts", "lat", "lon", "sog_kn"),
    "statics": ("mmsi", "ts", "draught_m", "ship_type"),
}


def _split(con: duckdb.DuckDBPyConnection, table: str, shards: int, todo: list[int], out: Path) -> None:
    """One pass over ``table`` writing the kernel columns of the ``todo`` shards to ``out/table/shard=K/``."""
    if not todo:
        return
    out.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(KERNEL_COLUMNS[table])
    con.execute(
        f"""
        COPY (SELECT {cols}, {_shard_expr(shards)} AS shard FROM {table}
              WHERE {_shard_expr(shards)} IN ({", ".join(str(int(s)) for s in todo)}))
        TO {literal(out / table)} (FORMAT parquet, PARTITION_BY (shard), OVERWRITE_OR_IGNORE true,
                            {_SCRATCH_PARQUET})
        """
    )


def _duckdb_at_least(major: int, minor: int) -> bool:
    parts = re.findall(r"\d+", duckdb.__version__)[:2]
    return tuple(int(x) for x in parts) >= (major, minor)


_SCRATCH_PARQUET = "COMPRESSION 'uncompressed'" + (
    ", DICTIONARY_SIZE_LIMIT 1" if _duckdb_at_least(1, 2) else ""
)
"""Parquet options of files a run writes and reads back once: neither compressed nor dictionary-encoded
(the dictionary attempt and its Bloom filter were ~40 % of the split's CPU; the files are ~30 bytes per
position, removed at the end of the run). DuckDB 1.1 has no ``DICTIONARY_SIZE_LIMIT``."""


# --- worker side ------------------------------------------------------------------------------------------
_W: dict[str, object] = {}

AGGREGATES = ("encounter_buckets", "coverage_counts")
"""What a kernel worker also writes per shard into the split folder (``AGG/K.parquet``): the first,
per-vessel steps of the two cross-vessel queries (:func:`encounter_buckets_sql`,
:func:`coverage_counts_sql`), so the driver's SQL starts from them instead of scanning every position
twice more (Spark's partitions do the same)."""


def _init_worker(places: pa.Table, thresholds: Thresholds, routes: Sequence[Route]) -> None:
    _W.update(places=places, thresholds=thresholds, routes=list(routes))


def _init_pool_worker(run_pid: int, *kernel_args: Any) -> None:
    """Pool worker start: exit when the run's process dies (:mod:`lifeline`), load the kernel inputs and
    build what every shard needs (place indexes, coastline), while the driver is still splitting."""
    bind_to_parent(run_pid)
    _init_worker(*kernel_args)
    places = _W["places"]
    assert isinstance(places, pa.Table)
    place_indexes(places)
    zone_index(places)
    shore_distance_km(np.zeros(1), np.zeros(1))


def _worker_ready() -> None:
    """A no-op task: submitting one per worker starts the processes (and :func:`_init_pool_worker`)."""


def _worker_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": 1})
    con.execute("SET TimeZone = 'UTC'")
    return con


def _read_shard(
    con: duckdb.DuckDBPyConnection, folder: Path, cols: Sequence[str], order: str = ""
) -> pa.Table | None:
    """The split's rows of one shard, ordered by ``order`` (SQL; file order when empty), or None."""
    if not any(folder.glob("*.parquet")):
        return None
    source = glob_literal(folder, "*.parquet")
    sort = f"ORDER BY {order}" if order else ""
    return con.sql(f"SELECT {', '.join(cols)} FROM read_parquet({source}) {sort}").to_arrow_table()


def _write_aggregates(con: duckdb.DuckDBPyConnection, positions: pa.Table, work: Path, shard: int) -> None:
    """The shard's :data:`AGGREGATES` (whole vessels, so whole groups) as ``work/AGG/shard.parquet``."""
    th = _W["thresholds"]
    assert isinstance(th, Thresholds)
    queries = zip(
        AGGREGATES,
        (encounter_buckets_sql(th, "_shard", DUCKDB), coverage_counts_sql(th, "_shard", DUCKDB)),
        strict=True,
    )
    con.register("_shard", positions)
    try:
        for name, sql in queries:
            (work / name).mkdir(exist_ok=True)
            target = literal(work / name / f"{shard}.parquet")
            con.execute(f"COPY ({sql}) TO {target} (FORMAT parquet, {_SCRATCH_PARQUET})")
    finally:
        con.unregister("_shard")


def _run_shard(work: str, shard: int) -> tuple[int, dict[str, pa.Table], float]:
    """The kernel tables of one shard of the split in ``work`` (and its :data:`AGGREGATES`, written
    there), and the CPU seconds this process spent."""
    cpu = time.process_time()
    folder = Path(work)
    con = _worker_connection()
    try:
        positions = _read_shard(con, folder / "positions" / f"shard={shard}", KERNEL_COLUMNS["positions"])
        statics = _read_shard(
            con, folder / "statics" / f"shard={shard}", KERNEL_COLUMNS["statics"], "mmsi, ts"
        )
        if positions is None:
            empty = {name: schema.empty(schema.EVENT_TABLES[name]) for name in KERNEL_TABLES}
            return shard, empty, time.process_time() - cpu
        places = _W["places"]
        th = _W["thresholds"]
        routes = _W["routes"]
        assert isinstance(places, pa.Table) and isinstance(th, Thresholds) and isinstance(routes, list)
        positions = sorted_positions(positions)  # Arrow's sort: cheaper here than DuckDB's ORDER BY
        tables = run_vessel_kernels(positions, places, th, routes, statics=statics)
        _write_aggregates(con, positions, folder, shard)
    finally:
        con.close()
    return shard, tables, time.process_time() - cpu


# --- driver -----------------------------------------------------------------------------------------------
def detect(
    store: Store,
    places: pa.Table,
    thresholds: Thresholds,
    routes: Sequence[Route] = (),
    workers: int = 2,
    memory_limit: str | None = None,
    *,
    shards: int | None = None,
    full: bool = False,
) -> DetectResult:
    """Detect every event over the store's positions and write the event tables (see module docstring).

    ``workers`` processes run the kernels (1 = in this process); ``memory_limit`` (e.g. "8GB"; default
    half the machine's RAM) is the run's budget: DuckDB gets half while it splits the store, ``shards``
    (default: from the row count, see :func:`auto_shards`) are small enough that ``workers`` of them fit
    in the other half, and the cross-vessel SQL, once the workers have exited, gets 85 % (the encounter
    buckets of shards not recomputed are reduced in time slices); ``full`` recomputes every shard even if
    its inputs did not change.
    """
    if workers < 1 or (shards is not None and shards < 1):
        raise UsageError("--workers and shards must be at least 1")
    budget = parse_bytes(memory_limit) if memory_limit else _physical_memory() // 2
    with store.lock():
        con = store.connect(memory_limit=f"{budget // 2 // 2**20}MB", threads=max(1, workers))
        try:
            # DuckDB spills its sorts and joins here (not into the working directory) when over budget
            con.execute(f"SET temp_directory = {literal(store.scratch_dir('duckdb-tmp'))}")
            con.execute("SET preserve_insertion_order = false")  # lets big scans spill; queries ORDER BY
            if shards is None:
                shards = auto_shards(con, workers, budget)
            slice_rows = max(1, budget // 2 // DUCKDB_BYTES_PER_POSITION)
            # the cross-vessel SQL runs after the workers have exited: DuckDB may then use most of the budget
            cross = f"{budget * 85 // 100 // 2**20}MB"
            return _detect(store, con, places, thresholds, routes, workers, shards, full, slice_rows, cross)
        except duckdb.Error as exc:
            raise EngineError(
                f"DuckDB failed while detecting: {exc}; try --memory-limit or fewer --workers"
            ) from exc
        finally:
            con.close()


def parse_bytes(text: str) -> int:
    """Bytes of a size such as "8GB", "512MiB" or "2.5 GB" (DuckDB's spelling); UsageError otherwise."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS or float(m.group(1)) <= 0:
        raise UsageError(f"--memory-limit {text!r} is not a size; write e.g. 8GB or 512MB")
    return int(float(m.group(1)) * _UNITS[unit])


def _physical_memory() -> int:
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def auto_shards(con: duckdb.DuckDBPyConnection, workers: int, budget: int) -> int:
    """The smallest power of two >= DEFAULT_SHARDS whose shards, ``workers`` at a time, need at most half of
    ``budget`` bytes, so a run's memory stays bounded however many positions the store holds (200 M
    positions on 2 workers in 8 GB: 128 shards of ~1.6 M). Powers of two keep the count, and so the
    incremental signatures, stable while a store grows."""
    row = con.execute("SELECT count(*) FROM positions").fetchone()
    rows = int(row[0]) if row else 0
    per_shard = max(1, budget // 2 // (workers * KERNEL_BYTES_PER_POSITION))
    shards = DEFAULT_SHARDS
    while shards * per_shard < rows:
        shards *= 2
    return shards


@dataclass
class _Plan:
    """Which shards a run recomputes: every shard's new signature, those that changed, those now empty."""

    signatures: dict[int, str]
    todo: list[int]
    stale: list[int]


@dataclass
class _Crossed:
    """The cross-vessel results: every shard's gaps with coverage, and the encounters."""

    gaps_parts: dict[int, pa.Table]
    encounters: pa.Table


def _detect(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    places: pa.Table,
    th: Thresholds,
    routes: Sequence[Route],
    workers: int,
    shards: int,
    full: bool,
    slice_rows: int | None = None,
    cross_memory_limit: str | None = None,
) -> DetectResult:
    """The run inside :func:`detect`'s lock and connection: plan, kernels, cross-vessel SQL, one commit."""
    index, places_used = places_in_use(places)
    result = DetectResult()
    phase = Phases(result.seconds, result.cpu_seconds)
    plan = _plan(store, con, _params_hash(places_used, th, routes, shards), shards, full)
    result.shards_total, result.shards_run = len(plan.signatures), plan.todo
    phase.done("signatures")
    if not plan.todo and not plan.stale and _complete(store):
        result.counts = _counts(store)
        return result
    with store.scratch("detect") as work:
        fresh = _run_kernels(con, work, (places_used, th, routes), workers, shards, plan.todo, phase)
        if cross_memory_limit:
            con.execute(f"SET memory_limit = {literal(cross_memory_limit)}")
        sources = _Sources(work, _shard_positions(shards, sorted(set(plan.signatures) - set(plan.todo))))
        crossed = _cross_vessel(store, con, fresh, plan, th, index, slice_rows, sources, phase)
    _commit(store, fresh, crossed, plan.signatures, places_used)
    phase.done("write")
    result.counts = _counts(store)
    return result


def _plan(store: Store, con: duckdb.DuckDBPyConnection, params: str, shards: int, full: bool) -> _Plan:
    """Shards to recompute: those whose signature changed or whose parts are gone (all with ``full``)."""
    signatures = _signatures(con, shards, params)
    old = {} if full else _old_signatures(store)
    todo = sorted(s for s, sig in signatures.items() if old.get(s) != sig or _missing_part(store, s))
    stale = sorted(set(old) - set(signatures))  # shards that no longer have any position
    return _Plan(signatures, todo, stale)


_KernelArgs = tuple[pa.Table, Thresholds, Sequence[Route]]


def _run_kernels(
    con: duckdb.DuckDBPyConnection,
    work: Path,
    kernel_args: _KernelArgs,
    workers: int,
    shards: int,
    todo: list[int],
    phase: Phases,
) -> dict[int, dict[str, pa.Table]]:
    """Split the ``todo`` shards into ``work`` (a scratch folder of the store), then run the kernels over
    each (phases "split", "kernels"). The pool's processes start before the split, so their start-up
    (imports, place indexes) overlaps it; they have exited when this returns (the cross-vessel SQL then
    gets their memory)."""
    pool = _start_pool(kernel_args, workers) if workers > 1 and len(todo) > 1 else None
    try:
        _split(con, "positions", shards, todo, work)
        _split(con, "statics", shards, todo, work)
        phase.done("split")
        if pool is None:
            _init_worker(*kernel_args)
            done = [_run_shard(str(work), s) for s in todo]
            worker_cpu = 0.0  # this process: already in the phase's own CPU
        else:
            done = _run_pool(pool, work, todo)
            worker_cpu = sum(cpu for _, _, cpu in done)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    phase.done("kernels", worker_cpu)
    return {shard: tables for shard, tables, _ in done}


def _start_pool(kernel_args: _KernelArgs, workers: int) -> ProcessPoolExecutor:
    """``workers`` processes, started now, from a thread (one no-op task each: the first start waits for the
    forkserver's imports, ~0.5 s) while this one splits, rather than at the first shard."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=_init_pool_worker,
        initargs=(os.getpid(), *kernel_args),
    )

    def start() -> None:
        # a pool shut down meanwhile (the run failed) or unable to start: the kernels' own submit says why
        with contextlib.suppress(Exception):
            for _ in range(workers):
                pool.submit(_worker_ready)

    threading.Thread(target=start, name="supplyline-pool-start", daemon=True).start()
    return pool


def _run_pool(
    pool: ProcessPoolExecutor, work: Path, todo: list[int]
) -> list[tuple[int, dict[str, pa.Table], float]]:
    """The kernels over the ``todo`` shards in the ``pool``'s processes.

    Interrupted (Ctrl-C, SIGTERM) or failed, the workers are terminated rather than waited for: a shard
    can take minutes, and nothing of an unfinished run is kept anyway.
    """
    try:
        return list(pool.map(_run_shard, [str(work)] * len(todo), todo))
    except BrokenProcessPool as exc:
        raise EngineError(
            "a detection worker died (out of memory?); retry with fewer --workers or --workers 1"
        ) from exc
    except BaseException:
        for proc in list((pool._processes or {}).values()):  # no public API to stop running tasks
            proc.terminate()
        raise


@dataclass
class _Sources:
    """Where the cross-vessel SQL finds its per-vessel first steps (:data:`AGGREGATES`): the files the
    kernel workers wrote into ``work`` for the recomputed shards, and for the others (an incremental run)
    ``others``, a subquery of their positions, or None."""

    work: Path
    others: str | None

    def files(self, name: str) -> str | None:
        """SQL list of the workers' ``name`` files, or None when they wrote none."""
        files = sorted((self.work / name).glob("*.parquet"))
        return f"[{', '.join(literal(f) for f in files)}]" if files else None


def _shard_positions(shards: int, which: list[int]) -> str | None:
    """SQL subquery: the positions of the ``which`` shards (None when there are none)."""
    if not which:
        return None
    return (
        f"(SELECT * FROM positions WHERE {_shard_expr(shards)} IN ({', '.join(str(int(s)) for s in which)}))"
    )


def _cross_vessel(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    fresh: dict[int, dict[str, pa.Table]],
    plan: _Plan,
    th: Thresholds,
    index: PlaceLookup,
    slice_rows: int | None,
    sources: _Sources,
    phase: Phases,
) -> _Crossed:
    """Gap coverage of every shard (other vessels' new positions change it, so unchanged shards' gaps are
    re-read and redone) and the encounters, over all vessels (phases "coverage", "encounters")."""
    gaps_parts = {s: tables["gaps"] for s, tables in fresh.items()}
    for s in sorted(set(plan.signatures) - set(plan.todo)):
        gaps_parts[s] = _read_gaps(store, s)
    gaps_parts = _annotate_all(con, gaps_parts, th, _gathered_counts(th, sources))
    phase.done("coverage")
    encounters = _gathered_encounters(con, th, index, sources, slice_rows)
    phase.done("encounters")
    return _Crossed(gaps_parts, encounters)


def _commit(
    store: Store,
    fresh: dict[int, dict[str, pa.Table]],
    crossed: _Crossed,
    signatures: dict[int, str],
    places_used: pa.Table,
) -> None:
    """One transaction: the recomputed shards' parts, every shard's gaps, the whole tables and the new
    signatures; parts of shards that no longer exist (or another engine's parts) are dropped."""
    keep = [shard_part(s) for s in signatures]
    with store.transaction() as txn:
        for name in KERNEL_TABLES:
            by_shard = crossed.gaps_parts if name == "gaps" else {s: t[name] for s, t in fresh.items()}
            txn.replace_parts(name, {shard_part(s): t for s, t in by_shard.items()}, keep=keep)
        stage_cross_tables(txn, crossed.encounters, places_used)
        txn.put_part(STATE_TABLE, WHOLE, _state_table(signatures))


def _state_table(signatures: dict[int, str]) -> pa.Table:
    shards = sorted(signatures)
    return pa.table(
        {"shard": pa.array(shards, pa.int64()), "signature": [signatures[s] for s in shards]},
        schema=schema.DETECT_STATE,
    )


# --- the cross-vessel SQL, run by DuckDB ------------------------------------------------------------------
def annotate_coverage(
    con: duckdb.DuckDBPyConnection,
    gaps: pa.Table,
    th: Thresholds,
    positions: str = "positions",
    *,
    counts: str | None = None,
) -> pa.Table:
    """Fill ``others_received`` and ``likely`` of ``gaps`` from the positions view ``positions`` of ``con``,
    or from ``counts`` (a table or subquery of :func:`coverage_counts_sql` rows) when given (rule in
    :mod:`supplyline.detect.gaps`, SQL in :func:`supplyline.detect._sql.coverage_sql`)."""
    if gaps.num_rows == 0:
        return gaps
    con.register("_gaps_in", coverage_input(gaps))
    try:
        found = con.sql(coverage_sql(th, "_gaps_in", positions, DUCKDB, counts=counts)).to_arrow_table()
    finally:
        con.unregister("_gaps_in")
    assert found is not None
    return finish_coverage(gaps, found, th)


def _annotate_all(
    con: duckdb.DuckDBPyConnection, parts: dict[int, pa.Table], th: Thresholds, counts: str
) -> dict[int, pa.Table]:
    """Gap coverage for every shard's gaps in one query over ``counts``, split back by shard."""
    if not parts:
        return parts
    tagged = [g.append_column("_shard", pa.array([s] * g.num_rows, pa.int64())) for s, g in parts.items()]
    done = annotate_coverage(con, pa.concat_tables(tagged), th, counts=counts)
    shard = done.column("_shard").to_numpy()
    done = done.drop_columns(["_shard"])
    return {s: done.filter(pa.array(shard == s)) for s in parts}


def _gathered_counts(th: Thresholds, sources: _Sources) -> str:
    """SQL subquery: the coverage counts of every vessel, from the workers' files and the other shards."""
    files = sources.files("coverage_counts")
    parts = [f"SELECT cy, cx, hb, mmsi, n FROM read_parquet({files})"] if files else []
    if sources.others:
        parts.append(coverage_counts_sql(th, sources.others, DUCKDB))
    if not parts:  # no positions at all
        parts = [f"SELECT * FROM ({coverage_counts_sql(th, 'positions', DUCKDB)}) WHERE false"]
    return f"({' UNION ALL '.join(parts)})"


_BUCKETS = "_enc_buckets"
_BUCKET_COLUMNS = "mmsi BIGINT, bk BIGINT, lat DOUBLE, lon DOUBLE, sog DOUBLE"


def _gathered_encounters(
    con: duckdb.DuckDBPyConnection,
    th: Thresholds,
    index: PlaceLookup,
    sources: _Sources,
    slice_rows: int | None,
) -> pa.Table:
    """Encounters from the encounter buckets of every vessel: the workers' files, and the other shards'
    positions reduced here (in time slices of about ``slice_rows`` positions, when given)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_BUCKETS} ({_BUCKET_COLUMNS})")
    try:
        files = sources.files("encounter_buckets")
        if files:
            con.execute(f"INSERT INTO {_BUCKETS} SELECT mmsi, bk, lat, lon, sog FROM read_parquet({files})")
        if sources.others:
            _reduce_in_slices(con, th, sources.others, slice_rows, _BUCKETS)
        return _encounters(con, th, index, encounters_sql(th, dialect=DUCKDB, buckets=_BUCKETS))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_BUCKETS}")


def detect_encounters(
    con: duckdb.DuckDBPyConnection,
    th: Thresholds,
    index: PlaceLookup,
    positions: str = "positions",
    slice_rows: int | None = None,
) -> pa.Table:
    """Encounters over every vessel in ``positions`` (a view of ``con``), away from the places of ``index``
    (rules in :mod:`supplyline.detect.encounters`).

    With ``slice_rows``, the per-bucket reduction runs over time slices of about that many positions into a
    temporary table first (same result; DuckDB's medians cannot spill, so this bounds their memory).
    """
    if slice_rows is None:
        return _encounters(con, th, index, encounters_sql(th, positions, DUCKDB))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_BUCKETS} ({_BUCKET_COLUMNS})")
    try:
        _reduce_in_slices(con, th, positions, slice_rows, _BUCKETS)
        return _encounters(con, th, index, encounters_sql(th, dialect=DUCKDB, buckets=_BUCKETS))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_BUCKETS}")


def _encounters(con: duckdb.DuckDBPyConnection, th: Thresholds, index: PlaceLookup, sql: str) -> pa.Table:
    raw = con.sql(sql).to_arrow_table()
    assert raw is not None
    return finish_encounters(raw, th, index)


def _reduce_in_slices(
    con: duckdb.DuckDBPyConnection, th: Thresholds, positions: str, slice_rows: int | None, out: str
) -> None:
    """Append encounter_buckets_sql over ``positions`` to the table ``out``, computed over whole-bucket time
    slices of about ``slice_rows`` positions (one slice when None)."""
    lo, hi, n = con.execute(
        f"SELECT epoch_us(min(ts)), epoch_us(max(ts)), count(*) FROM {positions}"
    ).fetchone()  # type: ignore[misc]
    if not n:
        return
    bucket = encounter_bucket_us(th)
    slices = max(1, -(-int(n) // max(1, slice_rows))) if slice_rows else 1
    first, last = int(lo) // bucket, int(hi) // bucket + 1
    edges = np.unique(np.linspace(first, last, slices + 1).round().astype(np.int64))
    # the store's day partitions let DuckDB skip other days' files unopened (the ts bounds alone need
    # every file's footer: ~0.3 s a slice on a 4,000-day store)
    by_day = "day" in con.sql(f"SELECT * FROM {positions} LIMIT 0").columns
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        # bucket-aligned bounds on ts itself, so Parquet row groups outside the slice are skipped
        days = f"AND day BETWEEN {_day(a * bucket)} AND {_day(b * bucket - 1)}" if by_day else ""
        part = (
            f"(SELECT * FROM {positions} WHERE ts >= make_timestamp({a * bucket}) "
            f"AND ts < make_timestamp({b * bucket}) {days})"
        )
        con.execute(f"INSERT INTO {out} {encounter_buckets_sql(th, part, DUCKDB)}")


def _day(us: int) -> str:
    """SQL DATE literal of the UTC day holding ``us`` (microseconds since 1970)."""
    return f"DATE '{np.datetime64(us // 86_400_000_000, 'D')}'"


# --- the store's view of a run ----------------------------------------------------------------------------
def _missing_part(store: Store, shard: int) -> bool:
    """True when a shard's event parts are gone (e.g. another engine rewrote the tables): redo it."""
    return any(not store.has_part(name, shard_part(shard)) for name in KERNEL_TABLES)


def _mp_context() -> BaseContext:
    import multiprocessing as mp

    # forkserver avoids forking a process that holds DuckDB threads; fork is the fallback on odd platforms.
    try:
        ctx = mp.get_context("forkserver")
    except ValueError:
        return mp.get_context()
    ctx.set_forkserver_preload(["supplyline.engine.local"])  # workers start with the imports done
    return ctx


def _old_signatures(store: Store) -> dict[int, str]:
    t = store.read_part(STATE_TABLE, WHOLE)
    if t is None:
        return {}
    return dict(zip(t.column("shard").to_pylist(), t.column("signature").to_pylist(), strict=True))


def _complete(store: Store) -> bool:
    return all(store.has_table(name) for name in schema.EVENT_TABLES)


def _read_gaps(store: Store, shard: int) -> pa.Table:
    t = store.read_part("gaps", shard_part(shard))
    return schema.empty(schema.GAPS) if t is None else t.cast(schema.GAPS)


def _counts(store: Store) -> dict[str, int]:
    return {name: store.count_rows(name) for name in schema.EVENT_TABLES}


__all__ = [
    "DEFAULT_SHARDS",
    "DetectResult",
    "annotate_coverage",
    "auto_shards",
    "detect",
    "detect_encounters",
    "parse_bytes",
]
