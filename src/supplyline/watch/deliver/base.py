"""What every delivery target has in common: a name (the ledger's key) and ``send``."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from supplyline.errors import SupplylineError


class DeliveryError(SupplylineError):
    """A target refused an alert for good (e.g. HTTP 4xx) or the watch is stopping mid-retry."""


class Sink(Protocol):
    """A delivery target. ``send`` returns only once the target accepted every alert given (or raises)."""

    name: str
    digest_s: float  # 0 = one message per alert; else one message per this many seconds
    batched: bool  # True: one send() may carry many alerts as separate records (JSON lines)

    def send(self, alerts: list[dict[str, Any]], repeat: bool = False) -> int:
        """Deliver; returns the number of attempts it took. ``repeat``: these alerts may have been delivered
        already (a watch was killed after sending them, before recording it): say so to the target."""
        ...

    def recover(self, done: set[str]) -> list[str]:
        """Ids the target already holds that the ledger does not (a crash between the two)."""
        ...


@dataclass
class Retry:
    """Exponential back-off: ``first_s``, doubling, at most ``max_s``; ``stop`` ends the waiting early."""

    first_s: float = 0.5
    max_s: float = 30.0
    stop: threading.Event = field(default_factory=threading.Event)

    def delays(self) -> Any:
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_s, delay * 2)

    def wait(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise DeliveryError(
                "watch is stopping; the alert stays undelivered and is sent on the next start"
            )


def alert_dicts(alerts: pa.Table) -> list[dict[str, Any]]:
    """Alert rows as JSON-ready dicts: ``ts`` in ISO 8601 UTC, ``details`` parsed."""
    out = []
    for row in alerts.to_pylist():
        row["ts"] = row["ts"].isoformat() if row.get("ts") is not None else None
        row["details"] = json.loads(row["details"]) if row.get("details") else {}
        out.append(row)
    return out


def delivery_key(alerts: list[dict[str, Any]]) -> str:
    """The idempotency key of one message: the alert id, or for a digest a hash of its ids (16 hex)."""
    if len(alerts) == 1:
        return str(alerts[0]["alert_id"])
    return hashlib.sha1(",".join(str(a["alert_id"]) for a in alerts).encode()).hexdigest()[:16]


def body(alerts: list[dict[str, Any]]) -> bytes:
    """The JSON body of one message: a single alert, or ``{"alerts": [...]}`` for a digest."""
    payload: Any = alerts[0] if len(alerts) == 1 else {"alerts": alerts}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
