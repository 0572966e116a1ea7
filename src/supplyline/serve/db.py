"""The one way the server opens a store: two read-only DuckDB connections, neither able to write anything.

* ``disk``: the store's own read-only connection (:meth:`Store.reader`: queries only, files limited to the
  store folder, configuration locked) for positions, static reports and the identity view.
* ``memory``: an in-memory database with **no** file access at all (external access off, configuration
  locked) holding the derived tables (visits, voyages, alerts, claims...), read with pyarrow through the
  store's API and copied in once per store version, plus the identity tables computed on ``disk``.
* ``snapshot``: per store version, the vessel page's and the map's rows indexed by MMSI and by time, and
  the positions as arrays when they fit (:mod:`supplyline.serve.snapshot`): requests read it, never SQL.

The store is never written here: no recovery, no lock file, no staging. The SQL console's statements must
also be exactly one SELECT (:func:`check_select`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from supplyline import schema
from supplyline.errors import StoreError, UsageError
from supplyline.reader import ReadOnlyConnection
from supplyline.serve.snapshot import Snapshot, build_snapshot
from supplyline.store import ENV_VAR, Store, default_path

# Parameterised queries on the store's read-only connection return DB-API results; their Arrow output is
# one extra copy of a small answer (decimated tracks, a vessel's draught), which is fine here.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)

# Derived tables the server holds in memory (re-read whenever the store changes; empty until written).
PLACEHOLDERS: dict[str, pa.Schema] = {
    **schema.EVENT_TABLES,
    "places": schema.PLACES,
    "alerts": schema.ALERTS,
    "claims": schema.CLAIMS,
    "claim_tests": schema.CLAIM_TESTS,
    "estimates": schema.ESTIMATES,
    "observations": schema.OBSERVATIONS,
    "detections": schema.DETECTIONS,
    "detection_matches": schema.DETECTION_MATCHES,
}


CACHE_SIZE = 256


class Reader:
    """The server's view of one store; :meth:`cursor` gives each request its own cursor."""

    def __init__(self, store: Store, disk: ReadOnlyConnection, memory: duckdb.DuckDBPyConnection) -> None:
        self.store = store
        self._disk = disk
        self._con = memory
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self.version = 0
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._inflight: dict[tuple[Any, ...], threading.Lock] = {}
        self.snapshot: Snapshot | None = None
        self.check_for_changes()

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """Modification time and entry names of the store's folders: every commit renames through
        ``_journal`` and into a table folder, so any write changes this (about 20 ``stat`` and ``listdir``
        calls, not one per file). The names matter: folder times are kernel-tick coarse, so a poll between
        a commit's removal of an old part and the rename of its new one in the same tick saw the same time
        twice and missed the new part (a live alert never sent)."""
        root = self.store.root
        folders = [
            root / "_journal",
            root / "positions",
            root / "statics",
            root / "manifest",
            root / "tables",
        ]
        tables = root / "tables"
        if tables.is_dir():
            folders += sorted(p for p in tables.iterdir() if p.is_dir())
        out = []
        for folder in folders:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                names = hash(tuple(sorted(os.listdir(folder))))
                out.append((folder.name, folder.stat().st_mtime_ns, names))
        return tuple(out)

    def check_for_changes(self) -> bool:
        """Pick up files written since the last check: changed tables re-read, cache dropped.

        Only the derived tables whose folder changed are re-read (a ``monitor`` run re-reads ``alerts``
        alone, so its alerts reach open pages quickly); the identity tables are rebuilt when an ingest
        commits (every ingest adds a ``manifest`` file, and new days add ``statics`` folders). Called by
        one thread at a time (the constructor, then the alerts watcher's poll)."""
        current = self.signature()
        first = self.snapshot is None  # (an empty store has no folders to sign, but needs its tables)
        if current == self._signature and not first:
            return False
        before = {name: rest for name, *rest in self._signature}
        after = {name: rest for name, *rest in current}
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        with self._lock:
            self._materialise(set(PLACEHOLDERS) if first else changed)
            if first or changed & {"manifest", "statics"}:
                # the identity view reads every statics file: computed once per ingest
                self._copy_in(
                    "vessel_identities", self._disk.execute("SELECT * FROM vessels").to_arrow_table()
                )
                self._con.execute(
                    "CREATE OR REPLACE TABLE vessel_names AS SELECT mmsi, arg_max(name, last_seen) AS name "
                    "FROM vessel_identities WHERE name IS NOT NULL GROUP BY mmsi"
                )
        # built outside the lock on a cursor of its own (only this method writes the tables): requests go on
        memory, disk = self.cursor(), self.disk_cursor()
        try:
            snapshot = build_snapshot(memory, disk, self.snapshot, changed)
        finally:
            memory.close()
            disk.close()
        with self._lock:
            self.snapshot = snapshot
            self._signature = current
            self.version += 1
            self._cache.clear()
        return True

    def current(self) -> Snapshot:
        """The indexes of the current store version (see :mod:`supplyline.serve.snapshot`)."""
        snap = self.snapshot
        assert snap is not None  # built by __init__
        return snap

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per store version and key, at most CACHE_SIZE answers kept. Concurrent requests
        for the same key wait for the first one's answer instead of computing it again."""
        full = (self.version, *key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
            flight = self._inflight.setdefault(full, threading.Lock())
        with flight:
            with self._lock:
                if full in self._cache:
                    return self._cache[full]
            value = compute()
            with self._lock:
                self._inflight.pop(full, None)
                if full[0] == self.version:
                    self._cache[full] = value
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        return value

    def _materialise(self, names: set[str]) -> None:
        """Copy the derived tables into memory (they are small next to positions): queries on Parquet files
        cost 10-20 ms each on a busy machine. A table the store does not have yet is an empty table of its
        schema. Positions and statics stay on disk (the snapshot may hold positions as arrays)."""
        for name, sch in PLACEHOLDERS.items():
            if name in names:
                self._copy_in(name, self.store.read_table(name, sch))

    def _copy_in(self, name: str, table: pa.Table) -> None:
        self._con.register("_incoming", table)
        self._con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
        self._con.unregister("_incoming")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the in-memory tables (DuckDB cursors may run in parallel threads)."""
        with self._lock:
            return self._con.cursor()

    def disk_cursor(self) -> ReadOnlyConnection:
        """A cursor on the store's read-only connection (positions, statics, every table as a view)."""
        return self._disk.cursor()

    def close(self) -> None:
        self._con.close()
        self._disk.close()


def open_store_readonly(root: Path | str | None) -> Store:
    """The store at ``root`` without :meth:`Store.open`'s recovery step (which may write)."""
    path = Path(root) if root is not None else default_path()
    if not (path / "SUPPLYLINE_STORE").exists():
        raise StoreError(
            f"no supplyline store at {path}; run `supplyline demo` or `supplyline ingest FILE --store {path}` "
            f"first, or point --store / ${ENV_VAR} at an existing store"
        )
    return Store(path.resolve())


def open_reader(root: Path | str | None, threads: int = 2) -> Reader:
    """A :class:`Reader` over the store at ``root``: its read-only connection and a file-less memory one."""
    store = open_store_readonly(root)
    disk = store.reader(threads=threads)
    memory = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    memory.execute("SET TimeZone = 'UTC'")
    memory.execute(f"SET threads = {int(threads)}")
    memory.execute("SET enable_external_access = false")
    memory.execute("SET lock_configuration = true")
    return Reader(store, disk, memory)


def check_select(sql: str) -> str:
    """``sql`` if it is exactly one SELECT statement, else a UsageError saying what is allowed."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"cannot parse the query: {exc}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise UsageError("only one SELECT (or WITH ... SELECT) statement is allowed")
    return sql
