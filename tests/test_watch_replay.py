"""Replay: the real NY Harbor week sent to `supplyline watch` over UDP (NMEA) and over a local WebSocket
server (AISStream JSON) far faster than real time ends with the store a batch `ingest` of the same lines
gives (same rows), the same detections, and each alert delivered once to a JSON-lines file.

One day (00:00-24:00 of 1 Dec, ~25k positions) of each runs by default; the whole week (172,679 positions)
of each is marked ``slow``. Both run at far more than 100x real time (asserted): the WebSocket server sends
as fast as the watch reads (TCP flow control, the watch stops reading when its queue is full); UDP cannot be
slowed by the receiver, so the sender keeps at most ``WINDOW`` lines ahead of what the watch reports read
(``--status`` counters, rewritten every second): at most ~1,000 datagrams (~0.7 MB of NMEA) are ever in
flight, well inside the socket's 4 MB receive buffer and the 16 MB queue, so loopback delivery is lossless
by construction and the counts are asserted exactly.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from supplyline import schema
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from supplyline.watch.schedule import Analysis
from tests.conftest import data_file
from tests.watch_support import (
    CASE,
    WEEK,
    aisstream_json,
    assert_same_events,
    event_table,
    manifest_totals,
    nyharbor_nmea,
    nyharbor_rows,
    positions,
    source_lines,
    start_watch,
    status,
    stop_watch,
    wait_for,
)

WINDOW = 8000  # UDP: lines sent but not yet read by the watch, at most
PER_DATAGRAM = 8
REPLAYS = [
    pytest.param(("udp", 24), id="udp-day"),
    pytest.param(("ws", 24), id="ws-day"),
    pytest.param(("udp", 168), id="udp-week", marks=pytest.mark.slow),
    pytest.param(("ws", 168), id="ws-week", marks=pytest.mark.slow),
]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send_udp(lines: list[bytes], port: int, store: Path) -> None:
    """Datagrams of ``PER_DATAGRAM`` lines, never more than ``WINDOW`` lines ahead of what watch read."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(0, len(lines), PER_DATAGRAM):
            if i % 400 == 0:
                wait_for(lambda i=i: source_lines(store, "ais") >= i - WINDOW, 60, "watch to keep up")
            sock.sendto(b"".join(lines[i : i + PER_DATAGRAM]), ("127.0.0.1", port))


class WsFeed(threading.Thread):
    """A local WebSocket server speaking AISStream: after the subscription, every message, as fast as the
    client reads (``send`` waits while the TCP window is full); then the connection stays open."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(daemon=True)
        self.messages, self.port = messages, 0
        self.ready, self.sent = threading.Event(), threading.Event()

    async def handler(self, ws: Any) -> None:
        await ws.recv()  # the subscription
        for m in self.messages:
            await ws.send(m)
        self.sent.set()
        await asyncio.Future()

    def run(self) -> None:
        import websockets

        async def main() -> None:
            async with websockets.serve(self.handler, "127.0.0.1", 0, max_queue=None) as server:
                self.port = server.sockets[0].getsockname()[1]
                self.ready.set()
                await asyncio.Future()

        asyncio.new_event_loop().run_until_complete(main())


@dataclass
class Replay:
    batch: Path
    live: Path
    alerts: Path
    lines: int
    span_s: float  # data time from the first line to the last
    send_s: float  # wall time from the first line sent to the last read by the watch


def batch_reference(work: Path, nmea: bytes) -> Path:
    (work / "replay.nmea").write_bytes(nmea)
    batch = work / "batch"
    ingest(Store.create(batch), [work / "replay.nmea"])
    Analysis.load(CASE).run(Store.open(batch))
    return batch


@pytest.fixture(scope="module", params=REPLAYS)
def replay(
    request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Replay:
    transport, hours = request.param
    if transport == "ws":
        pytest.importorskip("websockets")
    rows = nyharbor_rows(data_file(shared_data, WEEK), hours)
    # the WebSocket source writes AISStream messages as NMEA tagged s:aisstream: the batch gets the same
    nmea = nyharbor_nmea(
        data_file(shared_data, WEEK), hours, source="aisstream" if transport == "ws" else "nyharbor"
    )
    lines = nmea.splitlines(keepends=True)
    work = tmp_path_factory.mktemp(f"replay-{transport}-{hours}h")
    batch = batch_reference(work, nmea)
    live, alerts = work / "live", work / "alerts.jsonl"
    feed = WsFeed(aisstream_json(rows)) if transport == "ws" else None
    if feed is not None:
        feed.start()
        assert feed.ready.wait(10)
        src = f"ws://127.0.0.1:{feed.port}#name=ais"
    else:
        port = free_port(socket.SOCK_DGRAM)
        src = f"udp://127.0.0.1:{port}#name=ais"
    args = ["--source", src, "--case", str(CASE), "--deliver", f"file:{alerts}"]
    args += ["--every", "3", "--after", "20000", "--batch-seconds", "0.3"]
    proc = start_watch(live, *args, log=work / "watch.log")
    try:
        wait_for(lambda: status(live) is not None, 60, "watch to start", proc)
        t0 = time.monotonic()
        if feed is None:
            send_udp(lines, port, live)
        wait_for(lambda: source_lines(live, "ais") == len(lines), 300, "every line received", proc)
        send_s = time.monotonic() - t0
        done = lambda: (s := status(live)) is not None and s["sources"]["ais"]["backlog_bytes"] == 0  # noqa: E731
        wait_for(done, 120, "every line stored", proc)
        running = status(live)
        assert running is not None and running["sources"]["ais"]["batches"] >= 1  # stored while running
        assert stop_watch(proc, 120) == 0, (work / "watch.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    span = float(rows["ts"][-1] - rows["ts"][0])
    return Replay(batch, live, alerts, len(lines), span, send_s)


def test_replay_is_faster_than_100x_real_time(replay: Replay) -> None:
    assert replay.span_s > 18 * 3600  # data from ~05:00 to 24:00 on the first day
    assert replay.send_s * 100 <= replay.span_s, f"{replay.span_s / replay.send_s:.0f}x real time"


def test_replay_stores_the_same_rows_as_batch_ingest(replay: Replay) -> None:
    batch, live, n_lines = replay.batch, replay.live, replay.lines
    want, got = positions(batch), positions(live)
    assert want.num_rows > 20_000
    assert got.num_rows == want.num_rows
    assert got.equals(want)
    totals = manifest_totals(live)
    assert totals["read"] == n_lines  # every line sent was read, none lost
    assert totals["read"] == totals["kept"] + totals["duplicate"] + totals["quarantined"]
    assert totals == manifest_totals(batch)
    st = status(live)
    assert st is not None and st["stopped"] and st["sources"]["ais"]["dropped_lines"] == 0
    # stored while running (the fixture saw the spool empty and a batch stored before asking the watch to
    # stop); how many batches depends on the machine's speed: a quiet one takes a fast WebSocket day in one
    assert st["sources"]["ais"]["batches"] >= 1


@pytest.mark.parametrize("table", sorted(schema.EVENT_TABLES))
def test_replay_gives_the_same_detections(replay: Replay, table: str) -> None:
    batch, live = replay.batch, replay.live
    if not Store.open(batch).has_files(table):
        pytest.skip(f"no {table} in this slice")
    assert_same_events(table, event_table(live, table), event_table(batch, table))


def test_replay_delivers_each_alert_once(replay: Replay) -> None:
    live, alerts = replay.live, replay.alerts
    lines = [json.loads(x) for x in alerts.read_text().splitlines()]
    ids = [a["alert_id"] for a in lines]
    stored = Store.open(live).read_table("alerts", schema.ALERTS)["alert_id"].to_pylist()
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(stored)
    batch = Store.open(replay.batch).read_table("alerts", schema.ALERTS)["alert_id"].to_pylist()
    assert sorted(stored) == sorted(batch)  # the same alerts as detect + monitor after a batch ingest
    voyages = event_table(live, "voyages")
    assert voyages.num_rows >= 5  # ferry crossings were detected live (6 on the first day, 37 in the week)


def test_status_command_reads_the_last_status(replay: Replay, run_main) -> None:  # type: ignore[no-untyped-def]
    live, n_lines = replay.live, replay.lines
    code, out, _ = run_main("watch", "--store", str(live), "--status", "--json")
    assert code == 0
    st = json.loads(out)
    assert st["running"] is False and st["sources"]["ais"]["lines"] == n_lines
    code, out, _ = run_main("watch", "--store", str(live), "--status")
    assert code == 0 and "watch stopped" in out and f"{n_lines:,} lines received" in out
