"""Cutting decompressed NMEA into pieces between whole messages, so each piece decodes on its own."""

from __future__ import annotations

from collections.abc import Iterator

from supplyline.ingest.inputs import BLOCK, Input


def nmea_pieces(inp: Input, piece_bytes: int) -> Iterator[bytes]:
    """Decompressed NMEA in pieces of about ``piece_bytes``, cut only between whole messages."""
    blocks: list[bytes] = []
    size = 0
    for block in inp.blocks(min(piece_bytes, BLOCK)):
        blocks.append(block)
        size += len(block)
        if size >= piece_bytes:
            buf = b"".join(blocks)
            cut = message_boundary(buf)
            if cut > 0:
                yield buf[:cut]
                buf = buf[cut:]
            blocks, size = [buf], len(buf)
    if size:
        yield b"".join(blocks)


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
