"""A source from its ``--source`` spelling (the spellings: see the package docstring)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from supplyline.errors import UsageError
from supplyline.watch.queue import ByteQueue
from supplyline.watch.sources.base import Source

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _name(default: str, frag: str) -> str:
    name = parse_qs(frag).get("name", [default])[-1]
    if not _NAME.match(name):
        raise UsageError(f"source name {name!r}: use letters, digits, '-', '_' or '.' (at most 64)")
    return name


def parse_source(spec: str, queue: ByteQueue, **context: Any) -> Source:
    """A source from its spelling (see the module docstring); ``context`` carries the case's places."""
    if spec.startswith("folder:"):
        from supplyline.watch.sources.folder import FolderSource

        path, _, frag = spec[7:].partition("#")
        name = _name("folder", frag)
        state = context.get("spool")
        return FolderSource(name, queue, path=path, state_dir=state / name if state is not None else None)
    url = urlsplit(spec)
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    if url.scheme in ("udp", "tcp", "tcp-listen") and (not url.hostname or not url.port):
        raise UsageError(f"--source {spec!r}: give HOST:PORT, e.g. {url.scheme}://127.0.0.1:10110")
    name = _name(f"{url.scheme}-{url.port}" if url.port else url.scheme, url.fragment)
    if url.scheme == "udp":
        from supplyline.watch.sources.udp import UdpSource

        return UdpSource(name, queue, host=str(url.hostname), port=int(url.port or 0))
    if url.scheme in ("tcp", "tcp-listen"):
        from supplyline.watch.sources.tcp import TcpClientSource, TcpServerSource

        if url.scheme == "tcp":
            return TcpClientSource(name, queue, host=str(url.hostname), port=int(url.port or 0))
        ack = query.get("ack", "0") in ("1", "true", "yes")
        return TcpServerSource(name, queue, host=str(url.hostname), port=int(url.port or 0), ack=ack)
    if url.scheme in ("ws", "wss"):
        from supplyline.watch.sources.websocket import WebSocketSource

        target = spec.split("#", 1)[0]
        return WebSocketSource(name, queue, url=target, key_env=query.get("key_env", "AISSTREAM_API_KEY"),
                               places=context.get("places"))  # fmt: skip
    raise UsageError(
        f"--source {spec!r}: use udp://HOST:PORT, tcp://HOST:PORT, tcp-listen://HOST:PORT, wss://URL or folder:PATH"
    )
