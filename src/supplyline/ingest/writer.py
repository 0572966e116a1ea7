"""The writer of one input: its chunks, in file order, through quarantine, de-duplication and static runs.

:class:`InputWriter` only routes rows: each job is a module of its own (:mod:`.staging`, :mod:`.dedup`,
:mod:`.statics`, :mod:`.quarantine`; the counts in :class:`~.accounting.Tally`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.ingest.accounting import FileResult, Tally
from supplyline.ingest.csv_records import RecordMap
from supplyline.ingest.dedup import PositionStager, store_order
from supplyline.ingest.inputs import Input
from supplyline.ingest.normalise import positions_sql, statics_sql
from supplyline.ingest.quarantine import Quarantine, quote
from supplyline.ingest.staging import Staging
from supplyline.ingest.statics import StaticRuns, group_statics
from supplyline.store import Store, Transaction

if TYPE_CHECKING:
    from supplyline.ingest.nmea import NmeaResult
    from supplyline.ingest.run import Run

Progress = Callable[[str, int], None]  # (description, bytes done for this input) -> None


@dataclass
class Prepared:
    """One NMEA chunk after :meth:`InputWriter.prepare`: what the writer adds, in file order."""

    quarantine: pa.Table  # the decoder's rejects (QUARANTINE shape, lines relative to the chunk)
    positions: pa.Table  # normalised: kept rows first in the store's order, then rejected ones
    static_rejects: pa.Table  # normalised static reports the normaliser rejected
    static_groups: pa.Table | None  # kept static reports, one row per (mmsi, ts, values), see group_statics
    lines_read: int
    physical_lines: int


class InputWriter:
    """Stages one input's chunks into its transaction and keeps its counts."""

    def __init__(
        self,
        store: Store,
        txn: Transaction,
        connecting: Future[duckdb.DuckDBPyConnection],
        hashing: Future[str],
        file: str,
        run: Run | None = None,
    ):
        ids, prints = (run.manifest_ids, run.prints) if run is not None else (None, None)
        self.staging = Staging(store, txn, connecting, hashing, file, ids, prints)
        self.tally = Tally()
        self.quarantine = Quarantine(self.staging, self.tally)
        self.positions = PositionStager(self.staging, self.tally)
        self.statics = StaticRuns(self.staging, self.tally)
        self.file = file
        self.run = run  # the call's shared connection and pools (None: a writer on its own)
        self.file_format: str | None = None  # the layout a CSV/Parquet input was read as
        self.on_progress: Progress | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.staging.con

    @property
    def input_id(self) -> str:
        return self.staging.input_id

    def tick(self, records: int) -> None:
        """Report progress inside a long input (the bar advances by whole inputs, this updates its label)."""
        if self.on_progress is not None:
            self.on_progress(f"{Path(self.file).name}: {records:,}", 0)

    def finish(self, res: FileResult) -> None:
        """Last cross-chunk step, then the counts into ``res`` (checked: read = kept + duplicate + quarantined)."""
        self.positions.dedup_across_chunks()
        self.tally.settle(res, self.file)
        if self.file_format:
            res.format = self.file_format

    def fill_raw_lines(self, inp: Input) -> None:
        self.quarantine.fill_raw_lines(inp)

    # CSV / Parquet rows --------------------------------------------------------------------------------
    def add_rows(self, table: pa.Table, offset: int, header_lines: int) -> int:
        """One chunk of normalised rows (positions + static fields); returns rows seen so far."""
        table = _number_lines(table, offset, header_lines)
        self.quarantine.add_rejected(table, 0)
        kept = self.positions.add(table)
        if kept is not None:
            self.statics.add_row_statics(table, *kept)
        return offset + table.num_rows

    def add_static_rows(self, table: pa.Table, offset: int, header_lines: int) -> int:
        """One chunk of a statics-only table (each row a static report); returns rows seen so far."""
        table = _number_lines(table, offset, header_lines)
        self.quarantine.add_rejected(table, 0)
        self.statics.add_reports(table.filter(pc.is_null(table["reason"])))
        return offset + table.num_rows

    def place_csv_records(self, records: RecordMap, rejects: list[tuple[int, str, str, str]]) -> None:
        """A CSV input's quarantine on physical lines, plus the records DuckDB refused (see
        :meth:`Quarantine.place_csv`)."""
        self.quarantine.place_csv(records, rejects)

    def reset(self) -> None:
        """Forget every count and staged part of the input (it is read again; the caller drops the files)."""
        self.tally = Tally()
        self.quarantine = Quarantine(self.staging, self.tally)
        self.positions = PositionStager(self.staging, self.tally)
        self.statics = StaticRuns(self.staging, self.tally)

    # NMEA ----------------------------------------------------------------------------------------------
    def prepare(self, con: duckdb.DuckDBPyConnection, result: NmeaResult) -> Prepared:
        """The work on one decoded chunk that needs nothing from other chunks; any thread, its own ``con``.

        Positions are normalised and sorted in one query: kept rows first, in the store's order (see
        :meth:`PositionStager.add`), then the rejected ones, so each part is a slice. Static reports are
        normalised, and the kept ones grouped (exact repeats from several receivers collapse).
        """
        normalised = (
            _normalised(con, result.positions, positions_sql),
            _normalised(con, result.statics, statics_sql),
        )
        return self.prepare_normalised(con, result, *normalised)

    @staticmethod
    def prepare_normalised(
        con: duckdb.DuckDBPyConnection, result: NmeaResult, positions: pa.Table, statics: pa.Table
    ) -> Prepared:
        """:meth:`prepare` after the normaliser (see :func:`normalise_many`)."""
        positions = positions.take(pa.array(store_order(positions)))
        kept = positions["reason"].null_count
        positions = pa.concat_tables([positions.slice(0, kept), quote(positions.slice(kept), result)])
        return Prepared(
            result.quarantine,
            positions,
            quote(statics.filter(pc.is_valid(statics["reason"])), result),
            group_statics(con, statics.filter(pc.is_null(statics["reason"]))) if statics.num_rows else None,
            int(result.lines_read),
            int(result.physical_lines),
        )

    def add_prepared(self, chunk: Prepared, line_offset: int) -> None:
        """One prepared chunk, in file order: quarantine, de-duplicate against the store, stage."""
        self.tally.read += chunk.lines_read
        self.quarantine.add_decoded(chunk.quarantine, line_offset)
        kept = chunk.positions["reason"].null_count
        self.quarantine.add_rejected(chunk.positions.slice(kept), line_offset)
        self.positions.add(chunk.positions.slice(0, kept), ordered=True)
        self.quarantine.add_rejected(chunk.static_rejects, line_offset)
        if chunk.static_groups is not None:
            self.statics.add_groups(chunk.static_groups)


def _number_lines(table: pa.Table, offset: int, header_lines: int) -> pa.Table:
    """Set ``_line`` of a chunk of CSV/Parquet rows starting after row ``offset`` (1-based, header counted)."""
    n = table.num_rows
    lines = np.arange(offset + 1 + header_lines, offset + n + 1 + header_lines, dtype=np.int64)
    return table.set_column(table.schema.get_field_index("_line"), "_line", pa.array(lines))


def normalise_many(
    con: duckdb.DuckDBPyConnection, results: list[NmeaResult]
) -> list[tuple[pa.Table, pa.Table]]:
    """(positions, statics) of several decoded inputs, normalised in one query per kind of table.

    Why: a query has a fixed cost (~3-5 ms) that dominated the ingest of one-message files when paid per
    input. Tables with the same columns are stacked with an ``_input`` column and split back after.
    """
    positions = _normalised_stacked(con, [r.positions for r in results], positions_sql)
    statics = _normalised_stacked(con, [r.statics for r in results], statics_sql)
    return list(zip(positions, statics, strict=True))


def _normalised_stacked(
    con: duckdb.DuckDBPyConnection, tables: list[pa.Table], sql: Callable[[str, list[str], str], str]
) -> list[pa.Table]:
    """Each table through the normaliser; tables with equal schemas share one query."""
    out: list[pa.Table | None] = [None] * len(tables)
    groups: dict[pa.Schema, list[int]] = {}
    for i, t in enumerate(tables):
        groups.setdefault(t.schema, []).append(i)
    for members in groups.values():
        if len(members) == 1 or all(tables[i].num_rows == 0 for i in members):
            for i in members:
                out[i] = _normalised(con, tables[i], sql)
            continue
        stacked = pa.concat_tables(
            [
                tables[i].append_column("_input", pa.repeat(pa.scalar(k, pa.int32()), tables[i].num_rows))
                for k, i in enumerate(members)
            ]
        )
        done = _normalised(con, stacked, sql)
        which = done["_input"].to_numpy()
        order = np.argsort(which, kind="stable")
        done = done.drop_columns(["_input"]).take(pa.array(order))
        bounds = np.searchsorted(which[order], np.arange(len(members) + 1))
        for k, i in enumerate(members):
            out[i] = done.slice(int(bounds[k]), int(bounds[k + 1] - bounds[k]))
    return [t for t in out if t is not None]


def _normalised(
    con: duckdb.DuckDBPyConnection, decoded: pa.Table, sql: Callable[[str, list[str], str], str]
) -> pa.Table:
    """Decoded NMEA rows through the shared normaliser (``positions_sql`` or ``statics_sql``)."""
    text = _sql_text(sql, tuple(decoded.column_names))
    if decoded.num_rows == 0 and text in _EMPTY:  # no query for nothing (small inputs have few kinds of rows)
        return _EMPTY[text]
    con.register("c", decoded)
    try:
        out = con.sql(text).to_arrow_table()
    finally:
        con.unregister("c")
    if decoded.num_rows == 0:
        _EMPTY[text] = out
    return out


_EMPTY: dict[str, pa.Table] = {}  # the normaliser's empty result, per query


@functools.lru_cache(maxsize=16)
def _sql_text(sql: Callable[[str, list[str], str], str], columns: tuple[str, ...]) -> str:
    """The normaliser's query for decoded rows with ``columns`` (built once: ~1 ms of string work)."""
    return sql("c", list(columns), "_raw" if "_raw" in columns else "NULL")
