"""JSON lines on stdout or appended to a file (fsync'd before the ledger records them)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


class JsonLinesSink:
    """One alert per line. A file sink reads its own lines at start, so a crash between writing a line and
    recording it in the ledger does not make it write the line again."""

    def __init__(self, path: str, name: str, digest_s: float = 0.0) -> None:
        self.path = None if path in ("-", "stdout") else Path(path)
        self.name = name
        self.digest_s = digest_s
        self.batched = True

    def send(self, alerts: list[dict[str, Any]], repeat: bool = False) -> int:
        del repeat  # a file's repeats are found by ``recover`` before any send
        text = "".join(json.dumps(a, sort_keys=True, default=str) + "\n" for a in alerts)
        if self.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        return 1

    def recover(self, done: set[str]) -> list[str]:
        if self.path is None or not self.path.exists():
            return []
        data = self.path.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole != len(data):  # a line torn by a crash: drop it, the alert is sent again whole
            os.truncate(self.path, whole)
        found: list[str] = []
        for line in data[:whole].splitlines():
            try:
                alert_id = json.loads(line).get("alert_id")
            except (ValueError, AttributeError):
                continue
            if isinstance(alert_id, str) and alert_id not in done:
                found.append(alert_id)
        return found
