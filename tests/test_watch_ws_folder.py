"""The WebSocket source against a local `websockets` server speaking AISStream's JSON, which drops the
connection mid-stream (the watch reconnects and gets the rest), and the folder source (each file once)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from tests.conftest import data_file
from tests.watch_support import CASE, WEEK, positions, source_lines, start_watch, status, stop_watch, wait_for

websockets = pytest.importorskip("websockets")


def aisstream_messages(csv: Path, n: int) -> list[str]:
    """The first ``n`` NY Harbor positions as AISStream ``PositionReport`` JSON."""
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT mmsi::BIGINT, epoch(timestamp::TIMESTAMP)::BIGINT, lat, lon FROM read_csv('{csv}') "
            f"ORDER BY timestamp, mmsi LIMIT {n}"
        )
        .fetchall()
    )
    out = []
    for mmsi, ts, lat, lon in rows:
        when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.000000 +0000 UTC")
        report = {"UserID": mmsi, "Latitude": lat, "Longitude": lon, "Sog": 102.3, "Cog": 360, "TrueHeading": 511,
                  "NavigationalStatus": 15, "MessageID": 1}  # fmt: skip
        out.append(json.dumps({"MessageType": "PositionReport", "MetaData": {"MMSI": mmsi, "time_utc": when},
                               "Message": {"PositionReport": report}}))  # fmt: skip
    return out


class FeedServer(threading.Thread):
    """Sends the first half, drops the connection, sends the second half to the next connection."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(daemon=True)
        self.messages, self.subscriptions, self.port = messages, [], 0
        self.ready, self.loop = threading.Event(), asyncio.new_event_loop()

    async def handler(self, ws: Any) -> None:
        self.subscriptions.append(json.loads(await ws.recv()))
        half = len(self.messages) // 2
        if len(self.subscriptions) == 1:
            for m in self.messages[:half]:
                await ws.send(m)
            ws.transport.abort()  # dropped, no closing handshake
            return
        for m in self.messages[half:]:
            await ws.send(m)
        await asyncio.Future()

    def run(self) -> None:
        async def main() -> None:
            async with websockets.serve(self.handler, "127.0.0.1", 0) as server:
                self.port = server.sockets[0].getsockname()[1]
                self.ready.set()
                await asyncio.Future()

        self.loop.run_until_complete(main())


def test_websocket_drop_reconnects_and_resumes(shared_data: Path, tmp_path: Path) -> None:
    messages = aisstream_messages(data_file(shared_data, WEEK), 400)
    server = FeedServer(messages)
    server.start()
    assert server.ready.wait(10)
    live = tmp_path / "live"
    proc = start_watch(live, "--source", f"ws://127.0.0.1:{server.port}#name=ws", "--case", str(CASE),
                       "--no-analysis", "--batch-seconds", "0.3", log=tmp_path / "watch.log")  # fmt: skip
    try:
        wait_for(lambda: source_lines(live, "ws") == len(messages), 60, "every message", proc)
        stored = lambda: (st := status(live)) is not None and st["sources"]["ws"]["backlog_bytes"] == 0  # noqa: E731
        wait_for(stored, 30, "stored", proc)
        st = status(live)
        assert stop_watch(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (
        st is not None and st["sources"]["ws"]["connections"] == 2 and st["sources"]["ws"]["reconnects"] >= 1
    )
    sub = server.subscriptions[0]
    assert (
        sub["FilterMessageTypes"][0] == "PositionReport" and len(sub["BoundingBoxes"]) == 3
    )  # the case's places
    got = positions(live)
    assert got.num_rows == len(messages)
    want = [(json.loads(m)["Message"]["PositionReport"]["UserID"], json.loads(m)["Message"]["PositionReport"]["Latitude"])
            for m in messages]  # fmt: skip
    assert sorted(zip(got["mmsi"].to_pylist(), got["lat"].to_pylist(), strict=True)) == sorted(want)


def test_folder_files_are_ingested_once_when_complete(shared_data: Path, tmp_path: Path) -> None:
    src = data_file(shared_data, "noaa_ais_nyharbor_2020/nyharbor_2020-12-08_points.csv.gz")
    drop, live = tmp_path / "drop", tmp_path / "live"
    drop.mkdir()
    args = ["--source", f"folder:{drop}#name=drops", "--no-analysis", "--batch-seconds", "0.3"]
    proc = start_watch(live, *args, log=tmp_path / "watch.log")
    try:
        wait_for(lambda: status(live) is not None, 60, "start", proc)
        shutil.copy(src, drop / "day.csv.gz.part")  # still being written: not touched
        (drop / "day.csv.gz.part").rename(drop / "day.csv.gz")
        shutil.copy(src, drop / "same-bytes-again.csv.gz")
        kept = lambda: (st := status(live)) is not None and st["sources"]["drops"]["batches"] == 2  # noqa: E731
        wait_for(kept, 60, "both files handled", proc)
        assert stop_watch(proc) == 0
        proc = start_watch(live, *args, log=tmp_path / "watch.log")  # a restart does not ingest them again
        wait_for(lambda: (st := status(live)) is not None and st["pid"] == proc.pid, 60, "restart", proc)
        assert stop_watch(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    batch = tmp_path / "batch"
    ingest(Store.create(batch), [src])
    assert positions(live).equals(positions(batch))
    manifest = Store.open(live).manifest()
    assert manifest.num_rows == 1  # the copy with the same bytes was a skip
    log = (tmp_path / "watch.log").read_text()
    assert log.count('"status": "ingested"') == 1 and log.count('"status": "skipped"') == 1


def test_many_messages_convert_as_one_by_one(shared_data: Path) -> None:
    """The WebSocket source converts what arrived meanwhile in one call: same lines, same order, the bad
    ones kept as their text (quarantined later as unparsable)."""
    from supplyline.watch.sources.aisstream import to_nmea, to_nmea_many

    good = aisstream_messages(data_file(shared_data, WEEK), 50)
    static = json.dumps({"MessageType": "ShipStaticData", "MetaData": {"time_utc": "2020-12-01 00:00:05.1 +0000 UTC"},
                         "Message": {"ShipStaticData": {"UserID": 366999712, "Name": "SAMUEL I NEWHOUSE"}}})  # fmt: skip
    bad_lat = good[3].replace('"Latitude": ', '"Latitude": "north", "x": ')
    mixed = [good[0], "not json", static, *good[1:20], bad_lat, '{"MessageType": "Ping"}', *good[20:]]
    many = to_nmea_many(mixed)
    assert many == b"".join(to_nmea(m) for m in mixed)
    lines = many.splitlines()
    assert len(lines) == len(mixed) + 1  # the static message is two sentences
    assert lines[1] == b"not json" and b"Ping" in lines[24] and b"north" in lines[23]
