"""The local engine: DuckDB splits the store into vessel shards, a process pool runs the kernels.

Incremental: positions are sharded by ``hash(mmsi) % shards``. A shard's *signature* is the hash of the
(input_id, row count) pairs of its positions and statics plus the hash of the detection parameters
(places, thresholds, routes); only shards whose signature changed since the last run are recomputed, and
their parts (``tables/<event>/shard-NNNN.parquet``) are replaced. The cross-vessel steps (encounters, gap
coverage) are re-run over all positions whenever any shard changed. Everything a run writes (all event
tables, the places used and the per-shard signatures in ``tables/detect_state``) is one store transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.detect import KERNEL_TABLES, Route, Thresholds, place_indexes, run_vessel_kernels
from supplyline.detect.encounters import detect_encounters
from supplyline.detect.gaps import annotate_coverage
from supplyline.detect.stations import vessel_pairs_only
from supplyline.errors import EngineError, UsageError
from supplyline.store import Store

STATE_TABLE = "detect_state"
STATE_SCHEMA = pa.schema([pa.field("shard", pa.int64()), pa.field("signature", pa.string())])
DEFAULT_SHARDS = 16
KERNEL_BYTES_PER_POSITION = 1_000
"""Peak memory a kernel worker needs per position of its shard: Arrow columns plus the kernels'
temporaries (~600 B measured with bench/scale.py on 10 M positions, rounded up for safety)."""
DUCKDB_BYTES_PER_POSITION = 400
"""DuckDB memory per position of one time slice of the encounter reduction (medians hold every value of a
group and cannot spill); slices are sized so that fits DuckDB's half of the budget."""
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass
class DetectResult:
    """What a run did: row counts per event table, how many shards were recomputed, seconds per phase."""

    counts: dict[str, int] = field(default_factory=dict)
    shards_total: int = 0
    shards_run: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock per phase, in run order

    def to_dict(self) -> dict[str, object]:
        return {
            "counts": self.counts,
            "shards_total": self.shards_total,
            "shards_run": self.shards_run,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


class _Phases:
    """Wall-clock seconds of a run's phases, so a slow step shows in ``--json`` and in bench/scale.py."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.t = into, time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.into[phase] = self.into.get(phase, 0.0) + now - self.t
        self.t = now


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
        TO '{out / table}' (FORMAT parquet, PARTITION_BY (shard), OVERWRITE_OR_IGNORE true,
                            COMPRESSION 'lz4_raw')
        """
    )


# --- worker side ------------------------------------------------------------------------------------------
_W: dict[str, object] = {}


def _init_worker(places: pa.Table, thresholds: Thresholds, routes: Sequence[Route]) -> None:
    _W.update(places=places, thresholds=thresholds, routes=list(routes))


def _read_shard(folder: Path, cols: Sequence[str], order: str) -> pa.Table | None:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return None
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        con.execute("SET TimeZone = 'UTC'")
        glob = str(folder / "*.parquet")
        t = con.sql(f"SELECT {', '.join(cols)} FROM read_parquet('{glob}') ORDER BY {order}").to_arrow_table()
    finally:
        con.close()
    return t


def _run_shard(work: str, shard: int) -> tuple[int, dict[str, pa.Table]]:
    folder = Path(work)
    positions = _read_shard(
        folder / "positions" / f"shard={shard}", KERNEL_COLUMNS["positions"], "mmsi, ts, lat, lon"
    )
    statics = _read_shard(folder / "statics" / f"shard={shard}", KERNEL_COLUMNS["statics"], "mmsi, ts")
    if positions is None:
        return shard, {name: schema.empty(schema.EVENT_TABLES[name]) for name in KERNEL_TABLES}
    places = _W["places"]
    th = _W["thresholds"]
    routes = _W["routes"]
    assert isinstance(places, pa.Table) and isinstance(th, Thresholds) and isinstance(routes, list)
    return shard, run_vessel_kernels(positions, places, th, routes, statics=statics)


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
    in the other half, and the cross-vessel SQL, once the workers have exited, gets 85 % (encounters
    reduced in time slices); ``full`` recomputes every shard even if its inputs did not change.
    """
    if workers < 1 or (shards is not None and shards < 1):
        raise UsageError("--workers and shards must be at least 1")
    budget = parse_bytes(memory_limit) if memory_limit else _physical_memory() // 2
    with store.lock():
        con = store.connect(memory_limit=f"{budget // 2 // 2**20}MB", threads=max(1, workers))
        try:
            # DuckDB spills its sorts and joins here (not into the working directory) when over budget
            con.execute(f"SET temp_directory = '{store.root / '_staging' / 'duckdb-tmp'}'")
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
    index, _ = place_indexes(places)
    places_used = index.places
    params = _params_hash(places_used, th, routes, shards)
    result = DetectResult()
    phase = _Phases(result.seconds)
    sigs = _signatures(con, shards, params)
    old = {} if full else _old_signatures(store)
    todo = sorted(s for s, sig in sigs.items() if old.get(s) != sig or _missing_part(store, s))
    stale = sorted(set(old) - set(sigs))  # shards that no longer have any position
    result.shards_total, result.shards_run = len(sigs), todo
    phase.done("signatures")
    if not todo and not stale and _complete(store):
        result.counts = {name: _count(store, name) for name in schema.EVENT_TABLES}
        return result

    work = store.root / "_staging" / f"detect-{uuid.uuid4().hex}"
    try:
        _split(con, "positions", shards, todo, work)
        _split(con, "statics", shards, todo, work)
        phase.done("split")
        fresh: dict[int, dict[str, pa.Table]] = {}
        if workers == 1 or len(todo) <= 1:
            _init_worker(places_used, th, routes)
            for s in todo:
                fresh[s] = _run_shard(str(work), s)[1]
        else:
            ctx = _mp_context()
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(places_used, th, routes),
            ) as pool:
                try:
                    for s, tables in pool.map(_run_shard, [str(work)] * len(todo), todo):
                        fresh[s] = tables
                except BrokenProcessPool as exc:
                    raise EngineError(
                        "a detection worker died (out of memory?); retry with fewer --workers or --workers 1"
                    ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    phase.done("kernels")

    # Gaps of every shard get their coverage recomputed (other vessels' new positions change it).
    gaps_parts = {s: t["gaps"] for s, t in fresh.items()}
    for s in sorted(set(sigs) - set(todo)):
        gaps_parts[s] = _read_part(store, "gaps", s)
    if cross_memory_limit:
        con.execute(f"SET memory_limit = '{cross_memory_limit}'")
    gaps_parts = _annotate_all(con, gaps_parts, th)
    phase.done("coverage")
    encounters = vessel_pairs_only(
        detect_encounters(con, th, index, slice_rows=slice_rows), th.include_non_vessels
    )
    phase.done("encounters")

    with store.transaction() as txn:
        for name in KERNEL_TABLES:
            if name == "gaps":
                continue
            for s, tables in fresh.items():
                txn.put(f"tables/{name}/{_part(s)}.parquet", tables[name])
        for s, g in gaps_parts.items():
            txn.put(f"tables/gaps/{_part(s)}.parquet", g)
        keep = {_part(s) for s in sigs}  # also drops parts another engine wrote (Spark's "all")
        for name in KERNEL_TABLES:
            for old_part in store.table_dir(name).glob("*.parquet"):
                if old_part.stem not in keep:
                    txn.delete(f"tables/{name}/{old_part.name}")
        txn.put("tables/encounters/all.parquet", encounters)
        txn.put("tables/places/all.parquet", places_used)
        state = pa.table(
            {"shard": pa.array(sorted(sigs), pa.int64()), "signature": [sigs[s] for s in sorted(sigs)]},
            schema=STATE_SCHEMA,
        )
        txn.put(f"tables/{STATE_TABLE}/all.parquet", state)
    phase.done("write")
    result.counts = {name: _count(store, name) for name in schema.EVENT_TABLES}
    return result


def _annotate_all(
    con: duckdb.DuckDBPyConnection, parts: dict[int, pa.Table], th: Thresholds
) -> dict[int, pa.Table]:
    """Gap coverage for every shard's gaps in one query (one scan of the positions), split back by shard."""
    if not parts:
        return parts
    tagged = [g.append_column("_shard", pa.array([s] * g.num_rows, pa.int64())) for s, g in parts.items()]
    done = annotate_coverage(con, pa.concat_tables(tagged), th)
    shard = done.column("_shard").to_numpy()
    done = done.drop_columns(["_shard"])
    return {s: done.filter(pa.array(shard == s)) for s in parts}


def _missing_part(store: Store, shard: int) -> bool:
    """True when a shard's event parts are gone (e.g. another engine rewrote the tables): redo it."""
    return any(not (store.table_dir(name) / f"{_part(shard)}.parquet").exists() for name in KERNEL_TABLES)


def _part(shard: int) -> str:
    return f"shard-{shard:04d}"


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
    path = store.table_dir(STATE_TABLE) / "all.parquet"
    if not path.exists():
        return {}
    t = pq.read_table(path)
    return dict(zip(t.column("shard").to_pylist(), t.column("signature").to_pylist(), strict=True))


def _complete(store: Store) -> bool:
    return all(store.table_dir(name).is_dir() for name in schema.EVENT_TABLES)


def _read_part(store: Store, name: str, shard: int) -> pa.Table:
    path = store.table_dir(name) / f"{_part(shard)}.parquet"
    if not path.exists():
        return schema.empty(schema.EVENT_TABLES[name])
    return pq.read_table(path).cast(schema.EVENT_TABLES[name])


def _count(store: Store, name: str) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in store.table_dir(name).glob("*.parquet"))


__all__ = ["DEFAULT_SHARDS", "DetectResult", "auto_shards", "detect", "parse_bytes"]
