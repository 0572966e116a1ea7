"""Exactly once across restarts: a `supplyline watch` (sinks from a [delivery] file) SIGKILLed while a real
local HTTP receiver or aiosmtpd server holds a message it has received but not yet answered (the worst
moment: the target has the alert, the watch has no acknowledgement), then restarted, each time.

Every alert reaches the receiver's application exactly once when it drops repeats by the idempotency key
(``Idempotency-Key`` / ``Message-ID``); every raw repeat carries the same key and body and is marked
``X-Supplyline-Repeat: 1``; there is one repeat per kill (plus one per retry, if an attempt timed out);
the ledger has one row per alert."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from supplyline import schema
from supplyline.store import Store
from tests.watch_support import self_signed, start_watch, status, stop_watch, store_with_alerts, wait_for

SECRET = "exactly-once-secret"
ALERTS = 8
HOLD_AT = (1, 4, 6)  # the 2nd, 5th and 7th message received is held while the watch is killed


class Holder:
    """Counts messages received; holds the ``HOLD_AT``-th until released (the watch is killed meanwhile)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, bytes]] = []  # (key, marked repeat, body)
        self.held, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def received(self, key: str, repeat: bool, data: bytes) -> bool:
        """Record one message; True if it is to be held."""
        with self.lock:
            self.seen.append((key, repeat, data))
            hold = len(self.seen) - 1 in HOLD_AT
        if hold:
            self.release.clear()
            self.held.set()
        return hold

    def unique(self) -> dict[str, bytes]:
        """What an application that drops repeats by key ends up with: key -> first body."""
        out: dict[str, bytes] = {}
        for key, _, data in self.seen:
            out.setdefault(key, data)
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_at_each_hold(store: Path, args: list[str], holder: Holder, log: Path) -> int:
    """Run the watch; SIGKILL it each time the receiver holds a message; finally let it deliver the rest."""
    kills = 0
    while True:
        proc = start_watch(store, *args, log=log)
        try:
            wait_for(
                lambda p=proc: (st := status(store)) is not None and st["pid"] == p.pid, 60, "start", proc
            )
            wait_for(lambda: holder.held.is_set() or ledger_rows(store) == ALERTS, 60, "delivery", proc)
            if not holder.held.is_set():
                assert stop_watch(proc) == 0, log.read_text()[-3000:]
                return kills
            proc.kill()
            proc.wait(10)
            kills += 1
        finally:
            if proc.poll() is None:
                proc.kill()
            holder.held.clear()
            holder.release.set()


def ledger_rows(store: Path) -> int:
    try:
        return Store.open(store).read_table("deliveries", schema.DELIVERIES).num_rows
    except Exception:
        return -1


def check_exactly_once(store: Path, holder: Holder, kills: int) -> None:
    ids = [f"alert{i:02d}" for i in range(ALERTS)]
    assert kills == len(HOLD_AT)
    assert sorted(holder.unique()) == ids  # every alert reached the application, once after dropping repeats
    first: dict[str, bytes] = {}
    repeats = 0
    for key, repeat, data in holder.seen:
        if key in first:  # a repeat: marked, same bytes, so the receiver can tell and drop it
            repeats += 1
            assert repeat and data == first[key], key
        first.setdefault(key, data)
    ledger = Store.open(store).read_table("deliveries", schema.DELIVERIES)
    retries = sum(a - 1 for a in ledger["attempts"].to_pylist())  # (a timed-out POST on a loaded machine)
    assert kills <= repeats <= kills + retries  # one per kill (the held message, sent again), plus retries
    assert sorted(ledger["alert_id"].to_pylist()) == ids  # one row per alert
    assert not list((store / "_watch" / "deliveries").glob("*.intent.json"))  # every intent settled


# --- webhook ----------------------------------------------------------------------------------------------
@pytest.fixture
def http_holder() -> Iterator[tuple[Holder, int]]:
    holder = Holder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            repeat = self.headers.get("X-Supplyline-Repeat") == "1"
            if holder.received(self.headers["Idempotency-Key"], repeat, data):
                holder.release.wait(30)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:  # the watch was killed meanwhile
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield holder, server.server_port
    holder.release.set()
    server.shutdown()
    server.server_close()


def test_webhook_sigkill_between_send_and_ack_delivers_each_alert_once(
    http_holder: tuple[Holder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder, port = http_holder
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    store = tmp_path / "st"
    store_with_alerts(store, ALERTS)
    config = tmp_path / "delivery.toml"
    config.write_text(
        f'[[delivery.sink]]\nkind = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\nsecret_env = "HOOK_SECRET"\n'
    )
    args = [
        "--source",
        f"udp://127.0.0.1:{free_port()}#name=idle",
        "--no-analysis",
        "--deliver-config",
        str(config),
    ]
    kills = kill_at_each_hold(store, args, holder, tmp_path / "watch.log")
    check_exactly_once(store, holder, kills)
    alerts = [json.loads(body) for body in holder.unique().values()]
    assert {a["alert_id"] for a in alerts} == {f"alert{i:02d}" for i in range(ALERTS)}


# --- e-mail -----------------------------------------------------------------------------------------------
def test_smtp_sigkill_between_send_and_ack_delivers_each_alert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    holder = Holder()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            msg = email.message_from_bytes(envelope.content)
            key = msg["Message-ID"].removeprefix("<").removesuffix("@supplyline>")
            if holder.received(key, msg["X-Supplyline-Repeat"] == "1", msg.get_payload().encode()):
                while not holder.release.is_set():
                    await asyncio.sleep(0.02)
            return "250 OK"

    port = free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True
    )
    controller.start()
    try:
        monkeypatch.setenv("SUPPLYLINE_SMTP_CAFILE", str(cert))
        store = tmp_path / "st"
        store_with_alerts(store, ALERTS)
        config = tmp_path / "delivery.toml"
        config.write_text(
            f'[[delivery.sink]]\nkind = "email"\nhost = "127.0.0.1"\nport = {port}\n'
            'from = "watch@example.org"\nto = ["desk@example.org"]\nname = "desk-mail"\n'
        )
        args = ["--source", f"udp://127.0.0.1:{free_port()}#name=idle", "--no-analysis"]
        kills = kill_at_each_hold(
            store, [*args, "--deliver-config", str(config)], holder, tmp_path / "watch.log"
        )
    finally:
        holder.release.set()
        time.sleep(0.1)
        controller.stop()
    check_exactly_once(store, holder, kills)
