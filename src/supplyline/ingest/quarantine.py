"""Quarantine: every rejected record of one input, staged with its reason, detail and exact text.

Rows rejected on their values (by the normaliser) have no text at first; it is filled in at the end of the
input from the file itself (:meth:`Quarantine.fill_raw_lines`) or, for NMEA, from the decoded chunk
(:func:`quote`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.ingest.accounting import Tally
from supplyline.ingest.csv_records import RecordMap
from supplyline.ingest.inputs import Input
from supplyline.ingest.normalise import DETAIL_SQL, STATIC_DETAIL_SQL
from supplyline.ingest.staging import Staging
from supplyline.store import write_parquet

if TYPE_CHECKING:
    from pathlib import Path

    from supplyline.ingest.nmea import NmeaResult


def quote(rejected: pa.Table, result: NmeaResult) -> pa.Table:
    """``rejected`` (normalised rows the normaliser refused) with ``_raw`` = the text of each row's line."""
    if rejected.num_rows == 0:
        return rejected
    raw = result.line_text(rejected["_line"].to_numpy())
    return rejected.set_column(rejected.schema.get_field_index("_raw"), "_raw", raw)


class Quarantine:
    """One input's staged quarantine parts, and the per-reason counts in its tally."""

    def __init__(self, staging: Staging, tally: Tally):
        self.staging, self.tally = staging, tally
        self._parts: list[Path] = []
        self._unquoted = False  # a staged quarantine row has a line but no raw text yet

    def add_rejected(self, table: pa.Table, line_offset: int) -> None:
        """The normalised rows with a ``reason`` (positions or statics), weighed in their input lines."""
        if table["reason"].null_count == table.num_rows:
            return
        detail = DETAIL_SQL if "lat" in table.column_names else STATIC_DETAIL_SQL
        con = self.staging.con
        con.register("c", table)
        try:
            weights = con.execute(
                "SELECT reason, sum(_lines) FROM c WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall()
            if not weights:
                return
            q = con.sql(
                f"SELECT ? AS input_id, ? AS file, _line + ? AS line, _raw AS raw, reason, {detail} AS detail "
                "FROM c WHERE reason IS NOT NULL ORDER BY _line",
                params=[self.staging.input_id, self.staging.file, line_offset],
            ).to_arrow_table()
        finally:
            con.unregister("c")
        for reason, w in weights:
            self.tally.reasons[reason] += int(w)
        self._stage(q.cast(schema.QUARANTINE))

    def add_decoded(self, table: pa.Table, line_offset: int) -> None:
        """Decoder quarantine rows (already in QUARANTINE shape, lines relative to the chunk)."""
        if table.num_rows == 0:
            return
        line = pc.add(table["line"].cast(pa.int64()), line_offset)
        table = table.set_column(table.schema.get_field_index("line"), "line", line)
        input_id = pa.repeat(pa.scalar(self.staging.input_id, pa.string()), table.num_rows)
        table = table.set_column(table.schema.get_field_index("input_id"), "input_id", input_id)
        table = table.select(schema.QUARANTINE.names).cast(schema.QUARANTINE)
        for count in pc.value_counts(table["reason"]).to_pylist():
            self.tally.reasons[count["values"]] += count["counts"]
        self._stage(table)

    @property
    def staged(self) -> bool:
        """True once anything of the input is quarantined."""
        return bool(self._parts)

    def place_csv(self, records: RecordMap, rejects: list[tuple[int, str, str, str]]) -> None:
        """Put a CSV input's quarantine on physical lines and add the records DuckDB could not read.

        Rows staged so far carry ``line`` = row index + 2 (as if no record was refused or spanned lines);
        ``rejects`` are (DuckDB record number, text, detail, reason); ``records.bad`` are lines the scan
        quarantined (``unterminated_quote``). Each reject and bad line is one record read.
        """
        numbers = np.array([r[0] for r in rejects], np.int64)
        lines = records.record_lines(numbers)
        refused_rows = np.sort(records.row_index(lines))  # as row indices among all rows
        accepted_before = refused_rows - np.arange(refused_rows.size)
        for part in self._parts:
            t = pq.read_table(part)
            k = t["line"].to_numpy() - records.header - 1  # index among the rows DuckDB returned
            row = k + np.searchsorted(accepted_before, k, side="right")
            fixed = records.row_lines(row)
            t = t.set_column(t.schema.get_field_index("line"), "line", pa.array(fixed, pa.int64()))
            write_parquet(t, part)
        refused = [(int(n), r[1], r[3], r[2]) for n, r in zip(lines.tolist(), rejects, strict=True)]
        refused += [(line, text, reason, detail) for line, reason, text, detail in records.bad]
        if refused:
            self._add_lines(sorted(refused))

    def _add_lines(self, rows: list[tuple[int, str, str, str]]) -> None:
        """Whole records refused before typing: (line, text, reason, detail); each is one record read."""
        self.tally.read += len(rows)
        for _, _, reason, _ in rows:
            self.tally.reasons[reason] += 1
        n = len(rows)
        table = pa.table(
            {
                "input_id": [self.staging.input_id] * n,
                "file": [self.staging.file] * n,
                "line": [r[0] for r in rows],
                "raw": [r[1] for r in rows],
                "reason": [r[2] for r in rows],
                "detail": [r[3] for r in rows],
            },
            schema=schema.QUARANTINE,
        )
        self._stage(table)

    def fill_raw_lines(self, inp: Input) -> None:
        """Put the exact text of each quarantined row that has none (rows rejected on their values)."""
        if not self._unquoted:
            return
        wanted = self._unquoted_lines()
        if wanted.size == 0:
            return
        text = inp.lines(wanted)
        if not text:
            return
        keys = np.fromiter(text.keys(), np.int64, len(text))
        order = np.argsort(keys)
        keys = keys[order]
        values = pa.array(list(text.values()), pa.string()).take(pa.array(order))
        for part in self._parts:
            t = pq.read_table(part)
            if t["raw"].null_count == 0:
                continue
            line = t["line"].fill_null(-1).to_numpy()
            pos = np.clip(np.searchsorted(keys, line), 0, keys.size - 1)
            found = pa.array(keys[pos] == line)
            raw = pc.if_else(pc.and_(pc.is_null(t["raw"]), found), values.take(pa.array(pos)), t["raw"])
            t = t.set_column(t.schema.get_field_index("raw"), "raw", raw)
            write_parquet(t, part)

    def _unquoted_lines(self) -> np.ndarray:
        """Line numbers of the staged rows that have a line but no text."""
        missing = []
        for part in self._parts:
            t = pq.read_table(part, columns=["line", "raw"])
            lines = t.filter(pc.and_(pc.is_null(t["raw"]), pc.is_valid(t["line"])))["line"]
            missing.append(lines.to_numpy())
        return np.concatenate(missing) if missing else np.zeros(0, np.int64)

    def _stage(self, table: pa.Table) -> None:
        if table["raw"].null_count:
            self._unquoted = self._unquoted or bool(
                pc.any(pc.and_(pc.is_null(table["raw"]), pc.is_valid(table["line"]))).as_py()
            )
        self._parts.append(self.staging.put(f"quarantine/{self.staging.next_part()}", table))
