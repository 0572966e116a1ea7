"""The spool: one source's received lines, durable before anything else happens to them.

Layout of ``<spool>/<source>/``:

* ``seg-<offset>.nmea``: append-only segment files; ``<offset>`` (20 digits) is the logical byte offset of the
  segment's first byte in the source's whole stream, so an offset names one byte whatever the segment.
* ``committed.json``: ``{"offset": N, "pending": [start, end] | null, "batch": k}`` written atomically
  (temporary file, fsync, rename). ``offset`` is the end of the last batch stored; ``pending`` is the batch
  being stored. A restart re-ingests exactly ``pending`` (the same bytes: if the store already holds them,
  their content hash in the manifest makes the ingest a no-op), then resumes from ``offset``.

Appends are fsync'd per batch of received chunks before the source is told they are taken (TCP reads the
next bytes only after that), so a message once acknowledged survives a SIGKILL or power loss. Segments wholly
before ``offset`` are deleted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from supplyline.ingest.nmea_split import message_boundary

SEGMENT_BYTES = 64 << 20  # a new segment once the current one holds this much (cut at a message end)
_STATE = "committed.json"


@dataclass(frozen=True)
class Committed:
    """What the store holds of this source: bytes before ``offset``; ``pending`` is being stored."""

    offset: int = 0
    pending: tuple[int, int] | None = None
    batch: int = 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SourceSpool:
    """Append-only segments plus the committed offset of one source (single writer, single reader)."""

    def __init__(self, folder: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._segments: list[int] = sorted(int(p.stem[4:]) for p in self.folder.glob("seg-*.nmea"))
        self._repair_tail()
        self.end = self._segments[-1] + self._path(self._segments[-1]).stat().st_size if self._segments else 0
        self.committed = self._read_state()
        self._fh = None if not self._segments else open(self._path(self._segments[-1]), "ab")  # noqa: SIM115

    # --- paths and state ----------------------------------------------------------------------------------
    def _path(self, start: int) -> Path:
        return self.folder / f"seg-{start:020d}.nmea"

    def _read_state(self) -> Committed:
        path = self.folder / _STATE
        if not path.exists():
            return Committed(offset=self._segments[0] if self._segments else 0)
        raw = json.loads(path.read_text())
        pending = tuple(raw["pending"]) if raw.get("pending") else None
        return Committed(int(raw["offset"]), pending, int(raw.get("batch", 0)))

    def _repair_tail(self) -> None:
        """Cut a torn last line (a write cut short by a crash) off the last segment."""
        if not self._segments:
            return
        path = self._path(self._segments[-1])
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            os.truncate(path, keep)

    def commit(self, state: Committed) -> None:
        """Record ``state`` atomically and durably, then drop segments wholly before its offset."""
        tmp = self.folder / (_STATE + ".tmp")
        pending = list(state.pending) if state.pending else None
        with open(tmp, "w") as fh:
            json.dump({"offset": state.offset, "pending": pending, "batch": state.batch}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / _STATE)
        _fsync_dir(self.folder)
        self.committed = state
        self._drop_consumed()

    def _drop_consumed(self) -> None:
        upto = self.committed.pending[0] if self.committed.pending else self.committed.offset
        while len(self._segments) > 1 and self._segments[1] <= upto:
            self._path(self._segments.pop(0)).unlink(missing_ok=True)

    # --- writing ------------------------------------------------------------------------------------------
    def append(self, chunks: list[bytes]) -> int:
        """Append whole lines and fsync; returns the new durable end offset."""
        data = b"".join(c if c.endswith(b"\n") else c + b"\n" for c in chunks if c)
        if not data:
            return self.end
        if self._fh is None:
            self._open_segment(self.end)
        assert self._fh is not None
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.end += len(data)
        if self.end - self._segments[-1] >= self.segment_bytes and message_boundary(data) == len(data):
            self._fh.close()
            self._open_segment(self.end)
        return self.end

    def _open_segment(self, start: int) -> None:
        self._segments.append(start)
        self._fh = open(self._path(start), "ab")  # noqa: SIM115 - closed on rotation / close()
        _fsync_dir(self.folder)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    # --- reading ------------------------------------------------------------------------------------------
    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the stream (they may span segments)."""
        out: list[bytes] = []
        for i, seg in enumerate(self._segments):
            seg_end = self._segments[i + 1] if i + 1 < len(self._segments) else self.end
            lo, hi = max(start, seg), min(end, seg_end)
            if lo >= hi:
                continue
            with open(self._path(seg), "rb") as fh:
                fh.seek(lo - seg)
                out.append(fh.read(hi - lo))
        return b"".join(out)

    @property
    def backlog(self) -> int:
        """Bytes spooled but not yet committed to the store."""
        return self.end - self.committed.offset


class Spool:
    """The spools of every source under one folder."""

    def __init__(self, folder: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = Path(folder)
        self.segment_bytes = segment_bytes
        self.sources: dict[str, SourceSpool] = {}

    def source(self, name: str) -> SourceSpool:
        if name not in self.sources:
            self.sources[name] = SourceSpool(self.folder / name, self.segment_bytes)
        return self.sources[name]

    def close(self) -> None:
        for s in self.sources.values():
            s.close()
