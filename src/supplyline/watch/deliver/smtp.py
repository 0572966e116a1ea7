"""E-mail delivery over SMTP with STARTTLS (``smtp://``) or TLS (``smtps://``), retried with back-off.

``smtp://HOST:PORT?from=watch@example.org&to=a@example.org,b@example.org``. Credentials come from
``$SUPPLYLINE_SMTP_USER`` / ``$SUPPLYLINE_SMTP_PASSWORD`` (no login when unset; ``user_env`` /
``password_env`` name other variables); a private CA (or a self-signed server certificate) from
``$SUPPLYLINE_SMTP_CAFILE``. The server's certificate is always verified; the connection is refused rather
than sent in clear if the server does not offer STARTTLS. Each message has ``Message-ID:
<alert-id@supplyline>`` (digests: a hash of their ids), the same on every send of that message, and
``X-Supplyline-Repeat: 1`` when it may repeat one already delivered (a retry, or killed between send and
record).
A refused login is a refusal: the sink is held back and its alerts stay pending.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from supplyline.errors import UsageError
from supplyline.watch.deliver.base import DeliveryError, Retry, delivery_key

USER_ENV, PASSWORD_ENV = "SUPPLYLINE_SMTP_USER", "SUPPLYLINE_SMTP_PASSWORD"


class SmtpSink:
    batched = False

    def __init__(
        self,
        url: str,
        name: str,
        digest_s: float,
        retry: Retry,
        user_env: str = USER_ENV,
        password_env: str = PASSWORD_ENV,
    ) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.hostname or not query.get("from") or not query.get("to"):
            raise UsageError(f"--deliver {url!r}: use smtp://HOST:PORT?from=ADDRESS&to=ADDRESS[,ADDRESS]")
        self.host, self.tls = parts.hostname, parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 587)
        self.sender, self.to = query["from"], [a.strip() for a in query["to"].split(",") if a.strip()]
        self.name, self.digest_s, self.retry = name, digest_s, retry
        self.user_env, self.password_env = user_env, password_env
        self.timeout_s = 30.0

    def message(self, alerts: list[dict[str, Any]], repeat: bool = False) -> EmailMessage:
        msg = EmailMessage()
        first = alerts[0]
        subject = f"{first['kind']}: {first['message']}" if len(alerts) == 1 else f"{len(alerts)} alerts"
        msg["Subject"] = f"[supplyline] {subject}"[:200]
        msg["From"], msg["To"] = self.sender, ", ".join(self.to)
        msg["Message-ID"] = f"<{delivery_key(alerts)}@supplyline>"
        if repeat:
            msg["X-Supplyline-Repeat"] = "1"
        text = "\n".join(f"{a['ts']}  {a['kind']}  {a['message']}" for a in alerts)
        msg.set_content(text + "\n\n" + json.dumps(alerts, indent=1, sort_keys=True, default=str) + "\n")
        return msg

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=os.environ.get("SUPPLYLINE_SMTP_CAFILE"))

    def _send_once(self, msg: EmailMessage) -> None:
        ctx = self._context()
        if self.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=ctx)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with client:
            if not self.tls:
                client.starttls(context=ctx)  # raises SMTPNotSupportedError if not offered: never in clear
            user = os.environ.get(self.user_env)
            if user:
                client.login(user, os.environ.get(self.password_env, ""))
            client.send_message(msg)

    def send(self, alerts: list[dict[str, Any]], repeat: bool = False) -> int:
        """Send until the server accepts; returns the number of attempts (a retry is marked as a possible
        repeat: a connection lost after DATA may have delivered it)."""
        for attempt, delay in enumerate(self.retry.delays(), start=1):
            try:
                self._send_once(self.message(alerts, repeat or attempt > 1))
                return attempt
            except smtplib.SMTPAuthenticationError as exc:
                reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc
                raise DeliveryError(
                    f"e-mail via {self.host}:{self.port}: the server refused the login "
                    f"({exc.smtp_code} {reply}); check ${self.user_env} and ${self.password_env}. "
                    "The alerts stay pending and are tried again later"
                ) from exc
            except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
                raise DeliveryError(f"e-mail via {self.host}:{self.port} refused: {exc}") from exc
            except smtplib.SMTPResponseException as exc:
                if 500 <= exc.smtp_code < 600:
                    raise DeliveryError(f"e-mail via {self.host}:{self.port} refused: {exc}") from exc
            except (smtplib.SMTPException, OSError):
                pass
            self.retry.wait(delay)
        raise AssertionError("unreachable")  # pragma: no cover - delays() never ends

    def recover(self, done: set[str]) -> list[str]:
        return []
