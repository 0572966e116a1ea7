"""Replay: real NY Harbor AIS sent over UDP to `supplyline watch` ends with the store a batch `ingest` of the
same lines gives (same rows), the same detections, and each alert delivered once to a JSON-lines file."""

from __future__ import annotations

import json
import socket
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
    source_lines,
    start_watch,
    status,
    stop_watch,
    wait_for,
)

HOURS = 30  # 1 Dec 00:00 - 2 Dec 06:00: ~31k positions, ferries crossing all day


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send_udp(lines: list[bytes], port: int, store: Path, per_datagram: int = 8, window: int = 2000) -> None:
    """Datagrams of ``per_datagram`` lines, never more than ``window`` lines ahead of what watch counted."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(0, len(lines), per_datagram):
            if i % 400 == 0:
                wait_for(lambda i=i: source_lines(store, "ais") >= i - window, 60, "watch to keep up")
            sock.sendto(b"".join(lines[i : i + per_datagram]), ("127.0.0.1", port))


@pytest.fixture(scope="module")
def replay(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, int]:
    nmea = nyharbor_nmea(data_file(shared_data, WEEK), HOURS)
    lines = nmea.splitlines(keepends=True)
    work = tmp_path_factory.mktemp("replay")
    (work / "replay.nmea").write_bytes(nmea)
    batch = work / "batch"
    ingest(Store.create(batch), [work / "replay.nmea"])
    Analysis.load(CASE).run(Store.open(batch))

    live, alerts = work / "live", work / "alerts.jsonl"
    port = free_port(socket.SOCK_DGRAM)
    args = [
        "--source",
        f"udp://127.0.0.1:{port}#name=ais",
        "--case",
        str(CASE),
        "--deliver",
        f"file:{alerts}",
    ]
    args += ["--every", "3", "--after", "10000", "--batch-seconds", "0.3"]
    proc = start_watch(live, *args, log=work / "watch.log")
    try:
        wait_for(lambda: status(live) is not None, 60, "watch to start", proc)
        send_udp(lines, port, live)
        wait_for(lambda: source_lines(live, "ais") == len(lines), 60, "every line received", proc)
        done = lambda: (s := status(live)) is not None and s["sources"]["ais"]["backlog_bytes"] == 0  # noqa: E731
        wait_for(done, 60, "every line stored", proc)
        assert stop_watch(proc) == 0, (work / "watch.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    return batch, live, alerts, len(lines)


def test_udp_replay_stores_the_same_rows_as_batch_ingest(replay: tuple[Path, Path, Path, int]) -> None:
    batch, live, _, n_lines = replay
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
    assert st["sources"]["ais"]["batches"] > 3  # really micro-batched, not one ingest at shutdown


@pytest.mark.parametrize("table", sorted(schema.EVENT_TABLES))
def test_udp_replay_gives_the_same_detections(replay: tuple[Path, Path, Path, int], table: str) -> None:
    batch, live, _, _ = replay
    if not Store.open(batch).has_files(table):
        pytest.skip(f"no {table} in this slice")
    want, got = event_table(batch, table), event_table(live, table)
    assert got.equals(want), f"{table}: {got.num_rows} rows live vs {want.num_rows} batch"


def test_udp_replay_delivers_each_alert_once(replay: tuple[Path, Path, Path, int]) -> None:
    _, live, alerts, _ = replay
    lines = [json.loads(x) for x in alerts.read_text().splitlines()]
    ids = [a["alert_id"] for a in lines]
    stored = Store.open(live).read_table("alerts", schema.ALERTS)["alert_id"].to_pylist()
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(stored)
    voyages = event_table(live, "voyages")
    assert voyages.num_rows >= 10  # ferry crossings were detected live (11 with the detectors of 7 Dec)


def test_status_command_reads_the_last_status(replay: tuple[Path, Path, Path, int], run_main) -> None:  # type: ignore[no-untyped-def]
    _, live, _, n_lines = replay
    code, out, _ = run_main("watch", "--store", str(live), "--status", "--json")
    assert code == 0
    st = json.loads(out)
    assert st["running"] is False and st["sources"]["ais"]["lines"] == n_lines
    code, out, _ = run_main("watch", "--store", str(live), "--status")
    assert code == 0 and "watch stopped" in out and f"{n_lines:,} lines received" in out
    time.sleep(0)
