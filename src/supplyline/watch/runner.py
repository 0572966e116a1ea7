"""The watch loop: sources -> bounded queue -> spool (fsync) -> micro-batches -> store -> detect/monitor -> sinks.

Asyncio tasks share one event loop: the sources, the spool writer (appends and fsyncs what the sources
queued, then releases the sources waiting for that), the store loop, which stores micro-batches in a worker
thread, the analysis loop, which runs `detect` + `monitor` in a thread of its own when due (so storing never
waits for analysis; positions stored meanwhile wait for the next run, which starts as soon as this one ends:
runs coalesce, nothing queues), and the delivery loop. The watch holds the store's writer lock for its whole
life (its threads write different tables, each in its own transaction). SIGTERM/SIGINT stop the sources,
flush the queue into the spool, store the last whole messages, run the analysis once more if there are new
positions, deliver, write the status and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplyline.errors import StoreError, SupplylineError, UsageError
from supplyline.store import Store
from supplyline.watch.batcher import Batcher, BatchResult
from supplyline.watch.deliver import Deliverer, Retry, Sink, parse_sink
from supplyline.watch.deliver.config import load_delivery, missing_env
from supplyline.watch.deliver.dispatch import make_sink
from supplyline.watch.logs import JsonLog
from supplyline.watch.memory import release_free_memory, settle_allocators
from supplyline.watch.queue import ByteQueue, Item
from supplyline.watch.schedule import Analysis, Schedule
from supplyline.watch.sources import Source, parse_source
from supplyline.watch.sources.folder import FolderSource
from supplyline.watch.spool import Spool
from supplyline.watch.status import write_status

WATCH_DIR = "_watch"


@dataclass
class WatchConfig:
    """Everything `supplyline watch` was asked to do (the CLI options)."""

    store: Path
    sources: list[str]
    sinks: list[str] = field(default_factory=list)
    case: Path | None = None
    deliver_config: Path | None = None  # a file with a [delivery] section (the case's is read too)
    every_s: float = 60.0
    after_positions: int = 50_000
    batch_s: float = 1.0
    idle_s: float = 10.0
    queue_bytes: int = 16 << 20
    workers: int = 1
    analyse: bool = True


def watch_dir(store: Path) -> Path:
    """The watch's own folder in the store: ``spool/`` and ``status.json``."""
    return Path(store) / WATCH_DIR


@dataclass
class _Tally:
    read: int = 0
    kept: int = 0
    duplicate: int = 0
    quarantined: int = 0
    batches: int = 0

    def add(self, res: BatchResult) -> None:
        self.read += res.read
        self.kept += res.kept
        self.duplicate += res.duplicate
        self.quarantined += res.quarantined
        self.batches += 1


class Watch:
    """One running watch (see the module docstring)."""

    def __init__(self, cfg: WatchConfig, log: JsonLog | None = None) -> None:
        self.cfg = cfg
        self.log = log or JsonLog()
        self.store = Store.create(cfg.store)
        self._held = contextlib.ExitStack()  # the writer lock, taken by run() for the watch's whole life
        self.folder = watch_dir(cfg.store)
        self.spool = Spool(self.folder / "spool")
        self.queue = ByteQueue(cfg.queue_bytes)
        loaded = Analysis.load(cfg.case) if cfg.analyse or cfg.case else None
        self.analysis = loaded if cfg.analyse else None
        places = loaded.places if loaded is not None and cfg.case else None
        self.sources: list[Source] = [
            parse_source(s, self.queue, places=places, spool=self.folder / "spool") for s in cfg.sources
        ]
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise SupplylineError(f"two sources share a name ({names}); give each #name=...")
        self.retry = Retry()
        self.mutex = threading.Lock()  # one store writer at a time: the store step or a ledger write
        self.deliverer = Deliverer(self.store, configured_sinks(cfg, self.retry), self.mutex)
        self.deliverer.on_error = lambda sink, error: self.log("delivery_failed", level="error", sink=sink,
                                                               error=error)  # fmt: skip
        self.batcher = Batcher(self.store)
        self.schedule = Schedule(cfg.every_s, cfg.after_positions)
        self.tally: dict[str, _Tally] = {s.name: _Tally() for s in self.sources}
        self._appended: dict[str, deque[tuple[int, float]]] = {s.name: deque() for s in self.sources}
        self._last_append: dict[str, float] = {}
        self._rates: dict[str, deque[tuple[float, int]]] = {s.name: deque(maxlen=12) for s in self.sources}
        self.stop = asyncio.Event()
        self.started = time.time()
        self.errors = 0
        self.last_analysis: dict[str, Any] | None = None

    # --- the run ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig.name)
        self._held.enter_context(self.store.lock())
        await asyncio.to_thread(self._recover)
        tasks = [asyncio.create_task(s.run(), name=f"source:{s.name}") for s in self.sources]
        writer = asyncio.create_task(self._spool_writer())
        storer = asyncio.create_task(self._store_loop())
        analyser = asyncio.create_task(self._analysis_loop())
        sender = asyncio.create_task(self._delivery_loop())
        status = asyncio.create_task(self._status_loop())
        self.log(
            "watch_started", sources=[s.name for s in self.sources], sinks=self.cfg.sinks, pid=os.getpid()
        )
        stopper = asyncio.create_task(self.stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            if t.done() and t.exception() is not None:
                self.log("source_failed", level="error", source=t.get_name(), error=str(t.exception()))
        await self._shutdown(tasks, writer, storer, analyser, sender, status)

    def _request_stop(self, signame: str) -> None:
        self.log("stop_requested", signal=signame)
        self.retry.stop.set()
        self.stop.set()

    async def _shutdown(self, tasks: list[asyncio.Task[Any]], *loops: asyncio.Task[Any]) -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await asyncio.to_thread(self._final)
        self.spool.close()
        self._write_status(stopped=True)
        self.log("watch_stopped", sources={k: v.__dict__ for k, v in self.tally.items()})
        self._held.close()

    def _recover(self) -> None:
        """Finish the batches a killed run was storing, and reconcile sinks with the ledger."""
        for s in self.sources:
            res = self.batcher.recover(s.name, self.spool.source(s.name))
            if res is not None:
                self._account(res, recovered=True)
        self.deliverer.recover()
        # a killed run may have stored positions it never analysed: analyse once on start (detect is
        # incremental, so this costs little when nothing changed)
        self.schedule.add(1)

    # --- spool writer -------------------------------------------------------------------------------------
    async def _spool_writer(self) -> None:
        """Append queued lines to their source's spool (fsync per batch), then release their senders."""
        while True:
            items = await self.queue.take()
            if not items:
                if self.stop.is_set() and not len(self.queue):
                    return
                continue
            self._append(items)

    def _append(self, items: list[Item]) -> None:
        groups: dict[str, list[bytes]] = {}
        for it in items:
            groups.setdefault(it.source, []).append(it.data)
        now = time.time()
        for name, chunks in groups.items():
            end = self.spool.source(name).append(chunks)
            self._appended[name].append((end, now))
            self._last_append[name] = now
        for it in items:
            if it.ack is not None:
                it.ack.set()

    # --- store loop ---------------------------------------------------------------------------------------
    async def _store_loop(self) -> None:
        while not await self._stopped_within(self.cfg.batch_s):
            try:
                await asyncio.to_thread(self._store_step, False)
            except Exception as exc:  # logged and retried next step: a live feed must not stop on one failure
                self.errors += 1
                self.log("store_step_failed", level="error", error=f"{type(exc).__name__}: {exc}")

    def _store_step(self, final: bool) -> None:
        """Store every ready batch."""
        with self.mutex:
            self._store_batches(final)

    def _store_batches(self, final: bool) -> None:
        now = time.time()
        for s in self.sources:
            if isinstance(s, FolderSource):
                self._ingest_files(s)
                continue
            src = self.spool.source(s.name)
            idle = now - self._last_append.get(s.name, self.started) >= self.cfg.idle_s
            while (res := self.batcher.step(s.name, src, force=idle)) is not None:
                self._account(res)

    # --- analysis -----------------------------------------------------------------------------------------
    async def _analysis_loop(self) -> None:
        """Run the analysis in its own thread whenever it is due (checked every batch interval)."""
        while self.analysis is not None and not await self._stopped_within(self.cfg.batch_s):
            if not self.schedule.due():
                continue
            try:
                await asyncio.to_thread(self._analyse)
            except Exception as exc:  # logged; the positions stay due for the next run
                self.errors += 1
                self.log("analysis_failed", level="error", error=f"{type(exc).__name__}: {exc}")

    def _analyse(self) -> None:
        """One analysis run over what is stored now; positions stored meanwhile stay due."""
        assert self.analysis is not None
        taken = self.schedule.take()
        t0, cpu0 = time.perf_counter(), time.thread_time()
        try:
            alerts = self.analysis.run(self.store, self.cfg.workers)
        except BaseException:
            self.schedule.done(0)  # nothing committed: the positions stay due
            raise
        self.schedule.done(taken)
        release_free_memory()  # the run's freed pages back to the system before the next one
        last = self.analysis.last
        self.last_analysis = {
            "seconds": round(time.perf_counter() - t0, 3),
            "cpu_s": round(time.thread_time() - cpu0, 3),  # this thread's (DuckDB runs here: threads=1)
            "alerts": alerts.num_rows,
            "positions": taken,
            "stored": sum(t.kept for t in self.tally.values()),
            **({"detect": last.to_dict()} if last is not None else {}),
            "monitor": self.analysis.monitor,
        }
        self.log("analysis", **self.last_analysis)

    # --- delivery -----------------------------------------------------------------------------------------
    async def _delivery_loop(self) -> None:
        """Deliver in its own thread, so a webhook being retried does not hold up storing."""
        while self.deliverer.sinks and not await self._stopped_within(1.0):
            try:
                await asyncio.to_thread(self._deliver, False)
            except Exception as exc:  # logged and retried next second
                self.errors += 1
                self.log("delivery_step_failed", level="error", error=f"{type(exc).__name__}: {exc}")

    def _deliver(self, final: bool) -> None:
        sent = self.deliverer.run(final=final)
        if sent and self.deliverer.last_alert is not None:
            self.log("delivered", alerts=sent, last=self.deliverer.last_alert["alert_id"])

    def _ingest_files(self, source: FolderSource) -> None:
        """Ingest the folder's complete new files, one transaction each (a repeat is a skip)."""
        from supplyline.ingest.pipeline import ingest

        for path in source.ready():
            t0 = time.perf_counter()
            res = ingest(self.store, [path]).files
            for r in res:
                self._account(BatchResult(source.name, 0, 0, 0, r.status, r.read, r.kept, r.duplicate,
                                          r.quarantined, r.positions, r.statics, dict(r.reasons),
                                          round(time.perf_counter() - t0, 4)), file=r.path)  # fmt: skip
            source.mark_done(path)

    def _account(self, res: BatchResult, recovered: bool = False, file: str | None = None) -> None:
        if res.read != res.kept + res.duplicate + res.quarantined:
            raise StoreError(f"batch {res.source}:{res.start}-{res.end} does not add up: {res.to_dict()}")
        self.tally.setdefault(res.source, _Tally()).add(res)
        self.schedule.add(res.positions)
        appended = self._appended.setdefault(res.source, deque())
        while appended and appended[0][0] <= res.end:
            appended.popleft()
        self.log("batch", recovered=recovered, **res.to_dict(), **({"file": file} if file else {}))

    def _final(self) -> None:
        """Last store step on shutdown: every whole message stored, analysis if new positions, delivery."""
        try:
            self._store_step(True)
            if self.analysis is not None and self.schedule.due(final=True):
                self._analyse()
            if self.deliverer.sinks:
                self._deliver(True)
        except Exception as exc:  # the spool keeps what was not stored: the next start stores it
            self.log("final_step_failed", level="error", error=f"{type(exc).__name__}: {exc}")

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stop is requested; True if it was."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # --- status -------------------------------------------------------------------------------------------
    async def _status_loop(self) -> None:
        self._write_status()
        while not await self._stopped_within(1.0):
            self._write_status()

    def _source_status(self, s: Source, now: float) -> dict[str, Any]:
        src = self.spool.source(s.name)
        rates = self._rates[s.name]
        rates.append((now, s.stats.lines))
        span = rates[-1][0] - rates[0][0]
        appended = self._appended.get(s.name)
        oldest = appended[0][1] if appended else None
        return {
            **s.stats.to_dict(),
            **self.tally[s.name].__dict__,
            "rate_lines_s": (rates[-1][1] - rates[0][1]) / span if span > 0 else 0.0,
            "spooled_bytes": src.end,
            "committed_bytes": src.committed.offset,
            "backlog_bytes": src.backlog,
            "lag_s": round(now - oldest, 3) if oldest is not None else 0.0,
        }

    def _write_status(self, stopped: bool = False) -> None:
        now = time.time()
        status = {
            "pid": os.getpid(),
            "written_at": now,
            "started_at": self.started,
            "uptime_s": round(now - self.started, 1),
            "stopped": stopped,
            "queue_items": len(self.queue),
            "queue_bytes": self.queue.bytes,
            "queue_max_bytes": self.queue.max_bytes,
            "analysis_runs": self.schedule.runs,
            "analysis_running": self.schedule.busy,
            "analysis_pending_positions": self.schedule.new_positions,
            "analysis_coalesced": self.schedule.coalesced,
            "last_analysis": self.last_analysis,
            "errors": self.errors,
            "delivered": self.deliverer.delivered,
            "last_alert": self.deliverer.last_alert,
            "sources": {s.name: self._source_status(s, now) for s in self.sources},
        }
        write_status(self.folder, status)


def configured_sinks(cfg: WatchConfig, retry: Retry) -> list[Sink]:
    """The sinks of ``--deliver``, the case's ``[delivery]`` and ``--deliver-config``, names unique."""
    from supplyline.case import resolve_case

    sinks = [parse_sink(s, retry) for s in cfg.sinks]
    case = resolve_case(cfg.case) if cfg.case is not None else None  # a folder, case.toml or bundled name
    for path in (p for p in (case, cfg.deliver_config) if p is not None):
        specs = load_delivery(path)
        if missing := missing_env(specs):
            raise UsageError(f"{path}: [delivery] names environment variable(s) that are not set: "
                             f"{', '.join(missing)}; export them before starting the watch")  # fmt: skip
        sinks += [make_sink(s.target, s.options, retry, where=f"[delivery] of {path}") for s in specs]
    names = [s.name for s in sinks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"two delivery sinks share the ledger name(s) {dup}; give each its own name")
    return sinks


def run_watch(cfg: WatchConfig, log: JsonLog | None = None) -> None:
    """Run a watch until SIGTERM/SIGINT, with allocator settings for a long-running process (watch.memory)."""
    log = log or JsonLog()
    log("allocators", **settle_allocators())

    async def main() -> None:
        await Watch(cfg, log).run()

    asyncio.run(main())
