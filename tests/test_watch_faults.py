"""Fault tests: `supplyline watch` SIGKILLed at random points during a TCP replay and restarted, ten times:
no message lost, none stored twice, no alert delivered twice."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from pathlib import Path

import pytest

from supplyline import schema
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from supplyline.watch.schedule import Analysis
from tests.conftest import data_file
from tests.watch_support import (
    CASE,
    WEEK,
    event_table,
    manifest_totals,
    nyharbor_nmea,
    positions,
    start_watch,
    status,
    stop_watch,
    wait_for,
)

HOURS = 30
KILLS = 10


class AckedSender(threading.Thread):
    """A dispatcher that resends everything after the last ``ACK <bytes>`` when its connection breaks."""

    def __init__(self, data: bytes, port: int, block: int = 16_384, pause_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.data, self.port, self.block, self.pause_s = data, port, block, pause_s
        self.acked = 0  # bytes of ``data`` the watch has fsync'd
        self.resent = 0  # bytes sent again after a broken connection
        self.stop = threading.Event()

    def run(self) -> None:
        while self.acked < len(self.data) and not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self._session(sock)
            except OSError:
                time.sleep(0.1)

    def _session(self, sock: socket.socket) -> None:
        base, sent = self.acked, self.acked
        self.resent += max(0, getattr(self, "_high", 0) - base)
        reader = sock.makefile("rb")
        while self.acked < len(self.data):
            if sent < len(self.data) and sent - self.acked < 4 * self.block:
                end = self.data.rfind(b"\n", sent, sent + self.block) + 1 or len(self.data)
                sock.sendall(self.data[sent:end])
                sent = end
                self._high = max(getattr(self, "_high", 0), sent)
                time.sleep(self.pause_s)
                continue
            line = reader.readline()
            if not line:
                raise OSError("connection closed")
            self.acked = base + int(line.split()[1])


@pytest.mark.slow
def test_sigkill_ten_times_during_tcp_replay(shared_data: Path, tmp_path: Path) -> None:
    nmea = nyharbor_nmea(data_file(shared_data, WEEK), HOURS)
    (tmp_path / "replay.nmea").write_bytes(nmea)
    batch = tmp_path / "batch"
    ingest(Store.create(batch), [tmp_path / "replay.nmea"])
    Analysis.load(CASE).run(Store.open(batch))

    live, alerts, log = tmp_path / "live", tmp_path / "alerts.jsonl", tmp_path / "watch.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--source", f"tcp-listen://127.0.0.1:{port}?ack=1#name=feed", "--case", str(CASE)]
    args += ["--deliver", f"file:{alerts}", "--every", "1", "--after", "5000", "--batch-seconds", "0.2"]
    sender = AckedSender(nmea, port)
    sender.start()
    rng = random.Random(17)
    try:
        for _ in range(KILLS):
            proc = start_watch(live, *args, log=log)
            running = lambda p=proc: (st := status(live)) is not None and st["pid"] == p.pid  # noqa: E731
            wait_for(running, 60, "watch to start", proc)
            time.sleep(rng.uniform(0.0, 2.0))  # receiving, spooling, storing, detecting or delivering
            proc.kill()
            proc.wait(10)
        proc = start_watch(live, *args, log=log)
        wait_for(lambda: sender.acked == len(nmea), 90, "every byte acknowledged", proc)
        stored = lambda: (st := status(live)) is not None and st["sources"]["feed"]["backlog_bytes"] == 0  # noqa: E731
        wait_for(stored, 60, "every spooled line stored", proc)
        assert stop_watch(proc) == 0, log.read_text()[-3000:]
    finally:
        sender.stop.set()
        if proc.poll() is None:
            proc.kill()

    # no message lost, none stored twice: the same rows as a batch ingest of the same lines
    assert positions(live).equals(positions(batch))
    totals = manifest_totals(live)
    assert totals["kept"] == manifest_totals(batch)["kept"]
    assert totals["read"] == totals["kept"] + totals["duplicate"] + totals["quarantined"]
    assert totals["read"] >= nmea.count(b"\n")  # resent lines are read again and counted as duplicates
    assert event_table(live, "voyages").equals(event_table(batch, "voyages"))
    # no alert delivered twice, none missing
    ids = [json.loads(x)["alert_id"] for x in alerts.read_text().splitlines()]
    stored_ids = Store.open(live).read_table("alerts", schema.ALERTS)["alert_id"].to_pylist()
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(stored_ids)
    assert log.read_text().count('"event": "watch_started"') == KILLS + 1
    assert sender.resent > 0  # some kills cut a connection with bytes sent but not acknowledged
