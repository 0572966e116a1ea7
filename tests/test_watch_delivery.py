"""Delivery against real local receivers: an HTTP server on 127.0.0.1 answering 500 for a while, then 200
(each alert accepted once, signature verifiable), and an aiosmtpd server with STARTTLS (a certificate made
in the test) and login."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from supplyline import schema
from supplyline.watch.deliver import Deliverer, Retry, ledger, parse_sink
from tests.watch_support import Receiver, http_receiver, self_signed, store_with_alerts

SECRET = "s3cret-for-tests"


def test_webhook_500s_then_recovers_every_alert_once_and_signed(
    receiver: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPLYLINE_WEBHOOK_SECRET", SECRET)
    store = store_with_alerts(tmp_path / "st", 4)
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    sink = parse_sink(f"{url}#name=hook", Retry(first_s=0.1, max_s=0.4))
    receiver.fail_until = time.monotonic() + 2.0  # type: ignore[attr-defined]  # 500s for 2 s from now
    assert Deliverer(store, [sink]).run() == 4
    seen = receiver.seen  # type: ignore[attr-defined]
    accepted = [(h, b) for h, b, ok in seen if ok]
    assert sum(1 for *_, ok in seen if not ok) >= 3  # it really retried through the outage
    assert sorted(json.loads(b)["alert_id"] for _, b in accepted) == [f"alert{i:02d}" for i in range(4)]
    for headers, data in accepted:
        want = "sha256=" + hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Supplyline-Signature"], want)
        assert headers["X-Supplyline-Alert-Id"] == json.loads(data)["alert_id"]
    keys: set[str] = set()
    for headers, _, _ in seen:  # a retry is marked as a possible repeat, a first send is not
        low = {k.lower(): v for k, v in headers.items()}
        assert (low.get("x-supplyline-repeat") == "1") == (low["idempotency-key"] in keys)
        keys.add(low["idempotency-key"])
    table = store.read_table("deliveries", schema.DELIVERIES)
    assert table.num_rows == 4 and max(table["attempts"].to_pylist()) > 1
    assert Deliverer(store, [sink]).run() == 0  # a restart sends nothing again
    assert len(receiver.seen) == len(seen)  # type: ignore[attr-defined]


def test_webhook_digest_is_one_post(receiver: ThreadingHTTPServer, tmp_path: Path) -> None:
    receiver.fail_until = 0  # type: ignore[attr-defined]
    store = store_with_alerts(tmp_path / "st", 3)
    sink = parse_sink(f"http://127.0.0.1:{receiver.server_port}/#digest=0.001&name=d", Retry())
    deliverer = Deliverer(store, [sink])
    time.sleep(0.1)
    assert deliverer.run() == 3
    (headers, data, ok), *rest = receiver.seen  # type: ignore[attr-defined]
    assert ok and not rest and len(json.loads(data)["alerts"]) == 3
    assert "X-Supplyline-Signature" not in headers  # no secret set: unsigned
    assert ledger.delivered(store, "d") == {"alert00", "alert01", "alert02"}


def test_webhook_refusal_holds_the_sink_back(tmp_path: Path) -> None:
    class Refuse(Receiver):
        def do_POST(self) -> None:
            self.send_response(403)
            self.end_headers()

    with http_receiver(0, Refuse) as server:
        store = store_with_alerts(tmp_path / "st", 1)
        deliverer = Deliverer(store, [parse_sink(f"http://127.0.0.1:{server.server_port}/#name=x", Retry())])
        errors: list[str] = []
        deliverer.on_error = lambda sink, error: errors.append(error)
        assert deliverer.run() == 0 and "HTTP 403" in errors[0]
        assert ledger.delivered(store, "x") == set()  # not delivered: tried again later
        assert deliverer.run() == 0 and len(errors) == 1  # held back, not hammered


# --- SMTP -----------------------------------------------------------------------------------------------------
class SmtpServer:
    """A real aiosmtpd server on 127.0.0.1: STARTTLS required (a certificate made here), login watch/pw."""

    def __init__(self, folder: Path) -> None:
        import ssl

        pytest.importorskip("aiosmtpd")
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.cert, key = self_signed(folder)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, key)
        self.received: list[Any] = []
        self.logins: list[bool] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.received.append((session.authenticated, envelope.rcpt_tos, envelope.content))
                return "250 OK"

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            text = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731 - str or bytes by version
            ok = isinstance(data, LoginPassword) and (text(data.login), text(data.password)) == (
                "watch",
                "pw",
            )
            outer.logins.append(ok)
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=tls,
                                     require_starttls=True, authenticator=auth, auth_require_tls=True)  # fmt: skip

    def spec(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=watch@example.org&to=desk@example.org#name=mail"


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path)
    server.controller.start()
    monkeypatch.setenv("SUPPLYLINE_SMTP_CAFILE", str(server.cert))
    monkeypatch.setenv("SUPPLYLINE_SMTP_USER", "watch")
    monkeypatch.setenv("SUPPLYLINE_SMTP_PASSWORD", "pw")
    yield server
    server.controller.stop()


def test_smtp_starttls_login_each_alert_once(smtp: SmtpServer, tmp_path: Path) -> None:
    store = store_with_alerts(tmp_path / "st", 2)
    assert Deliverer(store, [parse_sink(smtp.spec(), Retry())]).run() == 2
    assert Deliverer(store, [parse_sink(smtp.spec(), Retry())]).run() == 0  # not again after a restart
    assert len(smtp.received) == 2
    for authenticated, rcpt, content in smtp.received:
        assert authenticated and rcpt == ["desk@example.org"]
        msg = email.message_from_bytes(content)
        assert msg["Subject"].startswith("[supplyline] halt: no crossing")
        assert msg["Message-ID"] in ("<alert00@supplyline>", "<alert01@supplyline>")
        assert msg["X-Supplyline-Repeat"] is None  # first sends, not repeats


def test_smtp_refused_login_backs_off_and_keeps_the_alert_pending(
    smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPLYLINE_SMTP_PASSWORD", "wrong")
    store = store_with_alerts(tmp_path / "st", 1)
    deliverer = Deliverer(store, [parse_sink(smtp.spec(), Retry())])
    deliverer.hold_first_s = 1.0  # (30 s in a watch)
    errors: list[str] = []
    deliverer.on_error = lambda sink, error: errors.append(error)
    assert deliverer.run() == 0  # no exception: a refusal is logged, the sink rests
    assert "refused the login (535" in errors[0] and "$SUPPLYLINE_SMTP_PASSWORD" in errors[0]
    assert ledger.delivered(store, "mail") == set() and not smtp.received  # still pending
    per_try = len(smtp.logins)  # smtplib tries each mechanism the server offers (PLAIN, LOGIN)
    assert per_try >= 1 and not any(smtp.logins)
    assert deliverer.run() == 0 and len(smtp.logins) == per_try  # resting: no second login yet
    time.sleep(1.1)
    assert deliverer.run() == 0 and len(smtp.logins) == 2 * per_try  # tried again, refused again
    time.sleep(1.1)
    assert deliverer.run() == 0 and len(smtp.logins) == 2 * per_try  # the rest doubled (2 s)
    monkeypatch.setenv("SUPPLYLINE_SMTP_PASSWORD", "pw")  # the operator fixes the password
    time.sleep(1.0)
    assert deliverer.run() == 1 and smtp.logins[-1] is True
    assert ledger.delivered(store, "mail") == {"alert00"} and len(smtp.received) == 1
