"""Ingest orchestration: inputs -> decode/read -> normalise -> de-duplicate -> store, one transaction per input.

Guarantees (see docs/ingest in the issue):

* **Nothing lost silently.** For every input, ``read = kept + duplicate + quarantined`` exactly. Units are the
  input's records: physical lines for NMEA (a two-line message weighs 2), data rows for CSV/Parquet.
* **Safe to repeat.** An input whose content hash is in the manifest is skipped; an exact duplicate report
  (same MMSI, time, position, SOG, COG, heading, status, message type) is stored once, within an input and
  against what the store already holds for the same days.
* **Safe to interrupt.** Each input is one store transaction (its positions, statics, quarantine and manifest
  row): a SIGKILL leaves nothing of it visible, and the next run ingests it again from scratch.
* **Bounded memory.** Inputs are processed in chunks (``chunk_rows`` rows / ``chunk_bytes`` of NMEA); each
  chunk is normalised and staged as Parquet before the next is read. DuckDB spills to the staging folder
  beyond ``memory_limit``.

Layout of what is written: ``positions/day=YYYY-MM-DD/part-<input_id>-<chunk>.parquet`` (sorted by mmsi, ts),
``statics/day=.../part-...`` (one row per run of identical static reports), ``quarantine/part-<input_id>-<chunk>``
and ``manifest/<input_id>.parquet``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.errors import FormatError, InputError, SupplylineError
from supplyline.ingest import readers
from supplyline.ingest.csv_formats import (
    STATIC_FIELDS,
    TARGETS,
    csv_types,
    match_header,
    read_type,
    resolve,
    typed_select,
)
from supplyline.ingest.detect_format import csv_header, detect
from supplyline.ingest.normalise import (
    DETAIL_SQL,
    POSITION_KEY,
    STATIC_DETAIL_SQL,
    positions_sql,
    statics_sql,
)
from supplyline.store import Store, Transaction, write_parquet

if TYPE_CHECKING:
    from supplyline.ingest.nmea import NmeaResult

FORMATS = ("nmea", "noaa", "dma", "points", "canonical", "mapped", "parquet")
CHUNK_ROWS = 1_000_000
CHUNK_BYTES = 64 << 20  # NMEA bytes per decoder call (~800k lines)
MIN_PIECES = 4  # smaller NMEA inputs are cut into about this many chunks, so decoding and writing overlap
MIN_CHUNK_BYTES = 2 << 20  # ... but no piece smaller than this (each chunk costs ~35 ms of fixed work)
FINGERPRINT_ROWS = 32_000_000  # positions of one input whose key hashes (8 B each) are held to skip re-reads

# low-cardinality columns worth dictionary-encoding in position / static files
_DICTIONARY = [
    "source",
    "input_id",
    "nav_status",
    "msg_type",
    "ship_type",
    "name",
    "callsign",
    "destination",
    "eta",
]


@dataclass
class FileResult:
    """What happened to one input; the counts are in the input's records (lines or rows)."""

    path: str
    status: str = "ingested"  # ingested | skipped | error
    format: str | None = None
    input_id: str | None = None
    read: int = 0
    kept: int = 0
    duplicate: int = 0
    quarantined: int = 0
    positions: int = 0
    statics: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def clear_counts(self) -> None:
        """Nothing of this input was stored: no counts."""
        self.read = self.kept = self.duplicate = self.quarantined = self.positions = self.statics = 0
        self.reasons = {}


@dataclass
class IngestReport:
    """Per-input results of one ``ingest`` call, with totals."""

    files: list[FileResult]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "kept", "duplicate", "quarantined", "positions", "statics")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}

    @property
    def reasons(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return dict(total)

    @property
    def exit_code(self) -> int:
        return max((f.exit_code for f in self.files), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "totals": self.totals, "reasons": self.reasons}


Progress = Callable[[str, int], None]  # (description, bytes done for this input) -> None


def ingest(
    store: Store,
    paths: list[str] | list[Path],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    ts_format: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    chunk_bytes: int = CHUNK_BYTES,
    memory_limit: str = "2GB",
    on_progress: Progress | None = None,
) -> IngestReport:
    """Ingest every input under ``paths`` into ``store``; per-input problems are reported, not raised.

    ``fmt`` forces a format (else detected from content); ``mapping`` (target -> column) reads any CSV or
    Parquet; ``ts_format`` is a strptime format (or ``epoch`` / ``epoch_ms``) for the mapped time column.
    """
    if fmt is not None and fmt not in FORMATS:
        raise FormatError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    inputs = readers.expand(paths)
    results: list[FileResult] = []
    with store.lock():
        for inp in inputs:
            res = FileResult(path=inp.name)
            if inp.skip:
                res.status, res.message = "skipped", inp.skip
                results.append(res)
                continue
            try:
                _ingest_one(
                    store,
                    inp,
                    res,
                    fmt,
                    mapping,
                    ts_format,
                    chunk_rows,
                    chunk_bytes,
                    memory_limit,
                    on_progress,
                )
            except SupplylineError as exc:
                res.status, res.message, res.exit_code = "error", str(exc), exc.exit_code
                res.clear_counts()
            if on_progress is not None:
                on_progress(inp.name, readers.size(inp) if inp.path.exists() else 0)
            results.append(res)
    return IngestReport(results)


def _connect(memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB for one input: UTC, bounded memory (it spills to ``spill``, in the store's staging area)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{_sql_path(spill)}'")
    return con


class _AlreadyIngested(Exception):
    """Raised inside an input's transaction once its content hash turns out to be in the manifest."""


def _ingest_one(
    store: Store,
    inp: readers.Input,
    res: FileResult,
    fmt: str | None,
    mapping: dict[str, str] | None,
    ts_format: str | None,
    chunk_rows: int,
    chunk_bytes: int,
    memory_limit: str,
    on_progress: Progress | None = None,
) -> None:
    # hashlib releases the GIL: the content hash runs while DuckDB starts (~15 ms) and the first chunks are
    # read and decoded; the writer asks for it (and checks the manifest) before it stages anything
    spill = store.root / "_staging" / f"duckdb-{uuid.uuid4().hex}"  # removed after the input
    with ThreadPoolExecutor(2) as pool:
        hashing = pool.submit(readers.sha256, inp)
        connecting = pool.submit(_connect, memory_limit, spill)
        try:
            sample = readers.head(inp)
            if fmt is None:
                fmt = "mapped" if mapping and not sample.startswith(b"PAR1") else detect(sample, inp.name)
            res.format = fmt
            with store.transaction() as txn:
                writer = _Writer(store, txn, connecting, hashing, inp.name)
                writer.on_progress = on_progress
                if fmt == "nmea":
                    _read_nmea(inp, writer, chunk_bytes)
                else:
                    _read_table(inp, fmt, sample, writer, txn, mapping, ts_format, chunk_rows)
                writer.finish(res)
                res.input_id = writer.input_id
                manifest = pa.table(
                    {
                        "input_id": [writer.input_id],
                        "sha256": [hashing.result()],
                        "path": [inp.name],
                        "format": [res.format or fmt],
                        "bytes": [readers.size(inp)],
                        "read": [res.read],
                        "kept": [res.kept],
                        "duplicate": [res.duplicate],
                        "quarantined": [res.quarantined],
                        "positions": [res.positions],
                        "statics": [res.statics],
                        "synthetic": ["synthetic" in inp.name.lower()],
                        "ingested_at": [dt.datetime.now(dt.UTC)],
                    },
                    schema=schema.MANIFEST,
                )
                txn.put(f"manifest/{writer.input_id}.parquet", manifest)
        except _AlreadyIngested as exc:
            res.clear_counts()
            res.input_id = str(exc)
            res.status = "skipped"
            res.message = "already ingested (same content hash in the manifest)"
        except duckdb.Error as exc:
            raise InputError(
                f"{inp.name}: cannot be read ({str(exc).splitlines()[0]}); nothing from it was stored"
            ) from exc
        finally:
            with suppress(duckdb.Error):
                connecting.result().close()
            shutil.rmtree(spill, ignore_errors=True)


# --- readers ----------------------------------------------------------------------------------------------


def _read_nmea(inp: readers.Input, writer: _Writer, chunk_bytes: int) -> None:
    """Decode chunks two at a time while a third thread normalises, sorts and stages them in file order.

    The decoder is NumPy, whose whole-array steps release the GIL, so two decoder threads use both cores
    (measured: one 12 MB file as two halves in two threads, 0.12-0.16 s against 0.20 s serial). What
    depends on the chunk alone (normalising, sorting, grouping static reports: DuckDB, which releases the
    GIL) runs in the decoder threads too, so the writer, the one part that must go in file order, is short. Inputs of a few
    chunks' size are cut into about :data:`MIN_PIECES` pieces so that this overlap happens for them as well.
    At most three chunks are in memory (two decoding, one writing). The writer sees chunks in file order,
    so line numbers and de-duplication are as in a sequential run.
    """
    from supplyline.ingest.nmea import decode_nmea  # the decoder is another module's job

    def decode(data: bytes) -> _Prepared:
        # input_id is filled in by the writer (the content hash may still be running)
        result = decode_nmea(data, file=writer.file, input_id="", source_default="nmea")
        con = writer.con.cursor()  # a connection of this thread's own to the same DuckDB
        try:
            return writer.prepare(con, result)
        finally:
            con.close()

    def write(chunk: _Prepared, line_offset: int, lines_after: int) -> None:
        writer.add_prepared(chunk, line_offset)
        writer.tick(lines_after)

    piece = max(min(chunk_bytes, MIN_CHUNK_BYTES), min(chunk_bytes, -(-readers.size(inp) // MIN_PIECES)))
    decoding: deque[Future[_Prepared]] = deque()
    pending: Future[None] | None = None
    line_offset = 0

    def hand_over() -> None:
        """The oldest decoded chunk goes to the writer (after the writer has finished the one before)."""
        nonlocal pending, line_offset
        result = decoding.popleft().result()
        if pending is not None:
            pending.result()  # the writer's errors surface here, in order
        lines = result.physical_lines
        pending = writing.submit(write, result, line_offset, line_offset + lines)
        line_offset += lines

    with ThreadPoolExecutor(2) as decoders, ThreadPoolExecutor(1) as writing:
        try:
            for data in _nmea_chunks(inp, piece):
                decoding.append(decoders.submit(decode, data))
                if len(decoding) == 2:
                    hand_over()
            while decoding:
                hand_over()
        finally:
            for fut in decoding:
                fut.cancel()
            if pending is not None:
                pending.result()
    # messages the normaliser rejects get their text when the decoder says where they are (a _line column)
    writer.fill_raw_lines(inp)


def _nmea_chunks(inp: readers.Input, chunk_bytes: int) -> Iterator[bytes]:
    """Decompressed NMEA in pieces of about ``chunk_bytes``, cut only between whole messages."""
    blocks: list[bytes] = []
    size = 0
    for block in readers.iter_blocks(inp, min(chunk_bytes, readers.BLOCK)):
        blocks.append(block)
        size += len(block)
        if size >= chunk_bytes:
            buf = b"".join(blocks)
            cut = message_boundary(buf)
            if cut > 0:
                yield buf[:cut]
                buf = buf[cut:]
            blocks, size = [buf], len(buf)
    if size:
        yield b"".join(blocks)


def _last_fragment(line: bytes) -> bool:
    line = line.strip()
    if line.startswith(b"\\"):
        end = line.find(b"\\", 1)
        line = line[end + 1 :] if end > 0 else b""
    if not line.startswith(b"!"):
        return False
    parts = line.split(b",", 3)
    return len(parts) >= 3 and parts[1] == parts[2]


def message_boundary(buf: bytes, max_back: int = 64) -> int:
    """Offset just after the last line of ``buf`` that completes a message (0 if none found).

    Cutting there keeps multipart sentences and their tag-block / $PGHP header lines in one piece.
    """
    pos = buf.rfind(b"\n")
    last_newline = pos
    for _ in range(max_back):
        if pos < 0:
            return 0
        start = buf.rfind(b"\n", 0, pos) + 1
        if _last_fragment(buf[start:pos]):
            return pos + 1
        pos = start - 1
    return last_newline + 1


def _read_table(
    inp: readers.Input,
    fmt: str,
    sample: bytes,
    writer: _Writer,
    txn: Transaction,
    mapping: dict[str, str] | None,
    ts_format: str | None,
    chunk_rows: int,
) -> None:
    """CSV / Parquet through DuckDB: typed, normalised and streamed in file order, chunk by chunk."""
    con = writer.con
    path = readers.materialise(inp, txn.staging / "input.tmp")
    is_parquet = fmt == "parquet" or sample.startswith(b"PAR1")
    if is_parquet:
        header = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        layout = resolve(_parquet_layout(header, mapping), header, mapping, ts_format)
        as_text = ", ".join(f'CAST("{h}" AS VARCHAR) AS "{h}"' for h in header)
        relation = f"(SELECT {as_text} FROM read_parquet('{_sql_path(path)}'))"
        header_lines = 0
    else:
        found = csv_header(sample)
        if found is None:
            raise FormatError(f"{inp.name} has no CSV header row; cannot read it as {fmt}")
        header = found
        layout = resolve(fmt, header, mapping, ts_format)
        comp = "gzip" if inp.compression == "gz" else "none"
        types = ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in csv_types(layout, header).items())
        tsf = (
            f", timestampformat={_sql_str(layout.ts_format)}"
            if layout.ts_format and read_type(layout, "ts") == "TIMESTAMP"
            else ""
        )
        relation = (
            f"read_csv({_sql_str(str(path))}, header=true, types={{{types}}}{tsf}, ignore_errors=true, "
            f"store_rejects=true, rejects_table='rejects', rejects_scan='reject_scans', compression='{comp}')"
        )
        header_lines = 1
    typed, raw = typed_select(layout, relation, header, native=not is_parquet)
    have = {*TARGETS, "msg_type", "source"} | ({"_parse_error"} if is_parquet else set())
    if layout.statics_only:
        sql = statics_sql(f"({typed})", have, raw)
        add = writer.add_static_rows
    else:
        sql = positions_sql(f"({typed})", have, raw, statics=True)
        add = writer.add_rows
    reader_con = con.cursor()
    try:
        reader = reader_con.sql(sql).to_arrow_reader(min(chunk_rows, 1 << 17))
        rows = 0
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= chunk_rows:
                rows = add(pa.Table.from_batches(pending), rows, header_lines)
                pending, pending_rows = [], 0
                writer.tick(rows)
        if pending:
            rows = add(pa.Table.from_batches(pending), rows, header_lines)
        writer.read += rows
        if not is_parquet:
            rejects = reader_con.execute(
                "SELECT line, any_value(csv_line), string_agg(DISTINCT CASE WHEN error_type = 'CAST' "
                "THEN 'CAST ' || column_name ELSE error_type END, '; ') FROM rejects GROUP BY line ORDER BY line"
            ).fetchall()
            writer.add_rejects(rejects)
            writer.fill_raw_lines(inp)
    finally:
        reader_con.close()
    writer.file_format = layout.name


def _store_order(table: pa.Table) -> np.ndarray:
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
        return np.lexsort((line, _mix(table, rest), us, outer))
    run = np.cumsum(np.r_[True, ~tie[at[:-1]]])  # each run of ties is contiguous in ``order``
    rows = order[at]
    order[at] = rows[np.lexsort((line[rows], _mix(table.select(rest).take(pa.array(rows)), rest), run))]
    return order


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(table: pa.Table, cols: list[str] | tuple[str, ...]) -> np.ndarray:
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


def _repeats(rows: pa.Table, cols: tuple[str, ...]) -> np.ndarray:
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


def _days(rows: pa.Table) -> list[str]:
    """The distinct UTC days (YYYY-MM-DD) of a table with a date ``day`` column."""
    return [d.isoformat() for d in pc.unique(rows["day"]).to_pylist()]


def _parquet_layout(header: list[str], mapping: dict[str, str] | None) -> str:
    if mapping:
        return "mapped"
    return match_header(header) or "mapped"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(_sql_str(i) for i in items) + "]"


# --- the writer: de-duplicate, sort, partition by day, stage ----------------------------------------------


class _Writer:
    """Stages one input's chunks into its transaction and keeps its counts."""

    def __init__(
        self,
        store: Store,
        txn: Transaction,
        connecting: Future[duckdb.DuckDBPyConnection],
        hashing: Future[str],
        file: str,
    ):
        self.store, self.txn, self._connecting = store, txn, connecting
        self._hashing, self._input_id, self.file = hashing, "", file
        self.file_format: str | None = None
        self.read = self.kept = self.duplicate = self.positions = self.statics = 0
        self.reasons: Counter[str] = Counter()
        self._chunk = 0
        self._quarantine_parts: list[Path] = []
        self._unquoted = False  # a staged quarantine row has a line but no raw text yet
        # positions this input staged, per day: (file, rows weighing other than 1 line, their weights)
        self._own_positions: dict[str, list[tuple[Path, np.ndarray, np.ndarray]]] = {}
        # ... and their key fingerprints (None once FINGERPRINT_ROWS are held: then every day is checked)
        self._own_fingerprints: dict[str, list[np.ndarray | None]] = {}
        self._fingerprinted = 0
        # static runs this input staged (mmsi, ts, last_ts, _h): few rows, kept in memory
        self._own_statics: list[pa.Table] = []
        self.on_progress: Progress | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The input's DuckDB connection (opened in a thread beside the first decode; waits for it)."""
        return self._connecting.result()

    @property
    def input_id(self) -> str:
        """The input's id (its content hash's first 16 hex digits); waits for the hash the first time.

        Raises :class:`_AlreadyIngested` if the manifest has it, before anything of the input is staged.
        """
        if not self._input_id:
            input_id = self._hashing.result()[:16]
            if input_id in self.store.manifest_ids():
                raise _AlreadyIngested(input_id)
            self._input_id = input_id
        return self._input_id

    def tick(self, records: int) -> None:
        """Report progress inside a long input (the bar advances by whole inputs, this updates its label)."""
        if self.on_progress is not None:
            self.on_progress(f"{Path(self.file).name}: {records:,}", 0)

    # counts ------------------------------------------------------------------------------------------
    def finish(self, res: FileResult) -> None:
        self._dedup_across_chunks()
        res.read, res.kept, res.duplicate = self.read, self.kept, self.duplicate
        res.quarantined = sum(self.reasons.values())
        res.positions, res.statics = self.positions, self.statics
        res.reasons = dict(sorted(self.reasons.items()))
        if self.file_format:
            res.format = self.file_format
        if res.read != res.kept + res.duplicate + res.quarantined:
            raise InputError(
                f"{self.file}: accounting mismatch (read {res.read} != kept {res.kept} + duplicate "
                f"{res.duplicate} + quarantined {res.quarantined}); nothing stored — please report this"
            )

    def _next_part(self) -> str:
        self._chunk += 1
        return f"part-{self.input_id}-{self._chunk:05d}.parquet"

    # CSV / Parquet rows --------------------------------------------------------------------------------
    def add_rows(self, table: pa.Table, offset: int, header_lines: int) -> int:
        """One chunk of normalised rows (positions + static fields); returns rows seen so far."""
        n = table.num_rows
        lines = np.arange(offset + 1 + header_lines, offset + n + 1 + header_lines, dtype=np.int64)
        table = table.set_column(table.schema.get_field_index("_line"), "_line", pa.array(lines))
        self._quarantine(table, 0)
        self._positions(table, statics=True)
        return offset + n

    def add_static_rows(self, table: pa.Table, offset: int, header_lines: int) -> int:
        """One chunk of a statics-only table (each row a static report); returns rows seen so far."""
        n = table.num_rows
        lines = np.arange(offset + 1 + header_lines, offset + n + 1 + header_lines, dtype=np.int64)
        table = table.set_column(table.schema.get_field_index("_line"), "_line", pa.array(lines))
        self._quarantine(table, 0)
        self._statics(table.filter(pc.is_null(table["reason"])))
        return offset + n

    def add_rejects(self, rejects: list[tuple[int, str, str]]) -> None:
        """Lines DuckDB could not split into the header's columns; fixes earlier row -> line numbers."""
        if not rejects:
            return
        self.read += len(rejects)
        self.reasons["unparsable"] += len(rejects)
        lines = np.array([r[0] for r in rejects], dtype=np.int64)
        # accepted rows were numbered as if no line was rejected: row k sat on line k + header. With rejected
        # lines R (sorted), the k-th accepted line is k + header + #{j : accepted-before(R_j) < k}.
        accepted_before = (
            lines - 2 - np.arange(len(lines))
        )  # data rows accepted before each reject (1 header)
        for part in self._quarantine_parts:
            t = pq.read_table(part)
            k = t["line"].to_numpy() - 1
            fixed = k + 1 + np.searchsorted(accepted_before, k, side="left")
            t = t.set_column(t.schema.get_field_index("line"), "line", pa.array(fixed, pa.int64()))
            write_parquet(t, part)
        table = pa.table(
            {
                "input_id": [self.input_id] * len(rejects),
                "file": [self.file] * len(rejects),
                "line": lines,
                "raw": [r[1] for r in rejects],
                "reason": ["unparsable"] * len(rejects),
                "detail": [r[2] for r in rejects],
            },
            schema=schema.QUARANTINE,
        )
        self._stage_quarantine(table)

    def fill_raw_lines(self, inp: readers.Input) -> None:
        """Put the exact text of each quarantined row that has none (rows rejected on their values)."""
        if not self._unquoted:
            return
        missing = []
        for part in self._quarantine_parts:
            t = pq.read_table(part, columns=["line", "raw"])
            lines = t.filter(pc.and_(pc.is_null(t["raw"]), pc.is_valid(t["line"])))["line"]
            missing.append(lines.to_numpy())
        wanted = np.concatenate(missing) if missing else np.zeros(0, np.int64)
        if wanted.size == 0:
            return
        text = readers.fetch_lines(inp, wanted)
        if not text:
            return
        keys = np.fromiter(text.keys(), np.int64, len(text))
        order = np.argsort(keys)
        keys = keys[order]
        values = pa.array(list(text.values()), pa.string()).take(pa.array(order))
        for part in self._quarantine_parts:
            t = pq.read_table(part)
            if t["raw"].null_count == 0:
                continue
            line = t["line"].fill_null(-1).to_numpy()
            pos = np.clip(np.searchsorted(keys, line), 0, keys.size - 1)
            found = pa.array(keys[pos] == line)
            raw = pc.if_else(pc.and_(pc.is_null(t["raw"]), found), values.take(pa.array(pos)), t["raw"])
            t = t.set_column(t.schema.get_field_index("raw"), "raw", raw)
            write_parquet(t, part)

    # NMEA ----------------------------------------------------------------------------------------------
    def prepare(self, con: duckdb.DuckDBPyConnection, result: NmeaResult) -> _Prepared:
        """The work on one decoded chunk that needs nothing from other chunks; any thread, its own ``con``.

        Positions are normalised and sorted in one query: kept rows first, in the store's order (see
        :meth:`_positions`), then the rejected ones, so each part is a slice. Static reports are
        normalised, and the kept ones grouped (exact repeats from several receivers collapse).
        """
        pos, st = result.positions, result.statics
        pos_sql = positions_sql("c", pos.column_names, "_raw" if "_raw" in pos.column_names else "NULL")
        st_sql = statics_sql("c", st.column_names, "_raw" if "_raw" in st.column_names else "NULL")
        con.register("c", pos)
        try:
            positions = con.sql(pos_sql).to_arrow_table()
        finally:
            con.unregister("c")
        positions = positions.take(pa.array(_store_order(positions)))
        kept = positions["reason"].null_count
        positions = pa.concat_tables([positions.slice(0, kept), _quote(positions.slice(kept), result)])
        con.register("c", st)
        try:
            statics = con.sql(st_sql).to_arrow_table()
        finally:
            con.unregister("c")
        return _Prepared(
            result.quarantine,
            positions,
            _quote(statics.filter(pc.is_valid(statics["reason"])), result),
            _group_statics(con, statics.filter(pc.is_null(statics["reason"]))),
            int(result.lines_read),
            int(result.physical_lines),
        )

    def add_prepared(self, chunk: _Prepared, line_offset: int) -> None:
        """One prepared chunk, in file order: quarantine, de-duplicate against the store, stage."""
        self.read += chunk.lines_read
        self.add_quarantine_table(chunk.quarantine, line_offset)
        kept = chunk.positions["reason"].null_count
        self._quarantine(chunk.positions.slice(kept), line_offset)
        self._positions(chunk.positions.slice(0, kept), ordered=True)
        self._quarantine(chunk.static_rejects, line_offset)
        self._add_static_groups(chunk.static_groups)

    def add_quarantine_table(self, table: pa.Table, line_offset: int) -> None:
        """Decoder quarantine rows (already in QUARANTINE shape, lines relative to the chunk)."""
        if table.num_rows == 0:
            return
        line = pc.add(table["line"].cast(pa.int64()), line_offset)
        table = table.set_column(table.schema.get_field_index("line"), "line", line)
        input_id = pa.repeat(pa.scalar(self.input_id, pa.string()), table.num_rows)
        table = table.set_column(table.schema.get_field_index("input_id"), "input_id", input_id)
        table = table.select(schema.QUARANTINE.names).cast(schema.QUARANTINE)
        for count in pc.value_counts(table["reason"]).to_pylist():
            self.reasons[count["values"]] += count["counts"]
        self._stage_quarantine(table)

    # shared steps --------------------------------------------------------------------------------------
    def _quarantine(self, table: pa.Table, line_offset: int) -> None:
        if table["reason"].null_count == table.num_rows:
            return
        detail = DETAIL_SQL if "lat" in table.column_names else STATIC_DETAIL_SQL
        self.con.register("c", table)
        try:
            weights = self.con.execute(
                "SELECT reason, sum(_lines) FROM c WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall()
            if not weights:
                return
            q = self.con.sql(
                f"SELECT ? AS input_id, ? AS file, _line + ? AS line, _raw AS raw, reason, {detail} AS detail "
                "FROM c WHERE reason IS NOT NULL ORDER BY _line",
                params=[self.input_id, self.file, line_offset],
            ).to_arrow_table()
        finally:
            self.con.unregister("c")
        for reason, w in weights:
            self.reasons[reason] += int(w)
        self._stage_quarantine(q.cast(schema.QUARANTINE))

    def _stage_quarantine(self, table: pa.Table) -> None:
        if table["raw"].null_count:
            self._unquoted = self._unquoted or bool(
                pc.any(pc.and_(pc.is_null(table["raw"]), pc.is_valid(table["line"]))).as_py()
            )
        self._quarantine_parts.append(self.txn.put(f"quarantine/{self._next_part()}", table))

    def _existing(self, table: str, days: list[str], own: bool = True) -> list[str]:
        """Stored files of ``table`` for ``days``, plus (``own``) what this input staged for them."""
        files: list[Path] = []
        for day in days:
            files.extend(sorted((self.store.root / table / f"day={day}").glob("*.parquet")))
            if own:
                files.extend(self.txn.staged(f"{table}/day={day}/"))
        return [str(f) for f in files]

    def _dedup_across_chunks(self) -> None:
        """Drop positions repeated in a later chunk of this input: one pass per day staged by >1 chunk.

        Chunks are checked against the store as they come, but not against each other (that would read
        everything staged so far for each chunk: quadratic in the chunk count for a one-day file). Here
        each such day is read once; a row equal (on the position key, null equals null) to one in an earlier
        chunk is removed from its file and counted as a duplicate, weighed in its input lines. A day whose
        chunks share no key fingerprint (:func:`_mix` of the position key, held in memory) cannot hold a repeat and is
        not read at all, which is the usual case (a log does not repeat itself).
        """
        key = ", ".join(POSITION_KEY)
        for day, parts in self._own_positions.items():
            if len(parts) < 2 or not self._may_repeat(day):
                continue
            files = [str(p) for p, _, _ in parts]  # in staging order = file order
            found = self.con.sql(
                f"SELECT file_index, rn FROM (SELECT file_index, rn, row_number() OVER (PARTITION BY {key} "
                f"ORDER BY file_index, rn) AS k FROM (SELECT *, list_position({_sql_list(files)}, filename) "
                f"AS file_index, file_row_number AS rn FROM read_parquet({_sql_list(files)}, filename=true, "
                "file_row_number=true))) WHERE k > 1"
            ).fetchnumpy()
            which = np.asarray(found["file_index"], np.int64) - 1
            rows = np.asarray(found["rn"], np.int64)
            for i in np.unique(which).tolist():
                path, heavy, weight = parts[i]
                drop = rows[which == i]
                table = pq.read_table(path)
                mask = np.ones(table.num_rows, np.bool_)
                mask[drop] = False
                lines = drop.size + int(weight[np.isin(heavy, drop)].sum() - np.isin(heavy, drop).sum())
                write_parquet(table.filter(pa.array(mask)), path, _DICTIONARY)
                self.positions -= drop.size
                self.kept -= lines
                self.duplicate += lines

    def _may_repeat(self, day: str) -> bool:
        """False when no two of ``day``'s staged chunks share a key fingerprint, so none repeats another."""
        prints = self._own_fingerprints.get(day, [])
        if any(p is None for p in prints):
            return True
        held = np.sort(np.concatenate([p for p in prints if p is not None]))
        return bool((held[1:] == held[:-1]).any())

    def _positions(self, table: pa.Table, statics: bool = False, ordered: bool = False) -> None:
        """Kept rows -> de-duplicated positions sorted by (day, mmsi, ts), staged one file per day.

        Rows are put in :func:`_store_order`, which makes exact duplicates adjacent, so they are found by
        comparing each row with the one before (vectorised); the first in file order is kept. Rows equal to one the store
        already holds for that day are found with a semi join; repeats of rows this input staged in earlier
        chunks are removed in one pass per day at the end (:meth:`_dedup_across_chunks`). With
        ``statics`` (CSV rows carry static fields) the same order also gives the static-report runs.
        ``ordered``: ``table`` holds only kept rows, already in that order.
        """
        kept = table["reason"].null_count
        if kept == 0:
            return
        if ordered:
            order = np.arange(kept)
            rows = table.select([*POSITION_KEY, "source", "_lines"])
        else:
            order = _store_order(table)[:kept]
            rows = table.select([*POSITION_KEY, "source", "_lines"]).take(pa.array(order))
        rows = rows.append_column("day", pc.cast(rows["ts"], pa.date32()))
        dup = _repeats(rows, POSITION_KEY)
        existing = self._existing("positions", _days(rows), own=False)  # own chunks: at the end
        if existing:
            dup[self._covered(rows, POSITION_KEY, existing, "positions")] = True
        weights = rows["_lines"].to_numpy()
        kept_w = int(weights[~dup].sum())
        self.kept += kept_w
        self.duplicate += int(weights.sum()) - kept_w
        out = rows.filter(pa.array(~dup))
        self.positions += out.num_rows
        out = out.append_column("input_id", pa.repeat(pa.scalar(self.input_id, pa.string()), out.num_rows))
        weights = out["_lines"].to_numpy(zero_copy_only=False)
        self._fingerprinted += out.num_rows
        prints = _mix(out, POSITION_KEY) if self._fingerprinted <= FINGERPRINT_ROWS else None
        for day, path, start, end in self._stage_by_day("positions", out, schema.POSITIONS):
            heavy = np.flatnonzero(weights[start:end] != 1)
            self._own_positions.setdefault(day, []).append((path, heavy, weights[start:end][heavy]))
            self._own_fingerprints.setdefault(day, []).append(None if prints is None else prints[start:end])
        if statics:
            info = " OR ".join(f"{f} IS NOT NULL" for f in STATIC_FIELDS)
            self.con.register("c", table)
            try:
                static = self.con.sql(
                    f"SELECT hash({', '.join(STATIC_FIELDS)}) AS _h, ({info}) AS _info FROM c"
                ).to_arrow_table()
            finally:
                self.con.unregister("c")
            static = static.take(pa.array(order))
            keyed = pa.table({"mmsi": rows["mmsi"], "ts": rows["ts"], "day": rows["day"], "_h": static["_h"]})
            self._static_runs(keyed, table, order, static["_info"].to_numpy(zero_copy_only=False))

    def _covered(
        self, rows: pa.Table, key: tuple[str, ...], files: list[str], what: str, own: pa.Table | None = None
    ) -> np.ndarray:
        """Row indices of ``rows`` already present in ``files`` (same key; statics: inside a stored run).

        ``own`` (statics): runs this input staged, in memory, checked too (instead of re-reading its files).
        """
        con = self.con
        cols = [*key, "_i"] if what == "positions" else ["mmsi", "ts", "_h", "_i"]
        con.register("r", rows.append_column("_i", pa.array(np.arange(rows.num_rows))).select(cols))
        if own is not None:
            con.register("own", own)
        try:
            if what == "positions":
                cond = " AND ".join(
                    f"r.{k} = e.{k}"
                    if k in ("mmsi", "ts", "lat", "lon")
                    else f"r.{k} IS NOT DISTINCT FROM e.{k}"
                    for k in key
                )
                stored = f"SELECT {', '.join(key)} FROM read_parquet({_sql_list(files)})"
            else:
                cond = "r.mmsi = e.mmsi AND r._h = e._h AND r.ts BETWEEN e.ts AND e.last_ts"
                parts = [
                    f"SELECT mmsi, ts, coalesce(last_ts, ts) AS last_ts, hash({', '.join(STATIC_FIELDS)}) AS _h "
                    f"FROM read_parquet({_sql_list(files)}, union_by_name=true)"
                ][: 1 if files else 0]
                if own is not None:
                    parts.append("SELECT mmsi, ts, last_ts, _h FROM own")
                stored = "SELECT * FROM (" + " UNION ALL ".join(parts) + ")"
            lo_hi = "mmsi BETWEEN (SELECT min(mmsi) FROM r) AND (SELECT max(mmsi) FROM r)"
            found = con.sql(f"SELECT r._i FROM r SEMI JOIN ({stored} WHERE {lo_hi}) e ON {cond}").fetchnumpy()
        finally:
            con.unregister("r")
            if own is not None:
                con.unregister("own")
        return np.asarray(found["_i"], np.int64)

    def _static_runs(
        self, keyed: pa.Table, full: pa.Table, rows_of: np.ndarray, keep: np.ndarray
    ) -> np.ndarray:
        """Static reports -> one stored row per run of identical values per MMSI and day.

        ``keyed`` (mmsi, ts, day, ``_h`` = hash of the static fields) is sorted by (day, mmsi, ts); row k is
        row ``rows_of[k]`` of ``full``, which holds the static fields (only run starts are gathered from
        it). ``keep`` marks the rows that are reports at all (CSV: some static value present). Reports
        inside a run the store, or this input, already has for that day are dropped. Returns ``keep``.
        """
        keep = keep.copy()
        days = _days(keyed)
        existing = self._existing("statics", days, own=False)
        own = pa.concat_tables(self._own_statics) if self._own_statics else None
        if own is not None:
            own = own.filter(pc.is_in(own["day"], value_set=keyed["day"].unique()))
            own = own if own.num_rows else None
        if existing or own is not None:
            keep[self._covered(keyed, (), existing, "statics", own)] = False
        if not keep.any():
            return keep
        idx = np.flatnonzero(keep)
        mmsi, h = keyed["mmsi"].to_numpy()[idx], keyed["_h"].to_numpy()[idx]
        day = keyed["day"].cast(pa.int32()).to_numpy()[idx]
        change = (mmsi[1:] != mmsi[:-1]) | (h[1:] != h[:-1]) | (day[1:] != day[:-1])
        starts = np.flatnonzero(np.r_[True, change])
        ends = np.r_[starts[1:], idx.size] - 1
        first, last = pa.array(idx[starts]), pa.array(idx[ends])
        runs = full.select([*STATIC_FIELDS, "msg_type", "source"]).take(pa.array(rows_of[idx[starts]]))
        runs = runs.append_column("mmsi", keyed["mmsi"].take(first))
        runs = runs.append_column("ts", keyed["ts"].take(first))
        runs = runs.append_column("day", keyed["day"].take(first))
        runs = runs.append_column("last_ts", keyed["ts"].take(last))
        runs = runs.append_column("n_reports", pa.array(ends - starts + 1, pa.int64()))
        runs = runs.append_column("input_id", pa.repeat(pa.scalar(self.input_id, pa.string()), runs.num_rows))
        self.statics += runs.num_rows
        self._stage_by_day("statics", runs, schema.STATICS)
        self._own_statics.append(
            pa.table(
                {
                    "mmsi": runs["mmsi"],
                    "ts": runs["ts"],
                    "last_ts": runs["last_ts"],
                    "_h": keyed["_h"].take(first),
                    "day": runs["day"],
                }
            )
        )
        return keep

    def _statics(self, table: pa.Table) -> None:
        """Static reports (records of their own, weighed in lines) -> runs, with counts."""
        self._add_static_groups(_group_statics(self.con, table))

    def _add_static_groups(self, rows: pa.Table) -> None:
        """Grouped static reports (see :func:`_group_statics`) -> runs, with counts.

        Exact repeats of one report (several receivers) count as duplicates, as do reports a stored run
        already covers.
        """
        if rows.num_rows == 0:
            return
        keep = self._static_runs(rows, rows, np.arange(rows.num_rows), np.ones(rows.num_rows, bool))
        kept = int(rows["w_kept"].to_numpy()[keep].sum())
        self.kept += kept
        self.duplicate += int(rows["w_all"].to_numpy().sum()) - kept

    def _stage_by_day(
        self, table_name: str, table: pa.Table, target: pa.Schema
    ) -> list[tuple[str, Path, int, int]]:
        """Split a table sorted by (day, mmsi, ts) into one staged file per UTC day.

        Returns (day, staged file, first row, end row) of each file.
        """
        if table.num_rows == 0:
            return []
        days = table["day"].cast(pa.int32()).to_numpy()
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], len(days)]
        part = self._next_part()
        data = table.select(target.names).cast(target)
        bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
        day_of = [str(np.datetime64("1970-01-01") + np.timedelta64(days[s], "D")) for s, _ in bounds]
        paths = self.txn.put_many(
            [
                (f"{table_name}/day={d}/{part}", data.slice(s, e - s))
                for d, (s, e) in zip(day_of, bounds, strict=True)
            ],
            _DICTIONARY,
        )
        return [(d, p, s, e) for d, p, (s, e) in zip(day_of, paths, bounds, strict=True)]


def _quote(rejected: pa.Table, result: NmeaResult) -> pa.Table:
    """``rejected`` (normalised rows the normaliser refused) with ``_raw`` = the text of each row's line."""
    if rejected.num_rows == 0:
        return rejected
    raw = result.line_text(rejected["_line"].to_numpy())
    return rejected.set_column(rejected.schema.get_field_index("_raw"), "_raw", raw)


@dataclass
class _Prepared:
    """One NMEA chunk after :meth:`_Writer.prepare`: what the writer adds, in file order."""

    quarantine: pa.Table  # the decoder's rejects (QUARANTINE shape, lines relative to the chunk)
    positions: pa.Table  # normalised: kept rows first in the store's order, then rejected ones
    static_rejects: pa.Table  # normalised static reports the normaliser rejected
    static_groups: pa.Table  # kept static reports, one row per (mmsi, ts, values), see _group_statics
    lines_read: int
    physical_lines: int


def _group_statics(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """Kept static reports -> one row per (mmsi, ts, values), sorted by (day, mmsi, ts, line).

    ``w_all`` weighs all repeats in input lines, ``w_kept`` one of them (the others are duplicates).
    """
    con.register("c", table)
    try:
        return con.sql(_GROUP_STATICS.format(table="c") + " ORDER BY day, mmsi, ts, _line").to_arrow_table()
    finally:
        con.unregister("c")


_GROUP_STATICS = (
    f"SELECT mmsi, ts, hash({', '.join(STATIC_FIELDS)}) AS _h, "
    f"any_value(COLUMNS('^({'|'.join(STATIC_FIELDS)}|msg_type|source)$')), "
    "sum(_lines) AS w_all, any_value(_lines) AS w_kept, min(_line) AS _line, CAST(ts AS DATE) AS day "
    "FROM {table} GROUP BY mmsi, ts, _h"
)
