"""The watch's durable parts without a network: spool segments and offsets, batch cuts at message ends,
recovery of a batch cut short by a crash, the delivery ledger and the bounded queue."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.ingest.nmea_split import message_boundary
from supplyline.ingest.pipeline import ingest_bytes
from supplyline.store import Store
from supplyline.watch.batcher import Batcher, batch_name
from supplyline.watch.deliver import Deliverer, Retry, ledger, parse_sink
from supplyline.watch.queue import ByteQueue, Item
from supplyline.watch.spool import Committed, SourceSpool
from tests.conftest import data_file

DMA = "dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt"  # $PGHP headers, 543 two-sentence messages


def test_spool_segments_offsets_and_restart(tmp_path: Path) -> None:
    sp = SourceSpool(tmp_path / "s", segment_bytes=100)
    lines = [b"!AIVDM,1,1,,A,line%03d,0*00\n" % i for i in range(40)]
    for i in range(0, 40, 4):
        sp.append(lines[i : i + 4])
    data = b"".join(lines)
    assert sp.end == len(data) and sp.read(0, sp.end) == data
    assert len(list((tmp_path / "s").glob("seg-*.nmea"))) > 3
    sp.commit(Committed(offset=400))
    sp.close()
    with open(sorted((tmp_path / "s").glob("seg-*.nmea"))[-1], "ab") as fh:
        fh.write(b"!AIVDM,1,1,,A,torn")  # a write cut short by a crash
    again = SourceSpool(tmp_path / "s", segment_bytes=100)
    assert again.committed == Committed(offset=400) and again.end == len(data)  # torn tail cut off
    assert again.read(400, again.end) == data[400:]
    assert min(int(p.stem[4:]) for p in (tmp_path / "s").glob("seg-*.nmea")) <= 400  # consumed ones dropped
    assert again.backlog == len(data) - 400


def test_batches_end_at_message_ends_and_add_up_to_one_ingest(shared_data: Path, tmp_path: Path) -> None:
    raw = data_file(shared_data, DMA).read_bytes()
    lines = raw.splitlines(keepends=True)
    sp = SourceSpool(tmp_path / "spool")
    store = Store.create(tmp_path / "live")
    batcher = Batcher(store)
    rng = random.Random(3)
    i, reads = 0, 0
    while i < len(lines):
        k = rng.randint(1, 700)
        sp.append([b"".join(lines[i : i + k])])  # chunks end anywhere, also inside a two-sentence message
        i += k
        res = batcher.step("dma", sp)
        if res is not None:
            batch = raw[res.start : res.end]
            assert message_boundary(batch) == len(batch)  # never ends between fragments
            assert res.read == res.kept + res.duplicate + res.quarantined
            reads += res.read
    while (res := batcher.step("dma", sp, force=True)) is not None:
        reads += res.read
    whole = Store.create(tmp_path / "whole")
    one = ingest_bytes(whole, raw, name="whole")
    con_a, con_b = store.connect(), whole.connect()
    q = "SELECT * EXCLUDE (input_id) FROM positions ORDER BY ALL"
    assert con_a.sql(q).to_arrow_table().equals(con_b.sql(q).to_arrow_table())
    qq = "SELECT reason, count(*) FROM quarantine GROUP BY ALL ORDER BY ALL"
    assert con_a.execute(qq).fetchall() == con_b.execute(qq).fetchall()
    assert reads == one.read


def test_a_batch_cut_short_by_a_crash_is_stored_once(tmp_path: Path) -> None:
    import numpy as np

    from supplyline.simulate.nmea import encode_positions

    n, nan = 50, np.full(50, np.nan)
    ts = 1_600_000_000 + np.arange(n) * 10
    mat = encode_positions(np.full(n, 366952790), ts, np.full(n, 40.6), np.linspace(-74.1, -74.0, n),
                           nan, nan, nan, np.full(n, 15), np.ones(n, dtype=np.int64))  # fmt: skip
    raw = mat.ravel().tobytes()
    sp = SourceSpool(tmp_path / "spool")
    sp.append([raw])
    store = Store.create(tmp_path / "st")
    # the previous run recorded pending=[0, end), stored the batch, and was killed before recording offset=end
    sp.commit(Committed(0, (0, len(raw)), 0))
    first = ingest_bytes(store, raw, name=batch_name("x", 0, len(raw)))
    res = Batcher(store).recover("x", sp)
    assert res is not None and res.status == "skipped" and sp.committed == Committed(len(raw), None, 1)
    assert store.connect().execute("SELECT count(*) FROM positions").fetchone() == (first.kept,)
    assert first.kept == 50
    assert Batcher(store).step("x", sp) is None  # nothing left


def _alerts(n: int) -> pa.Table:
    return pa.table(
        {
            "alert_id": [f"a{i}" for i in range(n)],
            "kind": ["halt"] * n,
            "message": [f"m{i}" for i in range(n)],
        }
    ).cast(pa.schema([schema.ALERTS.field(c) for c in ("alert_id", "kind", "message")]))


def test_file_sink_after_a_crash_between_write_and_ledger(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "st")
    alerts = pa.table({f.name: _alerts(3).column(f.name) if f.name in _alerts(3).column_names else
                       pa.nulls(3, f.type) for f in schema.ALERTS}, schema=schema.ALERTS)  # fmt: skip
    store.write_table("alerts", alerts, part="run-1")
    out = tmp_path / "alerts.jsonl"
    sink = parse_sink(f"file:{out}#name=log", Retry())
    sink.send([{"alert_id": "a0"}, {"alert_id": "a1"}])  # written, then killed before the ledger rows
    with open(out, "a") as fh:
        fh.write('{"alert_id": "a2", "kind": "ha')  # and a line torn by the kill
    deliverer = Deliverer(store, [sink])
    deliverer.recover()
    assert ledger.delivered(store, "log") == {"a0", "a1"}
    assert deliverer.run() == 1
    ids = [json.loads(x)["alert_id"] for x in out.read_text().splitlines()]
    assert ids == ["a0", "a1", "a2"]
    assert Deliverer(store, [sink]).run() == 0


def test_queue_is_bounded_in_bytes() -> None:
    async def scenario() -> tuple[bool, bool, int]:
        q = ByteQueue(max_bytes=100)
        assert q.put_nowait(Item("s", b"x" * 60))
        full = q.put_nowait(Item("s", b"x" * 60))
        waiter = asyncio.create_task(q.put(Item("s", b"y" * 60)))
        await asyncio.sleep(0.01)
        blocked = not waiter.done()
        taken = await q.take()
        await asyncio.wait_for(waiter, 1)
        return full, blocked, len(taken)

    full, blocked, taken = asyncio.run(scenario())
    assert full is False and blocked is True and taken == 1


def test_bad_specs_are_usage_errors() -> None:
    from supplyline.errors import UsageError
    from supplyline.watch.sources import parse_source

    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_source("udp://nohost", ByteQueue())
    with pytest.raises(UsageError, match="use udp"):
        parse_source("gopher://x:1", ByteQueue())
    with pytest.raises(UsageError, match="digest"):
        parse_sink("file:x#digest=soon", Retry())
