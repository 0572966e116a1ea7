"""Where the records of a CSV file are: RFC 4180 quoting, blank lines, and lines no record can hold.

DuckDB parses the file (in parallel, typed); it numbers records, not physical lines (a quoted value holding a
newline is one record, a blank line is a record with no row), and after an unterminated quote it reads the
rest of the file as that one value. :func:`scan_records` walks the same bytes once (NumPy over blocks, with
bounded memory) and says:

* which physical lines cannot start a record: a line opening a quote that is not closed, or closed into a
  row that is not ``columns`` fields, within :data:`MAX_RECORD` bytes (``unterminated_quote``); the scan
  resumes on the next line, so one bad quote costs one line, never the rest of the file;
* where each record starts (:class:`RecordMap`), to turn DuckDB's record numbers and row indices into the
  physical line numbers the quarantine reports.

Pure functions of bytes: any reader (DuckDB here, Spark elsewhere) can use them.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_RECORD = 1 << 20
"""Bytes one CSV record may take (one line, or the lines of one quoted value); longer lines are quarantined
as ``line_too_long`` (DuckDB's ``max_line_size``), longer open quotes as ``unterminated_quote``."""
QUOTE_TEXT = 256  # bytes of a bad line kept as its quarantine text
_QUOTE, _NL, _CR = 34, 10, 13


@dataclass
class RecordMap:
    """Physical lines of a CSV file's records (``header`` lines first, then one record after another).

    ``cont``: runs ``(first line, count)`` of continuation lines (lines 2.. of a multi-line record);
    ``skip``: runs of lines that hold no row (blank lines, and lines quarantined by the scan).
    Both sorted, disjoint. Numbers are 1-based physical lines.
    """

    header: int = 1
    cont: list[tuple[int, int]] = field(default_factory=list)
    skip: list[tuple[int, int]] = field(default_factory=list)
    bad: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, reason, text, detail)

    def record_lines(self, records: np.ndarray) -> np.ndarray:
        """Physical line of DuckDB records numbered like its rejects (header = 1, blank lines count)."""
        return _nth_free(np.asarray(records, np.int64) - self.header - 1, self.header + 1, self.cont)

    def row_lines(self, rows: np.ndarray) -> np.ndarray:
        """Physical line of data rows by index (0-based; rows DuckDB rejected are counted as rows)."""
        return _nth_free(np.asarray(rows, np.int64), self.header + 1, _merge(self.cont, self.skip))

    def row_index(self, lines: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`row_lines`: the 0-based row index of the record starting on each line."""
        runs = _merge(self.cont, self.skip)
        lines = np.asarray(lines, np.int64)
        if not runs:
            return lines - self.header - 1
        starts = np.array([s for s, _ in runs], np.int64)
        ends = starts + np.array([n for _, n in runs], np.int64)
        excluded = np.cumsum(np.array([n for _, n in runs], np.int64))
        k = np.searchsorted(ends, lines, side="right")  # runs wholly before each line
        before = np.where(k > 0, excluded[np.maximum(k - 1, 0)], 0)
        return lines - self.header - 1 - before


def _merge(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(a + b)


def _nth_free(n: np.ndarray, first: int, runs: list[tuple[int, int]]) -> np.ndarray:
    """The ``n``-th (0-based) line from ``first`` on that is in none of ``runs`` (sorted, disjoint)."""
    if not runs:
        return first + n
    starts = np.array([s for s, _ in runs], np.int64)
    lengths = np.array([c for _, c in runs], np.int64)
    excluded_before = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    free_before = starts - first - excluded_before  # free lines before each run
    k = np.searchsorted(free_before, n, side="right")  # runs that start before the answer
    total = np.concatenate([[0], np.cumsum(lengths)])
    return first + n + total[k]


@dataclass
class _Line:
    number: int  # 1-based physical line
    text: bytes  # the line (an overlong line: its first QUOTE_TEXT bytes)
    quotes: int  # '"' bytes in it
    size: int  # bytes (without the newline)


class _Scanner:
    """The record state machine. Lines outside an open quote go through in bulk (NumPy); only a line that
    opens a quote, and the lines of the record it opens (at most ``max_record`` bytes), go one by one."""

    def __init__(self, out: RecordMap, columns: int, delimiter: str, max_record: int):
        self.out, self.columns, self.delimiter, self.max_record = out, columns, delimiter, max_record
        self.open: list[_Line] = []
        self.size = 0
        self.parity = 0
        self.pending: deque[_Line] = deque()

    def bulk_blank(self, numbers: np.ndarray) -> None:
        """Blank lines (no row; DuckDB counts them as records) among lines that need no quote handling."""
        if numbers.size == 0:
            return
        breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
        for first, last in zip(np.r_[0, breaks].tolist(), np.r_[breaks, numbers.size].tolist(), strict=True):
            _add_run(self.out.skip, int(numbers[first]), last - first)

    def feed(self, line: _Line) -> None:
        self.pending.append(line)
        while self.pending:
            self._step(self.pending.popleft())

    def finish(self) -> None:
        """End of file: an open quote never closed is a bad line; the lines after it are read again."""
        while self.open:
            self._fail()
            while self.pending:
                self._step(self.pending.popleft())

    def _step(self, line: _Line) -> None:
        if not self.open:
            if line.size == 0 or (line.size == 1 and line.text == b"\r"):
                _add_run(self.out.skip, line.number, 1)
            elif line.size > self.max_record:
                self._bad(line, "line_too_long", f"line over {self.max_record} bytes")
            elif line.quotes % 2:
                self.open, self.size, self.parity = [line], line.size, 1
            return
        self.open.append(line)
        self.size += line.size + 1
        self.parity ^= line.quotes % 2
        if self.size > self.max_record:
            self._fail()
        elif self.parity == 0:
            if self._one_row(b"\n".join(x.text for x in self.open)):
                _add_run(self.out.cont, self.open[1].number, len(self.open) - 1)
                self.open = []
            else:
                self._fail()

    def _fail(self) -> None:
        """The open record's first line is quarantined; the lines after it are read again from scratch."""
        first, rest = self.open[0], self.open[1:]
        self.open = []
        self._bad(first, "unterminated_quote", "quote opened and not closed into one row")
        self.pending.extendleft(reversed(rest))

    def _bad(self, line: _Line, reason: str, detail: str) -> None:
        self.out.bad.append((line.number, reason, _text(line.text), detail))
        _add_run(self.out.skip, line.number, 1)

    def _one_row(self, text: bytes) -> bool:
        """True if ``text`` is exactly one well-formed CSV row of ``columns`` fields."""
        try:
            rows = list(
                csv.reader(
                    io.StringIO(text.decode("utf-8", "replace"), newline=""),
                    delimiter=self.delimiter,
                    strict=True,
                )
            )
        except csv.Error:
            return False
        return len(rows) == 1 and len(rows[0]) == self.columns


def _add_run(runs: list[tuple[int, int]], first: int, count: int) -> None:
    if runs and runs[-1][0] + runs[-1][1] == first:
        runs[-1] = (runs[-1][0], runs[-1][1] + count)
    else:
        runs.append((first, count))


def _text(line: bytes) -> str:
    return line[:QUOTE_TEXT].rstrip(b"\r").decode("utf-8", "replace")


def scan_records(
    blocks: Iterable[bytes], columns: int, delimiter: str = ",", header: int = 1, max_record: int = MAX_RECORD
) -> RecordMap:
    """One pass over a CSV file's bytes: its :class:`RecordMap` (bad lines included), in bounded memory.

    ``columns``: fields in a row (the header's); ``header``: lines before the first record.
    """
    out = RecordMap(header=header)
    scanner = _Scanner(out, columns, delimiter, max_record)
    for number, arr, buf, starts, ends, quotes in _line_blocks(blocks, max_record):
        data = number > header  # the header lines are not records
        if not data.any():
            continue
        number, starts, ends, quotes = number[data], starts[data], ends[data], quotes[data]
        sizes = ends - starts
        blank = (sizes == 0) | ((sizes == 1) & (arr[np.minimum(starts, arr.size - 1)] == _CR))
        odd = ((quotes % 2 == 1) & (sizes <= max_record)) | (sizes > max_record)  # lines needing a look
        pos, n = 0, number.size
        odd_at = np.flatnonzero(odd)
        while pos < n:
            if not scanner.open and not scanner.pending:
                k = np.searchsorted(odd_at, pos)
                nxt = int(odd_at[k]) if k < odd_at.size else n
                scanner.bulk_blank(number[pos:nxt][blank[pos:nxt]])
                pos = nxt
                if pos == n:
                    break
            s, e = int(starts[pos]), int(ends[pos])
            text = buf[s : min(e, s + QUOTE_TEXT)] if e - s > max_record else buf[s:e]
            scanner.feed(_Line(int(number[pos]), text, int(quotes[pos]), e - s))
            pos += 1
    scanner.finish()
    return out


def _line_blocks(
    blocks: Iterable[bytes], max_record: int
) -> Iterator[tuple[np.ndarray, np.ndarray, bytes, np.ndarray, np.ndarray, np.ndarray]]:
    """Per block: (line numbers, bytes as uint8, bytes, starts, ends, quote counts) of its complete lines.

    A line longer than ``max_record`` keeps only its start (and its true length as ``end - start`` is
    replaced by ``max_record + 1``), so memory stays bounded whatever the line length.
    """
    carry, number, cut = b"", 1, False  # cut: the current line is overlong, only its start is in carry
    for block in blocks:
        buf = carry + block if not cut else carry
        arr = np.frombuffer(block if cut else buf, np.uint8)
        nl = np.flatnonzero(arr == _NL)
        if cut:
            if nl.size == 0:
                continue
            head = np.frombuffer(carry, np.uint8)
            yield (
                np.array([number]),
                head,
                carry,
                np.zeros(1, np.int64),
                np.array([max_record + 1]),
                np.zeros(1, np.int64),
            )
            number, cut = number + 1, False
            buf = block[int(nl[0]) + 1 :]
            arr = np.frombuffer(buf, np.uint8)
            nl = np.flatnonzero(arr == _NL)
        if nl.size:
            starts = np.r_[0, nl[:-1] + 1]
            quote_at = np.flatnonzero(arr == _QUOTE)
            quotes = np.searchsorted(quote_at, nl) - np.searchsorted(quote_at, starts)
            yield number + np.arange(nl.size), arr, buf, starts, nl, quotes
            number += nl.size
        rest = buf[int(nl[-1]) + 1 :] if nl.size else buf
        carry, cut = (rest[:QUOTE_TEXT], True) if len(rest) > max_record else (rest, False)
    if carry or cut:
        end = max_record + 1 if cut else len(carry)
        yield (
            np.array([number]),
            np.frombuffer(carry, np.uint8),
            carry,
            np.zeros(1, np.int64),
            np.array([end]),
            np.array([0 if cut else carry.count(b'"')]),
        )


def write_without_lines(blocks: Iterable[bytes], lines: list[int], dest: Path) -> None:
    """Copy the bytes to ``dest`` with the given physical lines emptied (their newlines kept, so every other
    line keeps its number and a reader sees a blank line, which holds no row)."""
    drop = np.unique(np.asarray(lines, np.int64))
    number = 1  # the line the next byte belongs to
    with open(dest, "wb") as out:
        for block in blocks:
            nl = np.flatnonzero(np.frombuffer(block, np.uint8) == _NL)
            last = number + nl.size  # line of the bytes after the block's last newline
            hit = drop[(drop >= number) & (drop <= last)]
            pos = 0
            for line in hit.tolist():
                k = line - number  # segment k: from after newline k-1 to newline k (or the block's end)
                start = int(nl[k - 1]) + 1 if k > 0 else 0
                end = int(nl[k]) if k < nl.size else len(block)
                out.write(block[pos:start])
                pos = end
            out.write(block[pos:])
            number = last


def may_have_long_lines(blocks: Iterable[bytes], max_record: int = MAX_RECORD) -> bool:
    """False when no line is longer than ``max_record`` bytes (True: maybe; :func:`scan_records` tells).

    Every aligned stretch of ``max_record // 2`` bytes holding a newline means no line reaches
    ``max_record``; each test is a ``memchr`` that stops at the stretch's first newline, so this costs
    little more than reading the bytes. Why it is needed: DuckDB drops a line longer than its read buffer
    (32 MB) without a word, which would lose a record silently.
    """
    step = max(1, max_record // 2)
    carry = b""
    for block in blocks:
        buf = carry + block if carry else block
        end = len(buf) - len(buf) % step
        for pos in range(0, end, step):
            if buf.find(b"\n", pos, pos + step) < 0:
                return True
        carry = buf[end:]
    return False
