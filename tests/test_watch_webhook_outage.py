"""Issue 17's webhook fault test, end to end: a real `supplyline watch` process delivers alerts to a real
local HTTP receiver that answers 500 for a whole minute, then recovers. The watch is stopped (SIGTERM) and
restarted in the middle of the outage. Every alert is accepted exactly once, none before the outage ends.
Slow (about 1.5 minutes): the watch's own back-off (0.5 s doubling to 30 s) rides out the minute."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from supplyline import schema
from supplyline.store import Store
from tests.test_watch_delivery import SECRET
from tests.watch_support import start_watch, status, stop_watch, store_with_alerts, wait_for

OUTAGE_S = 60.0
N_ALERTS = 6


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepted(server: ThreadingHTTPServer) -> Counter[str]:
    seen = list(server.seen)  # type: ignore[attr-defined]
    return Counter(json.loads(body)["alert_id"] for _, body, ok in seen if ok)


@pytest.mark.slow
@pytest.mark.parametrize("receiver", [OUTAGE_S], indirect=True)
def test_webhook_500s_for_a_minute_then_recovers_every_alert_once(
    receiver: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPLYLINE_WEBHOOK_SECRET", SECRET)
    store = tmp_path / "st"
    store_with_alerts(store, N_ALERTS)
    url = f"http://127.0.0.1:{receiver.server_port}/hook#name=hook"
    args = ["--source", f"udp://127.0.0.1:{_free_udp_port()}#name=ais", "--no-analysis", "--deliver", url]
    outage_ends = receiver.fail_until  # type: ignore[attr-defined]  # the fixture's outage, from its start
    proc = start_watch(store, *args, log=tmp_path / "watch.log")
    try:
        wait_for(lambda: len(receiver.seen) >= 3, 30, "retries during the outage", proc)  # type: ignore[attr-defined]
        assert stop_watch(proc, 60) == 0, (tmp_path / "watch.log").read_text()[-2000:]
        proc = start_watch(store, *args, log=tmp_path / "watch.log")  # restarted mid-outage
        assert time.monotonic() < outage_ends
        wait_for(lambda: len(_accepted(receiver)) == N_ALERTS, OUTAGE_S + 60, "every alert accepted", proc)
        time.sleep(3)  # a repeat would come within the delivery loop's next seconds
        assert stop_watch(proc, 60) == 0, (tmp_path / "watch.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    seen = receiver.seen  # type: ignore[attr-defined]
    assert _accepted(receiver) == Counter({f"alert{i:02d}": 1 for i in range(N_ALERTS)})  # each exactly once
    failed = sum(1 for *_, ok in seen if not ok)
    assert failed >= 5  # it retried through the minute (back-off 0.5 s doubling to 30 s)
    ledger = Store.open(store).read_table("deliveries", schema.DELIVERIES)
    assert ledger.num_rows == N_ALERTS
    st = status(store)
    assert st is not None and st["stopped"] and st["errors"] == 0
