"""What the server answers from, per store version: the derived tables indexed by vessel and by time.

A vessel page needs the rows of a dozen tables for one MMSI, and the map the rows of seven layers that
overlap a time window. One DuckDB query each cost about 1 ms of CPU in the Python binding alone (prepare,
bind, submit), so a vessel page spent ~15 ms and a map ~10 ms in query overhead, and 50 clients at once
queued behind it. Instead, each query runs **once per store version for every vessel (or every time)**;
its Arrow answer is kept sorted by MMSI (:class:`Grouped`) or by start time (:class:`Timed`), and a request
takes a slice: a binary search and the rows asked for, kept as JSON-ready dicts for tables up to
:data:`CONVERT_ONCE_ROWS` rows (converted by :func:`records` per answer above that, so memory stays bounded).
The SQL stays in :mod:`supplyline.serve.queries`
and gives the same rows as the per-vessel queries it replaces (``tests/test_serve_snapshot.py`` compares them).

Positions are indexed too (:mod:`supplyline.serve.positions`) when the store is small enough to hold them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from supplyline.reader import ReadOnlyConnection
from supplyline.report.data import sources, table_json
from supplyline.serve import queries as Q
from supplyline.serve.positions import Positions, load_positions

CONVERT_ONCE_ROWS = 50_000  # rows a table keeps as dicts (~1 KB each); larger: converted per answer
KEY = Q.KEY  # the grouping column the all-vessel queries add (dropped from the rows they answer)


def records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts, times as epoch ms, floats rounded (the report's column conversion)."""
    body = table_json(table, max_rows=max(table.num_rows, 1))
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


class Rows:
    """A table's rows as JSON-ready dicts, converted once when the table is small (at most
    :data:`CONVERT_ONCE_ROWS`), else converted per answer from the Arrow rows asked for. The dicts are
    shared by every answer: callers copy a row before changing it."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._all = records(table) if table.num_rows <= CONVERT_ONCE_ROWS else None

    def slice(self, lo: int, hi: int) -> list[dict[str, Any]]:
        if self._all is not None:
            return self._all[lo:hi]
        return records(self.table.slice(lo, hi - lo))

    def take(self, idx: np.ndarray) -> list[dict[str, Any]]:
        if self._all is not None:
            rows = self._all
            return [rows[i] for i in idx.tolist()]
        return records(self.table.take(pa.array(idx, pa.int64())))


@dataclass(frozen=True)
class Grouped:
    """Rows sorted by an integer key (an MMSI), with each key's row range: ``rows(key)`` is one slice."""

    table: Rows
    keys: np.ndarray  # sorted distinct keys
    bounds: np.ndarray  # row range of keys[i] is bounds[i]:bounds[i + 1]

    @classmethod
    def of(cls, table: pa.Table, key: str = KEY) -> Grouped:
        """``table`` already sorted by ``key`` (no nulls); the column is dropped when it is :data:`KEY`."""
        k = table[key].to_numpy()
        firsts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.empty(0, np.int64)
        if key == KEY:
            table = table.drop_columns([KEY])
        return cls(Rows(table), k[firsts], np.r_[firsts, len(k)].astype(np.int64))

    def rows(self, key: int) -> list[dict[str, Any]]:
        i = int(np.searchsorted(self.keys, key))
        if i == len(self.keys) or self.keys[i] != key:
            return []
        return self.table.slice(int(self.bounds[i]), int(self.bounds[i + 1]))


@dataclass(frozen=True)
class Timed:
    """Rows sorted by start time with their [start, end] in epoch µs: ``rows(a, b)`` is a window's overlap."""

    table: Rows
    t0: np.ndarray  # start, epoch µs
    t1: np.ndarray  # end (the start when the end is null), epoch µs

    @classmethod
    def of(cls, table: pa.Table) -> Timed:
        """``table`` sorted by ``_t0`` with ``_t0``/``_t1`` epoch-µs columns (dropped from the rows)."""
        t0, t1 = (table[c].to_numpy().astype(np.int64) for c in ("_t0", "_t1"))
        return cls(Rows(table.drop_columns(["_t0", "_t1"])), t0, t1)

    def rows(self, start_us: int, end_us: int, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` rows (by start) whose interval overlaps [start_us, end_us] (ends included)."""
        hit = np.flatnonzero((self.t1 >= start_us) & (self.t0 <= end_us))[:limit]
        return self.table.take(hit)


@dataclass(frozen=True)
class Span:
    """The data period and what the page header shows of it, read once per ingest (each needs a scan)."""

    first: dt.datetime | None  # first position time
    last: dt.datetime | None
    n: int  # positions
    days: list[dict[str, Any]]  # positions per UTC day (the time brush's background)
    sources: list[dict[str, Any]]  # the manifest's inputs with their data-time range


@dataclass(frozen=True)
class Snapshot:
    """Everything the vessel page and the map read, for one store version (immutable: shared by threads)."""

    span: Span
    positions: Positions | None  # None when the store has more positions than the server holds in memory
    names: dict[int, str]
    vessel: dict[str, Grouped]  # keys of queries.VESSEL_TABLES -> rows per MMSI
    layers: dict[str, Timed]  # queries.LAYERS and "detections" -> rows by time
    places_used: list[dict[str, Any]]


def _arrow(con: duckdb.DuckDBPyConnection, query: Q.Query) -> pa.Table:
    table: pa.Table = con.sql(query[0], params=query[1]).to_arrow_table()
    return table


def _disk_arrow(disk: ReadOnlyConnection, query: Q.Query) -> pa.Table:
    """A parameterless query on the store's read-only connection, as Arrow (no DB-API copy)."""
    relation = disk.sql(query[0])
    assert relation is not None and not query[1]  # a query has a relation; these take no parameters
    table: pa.Table = relation.to_arrow_table()
    return table


def build_snapshot(
    memory: duckdb.DuckDBPyConnection,
    disk: ReadOnlyConnection,
    previous: Snapshot | None,
    changed: set[str],
) -> Snapshot:
    """The snapshot after the tables in ``changed`` were re-read (everything when ``previous`` is None);
    ``memory`` is a cursor on the in-memory tables used by this thread only.

    Positions are re-read only when an ingest committed (``positions``/``manifest`` changed), the draught
    series when static reports did; the derived tables' indexes are cheap and rebuilt every time."""
    reload_positions = previous is None or bool(changed & {"positions", "manifest"})
    reload_statics = previous is None or bool(changed & {"statics", "manifest"})
    if reload_positions or previous is None:
        positions, span = _positions_and_span(disk)
    else:
        positions, span = previous.positions, previous.span
    vessel = {name: Grouped.of(_arrow(memory, query)) for name, query in Q.vessel_tables().items()}
    if reload_statics or previous is None:
        vessel["draught"] = Grouped.of(_disk_arrow(disk, Q.draught_all()))
    else:
        vessel["draught"] = previous.vessel["draught"]
    names = {int(m): str(n) for m, n in memory.execute(Q.names()[0]).fetchall()}
    layers = {name: Timed.of(_arrow(memory, Q.layer_all(name))) for name in Q.LAYERS}
    layers["detections"] = Timed.of(_arrow(memory, Q.detections_all()))
    used = records(_arrow(memory, Q.places_used()))
    return Snapshot(span, positions, names, vessel, layers, used)


def _positions_and_span(disk: ReadOnlyConnection) -> tuple[Positions | None, Span]:
    first, last, n = disk.execute(Q.span()[0]).fetchall()[0]
    days = records(_disk_arrow(disk, Q.day_histogram()))
    inputs = sources(disk)  # type: ignore[arg-type]  # queries only
    return load_positions(disk, int(n or 0)), Span(first, last, int(n or 0), days, inputs)
