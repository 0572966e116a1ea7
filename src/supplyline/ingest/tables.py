"""Reading CSV and Parquet inputs through DuckDB: typed, normalised and streamed in file order, chunk by chunk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.errors import FormatError, InputError
from supplyline.ingest._sql import sql_path, sql_str
from supplyline.ingest.csv_formats import (
    TARGETS,
    CsvFormat,
    csv_types,
    match_header,
    read_type,
    resolve,
    surrogate_sql,
    text_id_sql,
    typed_select,
)
from supplyline.ingest.detect_format import csv_header
from supplyline.ingest.inputs import Input
from supplyline.ingest.normalise import positions_sql, statics_sql
from supplyline.ingest.writer import InputWriter
from supplyline.schema import VESSEL_IDS
from supplyline.store import Transaction

VESSEL_IDS_TABLE = "vessel_ids"
"""Derived table: text vessel ids and their surrogate integer ids (schema ``schema.VESSEL_IDS``)."""

# why DuckDB refused a CSV line: one row per line, CAST errors naming their column
_REJECTS_SQL = (
    "SELECT line, any_value(csv_line), string_agg(DISTINCT CASE WHEN error_type = 'CAST' "
    "THEN 'CAST ' || column_name ELSE error_type END, '; ') FROM rejects GROUP BY line ORDER BY line"
)


@dataclass(frozen=True)
class _Source:
    """The SQL relation an input is read through, with the layout its columns were resolved to."""

    relation: str
    header: list[str]
    layout: CsvFormat
    is_parquet: bool

    @property
    def header_lines(self) -> int:
        return 0 if self.is_parquet else 1


def read_table(
    inp: Input,
    fmt: str,
    sample: bytes,
    writer: InputWriter,
    txn: Transaction,
    mapping: dict[str, str] | None,
    ts_format: str | None,
    chunk_rows: int,
) -> None:
    """CSV / Parquet through DuckDB: typed, normalised and streamed in file order, chunk by chunk."""
    path = inp.materialise(txn.staging / "input.tmp")
    if fmt == "parquet" or sample.startswith(b"PAR1"):
        source = _parquet_source(writer.con, path, mapping, ts_format)
    else:
        source = _csv_source(inp, path, fmt, sample, mapping, ts_format)
    typed, raw = typed_select(source.layout, source.relation, source.header, native=not source.is_parquet)
    have = {*TARGETS, "msg_type", "source", "_parse_error"}
    if source.layout.statics_only:
        sql, add = statics_sql(f"({typed})", have, raw), writer.add_static_rows
    else:
        sql, add = positions_sql(f"({typed})", have, raw, statics=True), writer.add_rows
    reader_con = writer.con.cursor()
    try:
        reader = reader_con.sql(sql).to_arrow_reader(min(chunk_rows, 1 << 17))
        rows = 0
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= chunk_rows:
                rows = add(pa.Table.from_batches(pending), rows, source.header_lines)
                pending, pending_rows = [], 0
                writer.tick(rows)
        if pending:
            rows = add(pa.Table.from_batches(pending), rows, source.header_lines)
        writer.tally.read += rows
        if not source.is_parquet:
            writer.add_rejects(reader_con.execute(_REJECTS_SQL).fetchall())
            writer.fill_raw_lines(inp)
    finally:
        reader_con.close()
    writer.file_format = source.layout.name
    if source.layout.text_id:
        _stage_vessel_ids(writer, txn, source)


def _stage_vessel_ids(writer: InputWriter, txn: Transaction, source: _Source) -> None:
    """The input's text vessel ids and their surrogates as a part of ``vessel_ids`` (one per input); two
    texts with one surrogate (odds ~ n^2 / 2e15) are refused rather than merged into one vessel."""
    text = text_id_sql(source.layout.columns["mmsi"])
    con = writer.con.cursor()
    try:
        ids = con.sql(
            f"SELECT DISTINCT {surrogate_sql(text)} AS vessel_id, {text} AS source_id "
            f"FROM {source.relation} WHERE {text} IS NOT NULL ORDER BY vessel_id, source_id"
        ).to_arrow_table()
    finally:
        con.close()
    if pc.count_distinct(ids["vessel_id"]).as_py() < ids.num_rows:
        raise InputError("two text vessel ids map to the same surrogate id; rename one of them")
    input_id = pa.array([writer.input_id] * ids.num_rows, pa.string())
    txn.put_part(VESSEL_IDS_TABLE, writer.input_id, ids.append_column("input_id", input_id).cast(VESSEL_IDS))


def _parquet_source(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: dict[str, str] | None, ts_format: str | None
) -> _Source:
    """A Parquet file read with every column as text (the shared typed select parses them)."""
    header = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    name = "mapped" if mapping else (match_header(header) or "mapped")
    layout = resolve(name, header, mapping, ts_format)
    as_text = ", ".join(f'CAST("{h}" AS VARCHAR) AS "{h}"' for h in header)
    return _Source(f"(SELECT {as_text} FROM read_parquet('{sql_path(path)}'))", header, layout, True)


def _csv_source(
    inp: Input, path: Path, fmt: str, sample: bytes, mapping: dict[str, str] | None, ts_format: str | None
) -> _Source:
    """A CSV file read natively by DuckDB with typed columns; lines it cannot split land in ``rejects``."""
    header = csv_header(sample)
    if header is None:
        raise FormatError(f"{inp.name} has no CSV header row; cannot read it as {fmt}")
    layout = resolve(fmt, header, mapping, ts_format)
    comp = "gzip" if inp.compression == "gz" else "none"
    types = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in csv_types(layout, header).items())
    tsf = (
        f", timestampformat={sql_str(layout.ts_format)}"
        if layout.ts_format and read_type(layout, "ts") == "TIMESTAMP"
        else ""
    )
    relation = (
        f"read_csv({sql_str(str(path))}, header=true, types={{{types}}}{tsf}, ignore_errors=true, "
        f"store_rejects=true, rejects_table='rejects', rejects_scan='reject_scans', compression='{comp}')"
    )
    return _Source(relation, header, layout, False)
