"""Alert delivery: parse a sink, send the store's undelivered alerts and record them in the ledger."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pyarrow as pa

from supplyline.errors import UsageError
from supplyline.store import Store
from supplyline.watch.deliver import intents, ledger
from supplyline.watch.deliver.base import DeliveryError, Retry, Sink, alert_dicts

__all__ = ["Deliverer", "DeliveryError", "Retry", "Sink", "make_sink", "parse_sink"]


_OPTIONS = {  # options each kind of sink takes (after ``#`` on the command line, keys in [delivery])
    "stdout": {"digest", "name"},
    "file": {"digest", "name"},
    "webhook": {"digest", "name", "secret_env"},
    "email": {"digest", "name", "user_env", "password_env"},
}
_KINDS = {"-": "stdout", "stdout": "stdout", "file": "file", "http": "webhook", "https": "webhook",
          "smtp": "email", "smtps": "email"}  # fmt: skip


def _options(spec: str) -> tuple[str, dict[str, str]]:
    target, _, frag = spec.partition("#")
    opts = {k: v[-1] for k, v in parse_qs(frag).items()}
    return target, opts


def sink_kind(target: str) -> str:
    """``stdout``, ``file``, ``webhook`` or ``email`` from a ``--deliver`` target (UsageError otherwise)."""
    kind = _KINDS.get(target if target in ("-", "stdout") else target.split(":", 1)[0])
    if kind is None:
        raise UsageError(
            f"--deliver {target!r}: use -, file:PATH, http(s)://URL or smtp://HOST:PORT?from=..&to=.."
        )
    return kind


def default_name(target: str) -> str:
    """The ledger name of a sink not given one: its kind and a hash of its target."""
    prefix = "stdout" if target in ("-", "stdout") else target.split(":", 1)[0]
    return f"{prefix}-{hashlib.sha1(target.encode()).hexdigest()[:8]}"


def parse_sink(spec: str, retry: Retry) -> Sink:
    """A sink from its ``--deliver`` spelling (see the module docstring)."""
    target, opts = _options(spec)
    return make_sink(target, opts, retry, where=f"--deliver {spec!r}")


def make_sink(target: str, opts: dict[str, str], retry: Retry, where: str) -> Sink:
    """A sink for ``target`` (``-``, ``file:PATH``, a URL) with its options; ``where`` prefixes errors."""
    kind = sink_kind(target)
    unknown = set(opts) - _OPTIONS[kind]
    if unknown:
        raise UsageError(f"{where}: unknown option(s) {sorted(unknown)}; a {kind} sink takes "
                         f"{', '.join(sorted(_OPTIONS[kind]))}")  # fmt: skip
    try:
        digest_s = float(opts.get("digest", 0)) * 60
    except ValueError:
        raise UsageError(f"{where}: digest wants minutes, e.g. #digest=15") from None
    name = opts.get("name") or default_name(target)
    if kind in ("stdout", "file"):
        from supplyline.watch.deliver.jsonl import JsonLinesSink

        return JsonLinesSink("-" if kind == "stdout" else target[5:], name, digest_s)
    if kind == "webhook":
        from supplyline.watch.deliver.webhook import SECRET_ENV, WebhookSink

        return WebhookSink(target, name, digest_s, retry, opts.get("secret_env", SECRET_ENV))
    from supplyline.watch.deliver.smtp import PASSWORD_ENV, USER_ENV, SmtpSink

    envs = {
        "user_env": opts.get("user_env", USER_ENV),
        "password_env": opts.get("password_env", PASSWORD_ENV),
    }
    return SmtpSink(target, name, digest_s, retry, **envs)


class Deliverer:
    """Sends the store's undelivered alerts to each sink and records them in the ledger.

    ``mutex`` serialises the ledger writes with the watch's other store writes (one writer per store). A
    sink that fails (refused, or the watch is stopping mid-retry) is held back for a while (30 s doubling to
    10 min); its alerts stay undelivered and are tried again then or on the next start. Each send is
    bracketed by the intent journal (``intents``): an intent a killed watch left open is sent again first,
    as the same message marked as a possible repeat.
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
        self.hold_first_s, self.hold_max_s = 30.0, 600.0  # a failed sink's rest: doubling between these
        self.repeats = 0  # messages sent again because a killed watch left their outcome unknown

    def recover(self) -> None:
        """Ledger rows for alerts a sink holds but the ledger missed (a crash between the two)."""
        for sink in self.sinks:
            found = sink.recover(ledger.delivered(self.store, sink.name))
            with self.mutex:
                ledger.record(self.store, sink.name, found)

    def pending(self, sink: Sink) -> list[dict[str, Any]]:
        from supplyline.monitor.run import read_alerts  # the monitor's modules load only once delivering

        alerts = read_alerts(self.store)  # each once while the analysis thread merges the alerts' parts
        done = ledger.delivered(self.store, sink.name)
        keep = pa.array([a not in done for a in alerts["alert_id"].to_pylist()], type=pa.bool_())
        rows = alert_dicts(alerts.filter(keep))
        return sorted(rows, key=lambda r: (r["ts"] or "", r["alert_id"]))

    def _groups(self, sink: Sink, rows: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], bool]]:
        """The messages to send, in order, each with whether it may be a repeat: an intent left open by a
        killed watch first (the same alerts, so the same idempotency key), then the rest."""
        left_open = intents.open_intent(self.store.root, sink.name)
        by_id = {r["alert_id"]: r for r in rows}
        repeat = [by_id[i] for i in left_open if i in by_id]
        rest = [r for r in rows if r["alert_id"] not in set(left_open)]
        out = [(repeat, True)] if repeat else []
        if not repeat:
            intents.done(self.store.root, sink.name)  # none, or settled: every id is in the ledger
        if sink.digest_s or sink.batched:
            return out + ([(rest, False)] if rest else [])
        return out + [([r], False) for r in rest]

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
                last = self._hold.get(sink.name, (0.0, self.hold_first_s / 2))[1]
                wait = min(self.hold_max_s, 2 * last)
                self._hold[sink.name] = (time.monotonic() + wait, wait)
                self.on_error(sink.name, str(exc))
        self.delivered += sent
        return sent

    def _deliver(self, sink: Sink) -> int:
        sent = 0
        for group, repeat in self._groups(sink, self.pending(sink)):
            ids = [r["alert_id"] for r in group]
            intents.begin(self.store.root, sink.name, ids)
            attempts = sink.send(group, repeat=repeat)
            with self.mutex:
                ledger.record(self.store, sink.name, ids, attempts)
            intents.done(self.store.root, sink.name)
            sent += len(group)
            self.repeats += repeat
            self.last_alert = group[-1]
        self._last_digest[sink.name] = time.monotonic()
        self._hold.pop(sink.name, None)
        return sent
