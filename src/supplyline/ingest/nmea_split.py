"""Cutting decompressed NMEA into pieces between whole messages, so each piece decodes on its own.

Memory stays bounded on any input: a line longer than ``MAX_LINE`` bytes is clipped as it streams past
(never held whole; the scanner quarantines it as ``line_too_long``), and a piece holds at most
:data:`MAX_PIECE_LINES` active lines (the scanner keeps ~210 bytes per active line; blank lines cost nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from supplyline.ingest._scan_py import MAX_LINE  # the same in the C scanner (tested)
from supplyline.ingest.inputs import BLOCK, Input
from supplyline.ingest.scanner import impl as _scan

MAX_PIECE_LINES = 1 << 20  # active lines per piece: ~210 MB of scanner columns at most


def nmea_pieces(inp: Input, piece_bytes: int, max_bytes: int | None = None) -> Iterator[bytes]:
    """Decompressed NMEA in pieces of about ``piece_bytes`` (or :data:`MAX_PIECE_LINES` active lines), cut
    only between whole messages; lines longer than ``MAX_LINE`` are clipped to ``MAX_LINE + 1`` bytes.

    A piece that is mostly blank lines (under one active line per 16 bytes) grows up to ``max_bytes``
    instead: a flood of newlines is decoded in a few large pieces, not thousands of small ones.
    """
    blocks: list[bytes] = []
    size = lines = 0
    most = max(piece_bytes, max_bytes or piece_bytes)
    for block in clip_long_lines(inp.blocks(min(piece_bytes, BLOCK))):
        blocks.append(block)
        size += len(block)
        lines += _active_lines(block)
        sparse = lines * 16 < size
        if (size >= piece_bytes and not sparse) or size >= most or lines >= MAX_PIECE_LINES:
            buf = b"".join(blocks)
            cut = message_boundary(buf)
            if cut > 0:
                yield buf[:cut]
                buf = buf[cut:]
            blocks, size, lines = [buf], len(buf), _active_lines(buf)
    if size:
        yield b"".join(blocks)


def _active_lines(block: bytes) -> int:
    """Lines of ``block`` that will get scanner columns (an upper bound unless the block is newline-dense)."""
    newlines = block.count(b"\n")
    if newlines * 16 < len(block):  # ordinary NMEA (~50-80 bytes a line): every line counts
        return newlines + 1
    return int(_scan.count_lines(block, len(block))[1])  # a flood of short lines: count the non-blank ones


def clip_long_lines(blocks: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[bytes]:
    """``blocks`` with every line cut after ``max_line + 1`` bytes (its newline kept), so line numbers stay
    right and a line of any length costs at most one block of memory. Ordinary blocks pass unchanged after a
    few ``find`` calls; only blocks with a long line are rebuilt."""
    run = 0  # bytes of the current (unfinished) line already passed on
    for block in blocks:
        last = block.rfind(b"\n")
        if last < 0:  # the whole block is inside one line
            keep = max(0, min(len(block), max_line + 1 - run))
            run += len(block)
            if keep:
                yield block[:keep]
            continue
        if _all_short(block, run, last, max_line):
            run = len(block) - last - 1
            yield block
            continue
        out, run = _clipped(block, run, max_line)
        yield out


def _all_short(block: bytes, run: int, last: int, max_line: int) -> bool:
    """True when no line in ``block`` (the first continuing ``run`` bytes) is longer than ``max_line``."""
    first = block.find(b"\n")
    if run + first > max_line or len(block) - last - 1 > max_line:
        return False
    window = max(1, max_line // 2)  # a longer line holds a whole window of this size at this stride
    return all(block.find(b"\n", at, at + window) >= 0 for at in range(first + 1, last, window))


def _clipped(block: bytes, run: int, max_line: int) -> tuple[bytes, int]:
    """``block`` with each line's bytes beyond ``max_line + 1`` dropped; and the length of its last line."""
    nl = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    starts = np.r_[0, nl + 1]  # the first segment continues the current line
    ends = np.r_[nl, len(block)]  # where each segment's content ends (its newline, or the block's end)
    room = np.full(starts.size, max_line + 1, np.int64)
    room[0] -= min(run, max_line + 1)
    keep = np.minimum(ends, starts + room)
    cut = np.flatnonzero(keep < ends)
    parts: list[bytes] = []
    at = 0
    for i in cut.tolist():
        parts.append(block[at : int(keep[i])])
        at = int(ends[i])  # resume at the newline (kept), or at the block's end
    parts.append(block[at:])
    return b"".join(parts), run + len(block) if nl.size == 0 else len(block) - int(nl[-1]) - 1


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


def _last_fragment(line: bytes) -> bool:
    """True if ``line`` is a sentence (tag block allowed) whose fragment number equals its count."""
    line = line.strip()
    if line.startswith(b"\\"):
        end = line.find(b"\\", 1)
        line = line[end + 1 :] if end > 0 else b""
    if not line.startswith(b"!"):
        return False
    parts = line.split(b",", 3)
    return len(parts) >= 3 and parts[1] == parts[2]
