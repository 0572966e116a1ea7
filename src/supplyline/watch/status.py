"""`watch --status`: the running watch writes ``status.json`` every second (atomically); this reads it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from supplyline.errors import StoreError

STATUS = "status.json"


def write_status(folder: Path, status: dict[str, Any]) -> None:
    tmp = folder / (STATUS + ".tmp")
    tmp.write_text(json.dumps(status, default=str, indent=1))
    os.replace(tmp, folder / STATUS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(folder: Path) -> dict[str, Any]:
    """The last status written, with ``running`` (the pid is alive) and ``age_s`` (seconds since written)."""
    path = folder / STATUS
    if not path.exists():
        raise StoreError(f"no watch status at {path}; start `supplyline watch` with this --store first")
    status: dict[str, Any] = json.loads(path.read_text())
    status["age_s"] = round(time.time() - float(status.get("written_at", 0)), 1)
    status["running"] = bool(status.get("pid")) and _alive(int(status["pid"])) and not status.get("stopped")
    return status


def format_status(status: dict[str, Any]) -> list[str]:
    """Human-readable lines: state, queue, then one line per source."""
    state = "running" if status["running"] else "stopped"
    lines = [
        f"watch {state} (pid {status.get('pid')}, status {status['age_s']} s old, up {status.get('uptime_s')} s)",
        f"queue: {status.get('queue_items', 0)} chunks, {status.get('queue_bytes', 0):,} bytes; "
        f"analysis runs {status.get('analysis_runs', 0)}; alerts delivered {status.get('delivered', 0)}",
    ]
    for name, s in status.get("sources", {}).items():
        lines.append(
            f"  {name}: {s.get('state')}; {s.get('lines', 0):,} lines received "
            f"({s.get('rate_lines_s', 0):,.0f}/s), dropped {s.get('dropped_lines', 0):,}; "
            f"backlog {s.get('backlog_bytes', 0):,} bytes, lag {s.get('lag_s', 0):.1f} s; "
            f"stored: read {s.get('read', 0):,} = kept {s.get('kept', 0):,} + duplicate "
            f"{s.get('duplicate', 0):,} + quarantined {s.get('quarantined', 0):,}"
        )
    last = status.get("last_alert")
    lines.append(
        f"last alert: {last['kind']} {last['alert_id']} at {last['ts']}" if last else "last alert: none"
    )
    return lines
