"""The one way the server opens a store: DuckDB, read-only, with file access confined to the store folder.

The store is never written here: no recovery, no lock file, no staging. The connection's configuration is
locked after setup, so no query can re-enable external access, load extensions or reach files outside the
store folder. Statements other than a single SELECT are refused by :func:`check_select` (the DuckDB
allow-list alone would still let ``COPY ... TO`` write inside the store folder).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from supplyline import schema
from supplyline.errors import StoreError, UsageError
from supplyline.store import ENV_VAR, Store, default_path

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
    """A locked-down DuckDB connection over one store; :meth:`cursor` gives each request its own cursor."""

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection) -> None:
        self.store = store
        self._con = con
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int], ...] = ()
        self.version = 0
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._inflight: dict[tuple[Any, ...], threading.Lock] = {}
        self.check_for_changes()

    def signature(self) -> tuple[tuple[str, int], ...]:
        """Modification times of the store's folders: every commit renames through ``_journal`` and into
        a table folder, so any write changes this (about 20 ``stat`` calls, not one per file)."""
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
            with contextlib.suppress(FileNotFoundError):
                out.append((folder.name, folder.stat().st_mtime_ns))
        return tuple(out)

    def check_for_changes(self) -> bool:
        """Pick up files written since the last check: changed tables re-read, cache dropped.

        Only the derived tables whose folder changed are re-read (a ``monitor`` run re-reads ``alerts``
        alone, so its alerts reach open pages quickly); the identity tables are rebuilt when an ingest
        commits (every ingest adds a ``manifest`` file, and new days add ``statics`` folders)."""
        current = self.signature()
        if current == self._signature:
            return False
        before, after = dict(self._signature), dict(current)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        first = not self._signature
        with self._lock:
            self._materialise(set(PLACEHOLDERS) if first else changed)
            if first or changed & {"manifest", "statics"}:
                # the identity view reads every statics file: materialised once per ingest
                self._con.execute("CREATE OR REPLACE TABLE vessel_identities AS SELECT * FROM vessels")
                self._con.execute(
                    "CREATE OR REPLACE TABLE vessel_names AS SELECT mmsi, arg_max(name, last_seen) AS name "
                    "FROM vessel_identities WHERE name IS NOT NULL GROUP BY mmsi"
                )
            self._signature = current
            self.version += 1
            self._cache.clear()
        return True

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
        """Copy the derived tables into memory (they are small next to positions): a vessel page runs ~15
        queries, and each one opening and decoding Parquet files cost 10-20 ms on a busy machine. A table
        the store does not have yet is an empty table of its schema. Positions and statics stay on disk."""
        kinds = dict(
            self._con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        )
        for name, sch in PLACEHOLDERS.items():
            if name not in names:
                continue
            if kinds.get(name) == "VIEW":
                self._con.execute(f'DROP VIEW "{name}"')
            if self.store.has_files(name):
                glob = str(self.store.table_dir(name) / "*.parquet").replace("'", "''")
                self._con.execute(
                    f"CREATE OR REPLACE TABLE \"{name}\" AS SELECT * FROM read_parquet('{glob}', union_by_name=true)"
                )
            else:
                self._con.register("_empty", sch.empty_table())
                self._con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _empty')
                self._con.unregister("_empty")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the shared database (DuckDB cursors may run in parallel threads)."""
        with self._lock:
            return self._con.cursor()

    def close(self) -> None:
        self._con.close()


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
    """A :class:`Reader` over the store at ``root`` (views over its Parquet files, nothing else reachable)."""
    store = open_store_readonly(root)
    con = store.connect(threads=threads)
    allowed = str(store.root).replace("'", "''")
    con.execute(f"SET allowed_directories = ['{allowed}/']")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return Reader(store, con)


def check_select(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """``sql`` if it is exactly one SELECT statement, else a UsageError saying what is allowed."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"cannot parse the query: {exc}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise UsageError("only one SELECT (or WITH ... SELECT) statement is allowed")
    return sql
