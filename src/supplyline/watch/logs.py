"""Structured logs: one JSON object per line on stderr (``ts``, ``level``, ``event`` and fields)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


class JsonLog:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.quiet and level == "debug":
            return
        rec = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "event": event}
        rec.update(fields)
        self.stream.write(json.dumps(rec, default=str) + "\n")
        self.stream.flush()
