"""A WebSocket stream in AISStream's format: subscribe with the key and boxes, convert each message to NMEA
(:mod:`.aisstream`), reconnect with back-off (0.5 s doubling to 30 s) when the connection drops.

Needs the optional extra ``watch`` (``pip install 'supplyline[watch]'``: the ``websockets`` package). The key
comes from ``$AISSTREAM_API_KEY`` (``?key_env=NAME`` for another variable) and is never logged. Boxes: one
around each of the case's places (``margin`` degrees, 0.5), or the whole world without a case.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from supplyline.errors import DependencyError, UsageError
from supplyline.watch.sources.aisstream import boxes_around, subscription, to_nmea_many
from supplyline.watch.sources.base import Source

MAX_INBOX = 4096  # messages read but not yet converted, at most (then reading waits: flow control)


@dataclass
class WebSocketSource(Source):
    url: str = ""
    key_env: str = "AISSTREAM_API_KEY"
    places: Any = None  # schema.PLACES table, or None
    margin_deg: float = 0.5
    backoff_max_s: float = 30.0

    def subscribe_message(self) -> str:
        key = os.environ.get(self.key_env, "")
        if not key and (urlsplit(self.url).hostname or "").endswith("aisstream.io"):
            raise UsageError(f"AISStream needs an API key: set ${self.key_env} (https://aisstream.io)")
        lats = self.places.column("lat").to_pylist() if self.places is not None else []
        lons = self.places.column("lon").to_pylist() if self.places is not None else []
        return json.dumps(subscription(key, boxes_around(lats, lons, self.margin_deg)))

    async def run(self) -> None:
        try:
            import websockets
        except ModuleNotFoundError as exc:
            raise DependencyError("the WebSocket source needs: pip install 'supplyline[watch]'") from exc
        hello, delay = self.subscribe_message(), 0.5
        while True:
            try:
                async with websockets.connect(self.url, max_size=1 << 20, open_timeout=10) as ws:
                    await ws.send(hello)
                    self.stats.connections += 1
                    self.stats.state, delay = "connected", 0.5
                    await self._session(ws)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                pass
            self.stats.reconnects += 1
            self.stats.state = f"reconnecting in {delay:.1f}s"
            await asyncio.sleep(delay)
            delay = min(self.backoff_max_s, delay * 2)

    async def _session(self, ws: Any) -> None:
        """Read messages into an inbox while the previous ones are converted and queued, then convert all
        that arrived meanwhile in one vectorised call: batches grow with the rate, a lone message goes
        alone. Returns when the connection closes (raises its error after converting what was read)."""
        inbox: list[str | bytes] = []
        ready, room = asyncio.Event(), asyncio.Event()

        async def read() -> None:
            async for message in ws:
                inbox.append(message)
                ready.set()
                while len(inbox) >= MAX_INBOX:
                    room.clear()
                    await room.wait()

        reader = asyncio.create_task(read())
        try:
            while inbox or not reader.done():
                if not inbox:
                    waiter = asyncio.create_task(ready.wait())
                    await asyncio.wait([reader, waiter], return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    continue
                batch = inbox[:]
                inbox.clear()
                ready.clear()
                room.set()
                await self.put(to_nmea_many(batch))
            reader.result()
        finally:
            reader.cancel()
