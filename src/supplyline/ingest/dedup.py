"""De-duplicating positions: the store's row order, repeats within a chunk, against the store, across chunks.

An exact duplicate is a row equal on :data:`~supplyline.ingest.normalise.POSITION_KEY` (null equals null)
to one stored before it; the first in file order is kept and the others count as duplicates, weighed in
the input lines they used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.ingest._sql import sql_list
from supplyline.ingest.accounting import Tally
from supplyline.ingest.normalise import POSITION_KEY
from supplyline.ingest.staging import DICTIONARY, Staging, days_of
from supplyline.store import write_parquet

FINGERPRINT_ROWS = 32_000_000  # positions of one input whose key hashes (8 B each) are held to skip re-reads
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def store_order(table: pa.Table) -> np.ndarray:
    """Row order positions are staged in: kept rows (no ``reason``) by UTC day, mmsi, ts, then a 64-bit hash
    of the rest of the position key (so exact repeats are adjacent) and input line (the first in file order
    first); the rejected rows after them.

    A NumPy ``lexsort`` by (day and mmsi, ts); only the runs of rows tied on both (repeats, or reports in
    the same microsecond) are then sorted by hash and line: on 25k rows ~1.5 ms, against ~4 ms for a
    four-key ``lexsort`` and ~12 ms for the same ORDER BY in DuckDB.
    """
    us = table["ts"].cast(pa.int64()).fill_null(0).to_numpy()
    mmsi = table["mmsi"].cast(pa.int64()).fill_null(0).to_numpy()
    rejected = table["reason"].is_valid().to_numpy(zero_copy_only=False)
    # day and mmsi (kept rows: 1 <= mmsi < 10^9) in one key, rejected rows after all others
    outer = np.where(rejected, np.iinfo(np.int64).max, us // 86_400_000_000 * 1_000_000_000 + mmsi)
    order = np.lexsort((us, outer))
    o, u = outer[order], us[order]
    tie = (o[1:] == o[:-1]) & (u[1:] == u[:-1])
    if not tie.any():
        return order
    rest = [c for c in POSITION_KEY if c not in ("mmsi", "ts")]
    line = table["_line"].to_numpy()
    at = np.flatnonzero(np.r_[tie, False] | np.r_[False, tie])  # tied rows' places in ``order``
    if at.size > order.size // 8:  # many repeats (e.g. several receivers): one sort of all rows is cheaper
        return np.lexsort((line, mix(table, rest), us, outer))
    run = np.cumsum(np.r_[True, ~tie[at[:-1]]])  # each run of ties is contiguous in ``order``
    rows = order[at]
    order[at] = rows[np.lexsort((line[rows], mix(table.select(rest).take(pa.array(rows)), rest), run))]
    return order


def mix(table: pa.Table, cols: list[str] | tuple[str, ...]) -> np.ndarray:
    """A 64-bit hash per row of ``cols`` (numbers or times as float64, exact below 2^53; null hashes as NaN,
    -0.0 as 0.0): equal rows, equal hash. Over the whole position key it is the rows' fingerprint."""
    h = np.zeros(table.num_rows, np.uint64)
    for c in cols:
        col = table[c]
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        values = col.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False) + 0.0
        h = (h ^ values.view(np.uint64)) * _GOLDEN  # a multiplicative mix per value
    return h


def repeats(rows: pa.Table, cols: tuple[str, ...]) -> np.ndarray:
    """True where a row equals the row before it on every column in ``cols`` (null equals null)."""
    n = rows.num_rows
    same = np.ones(max(n - 1, 0), bool)
    for c in cols:
        col = rows[c]
        if col.null_count:  # nulls become NaN; NaN never comes from the data (the normaliser nulls it)
            a = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
            x, y = a[1:], a[:-1]
            same &= (x == y) | (np.isnan(x) & np.isnan(y))
        else:
            a = col.to_numpy()
            same &= a[1:] == a[:-1]
    return np.r_[False, same] if n else np.zeros(0, bool)


class PositionStager:
    """Kept position rows of one input -> de-duplicated, sorted day files in its transaction, with counts."""

    def __init__(self, staging: Staging, tally: Tally):
        self.staging, self.tally = staging, tally
        # positions this input staged, per day: (file, rows weighing other than 1 line, their weights)
        self._own: dict[str, list[tuple[Path, np.ndarray, np.ndarray]]] = {}
        # ... and their key fingerprints (None once FINGERPRINT_ROWS are held: then every day is checked)
        self._fingerprints: dict[str, list[np.ndarray | None]] = {}
        self._fingerprinted = 0

    def add(self, table: pa.Table, ordered: bool = False) -> tuple[pa.Table, np.ndarray] | None:
        """Kept rows -> de-duplicated positions sorted by (day, mmsi, ts), staged one file per day.

        Rows are put in :func:`store_order`, which makes exact duplicates adjacent, so they are found by
        comparing each row with the one before (vectorised); the first in file order is kept. Rows equal to
        one the store already holds for that day are found with a semi join; repeats of rows this input
        staged in earlier chunks are removed in one pass per day at the end (:meth:`dedup_across_chunks`).
        ``ordered``: ``table`` holds only kept rows, already in that order. Returns the kept rows in store
        order (key columns and ``day``) and their row numbers in ``table`` (for the static runs of CSV rows);
        None when no row is kept.
        """
        kept = table["reason"].null_count
        if kept == 0:
            return None
        if ordered:
            order = np.arange(kept)
            rows = table.select([*POSITION_KEY, "source", "_lines"])
        else:
            order = store_order(table)[:kept]
            rows = table.select([*POSITION_KEY, "source", "_lines"]).take(pa.array(order))
        rows = rows.append_column("day", pc.cast(rows["ts"], pa.date32()))
        dup = repeats(rows, POSITION_KEY)
        dup |= self._stored_already(rows)  # own chunks: at the end
        weights = rows["_lines"].to_numpy()
        kept_weight = int(weights[~dup].sum())
        self.tally.kept += kept_weight
        self.tally.duplicate += int(weights.sum()) - kept_weight
        self._stage(rows.filter(pa.array(~dup)))
        return rows, order

    def _stage(self, out: pa.Table) -> None:
        """Stage unique rows by day, remembering which weigh other than one line and their fingerprints."""
        self.tally.positions += out.num_rows
        out = self.staging.with_input_id(out)
        weights = out["_lines"].to_numpy(zero_copy_only=False)
        self._fingerprinted += out.num_rows
        prints = mix(out, POSITION_KEY) if self._fingerprinted <= FINGERPRINT_ROWS else None
        for day, path, start, end in self.staging.by_day("positions", out, schema.POSITIONS):
            heavy = np.flatnonzero(weights[start:end] != 1)
            self._own.setdefault(day, []).append((path, heavy, weights[start:end][heavy]))
            self._fingerprints.setdefault(day, []).append(None if prints is None else prints[start:end])

    def _stored_already(self, rows: pa.Table) -> np.ndarray:
        """True for rows the store already holds on their day.

        Only rows whose key fingerprint the store's day may hold (the run's :class:`StorePrints`) are
        checked exactly, against that day's files; without prints every row is.
        """
        found = np.zeros(rows.num_rows, np.bool_)
        prints = self.staging.prints
        if prints is None:
            maybe = np.ones(rows.num_rows, np.bool_)
        else:
            numbers = rows["day"].cast(pa.int32()).to_numpy()
            names = {int(d): str(np.datetime64(int(d), "D")) for d in np.unique(numbers)}
            maybe = prints.may_hold(numbers, names, mix(rows, POSITION_KEY))
        if not maybe.any():
            return found
        candidates = rows if maybe.all() else rows.filter(pa.array(maybe))
        stored = self.staging.stored("positions", days_of(candidates))
        if stored:
            found[np.flatnonzero(maybe)[self._in_store(candidates, stored)]] = True
        return found

    def committed_prints(self) -> dict[str, np.ndarray | None]:
        """Fingerprints of the positions this input staged, per day (None for a day when not held)."""
        out: dict[str, np.ndarray | None] = {}
        for day, prints in self._fingerprints.items():
            held = [p for p in prints if p is not None]
            out[day] = np.concatenate(held) if len(held) == len(prints) else None
        return out

    def _in_store(self, rows: pa.Table, files: list[str]) -> np.ndarray:
        """Row indices of ``rows`` already present in ``files`` (equal on the position key)."""
        con = self.staging.con
        key = POSITION_KEY
        con.register("r", rows.append_column("_i", pa.array(np.arange(rows.num_rows))).select([*key, "_i"]))
        try:
            cond = " AND ".join(
                f"r.{k} = e.{k}" if k in ("mmsi", "ts", "lat", "lon") else f"r.{k} IS NOT DISTINCT FROM e.{k}"
                for k in key
            )
            stored = f"SELECT {', '.join(key)} FROM read_parquet({sql_list(files)})"
            lo_hi = "mmsi BETWEEN (SELECT min(mmsi) FROM r) AND (SELECT max(mmsi) FROM r)"
            found = con.sql(f"SELECT r._i FROM r SEMI JOIN ({stored} WHERE {lo_hi}) e ON {cond}").fetchnumpy()
        finally:
            con.unregister("r")
        return np.asarray(found["_i"], np.int64)

    def dedup_across_chunks(self) -> None:
        """Drop positions repeated in a later chunk of this input: one pass per day staged by >1 chunk.

        Chunks are checked against the store as they come, but not against each other (that would read
        everything staged so far for each chunk: quadratic in the chunk count for a one-day file). Here
        each such day is read once; a row equal (on the position key, null equals null) to one in an earlier
        chunk is removed from its file and counted as a duplicate, weighed in its input lines. A day whose
        chunks share no key fingerprint (:func:`mix` of the position key, held in memory) cannot hold a
        repeat and is not read at all, which is the usual case (a log does not repeat itself).
        """
        for day, parts in self._own.items():
            if len(parts) < 2 or not self._may_repeat(day):
                continue
            files = [str(p) for p, _, _ in parts]  # in staging order = file order
            which, rows = self._later_repeats(files)
            for i in np.unique(which).tolist():
                path, heavy, weight = parts[i]
                self._drop_rows(path, heavy, weight, rows[which == i])

    def _later_repeats(self, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(file index, row number) of every row of ``files`` equal to one in an earlier file or row."""
        key = ", ".join(POSITION_KEY)
        found = self.staging.con.sql(
            f"SELECT file_index, rn FROM (SELECT file_index, rn, row_number() OVER (PARTITION BY {key} "
            f"ORDER BY file_index, rn) AS k FROM (SELECT *, list_position({sql_list(files)}, filename) "
            f"AS file_index, file_row_number AS rn FROM read_parquet({sql_list(files)}, filename=true, "
            "file_row_number=true))) WHERE k > 1"
        ).fetchnumpy()
        return np.asarray(found["file_index"], np.int64) - 1, np.asarray(found["rn"], np.int64)

    def _drop_rows(self, path: Path, heavy: np.ndarray, weight: np.ndarray, drop: np.ndarray) -> None:
        """Remove rows ``drop`` from a staged file; they become duplicates, weighed in input lines."""
        table = pq.read_table(path)
        mask = np.ones(table.num_rows, np.bool_)
        mask[drop] = False
        lines = drop.size + int(weight[np.isin(heavy, drop)].sum() - np.isin(heavy, drop).sum())
        write_parquet(table.filter(pa.array(mask)), path, DICTIONARY)
        self.tally.positions -= drop.size
        self.tally.kept -= lines
        self.tally.duplicate += lines

    def _may_repeat(self, day: str) -> bool:
        """False when no two of ``day``'s staged chunks share a key fingerprint, so none repeats another."""
        prints = self._fingerprints.get(day, [])
        if any(p is None for p in prints):
            return True
        held = np.sort(np.concatenate([p for p in prints if p is not None]))
        return bool((held[1:] == held[:-1]).any())
