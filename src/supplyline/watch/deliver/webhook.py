"""Webhook delivery: an HTTP POST of the alert as JSON, signed with HMAC-SHA256, retried with back-off.

Headers: ``X-Supplyline-Alert-Id`` (the alert id, or the digest's ids joined by commas),
``Idempotency-Key`` (the alert id, or a hash of the digest's ids: the same on every send of that message),
``X-Supplyline-Repeat: 1`` on a send that may repeat one the receiver already has (a retry, or the watch
was killed after sending, before recording it), and ``X-Supplyline-Signature: sha256=<hex HMAC-SHA256 of the body>``
keyed by the secret in ``$SUPPLYLINE_WEBHOOK_SECRET`` (``secret_env`` names another variable; no header if
it is unset).
A 2xx answer is acceptance; 5xx, 408, 429 and network errors are retried (0.5 s doubling to 30 s) until the
watch stops; any other answer is a refusal (the alert stays undelivered and is tried again later).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import urllib.error
import urllib.request
from typing import Any

from supplyline.watch.deliver.base import DeliveryError, Retry, body, delivery_key

RETRY_STATUS = {408, 429}
SECRET_ENV = "SUPPLYLINE_WEBHOOK_SECRET"


def signature(secret: bytes, data: bytes) -> str:
    """The ``X-Supplyline-Signature`` value of ``data``: ``sha256=`` + hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret, data, hashlib.sha256).hexdigest()


class WebhookSink:
    batched = False

    def __init__(
        self, url: str, name: str, digest_s: float, retry: Retry, secret_env: str = SECRET_ENV
    ) -> None:
        self.url, self.name, self.digest_s, self.retry = url, name, digest_s, retry
        self.secret_env = secret_env
        self.timeout_s = 10.0

    def _request(self, alerts: list[dict[str, Any]], repeat: bool) -> urllib.request.Request:
        data = body(alerts)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "supplyline-watch",
            "X-Supplyline-Alert-Id": ",".join(str(a["alert_id"]) for a in alerts),
            "Idempotency-Key": delivery_key(alerts),
        }
        if repeat:
            headers["X-Supplyline-Repeat"] = "1"
        secret = os.environ.get(self.secret_env)
        if secret:
            headers["X-Supplyline-Signature"] = signature(secret.encode(), data)
        return urllib.request.Request(self.url, data=data, headers=headers, method="POST")

    def send(self, alerts: list[dict[str, Any]], repeat: bool = False) -> int:
        """POST until accepted; returns the number of attempts. A retry is marked as a possible repeat: a
        timed-out or broken attempt may have reached the receiver."""
        for attempt, delay in enumerate(self.retry.delays(), start=1):
            request = self._request(alerts, repeat or attempt > 1)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                    if 200 <= resp.status < 300:
                        return attempt
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code not in RETRY_STATUS:
                    raise DeliveryError(f"webhook {self.url} refused the alert: HTTP {exc.code}") from exc
            except (urllib.error.URLError, OSError):
                pass
            self.retry.wait(delay)
        raise AssertionError("unreachable")  # pragma: no cover - delays() never ends

    def recover(self, done: set[str]) -> list[str]:
        return []
