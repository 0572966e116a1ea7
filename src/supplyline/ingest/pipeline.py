"""Ingest orchestration: inputs -> decode/read -> normalise -> de-duplicate -> store, one transaction per input.

Guarantees (docs/ingest.md):

* **Nothing lost silently.** For every input, ``read = kept + duplicate + quarantined`` exactly. Units are the
  input's records: physical lines for NMEA (a two-line message weighs 2), data rows for CSV/Parquet.
* **Safe to repeat.** An input whose content hash is in the manifest is skipped; an exact duplicate report
  (same MMSI, time, position, SOG, COG, heading, status, message type) is stored once, within an input and
  against what the store already holds for the same days.
* **Safe to interrupt.** Each input is one store transaction (its positions, statics, quarantine and manifest
  row; a run of small NMEA inputs shares one): a SIGKILL leaves nothing of it visible, and the next run
  ingests it again from scratch.
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

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from supplyline.errors import FormatError, InputError, SupplylineError
from supplyline.ingest import readers
from supplyline.ingest.accounting import FileResult, IngestReport, manifest_row
from supplyline.ingest.dedup import store_order as _store_order  # noqa: F401 (the tests' name for it)
from supplyline.ingest.inputs import Input
from supplyline.ingest.nmea_split import message_boundary, nmea_pieces
from supplyline.ingest.run import Run
from supplyline.ingest.staging import AlreadyIngested
from supplyline.ingest.tables import read_table
from supplyline.ingest.writer import InputWriter, Prepared, Progress, normalise_many
from supplyline.store import Store, Transaction

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
SMALL_INPUT = 1 << 20  # NMEA inputs under this size are staged in batches sharing one transaction
BATCH_INPUTS = 500  # ... of at most this many inputs


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
    """Ingest ``inputs`` (files, archive members or in-memory blocks) in order, each in one transaction
    (runs of small NMEA inputs: one transaction per batch, see :func:`_groups`).

    As :func:`ingest`, for callers that already hold :class:`Input` objects (``Input.from_bytes`` for
    data in memory). Holds the store's lock for the whole call; one DuckDB connection and one set of
    thread pools serve every input (:class:`~supplyline.ingest.run.Run`).
    """
    _check_format(fmt)
    options = _Options(fmt, mapping, ts_format, chunk_rows, chunk_bytes, memory_limit, on_progress)
    results: list[FileResult] = []
    with store.lock(), Run(store, memory_limit) as run:
        for group in _groups(inputs, options):
            if len(group) > 1:
                results.extend(_ingest_batch(store, group, options, run))
                continue
            inp = group[0]
            res = FileResult(path=inp.name)
            if inp.skip:
                res.status, res.message = "skipped", inp.skip
            else:
                _ingest_one(store, inp, res, options, run)
            if on_progress is not None:
                on_progress(inp.name, inp.size() if inp.exists() else 0)
            results.append(res)
    return IngestReport(results)


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise FormatError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")


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


def _refuse_all_quarantined(inp: Input, res: FileResult) -> None:
    """An input none of whose records could be kept is an error (exit 4), not a quiet "ingested": most
    likely the wrong layout or a column of text ids. Raised inside the transaction, so nothing is stored."""
    if res.read == 0 or res.quarantined < res.read:
        return
    reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(res.reasons.items(), key=lambda kv: -kv[1]))
    hint = (
        " (vessel ids that are text, not MMSIs? use --id-column <Column>)"
        if "unparsable" in res.reasons
        else ""
    )
    raise InputError(
        f"{inp.name}: all {res.read:,} records were quarantined ({reasons}){hint}; nothing from it was "
        "stored: check the format (--format) and the column mapping (--map)"
    )


def _groups(inputs: Sequence[Input], options: _Options) -> Iterator[list[Input]]:
    """Inputs in order, one at a time, except runs of small NMEA inputs: batches of up to :data:`BATCH_INPUTS`.

    A batch shares one store transaction (one journal, one fsync) instead of one per input; each input in
    it still has its own manifest row, counts and parts, and the whole batch is committed or nothing is.
    """
    batch: list[Input] = []
    for inp in inputs:
        if _small_nmea(inp, options):
            batch.append(inp)
            if len(batch) == BATCH_INPUTS:
                yield batch
                batch = []
            continue
        if batch:
            yield batch
            batch = []
        yield [inp]
    if batch:
        yield batch


def _small_nmea(inp: Input, options: _Options) -> bool:
    """True for a readable NMEA input smaller than :data:`SMALL_INPUT` (errors are left to the single path)."""
    if inp.skip or options.mapping or options.fmt not in (None, "nmea"):
        return False
    try:
        if inp.size() >= SMALL_INPUT:
            return False
        return options.fmt == "nmea" or inp.detect_format() == "nmea"
    except (SupplylineError, OSError):
        return False


def input_format(
    inp: Input, fmt: str | None, mapping: dict[str, str] | None, sample: bytes | None = None
) -> str:
    """The format an input is read as: ``fmt`` if given, "mapped" for a mapped CSV, else detected."""
    if fmt is not None:
        return fmt
    sample = inp.head() if sample is None else sample
    return "mapped" if mapping and not sample.startswith(b"PAR1") else inp.detect_format(sample)


def _ingest_one(store: Store, inp: Input, res: FileResult, options: _Options, run: Run) -> None:
    """One input in one store transaction: read, stage, count, manifest row; nothing of it if it fails."""
    try:
        with store.transaction() as txn:
            input_id, prints = _stage_input(store, txn, inp, res, options, run)
        if input_id:
            run.committed(input_id, prints)
    except SupplylineError as exc:
        res.status, res.message, res.exit_code = "error", str(exc), exc.exit_code
        res.clear_counts()


def _ingest_batch(store: Store, batch: list[Input], options: _Options, run: Run) -> list[FileResult]:
    """Small inputs in one transaction; an input that fails leaves nothing staged, the others go on."""
    results = [FileResult(path=inp.name) for inp in batch]
    with store.transaction() as txn:
        for inp, res, ready in _prepared_small(batch, results, options, run):
            mark = len(txn.moves)
            try:
                input_id, prints = _stage_input(store, txn, inp, res, options, run, ready)
            except SupplylineError as exc:
                res.status, res.message, res.exit_code = "error", str(exc), exc.exit_code
                res.clear_counts()
                del txn.moves[mark:]  # what it staged is not committed (the staging folder goes with the txn)
                continue
            if input_id:  # later inputs of the batch see it (manifest id, positions) before the commit
                run.manifest_ids.add(input_id)
                run.prints.add_staged(prints)
            if options.on_progress is not None:
                options.on_progress(inp.name, inp.size())
    return results


def _prepared_small(
    batch: list[Input], results: list[FileResult], options: _Options, run: Run
) -> Iterator[tuple[Input, FileResult, Prepared | SupplylineError]]:
    """Small NMEA inputs decoded one by one, then normalised together (one query per group of inputs of
    at most ``chunk_bytes``, not one per input); each comes with its prepared chunk or why it failed."""
    from supplyline.ingest.nmea import NmeaResult, decode_nmea

    start = 0
    while start < len(batch):
        end, size = start, 0
        while end < len(batch) and (end == start or size + batch[end].size() <= options.chunk_bytes):
            size += batch[end].size()
            end += 1
        decoded: list[NmeaResult | SupplylineError] = []
        for inp in batch[start:end]:
            try:
                data = b"".join(nmea_pieces(inp, MIN_CHUNK_BYTES, options.chunk_bytes))
                decoded.append(decode_nmea(data, file=inp.name, input_id="", source_default="nmea"))
            except SupplylineError as exc:
                decoded.append(exc)
        ok = [r for r in decoded if isinstance(r, NmeaResult)]
        con = run.con.cursor()
        try:
            normalised = iter(normalise_many(con, ok))
            for inp, res, r in zip(batch[start:end], results[start:end], decoded, strict=True):
                if isinstance(r, SupplylineError):
                    yield inp, res, r
                else:
                    yield inp, res, InputWriter.prepare_normalised(con, r, *next(normalised))
        finally:
            con.close()
        start = end


def _stage_input(
    store: Store,
    txn: Transaction,
    inp: Input,
    res: FileResult,
    options: _Options,
    run: Run,
    ready: Prepared | SupplylineError | None = None,
) -> tuple[str, dict[str, np.ndarray | None]]:
    """Stage one input into ``txn``: read, stage, count, manifest row. Returns its id ("" if skipped) and
    the fingerprints of its positions by day. ``ready``: a small NMEA input already decoded and normalised
    (or why that failed)."""
    # hashlib releases the GIL: the content hash runs while the first chunks are read and decoded; the
    # writer asks for it (and checks the manifest) before it stages anything
    if ready is None:
        hashing = run.hashing.submit(inp.sha256)
    else:  # a small input: handing the hash to a thread costs more than hashing it here
        hashing = Future()
        hashing.set_result(inp.sha256())
    connecting: Future[duckdb.DuckDBPyConnection] = Future()
    connecting.set_result(run.con.cursor())  # the input's own connection to the run's database
    fmt, mapping = options.fmt, options.mapping
    try:
        sample = inp.head()
        res.format = fmt = input_format(inp, fmt, mapping, sample)
        writer = InputWriter(store, txn, connecting, hashing, inp.name, run)
        writer.on_progress = options.on_progress
        if isinstance(ready, SupplylineError):
            raise ready
        if fmt == "nmea" and ready is not None:
            writer.add_prepared(ready, 0)
            writer.fill_raw_lines(inp)
        elif fmt == "nmea":
            _read_nmea(inp, writer, options.chunk_bytes, run)
        else:
            read_table(inp, fmt, sample, writer, txn, mapping, options.ts_format, options.chunk_rows)
        writer.finish(res)
        _refuse_all_quarantined(inp, res)
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
        return writer.input_id, writer.positions.committed_prints()
    except AlreadyIngested as exc:
        res.clear_counts()
        res.input_id = str(exc)
        res.status = "skipped"
        res.message = "already ingested (same content hash in the manifest)"
        return "", {}
    except duckdb.Error as exc:
        raise InputError(
            f"{inp.name}: cannot be read ({str(exc).splitlines()[0]}); nothing from it was stored"
        ) from exc
    finally:
        hashing.cancel()
        with suppress(duckdb.Error):
            connecting.result().close()


def _read_nmea(inp: Input, writer: InputWriter, chunk_bytes: int, run: Run) -> None:
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
        pending = run.writing.submit(write, result, line_offset, line_offset + lines)
        line_offset += lines

    if (
        inp.size() < MIN_CHUNK_BYTES
    ):  # one piece: the hand-overs between threads would cost more than they save
        for data in nmea_pieces(inp, piece, chunk_bytes):
            result = decode(data)
            write(result, line_offset, line_offset + result.physical_lines)
            line_offset += result.physical_lines
        writer.fill_raw_lines(inp)
        return
    try:
        for data in nmea_pieces(inp, piece, chunk_bytes):
            decoding.append(run.decoders.submit(decode, data))
            if len(decoding) == 2:
                hand_over()
        while decoding:
            hand_over()
    finally:
        for fut in decoding:
            fut.cancel()
        wait(decoding)  # the pools outlive this input: nothing of it may still run when the next starts
        if pending is not None:
            pending.result()
    # messages the normaliser rejects get their text when the decoder says where they are (a _line column)
    writer.fill_raw_lines(inp)
