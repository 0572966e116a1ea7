"""Alert delivery: each alert in the store's ``alerts`` table sent once to every sink, across restarts.

Sinks (``--deliver SPEC``, repeatable): ``-`` (stdout), ``file:PATH`` (JSON lines), ``http(s)://...``
(webhook POST, HMAC-SHA256 signed), ``smtp://host:port?from=...&to=...`` (e-mail over STARTTLS). Append
``#digest=MINUTES`` for one message per that many minutes, and ``#name=NAME`` to name the sink in the ledger.
"""

from __future__ import annotations

import hashlib
import time
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

        return WebhookSink(target, name, digest_s, retry)
    if kind in ("smtp", "smtps"):
        from supplyline.watch.deliver.smtp import SmtpSink

        return SmtpSink(target, name, digest_s, retry)
    raise UsageError(f"--deliver {spec!r}: use -, file:PATH, http(s)://URL or smtp://HOST:PORT?from=..&to=..")


class Deliverer:
    """Sends the store's undelivered alerts to each sink and records them in the ledger."""

    def __init__(self, store: Store, sinks: list[Sink]) -> None:
        self.store = store
        self.sinks = sinks
        self._last_digest: dict[str, float] = {s.name: time.monotonic() for s in sinks}
        self.delivered = 0
        self.last_alert: dict[str, Any] | None = None

    def recover(self) -> None:
        """Ledger rows for alerts a sink holds but the ledger missed (a crash between the two)."""
        for sink in self.sinks:
            ledger.record(self.store, sink.name, sink.recover(ledger.delivered(self.store, sink.name)))

    def pending(self, sink: Sink) -> list[dict[str, Any]]:
        alerts = self.store.read_table("alerts", schema.ALERTS)
        done = ledger.delivered(self.store, sink.name)
        keep = pa.array([a not in done for a in alerts["alert_id"].to_pylist()], type=pa.bool_())
        rows = alert_dicts(alerts.filter(keep))
        return sorted(rows, key=lambda r: (r["ts"] or "", r["alert_id"]))

    def run(self, *, final: bool = False) -> int:
        """Deliver what is due to every sink; returns the number of alerts delivered."""
        sent = 0
        for sink in self.sinks:
            due = (
                final or not sink.digest_s or time.monotonic() - self._last_digest[sink.name] >= sink.digest_s
            )
            rows = self.pending(sink) if due else []
            if not rows:
                continue
            groups = [rows] if sink.digest_s or sink.batched else [[r] for r in rows]
            for group in groups:
                sink.send(group)
                ledger.record(self.store, sink.name, [r["alert_id"] for r in group])
                sent += len(group)
                self.last_alert = group[-1]
            self._last_digest[sink.name] = time.monotonic()
        self.delivered += sent
        return sent
