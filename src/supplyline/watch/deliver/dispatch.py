"""Alert delivery: parse a sink, send the store's undelivered alerts and record them in the ledger."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pyarrow as pa

from supplyline import schema
from supplyline.errors import UsageError
from supplyline.store import Store
from supplyline.watch.deliver import ledger
from supplyline.watch.deliver.base import DeliveryError, Retry, Sink, alert_dicts

__all__ = ["Deliverer", "DeliveryError", "Retry", "Sink", "parse_sink"]


def _options(spec: str) -> tuple[str, dict[str, str]]:
    target, _, frag = spec.partition("#")
    opts = {k: v[-1] for k, v in parse_qs(frag).items()}
    return target, opts


def parse_sink(spec: str, retry: Retry) -> Sink:
    """A sink from its ``--deliver`` spelling (see the module docstring)."""
    target, opts = _options(spec)
    unknown = set(opts) - {"digest", "name"}
    if unknown:
        raise UsageError(
            f"--deliver {spec!r}: unknown option(s) {sorted(unknown)}; use #digest=MIN or #name=N"
        )
    try:
        digest_s = float(opts.get("digest", 0)) * 60
    except ValueError:
        raise UsageError(f"--deliver {spec!r}: digest wants minutes, e.g. #digest=15") from None
    kind = "stdout" if target in ("-", "stdout") else target.split(":", 1)[0]
    name = opts.get("name") or f"{kind}-{hashlib.sha1(target.encode()).hexdigest()[:8]}"
    if kind == "stdout":
        from supplyline.watch.deliver.jsonl import JsonLinesSink

        return JsonLinesSink("-", name, digest_s)
    if kind == "file":
        from supplyline.watch.deliver.jsonl import JsonLinesSink

        return JsonLinesSink(target[5:], name, digest_s)
    if kind in ("http", "https"):
        from supplyline.watch.deliver.webhook import WebhookSink

        return WebhookSink(target, name, digest_s, retry, opts.get("secret_env", "SUPPLYLINE_WEBHOOK_SECRET"))
    if kind in ("smtp", "smtps"):
        from supplyline.watch.deliver.smtp import SmtpSink

        return SmtpSink(target, name, digest_s, retry)
    raise UsageError(f"--deliver {spec!r}: use -, file:PATH, http(s)://URL or smtp://HOST:PORT?from=..&to=..")


class Deliverer:
    """Sends the store's undelivered alerts to each sink and records them in the ledger.

    ``mutex`` serialises the ledger writes with the watch's other store writes (one writer per store). A
    sink that fails (refused, or the watch is stopping mid-retry) is held back for a while (30 s doubling to
    10 min); its alerts stay undelivered and are tried again then or on the next start.
    """

    def __init__(self, store: Store, sinks: list[Sink], mutex: threading.Lock | None = None) -> None:
        self.store = store
        self.sinks = sinks
        self.mutex = mutex or threading.Lock()
        self._last_digest: dict[str, float] = {s.name: time.monotonic() for s in sinks}
        self._hold: dict[str, tuple[float, float]] = {}  # sink -> (until, seconds)
        self.delivered = 0
        self.failures = 0
        self.last_alert: dict[str, Any] | None = None
        self.on_error: Callable[[str, str], None] = lambda sink, error: None

    def recover(self) -> None:
        """Ledger rows for alerts a sink holds but the ledger missed (a crash between the two)."""
        for sink in self.sinks:
            found = sink.recover(ledger.delivered(self.store, sink.name))
            with self.mutex:
                ledger.record(self.store, sink.name, found)

    def pending(self, sink: Sink) -> list[dict[str, Any]]:
        alerts = self.store.read_table("alerts", schema.ALERTS)
        done = ledger.delivered(self.store, sink.name)
        keep = pa.array([a not in done for a in alerts["alert_id"].to_pylist()], type=pa.bool_())
        rows = alert_dicts(alerts.filter(keep))
        return sorted(rows, key=lambda r: (r["ts"] or "", r["alert_id"]))

    def _due(self, sink: Sink, final: bool) -> bool:
        if time.monotonic() < self._hold.get(sink.name, (0.0, 0.0))[0]:
            return False
        return final or not sink.digest_s or time.monotonic() - self._last_digest[sink.name] >= sink.digest_s

    def run(self, *, final: bool = False) -> int:
        """Deliver what is due to every sink; returns the number of alerts delivered."""
        sent = 0
        for sink in self.sinks:
            if not self._due(sink, final):
                continue
            try:
                sent += self._deliver(sink)
            except DeliveryError as exc:
                self.failures += 1
                wait = min(600.0, 2 * self._hold.get(sink.name, (0.0, 15.0))[1])
                self._hold[sink.name] = (time.monotonic() + wait, wait)
                self.on_error(sink.name, str(exc))
        self.delivered += sent
        return sent

    def _deliver(self, sink: Sink) -> int:
        rows = self.pending(sink)
        groups = [rows] if sink.digest_s or sink.batched else [[r] for r in rows]
        sent = 0
        for group in groups if rows else []:
            attempts = sink.send(group)
            with self.mutex:
                ledger.record(self.store, sink.name, [r["alert_id"] for r in group], attempts)
            sent += len(group)
            self.last_alert = group[-1]
        self._last_digest[sink.name] = time.monotonic()
        self._hold.pop(sink.name, None)
        return sent
