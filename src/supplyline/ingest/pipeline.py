"""Ingest orchestration: inputs -> decode/read -> normalise -> de-duplicate -> store, one transaction per input.

Guarantees (docs/ingest.md):

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

This module is the orchestration only. An input reads itself (:mod:`.inputs`); CSV/Parquet go through
:mod:`.tables`, NMEA is cut by :mod:`.nmea_split` and decoded by :mod:`.nmea`; one input's chunks are staged
by :class:`.writer.InputWriter` (:mod:`.quarantine`, :mod:`.dedup`, :mod:`.statics`, :mod:`.staging`), and its
counts and manifest row are :mod:`.accounting`'s.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from supplyline.errors import FormatError, InputError, SupplylineError
from supplyline.ingest import readers
from supplyline.ingest._sql import sql_path
from supplyline.ingest.accounting import FileResult, IngestReport, manifest_row
from supplyline.ingest.dedup import store_order as _store_order  # noqa: F401 (the tests' name for it)
from supplyline.ingest.inputs import Input
from supplyline.ingest.nmea_split import message_boundary, nmea_pieces
from supplyline.ingest.staging import AlreadyIngested
from supplyline.ingest.tables import read_table
from supplyline.ingest.writer import InputWriter, Prepared, Progress
from supplyline.store import Store

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_ROWS",
    "FORMATS",
    "FileResult",
    "IngestReport",
    "Input",
    "Progress",
    "ingest",
    "ingest_bytes",
    "ingest_inputs",
    "message_boundary",
]

FORMATS = ("nmea", "noaa", "dma", "points", "canonical", "mapped", "parquet")
CHUNK_ROWS = 1_000_000
CHUNK_BYTES = 64 << 20  # NMEA bytes per decoder call (~800k lines)
MIN_PIECES = 4  # smaller NMEA inputs are cut into about this many chunks, so decoding and writing overlap
MIN_CHUNK_BYTES = 2 << 20  # ... but no piece smaller than this (each chunk costs ~35 ms of fixed work)


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
    _check_format(fmt)
    return ingest_inputs(
        store,
        readers.expand(paths),
        fmt=fmt,
        mapping=mapping,
        ts_format=ts_format,
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_bytes,
        memory_limit=memory_limit,
        on_progress=on_progress,
    )


def ingest_bytes(
    store: Store,
    data: bytes,
    *,
    name: str,
    fmt: str | None = "nmea",
    chunk_bytes: int = CHUNK_BYTES,
    memory_limit: str = "2GB",
) -> FileResult:
    """Ingest one in-memory block (e.g. spooled live-feed NMEA lines) as an input named ``name``.

    Same accounting, de-duplication, quarantine and manifest row as a file with that content; the same
    bytes a second time are skipped (their hash is in the manifest). ``fmt=None`` detects the format.
    """
    _check_format(fmt)
    inp = Input.from_bytes(name, data)
    report = ingest_inputs(store, [inp], fmt=fmt, chunk_bytes=chunk_bytes, memory_limit=memory_limit)
    return report.files[0]


def ingest_inputs(
    store: Store,
    inputs: Sequence[Input],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    ts_format: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    chunk_bytes: int = CHUNK_BYTES,
    memory_limit: str = "2GB",
    on_progress: Progress | None = None,
) -> IngestReport:
    """Ingest ``inputs`` (files, archive members or in-memory blocks) in order, each in one transaction.

    As :func:`ingest`, for callers that already hold :class:`Input` objects (``Input.from_bytes`` for
    data in memory). Holds the store's lock for the whole batch.
    """
    _check_format(fmt)
    options = _Options(fmt, mapping, ts_format, chunk_rows, chunk_bytes, memory_limit, on_progress)
    results: list[FileResult] = []
    with store.lock():
        for inp in inputs:
            res = FileResult(path=inp.name)
            if inp.skip:
                res.status, res.message = "skipped", inp.skip
                results.append(res)
                continue
            try:
                _ingest_one(store, inp, res, options)
            except SupplylineError as exc:
                res.status, res.message, res.exit_code = "error", str(exc), exc.exit_code
                res.clear_counts()
            if on_progress is not None:
                on_progress(inp.name, inp.size() if inp.exists() else 0)
            results.append(res)
    return IngestReport(results)


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise FormatError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _connect(memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB for one input: UTC, bounded memory (it spills to ``spill``, in the store's staging area)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    with contextlib.suppress(
        duckdb.Error
    ):  # in Jupyter without ipywidgets DuckDB refuses to touch the setting
        con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{sql_path(spill)}'")
    return con


@dataclass(frozen=True)
class _Options:
    """How every input of one call is read (the keyword arguments of :func:`ingest_inputs`)."""

    fmt: str | None
    mapping: dict[str, str] | None
    ts_format: str | None
    chunk_rows: int
    chunk_bytes: int
    memory_limit: str
    on_progress: Progress | None


def _ingest_one(store: Store, inp: Input, res: FileResult, options: _Options) -> None:
    """One input in one store transaction: read, stage, count, manifest row; nothing of it if it fails."""
    # hashlib releases the GIL: the content hash runs while DuckDB starts (~15 ms) and the first chunks are
    # read and decoded; the writer asks for it (and checks the manifest) before it stages anything
    spill = store.root / "_staging" / f"duckdb-{uuid.uuid4().hex}"  # removed after the input
    with ThreadPoolExecutor(2) as pool:
        hashing = pool.submit(inp.sha256)
        connecting = pool.submit(_connect, options.memory_limit, spill)
        fmt, mapping = options.fmt, options.mapping
        try:
            sample = inp.head()
            if fmt is None:
                fmt = "mapped" if mapping and not sample.startswith(b"PAR1") else inp.detect_format(sample)
            res.format = fmt
            with store.transaction() as txn:
                writer = InputWriter(store, txn, connecting, hashing, inp.name)
                writer.on_progress = options.on_progress
                if fmt == "nmea":
                    _read_nmea(inp, writer, options.chunk_bytes)
                else:
                    read_table(inp, fmt, sample, writer, txn, mapping, options.ts_format, options.chunk_rows)
                writer.finish(res)
                res.input_id = writer.input_id
                manifest = manifest_row(
                    res,
                    input_id=writer.input_id,
                    sha256=hashing.result(),
                    name=inp.name,
                    fmt=res.format or fmt,
                    size=inp.size(),
                )
                txn.put(f"manifest/{writer.input_id}.parquet", manifest)
        except AlreadyIngested as exc:
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


def _read_nmea(inp: Input, writer: InputWriter, chunk_bytes: int) -> None:
    """Decode chunks two at a time while a third thread normalises, sorts and stages them in file order.

    The decoder's line scan is C and its field extraction whole-array NumPy, both of which release the
    GIL, so two decoder threads use both cores (measured: one 12 MB file as two halves in two threads,
    0.12-0.16 s against 0.20 s serial). What depends on the chunk alone (normalising, sorting, grouping
    static reports: DuckDB, which releases the GIL) runs in the decoder threads too, so the writer, the one
    part that must go in file order, is short. Inputs of a few chunks' size are cut into about
    :data:`MIN_PIECES` pieces so that this overlap happens for them as well. At most three chunks are in
    memory (two decoding, one writing). The writer sees chunks in file order, so line numbers and
    de-duplication are as in a sequential run.
    """
    from supplyline.ingest.nmea import decode_nmea  # imported when needed: the decoder is a large module

    def decode(data: bytes) -> Prepared:
        # input_id is filled in by the writer (the content hash may still be running)
        result = decode_nmea(data, file=writer.file, input_id="", source_default="nmea")
        con = writer.con.cursor()  # a connection of this thread's own to the same DuckDB
        try:
            return writer.prepare(con, result)
        finally:
            con.close()

    def write(chunk: Prepared, line_offset: int, lines_after: int) -> None:
        writer.add_prepared(chunk, line_offset)
        writer.tick(lines_after)

    piece = max(min(chunk_bytes, MIN_CHUNK_BYTES), min(chunk_bytes, -(-inp.size() // MIN_PIECES)))
    decoding: deque[Future[Prepared]] = deque()
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
            for data in nmea_pieces(inp, piece):
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
