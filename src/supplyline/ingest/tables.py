"""Reading CSV and Parquet inputs through DuckDB: typed, normalised and streamed in file order, chunk by chunk."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace
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
from supplyline.ingest.csv_records import (
    MAX_RECORD,
    QUOTE_TEXT,
    may_have_long_lines,
    scan_records,
    write_without_lines,
)
from supplyline.ingest.detect_format import csv_dialect
from supplyline.ingest.inputs import QUOTE_BYTES, Input
from supplyline.ingest.normalise import positions_sql, statics_sql
from supplyline.ingest.writer import InputWriter
from supplyline.schema import VESSEL_IDS
from supplyline.store import Transaction

VESSEL_IDS_TABLE = "vessel_ids"
"""Derived table: text vessel ids and their surrogate integer ids (schema ``schema.VESSEL_IDS``)."""

# why DuckDB refused a CSV record: one row per record (numbered as DuckDB does: header 1, a multi-line record
# counts once, blank lines count), CAST errors naming their column; an overlong line is ``line_too_long``
_REJECTS_SQL = (
    "SELECT line, left(any_value(csv_line), CASE WHEN bool_or(error_type = 'LINE SIZE OVER MAXIMUM') "
    f"THEN {QUOTE_TEXT} ELSE {QUOTE_BYTES} END), "
    "string_agg(DISTINCT CASE WHEN error_type = 'CAST' THEN 'CAST ' || column_name "
    "WHEN error_type = 'LINE SIZE OVER MAXIMUM' THEN 'line over ' || "
    f"{MAX_RECORD} || ' bytes' ELSE error_type END, '; '), "
    "CASE WHEN bool_or(error_type = 'LINE SIZE OVER MAXIMUM') THEN 'line_too_long' ELSE 'unparsable' END "
    "FROM rejects GROUP BY line ORDER BY line"
)


@dataclass(frozen=True)
class _Source:
    """The SQL relation an input is read through, with the layout its columns were resolved to."""

    relation: str
    header: list[str]
    layout: CsvFormat
    is_parquet: bool
    delimiter: str = ","

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
    """CSV / Parquet through DuckDB: typed, normalised and streamed in file order, chunk by chunk.

    CSV is RFC 4180 (a quoted value may hold the delimiter, ``""`` and newlines). When anything of a CSV
    input is quarantined, one more pass over its bytes (:func:`~.csv_records.scan_records`) puts each
    record on its physical line; if that pass finds lines opening a quote no record closes, DuckDB would
    have read the rest of the file as one value, so the input is read again from a copy with those lines
    blanked (they are quarantined as ``unterminated_quote``).
    """
    path = inp.materialise(txn.staging / "input.tmp")
    if fmt == "parquet" or sample.startswith(b"PAR1"):
        source = _parquet_source(writer.con, path, mapping, ts_format)
        _stream(source, writer, chunk_rows)
    else:
        source = _csv_source(inp, path, fmt, sample, mapping, ts_format)
        source = _read_csv(inp, source, writer, txn, chunk_rows)
    writer.file_format = source.layout.name
    if source.layout.text_id:
        _stage_vessel_ids(writer, txn, source)


def _read_csv(inp: Input, source: _Source, writer: InputWriter, txn: Transaction, chunk_rows: int) -> _Source:
    """A CSV input: streamed, then (if anything was refused) its records placed on their lines. Returns
    the source its rows came from (a repaired copy, if lines had to be taken out)."""
    mark = len(txn.moves)
    long_lines = (
        writer.run.decoders.submit(may_have_long_lines, inp.blocks())
        if writer.run is not None
        else _done(may_have_long_lines(inp.blocks()))
    )  # checked while DuckDB reads (the decoder threads are idle during a CSV input)
    try:
        rejects = _stream(source, writer, chunk_rows)
    finally:
        suspect = long_lines.result()
    if not suspect and not rejects and not writer.quarantine.staged:
        return source
    records = scan_records(inp.blocks(), len(source.header), source.delimiter)
    if records.bad:  # DuckDB swallows what follows an unterminated quote and drops lines over 32 MB
        writer.reset()
        del txn.moves[mark:]
        repaired = txn.staging / "repaired.csv"
        write_without_lines(inp.blocks(), [b[0] for b in records.bad], repaired)
        source = replace(source, relation=_csv_relation(repaired, source, "none"))
        rejects = _stream(source, writer, chunk_rows)
    writer.place_csv_records(records, rejects)
    writer.fill_raw_lines(inp)
    return source


def _done(value: bool) -> Future[bool]:
    future: Future[bool] = Future()
    future.set_result(value)
    return future


def _stream(source: _Source, writer: InputWriter, chunk_rows: int) -> list[tuple[int, str, str, str]]:
    """Every row of ``source`` typed, normalised and handed to the writer in chunks; returns DuckDB's CSV
    rejects (record number, text, detail, reason)."""
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
        if source.is_parquet:
            return []
        return [
            (int(a), str(b), str(c), str(d)) for a, b, c, d in reader_con.execute(_REJECTS_SQL).fetchall()
        ]
    finally:
        reader_con.close()


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
    """A CSV file read natively by DuckDB with typed columns; records it cannot read land in ``rejects``."""
    dialect = csv_dialect(sample)
    if dialect is None:
        raise FormatError(f"{inp.name} has no CSV header row; cannot read it as {fmt}")
    header = unique_names(dialect[0])
    layout = resolve(fmt, header, mapping, ts_format)
    source = _Source("", header, layout, False, dialect[1])
    return replace(
        source, relation=_csv_relation(path, source, "gzip" if inp.compression == "gz" else "none")
    )


def _csv_relation(path: Path, source: _Source, compression: str) -> str:
    """``read_csv`` of ``path`` as RFC 4180 with the header's columns typed (nothing sniffed: a sniffer
    guesses the quoting from a sample and fails on a long first line), bad records to ``rejects``."""
    layout = source.layout
    types = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in csv_types(layout, source.header).items())
    tsf = (
        f", timestampformat={sql_str(layout.ts_format)}"
        if layout.ts_format and read_type(layout, "ts") == "TIMESTAMP"
        else ""
    )
    return (
        f"read_csv({sql_str(str(path))}, header=true, columns={{{types}}}{tsf}, auto_detect=false, "
        f"delim={sql_str(source.delimiter)}, quote='\"', escape='\"', max_line_size={MAX_RECORD}, "
        "ignore_errors=true, store_rejects=true, rejects_table='rejects', rejects_scan='reject_scans', "
        f"compression='{compression}')"
    )


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique as DuckDB does (a second ``x`` becomes ``x_1``), blanks named ``column<i>``."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(header):
        base = name or f"column{i}"
        candidate, k = base, 0
        while candidate in seen:
            k += 1
            candidate = f"{base}_{k}"
        seen.add(candidate)
        out.append(candidate)
    return out
