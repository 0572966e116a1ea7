"""The store folder: create/open, journaled transactions and recovery, the writer lock, DuckDB views."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyline import schema
from supplyline.errors import StoreError
from supplyline.store import WHOLE, Store, shard_part, write_parquet


def _t(n: int) -> pa.Table:
    return pa.table({"x": list(range(n))})


def test_create_open_and_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no supplyline store"):
        Store.open(tmp_path / "none")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(StoreError, match="not a supplyline store"):
        Store.create(tmp_path / "junk")
    store = Store.create(tmp_path / "s")
    assert Store.open(tmp_path / "s").root == store.root
    os.environ["SUPPLYLINE_STORE"] = str(tmp_path / "s")
    try:
        assert Store.open().root == tmp_path / "s"
    finally:
        del os.environ["SUPPLYLINE_STORE"]


def test_empty_store_has_every_table(tmp_path: Path) -> None:
    con = Store.create(tmp_path / "s").connect()
    for name, sch in {
        "positions": schema.POSITIONS,
        "statics": schema.STATICS,
        "manifest": schema.MANIFEST,
    }.items():
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
        assert cols == sch.names
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM vessels").fetchall()[0][0] == 0


def test_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s")
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put("tables/a/one.parquet", _t(3))
        txn.put("tables/a/two.parquet", _t(4))
        assert len(txn.staged("tables/a/")) == 2
        raise RuntimeError("boom")
    assert not (store.root / "tables" / "a").exists()
    assert not any((store.root / "_staging").iterdir())
    with store.transaction() as txn:
        txn.put("tables/a/one.parquet", _t(3))
        txn.put("tables/a/two.parquet", _t(4))
    assert store.read_table("a").num_rows == 7


def test_recover_redoes_a_committed_journal(tmp_path: Path) -> None:
    """A run killed after writing its journal but before all renames: the next open finishes it."""
    store = Store.create(tmp_path / "s")
    staged = store.root / "_staging" / "t1"
    staged.mkdir(parents=True)
    write_parquet(_t(2), staged / "000000.parquet")
    write_parquet(_t(5), staged / "000001.parquet")
    (store.root / "_journal").mkdir(exist_ok=True)
    plan = {
        "moves": [
            ["_staging/t1/000000.parquet", "tables/b/p1.parquet"],
            ["_staging/t1/000001.parquet", "tables/b/p2.parquet"],
        ],
        "deletes": [],
    }
    (store.root / "_journal" / "t1.json").write_text(json.dumps(plan))
    # half-applied: the first move happened before the kill
    (store.root / "tables" / "b").mkdir(parents=True)
    os.replace(staged / "000000.parquet", store.root / "tables" / "b" / "p1.parquet")
    # an uncommitted transaction's debris: a temp journal and staging
    (store.root / "_journal" / ".t2.tmp").write_text("{")
    (store.root / "_staging" / "t2").mkdir()
    write_parquet(_t(9), store.root / "_staging" / "t2" / "000000.parquet")

    reopened = Store.open(store.root)
    assert reopened.read_table("b").num_rows == 7
    assert not list((store.root / "_journal").iterdir())
    assert (store.root / "_last_commit").read_text().strip()  # names the transaction applied
    assert not list((store.root / "_staging").iterdir())


def test_lock_is_exclusive_and_recover_leaves_live_writers_alone(tmp_path: Path) -> None:
    writer = Store.create(tmp_path / "s")
    with writer.lock():
        with writer.lock():  # re-entrant in one Store
            pass
        live = writer.root / "_staging" / "live-txn"
        live.mkdir(parents=True)
        other = Store.open(writer.root)  # a reader opening while a writer works must not clean its staging
        assert live.exists()
        with pytest.raises(StoreError, match="another supplyline process"), other.lock():
            pass
    Store.open(writer.root)  # the writer is gone: now its leftovers are debris
    assert not (writer.root / "_staging" / "live-txn").exists()


def test_replace_table_and_vessels_view(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s")
    store.replace_table("things", {"p1": _t(2), "p2": _t(3)})
    store.replace_table("things", {"p1": _t(1)})
    assert store.read_table("things").num_rows == 1
    ts = pa.array([0, 60_000_000, 120_000_000, 180_000_000], pa.timestamp("us", tz="UTC"))
    statics = pa.table(
        {
            "mmsi": [1, 1, 1, 1],
            "ts": ts,
            "imo": [9000001] * 4,
            "name": ["OLD", "OLD", "NEW", "NEW"],  # a rename: two identities
            "callsign": ["X"] * 4,
            "ship_type": pa.array([70] * 4, pa.int16()),
            "length_m": pa.array([100.0] * 4, pa.float32()),
            "width_m": pa.array([20.0] * 4, pa.float32()),
            "draught_m": pa.array([5.0, 9.0, 9.0, 9.5], pa.float32()),  # draught changes do not split
            "destination": ["A", "B", "B", "C"],
            "eta": [None] * 4,
            "msg_type": pa.array([5] * 4, pa.int8()),
            "source": ["t"] * 4,
            "input_id": ["i"] * 4,
            "last_ts": pa.array(
                [30_000_000, 90_000_000, 150_000_000, 200_000_000], pa.timestamp("us", tz="UTC")
            ),
            "n_reports": [2, 3, 1, 4],
        },
        schema=schema.STATICS,
    )
    with store.transaction() as txn:
        txn.put("statics/day=1970-01-01/part-i-00001.parquet", statics)
    rows = (
        store.connect()
        .execute(
            "SELECT name, epoch(first_seen), epoch(last_seen), n_reports, last_draught_m, last_destination "
            "FROM vessels ORDER BY first_seen"
        )
        .fetchall()
    )
    assert rows == [("OLD", 0.0, 90.0, 5, 9.0, "B"), ("NEW", 120.0, 200.0, 5, 9.5, "C")]


def test_table_parts_replace_keep_and_drop(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s")
    with store.transaction() as txn:  # the local engine's layout: one part per shard
        txn.replace_parts("visits", {shard_part(0): _t(1), shard_part(1): _t(2)})
        txn.put_part("detect_state", WHOLE, _t(2))
    assert store.parts("visits") == ["shard-0000", "shard-0001"]
    assert store.count_rows("visits") == 3 and store.has_part("visits", "shard-0001")

    with store.transaction() as txn:  # shard 1 unchanged (kept), shard 0 rewritten, shard 2 gone
        txn.replace_parts("visits", {shard_part(0): _t(5)}, keep=[shard_part(1)])
    assert store.parts("visits") == ["shard-0000", "shard-0001"] and store.count_rows("visits") == 7

    with store.transaction() as txn:  # Spark's layout replaces the other engine's parts and its state
        txn.replace_parts("visits", {WHOLE: _t(4)})
        txn.drop_table("detect_state")
        assert store.parts("visits") == ["shard-0000", "shard-0001"]  # nothing visible before commit
    assert store.parts("visits") == ["all"] and store.count_rows("visits") == 4
    assert store.read_part("detect_state", WHOLE) is None and store.parts("detect_state") == []
    read = store.read_part("visits", WHOLE)
    assert read is not None and read.num_rows == 4

    with store.scratch("work") as folder:  # working space inside the store, removed afterwards
        folder.mkdir(parents=True)
        assert folder.parent == store.scratch_dir("")
    assert not folder.exists()


def test_transaction_adopts_files_staged_by_another_process(tmp_path: Path) -> None:
    """A file written complete under ``_staging/`` (a Spark task's) moves into place on commit; a file
    outside ``_staging/`` is refused, and nothing of a failed transaction appears."""
    st = Store.create(tmp_path / "s")
    outside = tmp_path / "elsewhere.parquet"
    write_parquet(pa.table({"x": [1]}), outside)
    task = st.root / "_staging" / "spark-ingest-1" / "000000" / "quarantine" / "part-a-00001.parquet"
    write_parquet(pa.table({"x": [1, 2]}), task)
    with pytest.raises(StoreError, match="only staged files can be adopted"), st.transaction() as txn:
        txn.adopt(outside, "quarantine/part-b-00001.parquet")
    assert not (st.root / "quarantine" / "part-b-00001.parquet").exists() and outside.exists()
    with st.transaction() as txn:
        txn.adopt(task, "quarantine/part-a-00001.parquet")
        assert not (st.root / "quarantine" / "part-a-00001.parquet").exists()  # not before the commit
    assert not task.exists()
    assert pq.read_table(st.root / "quarantine" / "part-a-00001.parquet")["x"].to_pylist() == [1, 2]
