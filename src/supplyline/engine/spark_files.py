"""Spark detection over a store on a file system every executor sees (local mode, a shared NFS mount).

Here Spark schedules Python tasks and the data moves as Parquet files, never as JVM rows (the JVM path of
:mod:`.spark` shuffles every position through Spark's row format and Arrow; at 10 M positions that hand-off,
not the kernels, was most of the task time). Three stages of tasks:

1. **split** (only for store files not split before): each task writes the kernel columns of some store
   files into a *vessel-partitioned copy* kept in the store's cache folder, ``hash(mmsi) % parts`` as the
   local engine shards, one file per (source file, part). The copy records which source files it holds
   (path, size, modification time), so a later run splits only new or changed store files and drops the
   parts of removed ones: positions are read without a shuffle after the first run.
2. **kernels**, one task per part: the part's positions read in (mmsi, ts, lat, lon) order, every kernel,
   and DuckDB's encounter cell rows (written per time-bucket partition) and coverage counts (per cell,
   hour and vessel) written beside the copy; the event tables return to the driver as Arrow IPC.
3. **close pairs**, one task per time-bucket partition: the encounter join over whole buckets.

The driver then runs the two small remaining steps in DuckDB with the local engine's SQL (encounter runs
over the close pairs; gap coverage over the gathered counts), so both engines give the same tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from supplyline.detect import KERNEL_TABLES, Route, Thresholds, place_indexes, run_vessel_kernels
from supplyline.detect._sql import (
    DUCKDB,
    coverage_counts_sql,
    encounter_cells_sql,
    encounter_close_sql,
    encounter_runs_sql,
)
from supplyline.sqlquote import glob_literal, literal
from supplyline.store import Store

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast
    from pyspark.sql import SparkSession

COPY_VERSION = 1
"""Bumped when the copy's layout changes: an older copy is rebuilt."""
POSITION_COLUMNS = ("mmsi", "ts", "lat", "lon", "sog_kn")
STATIC_COLUMNS = ("mmsi", "ts", "draught_m", "ship_type")
_SOURCES = "sources.json"
_RAW = {"positions": POSITION_COLUMNS, "statics": STATIC_COLUMNS}


@dataclass(frozen=True)
class Source:
    """One store file as the copy knows it: its table, path in the store, and an id that changes with it."""

    table: str
    path: str
    sid: str


@dataclass
class CopyUpdate:
    """What :func:`update_copy` did: the copy's folder, its part count, and the store files it split."""

    root: Path
    parts: int
    split: int
    dropped: int


def copy_folder(store: Store, parts: int) -> Path:
    return store.cache_dir(f"spark-vessels-v{COPY_VERSION}-p{parts}")


def store_sources(store: Store) -> list[Source]:
    """Every positions and statics file of the store, with an id from its path, size and modification time
    (store files are written once by a transaction's rename; a rewritten file gets a new id)."""
    out = []
    for table in _RAW:
        for f in store.files(table):
            st = f.stat()
            rel = f.relative_to(store.root).as_posix()
            sid = hashlib.sha1(f"{rel}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
            out.append(Source(table, rel, sid))
    return out


def update_copy(session: SparkSession, store: Store, parts: int) -> CopyUpdate:
    """Bring the vessel-partitioned copy of ``store`` up to date (split new files, drop removed ones) and
    return it. Copies with another part count are removed (the count is a power of two, so it changes
    only when the store doubles)."""
    root = copy_folder(store, parts)
    for other in root.parent.glob("spark-vessels-*"):
        if other != root:
            shutil.rmtree(other, ignore_errors=True)
    known = _read_sources(root)
    now = {s.sid: s for s in store_sources(store)}
    gone = [sid for sid in known if sid not in now]
    todo = [s for sid, s in now.items() if sid not in known]
    for sid in gone:
        for f in root.glob(f"*/part=*/s{sid}_*.parquet"):
            f.unlink()
    _drop_orphans(root, set(now) - {s.sid for s in todo})
    for table in _RAW:
        (root / table).mkdir(parents=True, exist_ok=True)  # DuckDB's COPY makes one folder level only
    if todo:
        groups = _groups(todo, max(1, session.sparkContext.defaultParallelism * 2))
        store_root, dest = str(store.root), str(root)
        rdd = session.sparkContext.parallelize(groups, len(groups))
        rdd.foreach(lambda group: _split_task(store_root, dest, parts, group))
    _write_sources(root, {sid: s.path for sid, s in now.items()})
    return CopyUpdate(root, parts, len(todo), len(gone))


def _groups(todo: list[Source], n: int) -> list[list[tuple[str, str, str]]]:
    items = [(s.table, s.path, s.sid) for s in todo]
    return [chunk for chunk in (items[i::n] for i in range(n)) if chunk]


def _read_sources(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / _SOURCES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _write_sources(root: Path, sources: dict[str, str]) -> None:
    """The list of split store files, replaced atomically (written last: a crash before leaves files the
    next run treats as orphans and splits again)."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{_SOURCES}.{os.getpid()}"
    tmp.write_text(json.dumps(sources, sort_keys=True), encoding="utf-8")
    os.replace(tmp, root / _SOURCES)


def _drop_orphans(root: Path, keep: set[str]) -> None:
    """Split files of sources the copy does not list (a run that died before :func:`_write_sources`)."""
    for f in root.glob("*/part=*/s*_*.parquet"):
        if f.name[1:].split("_", 1)[0] not in keep:
            f.unlink()


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": 1})
    con.execute("SET TimeZone = 'UTC'")
    return con


def _split_task(store_root: str, dest: str, parts: int, group: list[tuple[str, str, str]]) -> None:
    """Executor side of the split: each store file's kernel columns into ``dest/<table>/part=K/``."""
    con = _connect()
    try:
        for table, path, sid in group:
            cols = ", ".join(_RAW[table])
            con.execute(
                f"""COPY (SELECT {cols}, CAST(hash(mmsi) % {int(parts)} AS BIGINT) AS part
                          FROM read_parquet({literal(Path(store_root) / path)}, hive_partitioning = false))
                    TO {literal(Path(dest) / table)} (FORMAT parquet, PARTITION_BY (part),
                       OVERWRITE_OR_IGNORE true, FILENAME_PATTERN {literal(f"s{sid}_{{i}}")},
                       COMPRESSION 'lz4_raw')"""
            )
    finally:
        con.close()


def part_signatures(copy: CopyUpdate, params: str) -> dict[int, str]:
    """Signature of each non-empty part: the detection parameters and the names of its split files (which
    name the store files they came from, so a part changes exactly when a store file it holds does)."""
    names: dict[int, list[str]] = {}
    for f in copy.root.glob("*/part=*/s*_*.parquet"):
        k = int(f.parent.name.split("=", 1)[1])
        names.setdefault(k, []).append(f"{f.parent.parent.name}/{f.name}")
    return {
        k: hashlib.sha1("|".join([params, *sorted(files)]).encode()).hexdigest() for k, files in names.items()
    }


def run_kernels(
    session: SparkSession,
    copy: CopyUpdate,
    places: Broadcast[pa.Table],
    th: Thresholds,
    routes: Sequence[Route],
    todo: Sequence[int],
) -> list[tuple[int, str, bytes]]:
    """Stage 2 over the parts ``todo``: their event tables back as (part, name, IPC) triples, their cell
    rows and counts written beside the copy in place of the previous run's (other parts' are kept)."""
    for k in todo:
        for old in (
            *copy.root.glob(f"cells/bkpart=*/k{k}_*.parquet"),
            copy.root / "counts" / f"part-{k}.parquet",
        ):
            old.unlink(missing_ok=True)
    (copy.root / "cells").mkdir(exist_ok=True)
    (copy.root / "counts").mkdir(exist_ok=True)
    if not todo:
        return []
    root, parts, routes_ = str(copy.root), copy.parts, list(routes)
    rdd = session.sparkContext.parallelize(list(todo), len(todo))
    return rdd.flatMap(lambda k: _kernel_task(root, k, parts, places.value, th, routes_)).collect()


def _read_part(
    con: duckdb.DuckDBPyConnection, folder: Path, cols: Sequence[str], order: str
) -> pa.Table | None:
    if not any(folder.glob("*.parquet")):
        return None
    source = glob_literal(folder, "*.parquet")
    sql = f"SELECT {', '.join(cols)} FROM read_parquet({source}, hive_partitioning = false) ORDER BY {order}"
    table: pa.Table = con.sql(sql).to_arrow_table()
    return table


def _kernel_task(
    root: str, k: int, parts: int, places: pa.Table, th: Thresholds, routes: list[Route]
) -> list[tuple[int, str, bytes]]:
    """Executor side of stage 2 for part ``k``."""
    from supplyline.engine.spark import _ipc

    con = _connect()
    try:
        base = Path(root)
        positions = _read_part(con, base / "positions" / f"part={k}", POSITION_COLUMNS, "mmsi, ts, lat, lon")
        if positions is None:
            return []
        statics = _read_part(con, base / "statics" / f"part={k}", STATIC_COLUMNS, "mmsi, ts")
        tables = run_vessel_kernels(
            positions, places, th, routes, statics=statics, index=place_indexes(places)
        )
        con.register("p", positions)
        con.execute(
            f"""COPY (SELECT *, bk % {int(parts)} AS bkpart FROM ({encounter_cells_sql(th, "p", DUCKDB)}))
                TO {literal(base / "cells")} (FORMAT parquet, PARTITION_BY (bkpart), OVERWRITE_OR_IGNORE true,
                   FILENAME_PATTERN {literal(f"k{k}_{{i}}")}, COMPRESSION 'lz4_raw')"""
        )
        con.execute(
            f"COPY ({coverage_counts_sql(th, 'p', DUCKDB)}) TO {literal(base / 'counts' / f'part-{k}.parquet')}"
            " (FORMAT parquet, COMPRESSION 'lz4_raw')"
        )
    finally:
        con.close()
    return [(k, name, _ipc(tables[name])) for name in KERNEL_TABLES if tables[name].num_rows]


def close_pairs(session: SparkSession, copy: CopyUpdate, th: Thresholds) -> pa.Table | None:
    """Stage 3: the close pairs of every time-bucket partition (None when there are none)."""
    from supplyline.engine.spark import _from_ipc

    root, sql = str(copy.root), encounter_close_sql(th, "c", DUCKDB)
    parts = sorted(int(p.name.split("=", 1)[1]) for p in (copy.root / "cells").glob("bkpart=*"))
    if not parts:
        return None
    blobs = (
        session.sparkContext.parallelize(parts, len(parts)).map(lambda j: _close_task(root, j, sql)).collect()
    )
    tables = [_from_ipc(b) for b in blobs if b]
    return pa.concat_tables(tables) if tables else None


def _close_task(root: str, j: int, sql: str) -> bytes:
    from supplyline.engine.spark import _ipc

    con = _connect()
    try:
        source = glob_literal(Path(root) / "cells" / f"bkpart={j}", "*.parquet")
        con.execute(f"CREATE VIEW c AS SELECT * FROM read_parquet({source}, hive_partitioning = false)")
        close: pa.Table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return _ipc(close) if close.num_rows else b""


def encounter_runs(close: pa.Table | None, th: Thresholds) -> pa.Table | None:
    """The encounter runs over every close pair, in DuckDB on the driver (None without close pairs)."""
    if close is None:
        return None
    con = _connect()
    try:
        con.register("c", close)
        runs: pa.Table = con.sql(encounter_runs_sql(th, "c")).to_arrow_table()
    finally:
        con.close()
    return runs


def counts_source(copy: CopyUpdate) -> str:
    """SQL relation of every part's coverage counts (for :func:`supplyline.detect._sql.coverage_sql`)."""
    return f"read_parquet({glob_literal(copy.root / 'counts', '*.parquet')})"


__all__ = [
    "COPY_VERSION",
    "CopyUpdate",
    "close_pairs",
    "copy_folder",
    "counts_source",
    "encounter_runs",
    "part_signatures",
    "run_kernels",
    "store_sources",
    "update_copy",
]
