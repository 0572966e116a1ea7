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

The store is a local or shared-file-system folder that every executor can write (NFS, EFS, a fuse mount), or
a URI (``s3://bucket/prefix``, ``hdfs://...``: :class:`~supplyline.remote_store.RemoteStore`). Then each task
ingests into a scratch store on its own local disk and uploads its files under the store's ``_staging/`` with
``pyarrow.fs`` (no Hadoop S3 connector), the overlap check reads them through ``mapInArrow``, and the commit
copies them into place with each input's manifest row written last (object stores have no rename). Inputs are
local paths every executor can read at the same path, or URIs that each task copies to its local disk.
A killed run leaves only ``_staging/`` debris (and, on object storage, files of inputs with no manifest row,
which readers ignore), removed by the next open of a folder store or the next ingest into a remote one.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import fs
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
from supplyline.ingest.remote_inputs import expand_remote, fetch
from supplyline.remote_store import RemoteStore
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
    """One file's inputs (a zip's members, else one) with their places in the call's input order;
    ``source``: the file's URI when the task copies it from object storage or HDFS first."""

    index: int
    orders: tuple[int, ...]
    inputs: tuple[Input, ...]
    source: str | None = None


@dataclass
class _Outcome:
    """What a task returned for one input: its result and the scratch store that holds its files."""

    order: int
    result: FileResult
    scratch: str  # folder of the task's scratch store (a URI under a remote store's _staging/)
    clean: bool = True
    files: list[str] = field(default_factory=list)  # the input's files, relative to ``scratch``
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # see vessel_days


def run_task(
    run_dir: str, options: IngestOptions, known: frozenset[str], settings: fs.S3Settings | None = None
) -> Callable[..., Iterator[Any]]:
    """The function ``mapPartitions`` ships: each task's inputs through the local pipeline, into its own
    scratch store ``run_dir/<task>``; yields ``(order, FileResult dict, scratch, files, vessel-day codes)``
    per input (:func:`vessel_days` of its positions and statics, as bytes). When ``run_dir`` is a URI the
    scratch store is on the task's local disk and its files are uploaded there (``settings``: S3 settings)."""

    def run(tasks: Iterator[_Task]) -> Iterator[tuple[int, dict[str, Any], str, list[str], bytes]]:
        for task in tasks:
            with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX) as tmp:
                yield from _one_task(task, run_dir, Path(tmp), options, known, settings)

    return run


def _one_task(
    task: _Task,
    run_dir: str,
    tmp: Path,
    options: IngestOptions,
    known: frozenset[str],
    settings: fs.S3Settings | None,
) -> Iterator[tuple[int, dict[str, Any], str, list[str], bytes]]:
    """One task: its file (fetched first when remote) through the local pipeline into a scratch store
    (uploaded to ``run_dir/<task>`` when that is a URI), one row per input."""
    remote = fs.is_remote(run_dir)
    folder = f"{task.index:06d}"
    scratch = Store.create(tmp / folder if remote else Path(run_dir) / folder)
    where = f"{run_dir}/{folder}" if remote else str(scratch.root)
    inputs = fetch(task.source, tmp / "input", settings) if task.source else list(task.inputs)
    if len(inputs) != len(task.orders):
        raise EngineError(f"{task.source} changed while it was being ingested; run the ingest again")
    todo = []
    for order, inp in zip(task.orders, inputs, strict=True):
        done = (
            FileResult(path=inp.name, status="skipped", message=inp.skip)
            if inp.skip
            else _known(inp, known, options)
        )
        if done is None:
            todo.append((order, inp))
        else:
            yield order, done.to_dict(), where, [], b""
    report = options.run(scratch, [i for _, i in todo])
    for (order, _), res in zip(todo, report.files, strict=True):
        files = _files_of(scratch.root, res.input_id)
        codes = vessel_days([str(scratch.root / f) for f in files if f.startswith(_KEYED)])
        if remote:
            _upload(scratch.root, files, where, settings)
        yield order, res.to_dict(), where, files, codes.tobytes()


def _upload(root: Path, files: list[str], uri: str, settings: fs.S3Settings | None) -> None:
    """The scratch store's ``files`` copied to the same relative paths under ``uri``."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda f: fs.upload(root / f, fs.resolve(f"{uri}/{f}", settings)), files))


def vessel_days(files: list[str], settings: fs.S3Settings | None = None) -> np.ndarray:
    """Sorted unique 64-bit codes of the (mmsi, UTC day) pairs in position or static ``files``.

    Two inputs can repeat a position key or a static run only on a vessel-day they share, so inputs whose
    codes meet no earlier input's (nor the store's) need no exact check. A code collision (odds ~ n^2/2^64)
    only sends an input to the exact check.
    """
    if not files:
        return np.zeros(0, np.uint64)
    table = pa.concat_tables([fs.read_parquet(f, ["mmsi", "ts"], settings) for f in files])
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


Groups = list[tuple[str | None, list[Input]]]
"""The call's inputs by file: ``(URI of a remote file, or None for a local one, its inputs)``, in order."""


def input_groups(paths: Sequence[str | Path], settings: fs.S3Settings | None = None) -> Groups:
    """The inputs under ``paths`` (local paths, globs, folders, ``s3://``/``hdfs://`` files and prefixes) by
    file, in the order the local ingest takes them."""
    if not any(fs.is_remote(p) for p in paths):
        return _by_file(readers.expand([str(p) for p in paths]))
    groups: Groups = []
    for p in paths:
        groups += expand_remote(str(p), settings) if fs.is_remote(p) else _by_file(readers.expand([str(p)]))
    return groups


def _by_file(inputs: list[Input]) -> Groups:
    by_file: dict[Path, list[Input]] = {}
    for inp in inputs:
        by_file.setdefault(inp.path, []).append(inp)
    return [(None, group) for group in by_file.values()]


def _tasks(groups: Groups) -> tuple[list[_Task], list[tuple[int, FileResult]]]:
    """One task per file, in order; inputs listed as skipped are answered here."""
    tasks: list[_Task] = []
    answered: list[tuple[int, FileResult]] = []
    order = 0
    for source, group in groups:
        live = []
        for inp in group:
            if inp.skip:
                answered.append((order, FileResult(path=inp.name, status="skipped", message=inp.skip)))
            else:
                live.append((order, inp))
            order += 1
        if live:
            tasks.append(_Task(len(tasks), tuple(o for o, _ in live), tuple(i for _, i in live), source))
    return tasks, answered


Target = Store | RemoteStore
"""Where Spark ingests: a store folder every executor can write, or a store at an ``s3://``/``hdfs://`` URI."""


def ingest_spark(
    store: Target,
    paths: Sequence[str | Path],
    options: IngestOptions | None = None,
    *,
    master: str | None = None,
    spark: SparkSession | None = None,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Ingest every input under ``paths`` (local paths or URIs) into ``store`` on Spark; the same report as
    the local ingest.

    ``spark`` reuses a session (else one is made with ``master``). Holds the store's writer lock throughout.
    """
    options = options or IngestOptions()
    _check_format(options.fmt)
    settings = _settings(store, paths)
    groups = input_groups(paths, settings)
    inputs = [inp for _, group in groups for inp in group]
    tasks, answered = _tasks(groups)
    session = spark or spark_session(master)
    with store.lock():
        run_dir = _run_dir(store)
        try:
            outcomes = _run_tasks(session, tasks, run_dir, options, frozenset(store.manifest_ids()), settings)
            _skip_repeated_content(outcomes)
            _mark_unclean(session, store, outcomes, settings)
            _commit_clean(store, outcomes)
            sources = {order: task.source for task in tasks for order in task.orders}
            redo = [(inputs[o.order], sources[o.order]) for o in outcomes]
            _redo_unclean(store, redo, outcomes, options, settings)
        finally:
            _remove(store, run_dir)
    results = dict(answered) | {o.order: o.result for o in outcomes}
    if on_progress is not None:
        for source, group in groups:
            for inp in group:
                on_progress(inp.name, inp.size() if source is None and inp.exists() else 0)
    return IngestReport([results[k] for k in sorted(results)])


def _settings(store: Target, paths: Sequence[str | Path]) -> fs.S3Settings | None:
    """The S3 settings the tasks get: the remote store's own, else the driver's environment when a store or
    an input is at a URI (executors on other machines need not have the variables), else None."""
    if isinstance(store, RemoteStore) and store.settings is not None:
        return store.settings
    remote = isinstance(store, RemoteStore) or any(fs.is_remote(p) for p in paths)
    return fs.S3Settings.from_env() if remote else None


def _run_dir(store: Target) -> str:
    """This run's scratch folder (or prefix) under the store's ``_staging/``; remote: debris of killed runs
    swept first (under the writer's lease)."""
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex}"
    if isinstance(store, RemoteStore):
        store.sweep()
        return store.staging(name).uri
    return str(store.root / "_staging" / name)


def _remove(store: Target, run_dir: str) -> None:
    if isinstance(store, RemoteStore):
        store.remove(store.staging(run_dir.rsplit("/", 1)[-1]))
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run_tasks(
    session: SparkSession,
    tasks: list[_Task],
    run_dir: str,
    options: IngestOptions,
    known: frozenset[str],
    settings: fs.S3Settings | None,
) -> list[_Outcome]:
    """One Spark task per file; the results in input order."""
    if not tasks:
        return []
    if not fs.is_remote(run_dir):
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    rdd = session.sparkContext.parallelize(tasks, len(tasks))
    try:
        rows = rdd.mapPartitions(run_task(run_dir, options, known, settings)).collect()
    except Exception as exc:
        from supplyline.engine.spark import _short

        raise EngineError(f"the Spark ingest job failed: {_short(exc)}") from exc
    outcomes = [
        _Outcome(o, FileResult(**res), scratch, files=files, codes=np.frombuffer(codes, np.uint64))
        for o, res, scratch, files, codes in rows
    ]
    return sorted(outcomes, key=lambda o: o.order)


def _skip_repeated_content(outcomes: list[_Outcome]) -> None:
    """Of inputs with the same content in one call, the first is ingested and the later ones skipped (with
    the format their task found)."""
    seen: set[str] = set()
    for out in outcomes:
        res = out.result
        if res.status != "ingested" or not res.input_id:
            continue
        if res.input_id in seen:
            out.result, out.files = _skipped(res.path, res.input_id), []
            out.result.format = res.format
        seen.add(res.input_id)


def _mark_unclean(
    session: SparkSession, store: Target, outcomes: list[_Outcome], settings: fs.S3Settings | None
) -> None:
    """Mark inputs a position key or static (mmsi, day) of which occurs in an earlier input or the store."""
    staged = [o for o in outcomes if o.result.status == "ingested" and o.files]
    days = {f.split("/")[1] for o in staged for f in o.files if f.startswith(_KEYED)}
    held = {t: _held(store, t, days) for t in ("positions", "statics")}
    if not _may_overlap(staged, held["positions"] + held["statics"], settings):
        return  # no vessel-day in two places: nothing can repeat
    order = {o.result.input_id: o.order for o in staged}
    rows = sum(o.result.positions for o in staged)
    # shuffles sized to the data: Spark's default 200 tasks per stage cost minutes on a small ingest
    shuffle = session.conf.get("spark.sql.shuffle.partitions")
    parallel = session.sparkContext.defaultParallelism
    session.conf.set("spark.sql.shuffle.partitions", str(max(parallel, -(-rows // ROWS_PER_SHUFFLE))))
    try:
        repeats = _Repeats(session, staged, order, settings)
        unclean = repeats.of("positions", list(POSITION_KEY), held["positions"])
        unclean |= repeats.of("statics", ["mmsi", "_day"], held["statics"])
    finally:
        session.conf.set("spark.sql.shuffle.partitions", shuffle or "200")
    for out in staged:
        out.clean = out.result.input_id not in unclean


def _held(store: Target, table: str, days: set[str]) -> list[str]:
    """The store's committed files of ``table`` for ``days`` (``day=YYYY-MM-DD``): paths, or URIs."""
    if isinstance(store, RemoteStore):
        rels = store.files(table, [d.removeprefix("day=") for d in days])
        return [store.location(r).uri for r in rels]
    return [str(p) for d in sorted(days) for p in sorted((store.root / table / d).glob("*.parquet"))]


def _may_overlap(staged: list[_Outcome], held: list[str], settings: fs.S3Settings | None) -> bool:
    """True when an input shares a vessel-day with an earlier input or with the store's files ``held``."""
    seen = vessel_days(held, settings)
    for out in staged:
        if np.isin(out.codes, seen, assume_unique=True).any():
            return True
        seen = np.union1d(seen, out.codes)
    return False


@dataclass
class _Repeats:
    """The exact overlap check: which inputs repeat a key an earlier input (or the store) has."""

    session: SparkSession
    staged: list[_Outcome]
    order: dict[str | None, int]
    settings: fs.S3Settings | None

    def of(self, table: str, key: list[str], held: list[str]) -> set[str]:
        """Input ids with a row of ``table`` whose ``key`` an earlier input (or the store: order -1) has."""
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        new = [f"{o.scratch}/{f}" for o in self.staged for f in o.files if f.startswith(f"{table}/")]
        if not new:
            return set()
        orders = self.session.createDataFrame(list(self.order.items()), "input_id string, _o int")
        frame = self._keyed(table, new, key).join(F.broadcast(orders), "input_id")
        if held:
            frame = frame.unionByName(self._keyed(table, held, key).withColumn("_o", F.lit(-1)))
        first = F.min("_o").over(Window.partitionBy(*key))
        later = frame.withColumn("_first", first).where(F.col("_o") > F.col("_first"))
        return {r[0] for r in later.select("input_id").distinct().collect()}

    def _keyed(self, table: str, files: list[str], key: list[str]) -> DataFrame:
        """The key columns (``_day``: the UTC day of ``ts``) and input id of Parquet ``files``."""
        from pyspark.sql import functions as F

        if any(fs.is_remote(f) for f in files):
            frame = _read_arrow(self.session, files, table, [c for c in key if c != "_day"], self.settings)
        else:  # no %-escapes: Spark reads "day=" as it is
            frame = self.session.read.parquet(*[f"file://{Path(f).resolve()}" for f in files])
        if "_day" in key:
            frame = frame.withColumn("_day", F.to_date("ts"))
        return frame.select(*key, "input_id")


def _read_arrow(
    session: SparkSession, files: list[str], table: str, columns: list[str], settings: fs.S3Settings | None
) -> DataFrame:
    """Columns ``columns`` (+ ``ts``, ``input_id``) of raw-table Parquet files at URIs, read by the executors
    with pyarrow.fs (``mapInArrow``): no Hadoop connector for the URI's scheme is needed."""
    from supplyline.engine.spark import _ddl

    names = list(dict.fromkeys([*columns, "ts", "input_id"]))
    target = pa.schema([RAW_TABLES[table].field(c).with_nullable(True) for c in names])

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri in batch.column(0).to_pylist():
                yield from fs.read_parquet(uri, names, settings).select(names).cast(target).to_batches()

    slices = max(1, min(len(files), session.sparkContext.defaultParallelism))
    paths = session.createDataFrame(
        session.sparkContext.parallelize([(f,) for f in files], slices), "uri string"
    )
    return paths.mapInArrow(read, _ddl(target))


def _commit_clean(store: Target, outcomes: list[_Outcome]) -> None:
    """Every clean input's files moved into the store in one transaction (manifest rows land last); on a
    remote store copied into place input by input, each input's manifest row last."""
    clean = [o for o in outcomes if o.clean and o.files]
    if not clean:
        return
    if isinstance(store, RemoteStore):
        store.commit(
            {str(o.result.input_id): [(f"{o.scratch}/{rel}", rel) for rel in o.files] for o in clean}
        )
        return
    with store.transaction() as txn:
        for out in clean:
            _stage_moves(txn, out)


def _stage_moves(txn: Transaction, out: _Outcome) -> None:
    """The input's scratch files become the transaction's (renames within the store's folder)."""
    for rel in out.files:
        txn.adopt(Path(out.scratch) / rel, rel)


def _redo_unclean(
    store: Target,
    inputs: list[tuple[Input, str | None]],
    outcomes: list[_Outcome],
    options: IngestOptions,
    settings: fs.S3Settings | None,
) -> None:
    """Inputs that overlap earlier ones: the local pipeline on the driver, in input order (exact).

    ``inputs``: each outcome's input and the URI it is fetched from (None: a local file). A remote store's
    committed data of the days these inputs touch is mirrored to local scratch first, and what the pipeline
    adds there is uploaded."""
    redo = [(o, inp) for o, inp in zip(outcomes, inputs, strict=True) if not o.clean]
    if not redo:
        return
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX) as tmp:
        local = [
            _local_input(inp, src, Path(tmp) / f"in{k}", settings) for k, (_, (inp, src)) in enumerate(redo)
        ]
        if isinstance(store, RemoteStore):
            report = _redo_remote(store, local, [o for o, _ in redo], options, Path(tmp))
        else:
            report = options.run(store, local)
    for (out, _), res in zip(redo, report.files, strict=True):
        out.result = res


def _redo_remote(
    store: RemoteStore, inputs: list[Input], redo: list[_Outcome], options: IngestOptions, tmp: Path
) -> IngestReport:
    """The local pipeline over ``inputs`` into a local mirror of the store's positions and statics of the
    days they touch (all their rows can repeat), then what it adds committed to the store, input by input."""
    days = {f.split("/")[1].removeprefix("day=") for o in redo for f in o.files if f.startswith(_KEYED)}
    mirror = store.mirror(Store.create(tmp / "mirror"), days)
    report = options.run(mirror, inputs)
    added = [r for r in report.files if r.status == "ingested"]
    store.commit(
        {
            str(r.input_id): [(str(mirror.root / f), f) for f in _files_of(mirror.root, r.input_id)]
            for r in added
        }
    )
    return report


def _local_input(inp: Input, source: str | None, dest: Path, settings: fs.S3Settings | None) -> Input:
    """``inp`` readable on this machine: itself, or its member of the file fetched from ``source``."""
    if source is None:
        return inp
    return next(i for i in fetch(source, dest, settings) if i.member == inp.member)


__all__ = ["IngestOptions", "Target", "ingest_spark", "input_groups", "run_task"]
