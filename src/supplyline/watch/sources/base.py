"""What every source shares: a name (its spool folder), counters, and the queue it feeds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from supplyline.watch.queue import ByteQueue, Item


@dataclass
class SourceStats:
    """Counters shown by `watch --status` (bytes and lines received, dropped for lack of room)."""

    received_bytes: int = 0
    lines: int = 0
    dropped_lines: int = 0
    connections: int = 0
    reconnects: int = 0
    last_received: float | None = None  # wall-clock seconds
    state: str = "starting"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Source:
    """Base of the sources: ``run`` until cancelled, putting whole lines on the queue."""

    name: str
    queue: ByteQueue
    stats: SourceStats = field(default_factory=SourceStats)

    def count(self, data: bytes) -> None:
        self.stats.received_bytes += len(data)
        self.stats.lines += data.count(b"\n")
        self.stats.last_received = time.time()

    async def put(self, data: bytes, *, wait_ack: bool = False) -> None:
        """Queue whole lines; with ``wait_ack`` return only once they are fsync'd in the spool."""
        self.count(data)
        ack = asyncio.Event() if wait_ack else None
        await self.queue.put(Item(self.name, data, ack))
        if ack is not None:
            await ack.wait()

    async def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def whole_lines(buf: bytearray) -> bytes:
    """Take the whole lines off the front of ``buf`` (CR LF kept as sent); the partial tail stays."""
    cut = buf.rfind(b"\n") + 1
    data = bytes(buf[:cut])
    del buf[:cut]
    return data
