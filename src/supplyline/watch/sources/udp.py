"""NMEA over UDP, as AIS receivers (AIS-catcher, rtl-ais) and dispatchers send it: one or more lines a datagram.

UDP has no back-pressure: when the queue is full a datagram is dropped and counted (`watch --status` shows
``dropped_lines``), never lost silently. The socket's receive buffer (4 MB asked) absorbs bursts meanwhile.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from supplyline.watch.queue import Item
from supplyline.watch.sources.base import Source

RCVBUF = 4 << 20


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, source: UdpSource) -> None:
        self.source = source

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.endswith(b"\n"):
            data += b"\n"
        src = self.source
        if src.queue.put_nowait(Item(src.name, data)):
            src.count(data)
        else:
            src.stats.dropped_lines += data.count(b"\n")


@dataclass
class UdpSource(Source):
    host: str = "127.0.0.1"
    port: int = 10110

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((self.host, self.port))
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self.stats.state = "listening"
        try:
            await asyncio.Future()  # until cancelled
        finally:
            transport.close()
