"""The store: one folder of Parquet files, with DuckDB views over it.

Layout (readable by Spark and DuckDB as it is)::

    STORE/
      positions/day=YYYY-MM-DD/part-<input_id>.parquet   raw positions, sorted by (mmsi, ts) in each file
      statics/day=YYYY-MM-DD/part-<input_id>.parquet     static/voyage reports (identity history source)
      quarantine/part-<input_id>.parquet                 every rejected line/row with its reason
      manifest/<input_id>.parquet                        one row per ingested input (hash, counts, time)
      tables/<name>/<part>.parquet                       derived tables (events, places, claims, alerts...)
      _staging/, _journal/                               in-flight transactions (never read by views)
      _cache/<name>/                                     rebuildable engine data kept between runs

Writes are transactions: files are written complete under ``_staging``, a journal listing every move is
written atomically, then files are renamed into place and the journal removed. A run killed at any moment
leaves either no journal (nothing visible, staging is garbage) or a journal (redone on the next open). A
rename is atomic, so no reader ever sees a partial Parquet file. Manifest rows are renamed last, and
``_last_commit`` names the last transaction applied: the two facts readers from outside use to see
only committed data (the protocol is in docs/architecture.md, "Reading the store from outside").

Only this module spells paths. Derived tables are written through the part API of a transaction
(:meth:`Transaction.put_part`, :meth:`Transaction.replace_parts`, :meth:`Transaction.drop_table`) and read
with :meth:`Store.parts`, :meth:`Store.read_part` and :meth:`Store.read_table`; part names say who wrote
them (:func:`shard_part` for the local engine's vessel shards, :data:`WHOLE` for a table written whole).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.errors import StoreError, StoreWarning
from supplyline.reader import ReadOnlyConnection
from supplyline.sqlquote import glob_escape, ident, literal

ENV_VAR = "SUPPLYLINE_STORE"
DEFAULT_PATH = "supplyline-store"
_MARKER = "SUPPLYLINE_STORE"

RAW_TABLES: dict[str, pa.Schema] = {
    "positions": schema.POSITIONS,
    "statics": schema.STATICS,
    "quarantine": schema.QUARANTINE,
    "manifest": schema.MANIFEST,
}
_HIVE = {"positions", "statics"}
TABLES = "tables"
"""Folder of the derived tables: ``tables/<name>/<part>.parquet``."""
WHOLE = "all"
"""Part name of a derived table written whole (by Spark or by a single-writer stage)."""
_STAGING = "_staging"
_CACHE = "_cache"
LAST_COMMIT = "_last_commit"
"""File in the store folder holding the id of the last transaction applied (see the outside-reader protocol)."""
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
"""Legal derived-table (folder) names; other folders under ``tables/`` are ignored with a warning."""


def shard_part(shard: int) -> str:
    """Part name of the local engine's vessel shard ``shard`` (``shard-0007``)."""
    return f"shard-{shard:04d}"


def _part_relpath(table: str, part: str) -> str:
    return f"{TABLES}/{table}/{part}.parquet"


_HADOOP_GLOB = re.compile(r"([\\*?\[\]{}])")


def hadoop_glob_escape(text: str) -> str:
    """``text`` with Hadoop's glob characters (``\\ * ? [ ] { }``) matched literally (``\\[``, ``\\*``...).

    Spark globs every path it *reads* (``glob[1]store`` would otherwise mean ``glob1store``); paths it
    writes are taken literally, so only read paths are escaped.
    """
    return _HADOOP_GLOB.sub(r"\\\1", text)


def spark_path(store_uri: str) -> str:
    """A store URI spelled as Hadoop parses it: ``file:`` URIs percent-decoded (``file:///a%20b`` ->
    ``file:///a b``; Hadoop would look for a folder literally named ``a%20b``), other schemes as given."""
    return (
        "file://" + unquote(store_uri.removeprefix("file://"))
        if store_uri.startswith("file://")
        else store_uri
    )


def raw_uri(store_uri: str, name: str) -> str:
    """Glob-escaped URI of raw table ``name`` (positions, statics...) of the store at ``store_uri``, for
    Spark to read (any legal store path: ``it's store``, ``glob[1]store``, ``a{b}``...)."""
    return hadoop_glob_escape(f"{spark_path(store_uri)}/{name}")


def table_uri(store_uri: str, name: str, *, read: bool = False) -> str:
    """URI of derived table ``name``'s folder in the store at ``store_uri`` (Spark writes remote stores).

    Literal for writing (Spark does not glob output paths); ``read=True`` glob-escapes it for reading.
    """
    uri = f"{spark_path(store_uri)}/{TABLES}/{name}"
    return hadoop_glob_escape(uri) if read else uri


def default_path() -> Path:
    """The store path from ``$SUPPLYLINE_STORE`` or ``./supplyline-store``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def write_parquet(table: pa.Table, path: Path, dictionary: bool | list[str] = True) -> None:
    """Write one Parquet file the way every store file is written (zstd, statistics on).

    ``dictionary``: columns to dictionary-encode (default all); naming only the low-cardinality ones makes
    big position files ~40 % faster to write and smaller (floats and times never repeat enough).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20, use_dictionary=dictionary)


class Transaction:
    """Files staged for one atomic commit; created by :meth:`Store.transaction`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.txn_id = uuid.uuid4().hex
        self.staging = store.root / _STAGING / self.txn_id
        self.moves: list[tuple[str, str]] = []  # (staged, final), relative to the store root
        self.deletes: list[str] = []

    def put(self, relpath: str, table: pa.Table, dictionary: bool | list[str] = True) -> Path:
        """Stage ``table`` to appear at ``relpath`` (relative to the store root) on commit.

        Returns the staged file, which callers may read back (e.g. to de-duplicate later chunks against it).
        """
        return self.put_many([(relpath, table)], dictionary)[0]

    def put_many(self, items: list[tuple[str, pa.Table]], dictionary: bool | list[str] = True) -> list[Path]:
        """:meth:`put` for several tables, written by two threads (Parquet encoding releases the GIL).

        One input spanning months stages a file per day and table: ~170 files for the 735k-row DMA bench
        CSV, where writing them one by one took ~0.25 s.
        """
        staged = [self.staging / f"{len(self.moves) + i:06d}.parquet" for i in range(len(items))]
        if len(items) < 2:
            for (_, table), path in zip(items, staged, strict=True):
                write_parquet(table, path, dictionary)
        else:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda i: write_parquet(items[i][1], staged[i], dictionary), range(len(items))))
        self.moves.extend(
            (str(f.relative_to(self.store.root)), rel) for f, (rel, _) in zip(staged, items, strict=True)
        )
        return staged

    def adopt(self, path: Path, relpath: str) -> None:
        """Move ``path`` (a complete file inside the store's ``_staging`` folder, written by another process,
        e.g. a Spark task) to ``relpath`` on commit, as if :meth:`put` had staged it."""
        staging = (self.store.root / _STAGING).resolve()
        if not path.resolve().is_relative_to(staging):
            raise StoreError(
                f"{path} is not in {self.store.root / _STAGING}; only staged files can be adopted"
            )
        self.moves.append((f"{_STAGING}/{path.resolve().relative_to(staging).as_posix()}", relpath))

    def staged(self, prefix: str) -> list[Path]:
        """Staged files whose final path starts with ``prefix`` (visible to this transaction only)."""
        return [self.store.root / staged for staged, final in self.moves if final.startswith(prefix)]

    def delete(self, relpath: str) -> None:
        """Remove ``relpath`` on commit (used when a derived table's partition is rewritten away)."""
        self.deletes.append(relpath)

    # --- derived-table parts (the only way engines and stages write ``tables/``) ---------------------------
    def put_part(self, table: str, part: str, data: pa.Table) -> Path:
        """Stage ``data`` as part ``part`` of derived table ``table`` (replacing that part on commit)."""
        return self.put(_part_relpath(table, part), data)

    def delete_part(self, table: str, part: str) -> None:
        """Remove part ``part`` of derived table ``table`` on commit (a no-op if it does not exist)."""
        self.delete(_part_relpath(table, part))

    def replace_parts(self, table: str, parts: Mapping[str, pa.Table], *, keep: Iterable[str] = ()) -> None:
        """Stage ``parts`` of ``table``; on commit every other existing part not named in ``keep`` is deleted,
        whichever engine wrote it (so one engine's run replaces the other's layout without duplicate rows)."""
        for part, data in parts.items():
            self.put_part(table, part, data)
        for stale in sorted(set(self.store.parts(table)) - set(parts) - set(keep)):
            self.delete_part(table, stale)

    def drop_table(self, table: str) -> None:
        """Remove every part of derived table ``table`` on commit."""
        for part in self.store.parts(table):
            self.delete_part(table, part)

    def _commit(self) -> None:
        journal_dir = self.store.root / "_journal"
        journal_dir.mkdir(exist_ok=True)
        tmp = journal_dir / f".{self.txn_id}.tmp"
        tmp.write_text(json.dumps({"moves": self.moves, "deletes": self.deletes}))
        _fsync_file(tmp)
        os.replace(tmp, journal_dir / f"{self.txn_id}.json")
        self.store._apply_journal(journal_dir / f"{self.txn_id}.json")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_store(path: Path) -> bool:
    """True when ``path`` is a store folder; StoreError when it is a file (a common --store typo)."""
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file, not a store folder; point --store at a folder")
    return (path / _MARKER).is_file()


def _refuse_uri(path: Path) -> None:
    """A store at an ``s3://`` / ``hdfs://`` URI is not a folder: say which commands take one."""
    from supplyline.fs import as_text, is_remote

    if is_remote(path):
        raise StoreError(
            f"{as_text(path)} is a store on object storage or HDFS: `supplyline ingest --engine spark` writes it "
            f"and `detect --engine spark` reads it where Spark has the connector (docs/cluster.md); for other "
            f"commands copy it to a folder first: `supplyline pull {as_text(path)} --store DIR`"
        )


def _os_store_error(path: Path, exc: OSError) -> StoreError:
    """The OS refused the store folder (permissions, a file in the path, a full disk): say which and why."""
    return StoreError(
        f"cannot use the store at {path}: {exc.strerror or exc}"
        f"{f' ({exc.filename})' if exc.filename and str(exc.filename) != str(path) else ''}; "
        "check the path and its permissions or choose another --store"
    )


class Store:
    """A supplyline store folder. Open with :meth:`open` (existing) or :meth:`create`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock_fh: TextIO | None = None
        self._warned: set[str] = set()  # ignored table folders already warned about

    # --- opening ------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path | str | None = None) -> Store:
        """Open the store at ``root``, creating an empty one if the folder does not exist yet."""
        path = Path(root) if root is not None else default_path()
        _refuse_uri(path)
        try:
            if _is_store(path):
                store = cls(path)
            else:
                if path.exists() and any(path.iterdir()):
                    raise StoreError(
                        f"{path} exists and is not a supplyline store; choose an empty or new folder with --store"
                    )
                path.mkdir(parents=True, exist_ok=True)
                (path / _MARKER).write_text("supplyline store v1\n")
                store = cls(path)
            store.recover()
        except OSError as exc:
            raise _os_store_error(path, exc) from None
        return store

    @classmethod
    def open(cls, root: Path | str | None = None) -> Store:
        """Open an existing store; a clear error if there is none."""
        path = Path(root) if root is not None else default_path()
        _refuse_uri(path)
        try:
            if not _is_store(path):
                raise StoreError(
                    f"no supplyline store at {path}; run `supplyline ingest FILE --store {path}` first "
                    f"or point --store / ${ENV_VAR} at an existing store"
                )
            store = cls(path)
            store.recover()
        except OSError as exc:
            raise _os_store_error(path, exc) from None
        return store

    # --- transactions -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock (released by the OS if the process dies); re-entrant within one Store."""
        if self._lock_fh is not None:
            yield
            return
        if not self._try_lock():
            raise StoreError(f"another supplyline process is writing to {self.root}; wait for it to finish")
        try:
            yield
        finally:
            self._unlock()

    def _try_lock(self) -> bool:
        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held until _unlock
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._lock_fh = fh
        return True

    def _unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Stage files; they all become visible together when the block exits without error."""
        txn = Transaction(self)
        try:
            yield txn
            txn._commit()
        finally:
            shutil.rmtree(txn.staging, ignore_errors=True)

    def _apply_journal(self, journal: Path) -> None:
        plan = json.loads(journal.read_text())
        # manifest rows land last: a data file whose input has a manifest row is complete (see docs)
        moves = sorted(plan["moves"], key=lambda move: move[1].startswith("manifest/"))
        for staged, final in moves:
            src, dst = self.root / staged, self.root / final
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
        for rel in plan.get("deletes", []):
            (self.root / rel).unlink(missing_ok=True)
        journal.unlink()
        # outside readers compare this before and after reading derived tables (docs/architecture.md)
        tmp = journal.parent / f".{journal.stem}.last.tmp"  # in _journal/: a leftover is removed by recover
        tmp.write_text(journal.stem + "\n")
        os.replace(tmp, self.root / LAST_COMMIT)

    def recover(self) -> None:
        """Finish committed transactions and drop uncommitted staging left by a killed run.

        Skipped while another process holds the writer lock: its journal and staging are live, not debris.
        """
        if self._lock_fh is None:
            if not self._try_lock():
                return
            try:
                self._recover()
            finally:
                self._unlock()
        else:
            self._recover()

    def _recover(self) -> None:
        journal_dir = self.root / "_journal"
        if journal_dir.exists():
            for tmp in journal_dir.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
            for journal in sorted(journal_dir.glob("*.json")):
                self._apply_journal(journal)
        staging = self.root / _STAGING
        if staging.exists():
            for leftover in staging.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)

    # --- derived tables -----------------------------------------------------------------------------------
    def table_dir(self, name: str) -> Path:
        return self.root / TABLES / name

    def parts(self, table: str) -> list[str]:
        """Names of the parts derived table ``table`` has now (sorted; none if it was never written).

        The local engine writes one part per vessel shard (:func:`shard_part`), Spark and single-writer
        stages one :data:`WHOLE` part."""
        return sorted(p.stem for p in self.table_dir(table).glob("*.parquet"))

    def has_part(self, table: str, part: str) -> bool:
        return (self.root / _part_relpath(table, part)).exists()

    def has_table(self, table: str) -> bool:
        """True once derived table ``table`` has been written (even with zero parts left)."""
        return self.table_dir(table).is_dir()

    def read_part(self, table: str, part: str) -> pa.Table | None:
        """One part of a derived table as stored, or None if it does not exist."""
        path = self.root / _part_relpath(table, part)
        return pq.read_table(path) if path.exists() else None

    def count_rows(self, table: str) -> int:
        """Rows of derived table ``table`` over all its parts, from the Parquet footers."""
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.table_dir(table).glob("*.parquet"))

    def scratch_dir(self, name: str) -> Path:
        """A working folder inside the store's staging area (same disk; cleared by :meth:`recover`)."""
        return self.root / _STAGING / name

    @contextlib.contextmanager
    def scratch(self, prefix: str) -> Iterator[Path]:
        """A fresh working folder (``prefix-<uuid>``) inside the staging area, removed when the block exits
        (and by :meth:`recover` if the process dies first)."""
        path = self.scratch_dir(f"{prefix}-{uuid.uuid4().hex}")
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def write_table(self, name: str, table: pa.Table, part: str = WHOLE) -> None:
        """Replace one part of derived table ``name`` atomically."""
        with self.transaction() as txn:
            txn.put_part(name, part, table)

    def replace_table(self, name: str, parts: dict[str, pa.Table]) -> None:
        """Replace every part of derived table ``name`` with ``parts`` in one transaction."""
        with self.transaction() as txn:
            txn.replace_parts(name, parts)

    def read_table(self, name: str, schema_: pa.Schema | None = None) -> pa.Table:
        """Read a raw or derived table whole (for small tables: events, manifest, claims, alerts)."""
        files = self._files(name)
        if not files:
            known = schema_ or RAW_TABLES.get(name) or schema.EVENT_TABLES.get(name)
            if known is None:
                raise StoreError(f"the store has no table {name!r}; run the command that builds it first")
            return known.empty_table()
        tables = [pq.read_table(f) for f in files]
        return pa.concat_tables(tables, promote_options="default")

    def cache_dir(self, name: str) -> Path:
        """A folder of rebuildable data an engine keeps between runs (the Spark engine's vessel-partitioned
        copy of positions); never read by views, never part of a transaction, safe to delete."""
        return self.root / _CACHE / name

    def files(self, name: str) -> list[Path]:
        """The Parquet files of raw or derived table ``name`` now (sorted)."""
        return self._files(name)

    def has_files(self, name: str) -> bool:
        """True when raw or derived table ``name`` has at least one Parquet file."""
        return bool(self._files(name))

    def _files(self, name: str) -> list[Path]:
        if name in _HIVE:
            return sorted((self.root / name).glob("day=*/*.parquet"))
        if name in RAW_TABLES:
            return sorted((self.root / name).glob("*.parquet"))
        return sorted(self.table_dir(name).glob("*.parquet"))

    def table_names(self) -> list[str]:
        """Raw tables, then derived tables (folders under ``tables/`` named like :data:`TABLE_NAME`)."""
        folders = sorted(p.name for p in (self.root / TABLES).glob("*") if p.is_dir())
        derived = [name for name in folders if TABLE_NAME.fullmatch(name) and name not in RAW_TABLES]
        ignored = [name for name in folders if name not in derived and name not in self._warned]
        if ignored:
            self._warned.update(ignored)
            warnings.warn(
                f"ignored {len(ignored)} folder(s) under {self.root / TABLES} whose names are not table names "
                f"(lower-case letters, digits, _): {', '.join(repr(n[:60]) for n in ignored[:3])}",
                StoreWarning,
                stacklevel=2,
            )
        return [*RAW_TABLES, *derived]

    # --- DuckDB -------------------------------------------------------------------------------------------
    def connect(
        self, memory_limit: str | None = None, threads: int | None = None, *, views: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per table of the store (empty tables included;
        ``views=False``: none, for a stage that makes views over just the files it needs, since making a
        view reads every one of its files' schemas).

        Full access: for supplyline's own stages. Anything that runs SQL it did not write uses :meth:`reader`.
        """
        con = duckdb.connect(":memory:")
        self._settings(con, memory_limit, threads)
        if views:
            self._views(con, self.root)
        return con

    def reader(self, memory_limit: str | None = None, threads: int | None = None) -> ReadOnlyConnection:
        """The read-only connection over the store's views: queries only, no file outside the store.

        External access is limited to the store folder (``allowed_directories``), extensions are neither
        installed nor loaded, nothing spills to disk, and the configuration is locked once the views exist;
        every statement is checked to be a query (:func:`supplyline.reader.check_query`), so ``COPY``,
        ``ATTACH``, ``INSTALL``, ``SET`` and writes are refused. This is what ``supplyline sql`` and any
        server or API reader use.
        """
        root = self.root.resolve()
        con = duckdb.connect(
            ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            self._settings(con, memory_limit, threads)
            # the views' globs are checked as written, so the glob-escaped spelling of the root is allowed too
            allowed = sorted({str(root) + os.sep, glob_escape(root) + os.sep})
            con.execute(f"SET allowed_directories = [{', '.join(literal(a) for a in allowed)}]")
            con.execute("SET temp_directory = ''")
            self._views(con, root)
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return ReadOnlyConnection(con)

    @staticmethod
    def _settings(con: duckdb.DuckDBPyConnection, memory_limit: str | None, threads: int | None) -> None:
        con.execute("SET TimeZone = 'UTC'")
        # a query over 2 s would draw DuckDB's progress bar on stdout, into `--json` output; in Jupyter without
        # ipywidgets DuckDB refuses to touch the setting, which is harmless there
        with contextlib.suppress(duckdb.Error):
            con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute(f"SET memory_limit = {literal(memory_limit)}")
        if threads:
            con.execute(f"SET threads = {int(threads)}")

    def _views(self, con: duckdb.DuckDBPyConnection, root: Path) -> None:
        """One view per table over its Parquet files under ``root`` (an empty table when it has none)."""
        for name in self.table_names():
            if self._files(name):
                folder = root / TABLES / name if name not in RAW_TABLES else root / name
                pattern = "day=*/*.parquet" if name in _HIVE else "*.parquet"
                source = literal(f"{glob_escape(folder)}/{pattern}")
                hive = "true" if name in _HIVE else "false"
                con.execute(
                    f"CREATE VIEW {ident(name)} AS SELECT * FROM read_parquet({source}, "
                    f"hive_partitioning={hive}, union_by_name=true)"
                )
            else:
                known = RAW_TABLES.get(name) or schema.EVENT_TABLES.get(name)
                if known is not None:
                    con.from_arrow(known.empty_table()).create(name)
        self._identity_view(con)

    @staticmethod
    def _identity_view(con: duckdb.DuckDBPyConnection) -> None:
        """``vessels``: the identity history, one row per distinct identity of an MMSI with first/last seen.

        Reports with the same identity (name, IMO, call sign, type, dimensions) are one row however they
        interleave, so the per-chunk runs ingest writes, voyage-data changes (draught, destination), and an
        MMSI shared by two ships whose names alternate (A, B, A, B ...: two rows, not one per switch) do
        not split it.
        ``station_class`` says whether the MMSI is a vessel (see :mod:`supplyline.detect.stations`).
        """
        from duckdb.func import PythonUDFType

        from supplyline.detect.stations import station_class_arrow

        con.create_function(
            "station_class", station_class_arrow, ["BIGINT"], "VARCHAR", type=PythonUDFType.ARROW
        )
        con.execute(
            """
            CREATE VIEW vessels AS
            SELECT mmsi, station_class(mmsi) AS station_class, imo, name, callsign, ship_type, length_m, width_m,
                   min(ts) AS first_seen, max(coalesce(last_ts, ts)) AS last_seen,
                   sum(coalesce(n_reports, 1)) AS n_reports,
                   arg_max(draught_m, coalesce(last_ts, ts)) AS last_draught_m,
                   arg_max(destination, coalesce(last_ts, ts)) AS last_destination,
                   arg_max(eta, coalesce(last_ts, ts)) AS last_eta
            FROM statics
            GROUP BY mmsi, imo, name, callsign, ship_type, length_m, width_m
            """
        )

    def manifest(self) -> pa.Table:
        """Every ingested input (one row each), oldest first."""
        table = self.read_table("manifest")
        return table.sort_by("ingested_at") if table.num_rows else table

    def manifest_ids(self) -> set[str]:
        """Input ids (sha256 prefixes, the manifest file names) of every input already ingested."""
        return {p.stem for p in (self.root / "manifest").glob("*.parquet")}
