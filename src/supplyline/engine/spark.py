"""The Spark engine: the same kernels as the local engine, for data that outgrows one machine.

Positions and static reports are read from the store layout (a local path, ``hdfs://`` or ``s3a://`` URI),
unioned into one frame, ``repartition``-ed by mmsi and ``sortWithinPartitions``-ed by (mmsi, ts, lat, lon),
so every partition holds whole vessels in the local engine's order. ``mapInArrow`` then runs
:func:`supplyline.detect.run_vessel_kernels` once per partition (per-group ``applyInArrow`` pays Python and
Arrow overhead per vessel). Each partition's event tables travel back as Arrow IPC blobs: event tables are
small next to positions (a few rows per vessel-day), so they are decoded and finished on the driver, where
the same post-processing as the local engine gives the same ids, values and order. The cross-vessel steps
(encounters, gap coverage) are the local engine's SQL in the Spark dialect (:mod:`supplyline.detect._sql`).

Pitfalls handled here: ``PYSPARK_PYTHON`` is the running interpreter (executors must import the same
supplyline), the session and JVM time zones are UTC, adaptive execution is off (it would merge the vessel
partitions), Parquet timestamps are written as microseconds, and pyspark's Arrow paths need pandas < 3
(declared in the ``spark`` extra). Java and the pyspark 3.5/4.x differences: :mod:`.spark_runtime`.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.detect import KERNEL_TABLES, Route, Thresholds, place_indexes, run_vessel_kernels
from supplyline.detect._sql import (
    COVERAGE_COUNTS,
    DUCKDB,
    ENCOUNTER_CELLS,
    ENCOUNTER_CLOSE,
    ENCOUNTER_RUNS,
    coverage_counts_sql,
    coverage_sql,
    coverage_wanted_sql,
    encounter_cells_sql,
    encounter_close_sql,
    encounter_runs_sql,
)
from supplyline.detect.kernels import PlaceLookup, sort_events
from supplyline.engine.base import (
    PLACES_TABLE,
    STATE_TABLE,
    DetectResult,
    Phases,
    coverage_input,
    empty_event_tables,
    finish_coverage,
    finish_encounters,
    places_in_use,
    stage_cross_tables,
)
from supplyline.engine.local import KERNEL_COLUMNS
from supplyline.engine.spark_runtime import check_java, from_arrow, to_arrow
from supplyline.errors import DependencyError, EngineError
from supplyline.store import WHOLE, Store, raw_uri, shard_part, table_uri

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession

KERNEL_OUT = (
    "table STRING, ipc BINARY, mmsi BIGINT, bk BIGINT, cy BIGINT, cx BIGINT, lat DOUBLE, lon DOUBLE,"
    " spd DOUBLE, n BIGINT"
)
"""Schema of the kernel job's output rows, three kinds in one frame (``mapInArrow`` has one schema):
an event table of a partition as Arrow IPC (``table`` = its name, ``ipc``), an encounter cell row
(``table`` = :data:`CELLS`; mmsi, bk, lat, lon, spd, cy, cx of :func:`encounter_cells_sql`) or a coverage
count row (``table`` = :data:`COUNTS`; mmsi, bk = the UTC hour, cy, cx, n of :func:`coverage_counts_sql`)."""
ENVELOPE = KERNEL_OUT  # the name earlier releases exported
CELLS = "_encounter_cells"
COUNTS = "_coverage_counts"
ROWS_PER_PARTITION = 2_000_000
"""Default partition size: a Python worker holds its partition's positions and the kernels' temporaries
(~1 KB per position at peak), so 2 M positions keep each task near 2 GB."""
ARROW_BATCH_ROWS = 200_000
"""Rows per Arrow batch sent to ``mapInArrow`` (the partition is concatenated there anyway)."""
_KIND = "_static"


def _require_pyspark() -> str:
    """The installed pyspark version (DependencyError when there is none)."""
    try:
        import pyspark
    except ImportError as exc:
        raise DependencyError(
            "the Spark engine needs pyspark: pip install 'supplyline[spark]' (and Java 17+ for pyspark 4.x)"
        ) from exc
    return str(pyspark.__version__)


def spark_session(
    master: str | None = None, app_name: str = "supplyline", conf: Mapping[str, str] | None = None
) -> SparkSession:
    """A Spark session configured for supplyline (UTC, Arrow, this interpreter on the workers).

    ``master`` passes through (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``); ``None`` keeps
    what the environment sets (``spark-submit --master``, ``$MASTER``), else ``local[*]``. An existing
    session (e.g. under spark-submit) is reused with supplyline's SQL settings applied. ``conf`` adds
    Spark settings for a new session (``spark.driver.host``, ``spark.executorEnv.PYTHONPATH``...).
    """
    version = _require_pyspark()
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        check_java(version)  # this process starts the JVM: a clear message beats a gateway traceback

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif not (
        os.environ.get("MASTER")
        or os.environ.get("PYSPARK_GATEWAY_PORT")  # started by spark-submit: its --master applies
        or SparkSession.getActiveSession() is not None
    ):
        builder = builder.master("local[*]")
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
    )
    builder = builder.config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no JVM, or the cluster is unreachable
        raise EngineError(f"could not start Spark ({exc}); check JAVA_HOME and --master") from exc
    for key, value in {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "false",  # keep our partition count: whole vessels per task
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Arrow batches to the Python workers: 10,000 rows (the default) cost a round trip per batch
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH_ROWS),
        # list a store's day folders on the driver (a Spark job per listing above 32 folders by default)
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "10000",
    }.items():
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def store_uri(store: str | Path) -> str:
    """The store as a URI Spark reads. ``hdfs://``, ``s3a://``... pass through (when a ``Path`` collapsed
    ``s3a://bucket`` to ``s3a:/bucket`` the ``//`` is restored, so give such URIs an authority: a bucket or
    a namenode); a local folder or ``file:`` URI becomes an absolute ``file:///`` URI, so a cluster whose
    default file system is HDFS does not look for it there."""
    text = str(store)
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]+):(/+)(.*)$", text)
    if m is None or len(m.group(1)) == 1:  # no scheme (or a Windows drive letter)
        return Path(text).resolve().as_uri()
    scheme, slashes, rest = m.groups()
    if scheme.lower() == "file":
        return Path("/" + rest).resolve().as_uri()
    if isinstance(store, Path) and slashes == "/":
        slashes = "//"
    return f"{scheme}:{slashes}{rest}".rstrip("/")


def _local_path(uri: str) -> Path | None:
    return Path(unquote(uri.removeprefix("file://"))) if uri.startswith("file://") else None


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(blob: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all()


def _partition_kernel(places: Broadcast[pa.Table], th: Thresholds, routes: Sequence[Route]) -> Any:
    """The function ``mapInArrow`` ships to the executors: all kernels over one partition (whole vessels),
    plus what the cross-vessel steps need of it, so positions are read once (:data:`KERNEL_OUT`): the
    encounter cell rows (per vessel and bucket) and the coverage counts (per vessel, cell and hour), both
    computed by DuckDB with the local engine's SQL."""
    out_schema = _arrow_schema(KERNEL_OUT)
    cells_sql = encounter_cells_sql(th, "p", DUCKDB)
    counts_sql = coverage_counts_sql(th, "p", DUCKDB)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        batch_list = list(batches)  # the kernels need every row of a vessel at once
        if not batch_list or sum(b.num_rows for b in batch_list) == 0:
            return  # an empty partition (more partitions than vessels)
        both = pa.Table.from_batches(batch_list)
        is_static = both.column(_KIND)
        positions = both.filter(pc.invert(is_static)).select(list(KERNEL_COLUMNS["positions"]))
        if positions.num_rows == 0:
            return
        statics = None  # no static reports in the store: the union has no static columns
        if set(KERNEL_COLUMNS["statics"]) <= set(both.column_names):
            statics = both.filter(is_static).select(list(KERNEL_COLUMNS["statics"]))
        table = places.value  # loaded once per Python worker, so place_indexes' cache hits across tasks
        tables = run_vessel_kernels(positions, table, th, routes, statics=statics, index=place_indexes(table))
        names = [n for n in KERNEL_TABLES if tables[n].num_rows]
        if names:
            blobs = {"table": pa.array(names), "ipc": pa.array([_ipc(tables[n]) for n in names], pa.binary())}
            yield _as_rows(out_schema, blobs)
        cells, counts = _duckdb(positions, cells_sql, counts_sql)
        yield _as_rows(out_schema, {"table": pa.array([CELLS] * cells.num_rows), **_columns(cells)})
        counts = counts.rename_columns(["cy", "cx", "bk", "mmsi", "n"])  # bk holds the hour here
        yield _as_rows(out_schema, {"table": pa.array([COUNTS] * counts.num_rows), **_columns(counts)})

    return run


def _columns(table: pa.Table) -> dict[str, pa.Array]:
    return {name: table.column(name).combine_chunks() for name in table.column_names}


def _as_rows(target: pa.Schema, columns: Mapping[str, pa.Array]) -> pa.RecordBatch:
    """A batch of ``target``'s columns: those given (cast to the target's type), nulls elsewhere."""
    n = len(next(iter(columns.values())))
    arrays = [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type) for f in target]
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _duckdb(positions: pa.Table, *queries: str) -> list[pa.Table]:
    """``queries`` over one partition's positions (registered as ``p``) in a one-thread DuckDB."""
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("p", positions)
        return [con.sql(q).to_arrow_table() for q in queries]
    finally:
        con.close()


def _sql_map(sql: str, ddl: str) -> Any:
    """A ``mapInArrow`` function running DuckDB ``sql`` over the partition's rows (registered as ``p``),
    returning rows of ``ddl``: the cross-vessel steps run where their input is whole (time buckets, pairs)."""
    target = _arrow_schema(ddl)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        batch_list = list(batches)
        if sum(b.num_rows for b in batch_list) == 0:
            return  # an empty partition (e.g. more partitions than time buckets)
        rows = pa.Table.from_batches(batch_list)
        (result,) = _duckdb(rows, sql)
        if result.num_rows:
            yield from result.select(target.names).cast(target).to_batches()

    return run


_ARROW_TYPES = {"STRING": pa.string(), "BINARY": pa.binary(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}


def _arrow_schema(ddl: str) -> pa.Schema:
    """The Arrow schema of a Spark DDL string of the types above (``"mmsi BIGINT, lat DOUBLE"``)."""
    pairs = [col.split() for col in ddl.split(",")]
    return pa.schema([(name, _ARROW_TYPES[kind.upper()]) for name, kind in pairs])


def _read(spark: SparkSession, uri: str, name: str, target: pa.Schema) -> DataFrame | None:
    """One raw table of the store (hive ``day=`` folders), with exactly ``target``'s columns.

    The schema is given, so Spark runs no job to infer it from the files' footers."""
    local = _local_path(uri)
    if local is not None and not Store(local).has_files(name):
        return None
    try:
        frame = spark.read.schema(_ddl(target)).parquet(raw_uri(uri, name))
    except Exception as exc:  # AnalysisException: path missing or empty (remote stores)
        if "PATH_NOT_FOUND" in str(exc) or "UNABLE_TO_INFER_SCHEMA" in str(exc):
            return None
        raise _read_error(raw_uri(uri, name), str(exc)) from exc
    return frame.select(*[f.name for f in target])


def _read_error(path: str, message: str) -> EngineError:
    """Spark's read failure in a line or two: a missing filesystem connector says how to get one or how to
    do without (the Java stack trace stays on the exception's cause)."""
    scheme = path.split("://", 1)[0] if "://" in path else "file"
    if "ClassNotFoundException" in message or "No FileSystem for scheme" in message:
        return EngineError(
            f"Spark has no filesystem connector for {scheme}:// here ({path}): put it on Spark's classpath "
            f"(for s3a: the hadoop-aws jar of your Spark's Hadoop version and its AWS SDK, e.g. "
            f"spark.jars.packages), or copy the store with `supplyline pull s3://... --store DIR` and detect on DIR"
        )
    first = next((line for line in message.splitlines() if line.strip()), message)
    return EngineError(f"Spark could not read {path}: {first[:500]}")


_SPARK_TYPES = {"int8": "TINYINT", "int16": "SMALLINT", "int32": "INT", "int64": "BIGINT", "float": "FLOAT",
                "double": "DOUBLE", "string": "STRING", "large_string": "STRING", "bool": "BOOLEAN"}  # fmt: skip


def _ddl(target: pa.Schema) -> str:
    """``target`` as a Spark DDL schema string (times are TIMESTAMP: instants, as the store writes them)."""
    cols = []
    for f in target:
        kind = "TIMESTAMP" if pa.types.is_timestamp(f.type) else _SPARK_TYPES[str(f.type)]
        cols.append(f"`{f.name}` {kind}")
    return ", ".join(cols)


def _rows(uri: str, positions: DataFrame) -> int:
    """Position rows: from the Parquet footers of a local store (no Spark job), else a count."""
    local = _local_path(uri)
    if local is None:
        return positions.count()
    return sum(pq.ParquetFile(f).metadata.num_rows for f in (local / "positions").glob("day=*/*.parquet"))


def _partitions(spark: SparkSession, uri: str, positions: DataFrame, requested: int | None) -> int:
    if requested is not None:
        if requested < 1:
            raise EngineError("--partitions must be at least 1")
        return requested
    floor = max(2, spark.sparkContext.defaultParallelism * 2)
    return max(floor, math.ceil(_rows(uri, positions) / ROWS_PER_PARTITION))


def detect_spark(
    store: str | Path,
    places: pa.Table,
    thresholds: Thresholds,
    routes: Sequence[Route] = (),
    *,
    master: str | None = None,
    partitions: int | None = None,
    spark: SparkSession | None = None,
    out: str | Path | None = None,
    prepartition: bool = True,
) -> DetectResult:
    """Run every detector on Spark over the store at ``store`` (folder or URI) and write the event tables.

    ``partitions`` vessel partitions (default: 2 per core, at most ``ROWS_PER_PARTITION`` positions each;
    a power of two for a local store); ``spark`` reuses a session (else one is made with ``master``).
    A local store (a folder every executor sees at the same path) is read through its vessel-partitioned
    copy (:mod:`.spark_files`) unless ``prepartition`` is False; a remote one (``hdfs://``, ``s3a://``) is
    read and shuffled by Spark. Tables go to ``out`` (default the store itself): a local store gets them
    in one store transaction, exactly as the local engine lays them out; a remote one gets
    ``tables/<name>/`` written by Spark.
    """
    uri = store_uri(store)
    local = _local_path(uri)
    if local is not None:
        Store.open(local)  # a clear StoreError when there is no store there
    session = spark or spark_session(master)
    idx, places_used = places_in_use(places)
    target = store_uri(out) if out else uri
    if local is not None and prepartition:
        if not Store(local).has_files("positions"):
            return _write_empty(session, target, places_used)
        n = _partitions_pow2(session, local, partitions)
        return _run_files(session, Store.open(local), places_used, idx, thresholds, routes, n, target)
    positions = _read(session, uri, "positions", schema.POSITIONS)
    statics = _read(session, uri, "statics", schema.STATICS)
    if positions is None:
        return _write_empty(session, target, places_used)

    n = _partitions(session, uri, positions, partitions)
    # SQL shuffles sized like the vessel partitions: Spark's default 200 tasks per stage cost ~10x on small
    # inputs in local mode; restored afterwards for a caller's own session.
    shuffle = session.conf.get("spark.sql.shuffle.partitions")
    session.conf.set("spark.sql.shuffle.partitions", str(n))
    try:
        return _run(session, positions, statics, places_used, idx, thresholds, routes, n, target)
    finally:
        session.conf.set("spark.sql.shuffle.partitions", shuffle or "200")


def _write_empty(session: SparkSession, target: str, places_used: pa.Table) -> DetectResult:
    tables = empty_event_tables()
    _write(session, target, tables, places_used)
    return DetectResult(counts=dict.fromkeys(tables, 0))


def _partitions_pow2(session: SparkSession, local: Path, requested: int | None) -> int:
    """Parts of a local store's copy: as :func:`_partitions`, rounded up to a power of two so the count
    (and the copy) stays the same while the store grows, until it doubles."""
    if requested is not None:
        if requested < 1:
            raise EngineError("--partitions must be at least 1")
        return requested
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in Store(local).files("positions"))
    wanted = max(2, session.sparkContext.defaultParallelism * 2, math.ceil(rows / ROWS_PER_PARTITION))
    return 1 << (wanted - 1).bit_length()


def _run_files(
    session: SparkSession,
    store: Store,
    places_used: pa.Table,
    idx: PlaceLookup,
    th: Thresholds,
    routes: Sequence[Route],
    n: int,
    target: str,
) -> DetectResult:
    """The local-store path (:mod:`.spark_files`): copy update, kernels of the parts whose input changed,
    close pairs, then the driver's DuckDB steps and the write; phases timed as the local engine's.

    Incremental when the tables go back into the store itself, as the local engine: a part is recomputed
    when its signature (its split files and the parameters) differs from the one this engine recorded in
    :data:`SPARK_STATE` at its last run; every part when another engine wrote the tables since."""
    from supplyline.engine import spark_files as sf
    from supplyline.engine.local import _params_hash

    result = DetectResult(shards_total=n)
    phase = Phases(result.seconds)
    shared = session.sparkContext.broadcast(places_used)
    out = _local_path(target)
    same = out is not None and out.resolve() == store.root.resolve()
    try:
        with store.lock():  # the copy is read and written by this run only
            copy = sf.update_copy(session, store, n)
            signatures = sf.part_signatures(copy, _params_hash(places_used, th, routes, n))
            old = _spark_state(store) if same else {}
            todo = sorted(k for k in set(signatures) | set(old) if old.get(k) != signatures.get(k))
            result.shards_run = todo
            phase.done("split")
            if same and not todo:
                result.counts = {name: store.count_rows(name) for name in schema.EVENT_TABLES}
                return result
            fresh = _by_part(sf.run_kernels(session, copy, shared, th, routes, todo), signatures, todo)
            phase.done("kernels")
            gaps = {k: fresh[k]["gaps"] if k in fresh else _stored_gaps(store, k) for k in signatures}
            gaps = _coverage_by_part(gaps, th, sf.counts_source(copy))
            phase.done("coverage")
            raw = sf.encounter_runs(sf.close_pairs(session, copy, th), th)
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"the Spark detection job failed: {_short(exc)}") from exc
    finally:
        shared.unpersist()
    empty = _arrow_schema(ENCOUNTER_RUNS).empty_table()
    encounters = finish_encounters(raw if raw is not None else empty, th, idx)
    phase.done("encounters")
    if out is None:  # a remote target: whole tables, written by Spark
        tables = _whole_tables(fresh, gaps, encounters)
        _write(session, target, tables, places_used)
        result.counts = {name: t.num_rows for name, t in tables.items()}
    else:
        written = store if same else Store.create(out)
        _commit_parts(written, fresh, gaps, encounters, places_used, signatures)
        result.counts = {name: written.count_rows(name) for name in schema.EVENT_TABLES}
    phase.done("write")
    return result


def _whole_tables(
    fresh: dict[int, dict[str, pa.Table]], gaps: dict[int, pa.Table], encounters: pa.Table
) -> dict[str, pa.Table]:
    """Every event table whole (parts concatenated, canonical order), for a target without parts."""
    tables = {"encounters": encounters}
    for name in KERNEL_TABLES:
        parts = list(gaps.values()) if name == "gaps" else [t[name] for t in fresh.values()]
        whole = pa.concat_tables(parts) if parts else schema.empty(schema.EVENT_TABLES[name])
        tables[name] = sort_events(name, whole)
    return tables


SPARK_STATE = "detect_state_spark"
"""Per-part input signatures of the Spark engine's last run on a local store (schema
:data:`supplyline.schema.DETECT_STATE`); absent, or the local engine's state present, means recompute all."""


def _spark_state(store: Store) -> dict[int, str]:
    """The signatures of this engine's last run, if the event tables are still its own (the local engine
    writes its :data:`STATE_TABLE` and the JVM path drops :data:`SPARK_STATE`)."""
    local_wrote = store.read_part(STATE_TABLE, WHOLE) is not None
    if local_wrote or not all(store.has_table(name) for name in schema.EVENT_TABLES):
        return {}
    t = store.read_part(SPARK_STATE, WHOLE)
    if t is None:
        return {}
    return dict(zip(t.column("shard").to_pylist(), t.column("signature").to_pylist(), strict=True))


def _by_part(
    triples: Sequence[tuple[int, str, bytes]], signatures: Mapping[int, str], todo: Sequence[int]
) -> dict[int, dict[str, pa.Table]]:
    """Each recomputed (still non-empty) part's event tables from its tasks' (part, name, IPC) triples."""
    out = {}
    for k in todo:
        if k in signatures:
            mine = [(name, blob) for part, name, blob in triples if part == k]
            out[k] = _decode([name for name, _ in mine], [blob for _, blob in mine])
    return out


def _stored_gaps(store: Store, k: int) -> pa.Table:
    t = store.read_part("gaps", shard_part(k))
    return schema.empty(schema.GAPS) if t is None else t.cast(schema.GAPS)


def _coverage_by_part(parts: dict[int, pa.Table], th: Thresholds, counts: str) -> dict[int, pa.Table]:
    """Coverage of every part's gaps in one query (other vessels' new positions change old gaps' too)."""
    if not parts or not any(g.num_rows for g in parts.values()):
        return parts
    tagged = [g.append_column("_part", pa.array([k] * g.num_rows, pa.int64())) for k, g in parts.items()]
    done = _coverage_duckdb(pa.concat_tables(tagged), th, counts)
    part = done.column("_part").to_numpy()
    done = done.drop_columns(["_part"])
    return {k: done.filter(pa.array(part == k)) for k in parts}


def _commit_parts(
    store: Store,
    fresh: dict[int, dict[str, pa.Table]],
    gaps: dict[int, pa.Table],
    encounters: pa.Table,
    places: pa.Table,
    signatures: Mapping[int, str],
) -> None:
    """One transaction: the recomputed parts, every part's gaps, the whole tables and the signatures;
    parts of parts now empty, and any other engine's parts, are dropped."""
    keep = [shard_part(k) for k in signatures]
    state = pa.table(
        {
            "shard": pa.array(sorted(signatures), pa.int64()),
            "signature": [signatures[k] for k in sorted(signatures)],
        },
        schema=schema.DETECT_STATE,
    )
    with store.lock(), store.transaction() as txn:
        for name in KERNEL_TABLES:
            by_part = gaps if name == "gaps" else {k: t[name] for k, t in fresh.items()}
            txn.replace_parts(name, {shard_part(k): t for k, t in by_part.items()}, keep=keep)
        stage_cross_tables(txn, encounters, places)
        txn.drop_table(STATE_TABLE)
        txn.put_part(SPARK_STATE, WHOLE, state)


def _coverage_duckdb(gaps: pa.Table, th: Thresholds, counts: str) -> pa.Table:
    """Gaps with coverage from the partitions' counts (relation ``counts``), in DuckDB on the driver."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("_gaps_in", coverage_input(gaps))
        rows = con.sql(coverage_sql(th, "_gaps_in", dialect=DUCKDB, counts=counts)).to_arrow_table()
    finally:
        con.close()
    return finish_coverage(gaps, rows, th)


def _run(
    session: SparkSession,
    positions: DataFrame,
    statics: DataFrame | None,
    places_used: pa.Table,
    idx: PlaceLookup,
    thresholds: Thresholds,
    routes: Sequence[Route],
    n: int,
    target: str,
) -> DetectResult:
    """One pass over the positions (the kernel job, its output cached), then the two cross-vessel steps
    from that output, and the write."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    # only the kernels' columns travel through the shuffle (source and input_id strings would double it)
    both = positions.select(*KERNEL_COLUMNS["positions"]).withColumn(_KIND, F.lit(False))
    if statics is not None:
        kernel_statics = statics.select(*KERNEL_COLUMNS["statics"]).withColumn(_KIND, F.lit(True))
        both = both.unionByName(kernel_statics, allowMissingColumns=True)
    ordered = both.repartition(n, "mmsi").sortWithinPartitions("mmsi", "ts", "lat", "lon")
    shared = session.sparkContext.broadcast(places_used)
    kernel_out = ordered.mapInArrow(_partition_kernel(shared, thresholds, list(routes)), KERNEL_OUT)
    kernel_out = kernel_out.persist(StorageLevel.MEMORY_AND_DISK)  # read by the three steps below
    try:
        try:
            envelope = to_arrow(kernel_out.where(F.col("ipc").isNotNull()).select("table", "ipc"))
        except Exception as exc:
            raise EngineError(f"the Spark detection job failed: {_short(exc)}") from exc
        tables = _decode(envelope.column("table").to_pylist(), envelope.column("ipc").to_pylist())
        try:
            if tables["gaps"].num_rows:
                tables["gaps"] = _coverage(session, kernel_out, tables["gaps"], thresholds)
            raw = _encounters(kernel_out, thresholds, n)
        except Exception as exc:
            raise EngineError(f"the Spark encounter/coverage query failed: {_short(exc)}") from exc
    finally:
        kernel_out.unpersist()
        shared.unpersist()
    tables["encounters"] = finish_encounters(raw, thresholds, idx)
    _write(session, target, tables, places_used)
    return DetectResult(
        counts={name: tables[name].num_rows for name in schema.EVENT_TABLES},
        shards_total=n,
        shards_run=list(range(n)),
    )


def _coverage(session: SparkSession, kernel_out: DataFrame, gaps: pa.Table, th: Thresholds) -> pa.Table:
    """Gaps with coverage: the (cell, hour)s the gaps ask about are found on the driver, the partitions'
    counts of those are gathered (a broadcast join, no shuffle), and the local engine's coverage SQL runs
    over them in DuckDB (counts are sums, so the answer is the one over all positions)."""
    import duckdb
    from pyspark.sql import functions as F

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("_gaps_in", coverage_input(gaps))
        wanted = con.sql(coverage_wanted_sql(th, "_gaps_in", DUCKDB)).to_arrow_table()
        found = (
            kernel_out.where(F.col("table") == COUNTS)
            .select("cy", "cx", F.col("bk").alias("hb"), "mmsi", "n")
            .join(F.broadcast(from_arrow(session, wanted)), ["cy", "cx", "hb"])
        )
        counts = to_arrow(found).select(_arrow_schema(COVERAGE_COUNTS).names)
        con.register("_counts", counts)
        rows = con.sql(coverage_sql(th, "_gaps_in", dialect=DUCKDB, counts="_counts")).to_arrow_table()
    finally:
        con.close()
    return finish_coverage(gaps, rows, th)


def _encounters(kernel_out: DataFrame, th: Thresholds, n: int) -> pa.Table:
    """Candidate encounters: the partitions' cell rows regrouped by time bucket (close pairs), the close
    rows regrouped by pair (runs and medians), each step the local engine's SQL run by DuckDB."""
    from pyspark.sql import functions as F

    cells = kernel_out.where(F.col("table") == CELLS).select(*_arrow_schema(ENCOUNTER_CELLS).names)
    close_sql = encounter_close_sql(th, "p", DUCKDB)
    close = cells.repartition(n, "bk").mapInArrow(_sql_map(close_sql, ENCOUNTER_CLOSE), ENCOUNTER_CLOSE)
    runs_sql = encounter_runs_sql(th, "p")
    runs = close.repartition(n, "mmsi_a", "mmsi_b").mapInArrow(
        _sql_map(runs_sql, ENCOUNTER_RUNS), ENCOUNTER_RUNS
    )
    return to_arrow(runs)


def _short(exc: Exception) -> str:
    """One line of a (often very long) JVM or Python worker error: the Python exception if there is one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return (lines[-1] if "Traceback" in str(exc) else lines[0])[:500]


def _decode(names: Sequence[str], blobs: Sequence[bytes]) -> dict[str, pa.Table]:
    """Every partition's blobs (``names[i]``'s table in ``blobs[i]``) concatenated per event table, in the
    canonical order."""
    out: dict[str, pa.Table] = {}
    for name in KERNEL_TABLES:
        target = schema.EVENT_TABLES[name]
        parts = [_from_ipc(b).cast(target) for n, b in zip(names, blobs, strict=True) if n == name]
        out[name] = sort_events(name, pa.concat_tables(parts)) if parts else schema.empty(target)
    return out


def _write(session: SparkSession, target: str, tables: dict[str, pa.Table], places: pa.Table) -> None:
    """Local store: one transaction replacing every event table (one ``all`` part each), the places used,
    and clearing the local engine's shard signatures (its next run recomputes everything). Remote: Spark
    overwrites ``tables/<name>`` with one file each (event tables are small)."""
    local = _local_path(target)
    if local is None:
        for name, table in {**tables, PLACES_TABLE: places}.items():
            from_arrow(session, table).coalesce(1).write.mode("overwrite").parquet(table_uri(target, name))
        return
    st = Store.create(local)
    with st.lock(), st.transaction() as txn:
        for name, table in tables.items():
            if name != "encounters":
                txn.replace_parts(name, {WHOLE: table})
        stage_cross_tables(txn, tables["encounters"], places)
        txn.drop_table(STATE_TABLE)
        txn.drop_table(SPARK_STATE)


__all__ = ["ENVELOPE", "ROWS_PER_PARTITION", "detect_spark", "spark_session", "store_uri"]
