"""The live alerts feed: one watcher polls the alerts table's parts, every open page gets server-sent events.

``monitor`` adds one part per run (``tables/alerts/run-<time>.parquet``) through an atomic rename, so
listing the part names is a cheap and exact change signal: the watcher lists them every ``POLL_S`` seconds
(no Parquet is read while nothing changes), and on a change reads the alerts whose ids it has not seen and
sends each as an ``alert`` event to every subscriber. A comment line every ``KEEPALIVE_S`` keeps idle
connections open through proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from supplyline.report.data import dumps
from supplyline.serve import api
from supplyline.serve import queries as Q
from supplyline.serve.db import Reader

POLL_S = 0.25
KEEPALIVE_S = 15.0
QUEUE_MAX = 1_000


class AlertWatcher:
    """Polls the store for new alert parts and fans new alerts out to subscriber queues."""

    def __init__(self, reader: Reader, poll_s: float = POLL_S) -> None:
        self.reader = reader
        self.poll_s = poll_s
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._parts: list[str] = []
        self._seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._parts = self.reader.store.parts("alerts")
        self._seen = set(await run_in_threadpool(self._ids))
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _ids(self) -> list[str]:
        return [str(r["alert_id"]) for r in api.fetch(self.reader, Q.alert_ids()).to_pylist()]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            if not await run_in_threadpool(self.reader.check_for_changes):
                continue
            parts = self.reader.store.parts("alerts")
            if parts == self._parts:
                continue
            self._parts = parts
            new = await run_in_threadpool(self._new_alerts)
            for alert in new:
                for queue in list(self.subscribers):
                    if queue.qsize() < QUEUE_MAX:
                        queue.put_nowait(alert)

    def _new_alerts(self) -> list[dict[str, Any]]:
        fresh = [i for i in self._ids() if i not in self._seen]
        self._seen.update(fresh)
        if not fresh:
            return []
        return [api._with_details(r) for r in api.rows(self.reader, Q.alerts_by_id(fresh))]

    async def events(self) -> AsyncIterator[str]:
        """The text/event-stream body for one subscriber."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subscribers.add(queue)
        try:
            yield "retry: 1000\n: connected\n\n"
            while True:
                try:
                    alert = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"event: alert\ndata: {dumps(alert)}\n\n"  # one line: dumps never emits a newline
        finally:
            self.subscribers.discard(queue)
