"""The delivery intent journal: which alerts a sink was being sent when the watch stopped.

The ledger (``tables/deliveries``) records an alert once the sink accepted it. Before each send the watch
writes the alert ids it is about to send to ``<store>/_watch/deliveries/<sink>.intent.json`` (fsync'd, then
renamed in place), and removes the file after the ledger row is written. Delivery to a sink is sequential,
so at most one intent is open per sink. Found on start with ids missing from the ledger, it marks a send
whose outcome is unknown (killed between "sent" and "recorded"): the watch sends the same alerts again,
with the same idempotency key and marked as a possible repeat, before anything else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DIR = Path("_watch") / "deliveries"


def _path(root: Path, sink: str) -> Path:
    return root / DIR / f"{sink}.intent.json"


def begin(root: Path, sink: str, alert_ids: list[str]) -> None:
    """Record, durably, that ``alert_ids`` are about to be sent to ``sink``."""
    path = _path(root, sink)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"sink": sink, "alert_ids": alert_ids}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def done(root: Path, sink: str) -> None:
    """The open intent of ``sink`` is settled (recorded in the ledger)."""
    _path(root, sink).unlink(missing_ok=True)


def open_intent(root: Path, sink: str) -> list[str]:
    """Alert ids of the intent left open by a stopped watch (empty if none or unreadable)."""
    try:
        ids = json.loads(_path(root, sink).read_text(encoding="utf-8")).get("alert_ids", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(i) for i in ids] if isinstance(ids, list) else []
