"""A queue bounded in bytes between the sources and the spool writer: back-pressure, not unbounded memory."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass


@dataclass
class Item:
    """Whole lines from one source; ``ack`` is set once they are fsync'd in the spool."""

    source: str
    data: bytes
    ack: asyncio.Event | None = None


class ByteQueue:
    """FIFO of :class:`Item` holding at most ``max_bytes`` (one item larger than that is let in alone).

    One consumer (the spool writer); any number of producers.
    """

    def __init__(self, max_bytes: int = 16 << 20) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: deque[Item] = deque()
        self._ready = asyncio.Event()
        self._space = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def _room(self, n: int) -> bool:
        return not self._items or self.bytes + n <= self.max_bytes

    async def put(self, item: Item) -> None:
        """Wait for room (a TCP or WebSocket source stops reading meanwhile, so its sender slows down)."""
        while not self._room(len(item.data)):
            self._space.clear()
            await self._space.wait()
        self._add(item)

    def put_nowait(self, item: Item) -> bool:
        """Add if there is room; False (the item is dropped and counted by the caller) otherwise (UDP)."""
        if not self._room(len(item.data)):
            return False
        self._add(item)
        return True

    def _add(self, item: Item) -> None:
        self._items.append(item)
        self.bytes += len(item.data)
        self._ready.set()

    async def take(self, max_bytes: int = 4 << 20, timeout: float = 0.2) -> list[Item]:
        """Everything queued up to ``max_bytes``, waiting up to ``timeout`` s for the first item."""
        if not self._items:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        out: list[Item] = []
        size = 0
        while self._items and (not out or size + len(self._items[0].data) <= max_bytes):
            item = self._items.popleft()
            size += len(item.data)
            out.append(item)
        self.bytes -= size
        self._space.set()
        return out
