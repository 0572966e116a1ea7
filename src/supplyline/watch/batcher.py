"""Micro-batches: spooled lines -> the store, through the same entry point and accounting as `ingest`.

A batch is the bytes ``[committed, cut)`` of one source's spool, where ``cut`` is the end of the last whole
message (:func:`~supplyline.ingest.nmea_split.message_boundary`), so a two-sentence message is never split
between batches. It is ingested with :func:`~supplyline.ingest.pipeline.ingest_bytes` as an input named
``watch:<source>:<start>-<end>``: its manifest row holds ``read = kept + duplicate + quarantined`` for that
batch, and the manifest rows of one source add up to its totals.

Order of durable steps (each survives a SIGKILL): record ``pending=[start, end)``; ingest (one store
transaction); record ``offset=end``. A restart finds ``pending`` and ingests the same bytes again: if the first
attempt committed, the content hash in the manifest makes it a skip, so nothing is stored twice.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from supplyline.errors import StoreError
from supplyline.ingest.nmea_split import message_boundary
from supplyline.ingest.pipeline import ingest_bytes
from supplyline.store import Store
from supplyline.watch.spool import Committed, SourceSpool

MAX_BATCH_BYTES = 32 << 20  # ~400k NMEA lines: one ingest call (about a second of work on 2 cores)
PREFIX = "watch:"


def batch_name(source: str, start: int, end: int) -> str:
    """The input name of one batch: the source and its byte range in the source's stream."""
    return f"{PREFIX}{source}:{start}-{end}"


@dataclass
class BatchResult:
    """What one batch did (the counts of its manifest row; all zero when it was a skip)."""

    source: str
    batch: int
    start: int
    end: int
    status: str
    read: int = 0
    kept: int = 0
    duplicate: int = 0
    quarantined: int = 0
    positions: int = 0
    statics: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_cut(src: SourceSpool, *, force: bool = False, max_bytes: int = MAX_BATCH_BYTES) -> int:
    """End offset of the next batch (== committed offset when there is nothing to take yet).

    Without ``force`` the batch ends after the last complete message; ``force`` (the feed has been idle
    long enough that a missing fragment will not come) takes every whole line.
    """
    start = src.committed.offset
    end = min(src.end, start + max_bytes)
    if end <= start:
        return start
    data = src.read(max(start, end - 64 * 1024), end)  # the cut is near the end: read only the tail
    base = max(start, end - 64 * 1024)
    cut = message_boundary(data)
    if force or end < src.end:  # a capped batch or a forced one may end at any whole line
        cut = cut or data.rfind(b"\n") + 1
    return base + cut if cut else start


class Batcher:
    """Ingests batches of each source's spool into the store, one transaction per batch."""

    def __init__(self, store: Store, max_bytes: int = MAX_BATCH_BYTES) -> None:
        self.store = store
        self.max_bytes = max_bytes

    def recover(self, name: str, src: SourceSpool) -> BatchResult | None:
        """Finish the batch a previous run was storing when it stopped (same bytes, so at most once)."""
        if src.committed.pending is None:
            return None
        start, end = src.committed.pending
        return self._store_range(name, src, start, end)

    def step(self, name: str, src: SourceSpool, *, force: bool = False) -> BatchResult | None:
        """Store the next batch of ``name`` if one is ready; None when there is nothing to take."""
        start = src.committed.offset
        end = next_cut(src, force=force, max_bytes=self.max_bytes)
        if end <= start:
            return None
        src.commit(Committed(start, (start, end), src.committed.batch))
        return self._store_range(name, src, start, end)

    def _store_range(self, name: str, src: SourceSpool, start: int, end: int) -> BatchResult:
        t0 = time.perf_counter()
        data = src.read(start, end)
        if len(data) != end - start:
            raise StoreError(f"spool of {name} is missing bytes {start}-{end}; it was edited or truncated")
        res = ingest_bytes(self.store, data, name=batch_name(name, start, end), fmt="nmea")
        if res.status == "error":
            raise StoreError(f"batch {batch_name(name, start, end)} could not be stored: {res.message}")
        number = src.committed.batch + 1
        src.commit(Committed(end, None, number))
        return BatchResult(
            source=name,
            batch=number,
            start=start,
            end=end,
            status=res.status,
            read=res.read,
            kept=res.kept,
            duplicate=res.duplicate,
            quarantined=res.quarantined,
            positions=res.positions,
            statics=res.statics,
            reasons=dict(res.reasons),
            seconds=round(time.perf_counter() - t0, 4),
        )
