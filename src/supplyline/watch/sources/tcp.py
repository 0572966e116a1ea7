"""NMEA over TCP: a client of a dispatcher / receiver (reconnects with back-off), or a listening server.

Both read only as fast as the spool takes lines (the queue is bounded), so a fast sender is slowed by TCP's
own flow control. The server with ``ack=1`` writes ``ACK <bytes>`` back after the bytes of its connection
up to there are fsync'd in the spool: a sender that resends everything after the last ACK on reconnect loses
nothing across a crash (repeats it resends are counted as duplicates, never stored twice).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from supplyline.watch.sources.base import Source, whole_lines

READ = 1 << 16


@dataclass
class TcpClientSource(Source):
    host: str = "127.0.0.1"
    port: int = 5631
    backoff_max_s: float = 30.0

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.stats.state = f"retrying in {delay:.1f}s"
                await asyncio.sleep(delay)
                delay = min(self.backoff_max_s, delay * 2)
                continue
            self.stats.connections += 1
            self.stats.state = "connected"
            delay = 0.5
            try:
                await _pump(self, reader, None)
            finally:
                writer.close()
            self.stats.reconnects += 1


@dataclass
class TcpServerSource(Source):
    host: str = "127.0.0.1"
    port: int = 5631
    ack: bool = False

    async def run(self) -> None:
        server = await asyncio.start_server(self._serve, self.host, self.port)
        self.stats.state = "listening"
        async with server:
            await server.serve_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            await _pump(self, reader, writer if self.ack else None)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _pump(source: Source, reader: asyncio.StreamReader, acker: asyncio.StreamWriter | None) -> None:
    """Read until EOF, queueing whole lines; with ``acker`` acknowledge each block once spooled."""
    buf = bytearray()
    taken = 0
    while True:
        block = await reader.read(READ)
        if not block:
            break
        buf += block
        data = whole_lines(buf)
        if not data:
            continue
        await source.put(data, wait_ack=acker is not None)
        taken += len(data)
        if acker is not None:
            acker.write(b"ACK %d\n" % taken)
            await acker.drain()
