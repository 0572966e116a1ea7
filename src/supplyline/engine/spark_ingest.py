"""Ingest on Spark: the local ingest pipeline in the executors, one input file per task, into the same store.

Each task runs :func:`supplyline.ingest.pipeline.ingest_inputs` (the same decoder, normaliser, quarantine,
de-duplication and accounting) for one file (its zip members in order) into a scratch store of its own under
the target store's ``_staging/`` folder. The driver then checks what the parallel tasks could not see of each
other, and commits:

* **Same content twice.** An input whose content hash the store's manifest holds is skipped by its task; of
  two inputs with the same content in one call, the later is skipped (as the local ingest does).
* **Duplicates across inputs.** The local ingest de-duplicates each input against the store and every input
  before it. An input none of whose position keys (:data:`~supplyline.ingest.normalise.POSITION_KEY`) and
  none of whose static (mmsi, UTC day) pairs occur in an earlier input or in the store is "clean": its task's
  result is exactly the local one. One Spark query (a window over the key columns) finds the others.
* **Commit.** Every clean input's files (positions, statics, quarantine, vessel ids, manifest row) are moved
  into the store in one transaction, under the names the local ingest gives them. Inputs that are not clean
  are then ingested again by the local pipeline on the driver, in input order: exact, and rare for logs that
  do not overlap (overlapping receivers' logs of the same hours fall back to it).

The store is a local or shared-file-system folder that every executor can write (NFS, EFS, a fuse mount);
input files must be readable by the executors at the same path. A killed run leaves only ``_staging/`` debris,
which the next open of the store removes.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline.engine.spark import spark_session
from supplyline.errors import EngineError, SupplylineError
from supplyline.ingest import readers
from supplyline.ingest.accounting import FileResult, IngestReport
from supplyline.ingest.dedup import mix
from supplyline.ingest.inputs import Input
from supplyline.ingest.normalise import POSITION_KEY
from supplyline.ingest.pipeline import (
    CHUNK_BYTES,
    CHUNK_ROWS,
    Progress,
    _check_format,
    ingest_inputs,
    input_format,
)
from supplyline.store import RAW_TABLES, TABLES, Store, Transaction

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SCRATCH_PREFIX = "spark-ingest-"
"""Folder under the store's ``_staging/`` holding one run's task stores (removed at the end)."""
DATA_FOLDERS = (*RAW_TABLES, TABLES)
"""What a task's scratch store holds that is moved into the store (manifest rows last, by the journal)."""
ROWS_PER_SHUFFLE = 4_000_000
"""Position rows per shuffle partition of the overlap check (key columns only: ~100 B a row)."""
_KEYED = ("positions/", "statics/")
_SKIPPED = "already ingested (same content hash in the manifest)"


@dataclass(frozen=True)
class IngestOptions:
    """How every input is read (the keyword arguments of :func:`~supplyline.ingest.pipeline.ingest_inputs`)."""

    fmt: str | None = None
    mapping: dict[str, str] | None = None
    ts_format: str | None = None
    chunk_rows: int = CHUNK_ROWS
    chunk_bytes: int = CHUNK_BYTES
    memory_limit: str = "2GB"

    def run(self, store: Store, inputs: Sequence[Input]) -> IngestReport:
        """:func:`~supplyline.ingest.pipeline.ingest_inputs` of ``inputs`` into ``store`` with these options."""
        return ingest_inputs(
            store,
            list(inputs),
            fmt=self.fmt,
            mapping=self.mapping,
            ts_format=self.ts_format,
            chunk_rows=self.chunk_rows,
            chunk_bytes=self.chunk_bytes,
            memory_limit=self.memory_limit,
        )


@dataclass(frozen=True)
class _Task:
    """One file's inputs (a zip's members, else one) with their places in the call's input order."""

    index: int
    orders: tuple[int, ...]
    inputs: tuple[Input, ...]


@dataclass
class _Outcome:
    """What a task returned for one input: its result and the scratch store that holds its files."""

    order: int
    result: FileResult
    scratch: str  # folder of the task's scratch store
    clean: bool = True
    files: list[str] = field(default_factory=list)  # the input's files, relative to ``scratch``
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # see vessel_days


def run_task(run_dir: str, options: IngestOptions, known: frozenset[str]) -> Callable[..., Iterator[Any]]:
    """The function ``mapPartitions`` ships: each task's inputs through the local pipeline, into its own
    scratch store ``run_dir/<task>``; yields ``(order, FileResult dict, scratch, files, vessel-day codes)``
    per input (:func:`vessel_days` of its positions and statics, as bytes)."""

    def run(tasks: Iterator[_Task]) -> Iterator[tuple[int, dict[str, Any], str, list[str], bytes]]:
        for task in tasks:
            scratch = Store.create(Path(run_dir) / f"{task.index:06d}")
            todo = []
            for order, inp in zip(task.orders, task.inputs, strict=True):
                done = _known(inp, known, options)
                if done is None:
                    todo.append((order, inp))
                else:
                    yield order, done.to_dict(), str(scratch.root), [], b""
            report = options.run(scratch, [i for _, i in todo])
            for (order, _), res in zip(todo, report.files, strict=True):
                files = _files_of(scratch.root, res.input_id)
                codes = vessel_days([str(scratch.root / f) for f in files if f.startswith(_KEYED)])
                yield order, res.to_dict(), str(scratch.root), files, codes.tobytes()

    return run


def vessel_days(files: list[str]) -> np.ndarray:
    """Sorted unique 64-bit codes of the (mmsi, UTC day) pairs in position or static ``files``.

    Two inputs can repeat a position key or a static run only on a vessel-day they share, so inputs whose
    codes meet no earlier input's (nor the store's) need no exact check. A code collision (odds ~ n^2/2^64)
    only sends an input to the exact check.
    """
    if not files:
        return np.zeros(0, np.uint64)
    table = pa.concat_tables([pq.read_table(f, columns=["mmsi", "ts"]) for f in files])
    day = pc.divide(table["ts"].cast(pa.int64()), 86_400_000_000)
    return np.unique(mix(pa.table({"mmsi": table["mmsi"], "day": day}), ("mmsi", "day")))


def _known(inp: Input, known: frozenset[str], options: IngestOptions) -> FileResult | None:
    """The local ingest's "skipped" result when the input's content is in the store (its id is its hash's
    first 16 hex digits), else None (also when it cannot be read: the pipeline reports why)."""
    if not known:
        return None
    try:
        input_id = inp.sha256()[:16]
        if input_id not in known:
            return None
        res = _skipped(inp.name, input_id)
        res.format = input_format(inp, options.fmt, options.mapping)
    except (SupplylineError, OSError):
        return None
    return res


def _skipped(name: str, input_id: str | None = None) -> FileResult:
    return FileResult(path=name, status="skipped", input_id=input_id, message=_SKIPPED)


def _files_of(root: Path, input_id: str | None) -> list[str]:
    """The files a committed input has in a store, by their names (``part-<id>-*``, ``<id>.parquet``)."""
    if not input_id:
        return []
    mine = re.compile(rf"(^|/)(part-{input_id}-[^/]*|{input_id})\.parquet$")
    found: list[str] = []
    for folder in DATA_FOLDERS:
        for path in sorted((root / folder).rglob("*.parquet")):
            rel = path.relative_to(root).as_posix()
            if mine.search(rel):
                found.append(rel)
    return found


def _tasks(inputs: Sequence[Input]) -> tuple[list[_Task], list[tuple[int, FileResult]]]:
    """Inputs grouped one file per task, in order; inputs listed as skipped are answered here."""
    by_file: dict[Path, list[tuple[int, Input]]] = {}
    answered: list[tuple[int, FileResult]] = []
    for order, inp in enumerate(inputs):
        if inp.skip:
            answered.append((order, FileResult(path=inp.name, status="skipped", message=inp.skip)))
        else:
            by_file.setdefault(inp.path, []).append((order, inp))
    tasks = [
        _Task(k, tuple(o for o, _ in group), tuple(i for _, i in group))
        for k, group in enumerate(by_file.values())
    ]
    return tasks, answered


def ingest_spark(
    store: Store,
    paths: list[str] | list[Path],
    options: IngestOptions | None = None,
    *,
    master: str | None = None,
    spark: SparkSession | None = None,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Ingest every input under ``paths`` into ``store`` on Spark; the same report as the local ingest.

    ``spark`` reuses a session (else one is made with ``master``). Holds the store's writer lock throughout.
    """
    options = options or IngestOptions()
    _check_format(options.fmt)
    inputs = readers.expand(paths)
    tasks, answered = _tasks(inputs)
    session = spark or spark_session(master)
    with store.lock():
        run_dir = store.root / "_staging" / f"{SCRATCH_PREFIX}{uuid.uuid4().hex}"
        try:
            outcomes = _run_tasks(session, tasks, run_dir, options, frozenset(store.manifest_ids()))
            _skip_repeated_content(outcomes, inputs, options)
            _mark_unclean(session, store, outcomes)
            _commit_clean(store, outcomes)
            _redo_unclean(store, inputs, outcomes, options)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    results = dict(answered) | {o.order: o.result for o in outcomes}
    if on_progress is not None:
        for inp in inputs:
            on_progress(inp.name, inp.size() if inp.exists() else 0)
    return IngestReport([results[k] for k in sorted(results)])


def _run_tasks(
    session: SparkSession, tasks: list[_Task], run_dir: Path, options: IngestOptions, known: frozenset[str]
) -> list[_Outcome]:
    """One Spark task per file; the results in input order."""
    if not tasks:
        return []
    run_dir.mkdir(parents=True, exist_ok=True)
    rdd = session.sparkContext.parallelize(tasks, len(tasks))
    try:
        rows = rdd.mapPartitions(run_task(str(run_dir), options, known)).collect()
    except Exception as exc:
        from supplyline.engine.spark import _short

        raise EngineError(f"the Spark ingest job failed: {_short(exc)}") from exc
    outcomes = [
        _Outcome(o, FileResult(**res), scratch, files=files, codes=np.frombuffer(codes, np.uint64))
        for o, res, scratch, files, codes in rows
    ]
    return sorted(outcomes, key=lambda o: o.order)


def _skip_repeated_content(outcomes: list[_Outcome], inputs: Sequence[Input], options: IngestOptions) -> None:
    """Of inputs with the same content in one call, the first is ingested and the later ones skipped."""
    seen: set[str] = set()
    for out in outcomes:
        res = out.result
        if res.status != "ingested" or not res.input_id:
            continue
        if res.input_id in seen:
            out.result, out.files = _skipped(res.path, res.input_id), []
            out.result.format = input_format(inputs[out.order], options.fmt, options.mapping)
        seen.add(res.input_id)


def _mark_unclean(session: SparkSession, store: Store, outcomes: list[_Outcome]) -> None:
    """Mark inputs a position key or static (mmsi, day) of which occurs in an earlier input or the store."""
    staged = [o for o in outcomes if o.result.status == "ingested" and o.files]
    days = {f.split("/")[1] for o in staged for f in o.files if f.startswith(("positions/", "statics/"))}
    held = {
        t: [str(p) for d in sorted(days) for p in sorted((store.root / t / d).glob("*.parquet"))]
        for t in ("positions", "statics")
    }
    if not _may_overlap(staged, held["positions"] + held["statics"]):
        return  # no vessel-day in two places: nothing can repeat
    order = {o.result.input_id: o.order for o in staged}
    rows = sum(o.result.positions for o in staged)
    # shuffles sized to the data: Spark's default 200 tasks per stage cost minutes on a small ingest
    shuffle = session.conf.get("spark.sql.shuffle.partitions")
    parallel = session.sparkContext.defaultParallelism
    session.conf.set("spark.sql.shuffle.partitions", str(max(parallel, -(-rows // ROWS_PER_SHUFFLE))))
    try:
        unclean = _later_repeats(session, "positions", list(POSITION_KEY), staged, held["positions"], order)
        unclean |= _later_repeats(session, "statics", ["mmsi", "_day"], staged, held["statics"], order)
    finally:
        session.conf.set("spark.sql.shuffle.partitions", shuffle or "200")
    for out in staged:
        out.clean = out.result.input_id not in unclean


def _may_overlap(staged: list[_Outcome], held: list[str]) -> bool:
    """True when an input shares a vessel-day with an earlier input or with the store's files ``held``."""
    seen = vessel_days(held)
    for out in staged:
        if np.isin(out.codes, seen, assume_unique=True).any():
            return True
        seen = np.union1d(seen, out.codes)
    return False


def _later_repeats(
    session: SparkSession,
    table: str,
    key: list[str],
    staged: list[_Outcome],
    held: list[str],
    order: dict[str | None, int],
) -> set[str]:
    """Input ids with a row of ``table`` whose ``key`` an earlier input (or the store: order -1) has."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    new = [str(Path(o.scratch) / f) for o in staged for f in o.files if f.startswith(f"{table}/")]
    if not new:
        return set()
    orders = session.createDataFrame(list(order.items()), "input_id string, _o int")
    frame = _keyed(session, new, key).join(F.broadcast(orders), "input_id")
    if held:
        frame = frame.unionByName(_keyed(session, held, key).withColumn("_o", F.lit(-1)))
    first = F.min("_o").over(Window.partitionBy(*key))
    later = frame.withColumn("_first", first).where(F.col("_o") > F.col("_first"))
    return {r[0] for r in later.select("input_id").distinct().collect()}


def _keyed(session: SparkSession, files: list[str], key: list[str]) -> DataFrame:
    """The key columns (``_day``: the UTC day of ``ts``) and input id of Parquet ``files``."""
    from pyspark.sql import functions as F

    frame = session.read.parquet(
        *[f"file://{Path(f).resolve()}" for f in files]
    )  # no %-escapes: Spark reads "day=" as it is
    if "_day" in key:
        frame = frame.withColumn("_day", F.to_date("ts"))
    return frame.select(*key, "input_id")


def _commit_clean(store: Store, outcomes: list[_Outcome]) -> None:
    """Every clean input's files moved into the store in one transaction (manifest rows land last)."""
    clean = [o for o in outcomes if o.clean and o.files]
    if not clean:
        return
    with store.transaction() as txn:
        for out in clean:
            _stage_moves(txn, out)


def _stage_moves(txn: Transaction, out: _Outcome) -> None:
    """The input's scratch files become the transaction's (renames within the store's folder)."""
    for rel in out.files:
        txn.adopt(Path(out.scratch) / rel, rel)


def _redo_unclean(
    store: Store, inputs: Sequence[Input], outcomes: list[_Outcome], options: IngestOptions
) -> None:
    """Inputs that overlap earlier ones: the local pipeline on the driver, in input order (exact)."""
    redo = [o for o in outcomes if not o.clean]
    if not redo:
        return
    report = options.run(store, [inputs[o.order] for o in redo])
    for out, res in zip(redo, report.files, strict=True):
        out.result = res


__all__ = ["IngestOptions", "ingest_spark", "run_task"]
