"""The local engine on a real store: sharding, process pool, incremental re-runs, CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from supplyline.cli import app
from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.engine.base import PHASES
from supplyline.engine.local import detect
from supplyline.store import Store
from tests.conftest import data_file
from tests.test_detect_nyharbor import BARBERI, SIF, TERMINALS, WEEK, load_week

CUT = datetime(2020, 12, 4, tzinfo=UTC)


def put_positions(store: Store, table: pa.Table, input_id: str) -> None:
    """Write positions the way ingest lays them out: one file per day, sorted by (mmsi, ts)."""
    table = table.set_column(
        table.schema.get_field_index("input_id"), "input_id", pa.array([input_id] * len(table))
    )
    day = pc.strftime(table["ts"], format="%Y-%m-%d").to_pylist()
    with store.transaction() as txn:
        for d in sorted(set(day)):
            part = table.filter(pa.array([x == d for x in day])).sort_by(
                [("mmsi", "ascending"), ("ts", "ascending")]
            )
            txn.put(f"positions/day={d}/part-{input_id}.parquet", part)


def _sorted(t: pa.Table, key: str) -> pa.Table:
    return t.sort_by([(key, "ascending")])


@pytest.fixture(scope="module")
def week(shared_data: Path) -> pa.Table:
    return load_week(data_file(shared_data, WEEK))


def test_engine_matches_kernels_and_reruns_only_changed_shards(week: pa.Table, tmp_path: Path) -> None:
    late_barberi = pc.and_(
        pc.equal(week["mmsi"], BARBERI), pc.greater_equal(week["ts"], pa.scalar(CUT, week["ts"].type))
    )
    store = Store.create(tmp_path / "s")
    put_positions(store, week.filter(pc.invert(late_barberi)), "first")
    th = Thresholds(
        port_call_min_h=0.0
    )  # ferry slips: every terminal visit is a call (see test_detect_nyharbor)
    r1 = detect(store, TERMINALS, th, SIF, workers=1, shards=8)
    assert r1.shards_total == 8 and r1.shards_run == list(range(8))
    assert detect(store, TERMINALS, th, SIF, workers=1, shards=8).shards_run == []  # nothing new

    put_positions(store, week.filter(late_barberi), "second")  # new data for one vessel only
    r3 = detect(store, TERMINALS, th, SIF, workers=1, shards=8)
    assert len(r3.shards_run) == 1
    incremental = {name: store.read_table(name) for name in ("visits", "voyages", "segments", "gaps")}

    direct = run_vessel_kernels(week, TERMINALS, th, SIF)
    for name, key in (("visits", "visit_id"), ("voyages", "voyage_id"), ("segments", "segment_id")):
        assert _sorted(incremental[name], key).equals(_sorted(direct[name], key)), name
    barberi_north = pc.sum(
        pc.and_(
            pc.equal(incremental["voyages"]["mmsi"], BARBERI),
            pc.equal(incremental["voyages"]["route"], "sif-north"),
        )
    )
    assert barberi_north.as_py() == 52

    # Gap coverage: filled for every gap; NY harbour is busy, so most silences had others heard nearby.
    gaps = incremental["gaps"]
    assert gaps.num_rows == direct["gaps"].num_rows > 0
    assert gaps["others_received"].null_count == 0
    likely = set(gaps["likely"].to_pylist())
    assert (
        likely <= {"switched_off", "in_port_silence", "coverage", "unknown"} and "in_port_silence" in likely
    )
    assert gaps["path_heard"].null_count == 0 and gaps["start_where"].null_count == 0
    # A ferry moored at its terminal is no dark vessel: every in-port silence sat still, both ends in port.
    moored = gaps.filter(pc.equal(gaps["likely"], "in_port_silence"))
    assert pc.max(moored["dist_km"]).as_py() < 2.0
    assert set(moored["start_where"].to_pylist()) == set(moored["end_where"].to_pylist()) == {"in_port"}
    off = gaps.filter(pc.equal(gaps["likely"], "switched_off"))
    assert pc.min(off["others_received"]).as_py() > 0 if off.num_rows else True

    # A shard whose parts vanished (another engine rewrote the tables) is redone even if its inputs did not change.
    gone = sorted(store.table_dir("visits").glob("shard-*.parquet"))[0]
    gone.unlink()
    assert len(detect(store, TERMINALS, th, SIF, workers=1, shards=8).shards_run) == 1
    assert _sorted(store.read_table("visits"), "visit_id").equals(_sorted(direct["visits"], "visit_id"))

    # Places used are written with the events; encounters come from the cross-vessel query.
    assert store.read_table("places").num_rows == 2
    assert r3.counts["encounters"] == store.read_table("encounters").num_rows > 0


def test_incremental_cross_vessel_steps_equal_a_full_run(week: pa.Table, tmp_path: Path) -> None:
    """After an incremental run, gap coverage and encounters (the recomputed shard's buckets and counts from
    its worker, the other shards' from their positions) equal those of a full run from the workers' alone;
    CPU seconds are reported per phase, the pool's workers included."""
    late_barberi = pc.and_(
        pc.equal(week["mmsi"], BARBERI), pc.greater_equal(week["ts"], pa.scalar(CUT, week["ts"].type))
    )
    store = Store.create(tmp_path / "s")
    put_positions(store, week.filter(pc.invert(late_barberi)), "first")
    th = Thresholds(port_call_min_h=0.0)
    detect(store, TERMINALS, th, SIF, workers=1, shards=8)
    put_positions(store, week.filter(late_barberi), "second")
    assert len(detect(store, TERMINALS, th, SIF, workers=1, shards=8).shards_run) == 1
    incremental = {name: store.read_table(name) for name in ("gaps", "encounters")}
    assert incremental["encounters"].num_rows > 0
    assert pc.sum(incremental["gaps"]["others_received"]).as_py() > 0

    full = detect(store, TERMINALS, th, SIF, workers=2, shards=8, full=True)
    assert full.shards_run == list(range(8))
    for name, key in (("gaps", "gap_id"), ("encounters", "encounter_id")):
        assert _sorted(store.read_table(name), key).equals(_sorted(incremental[name], key)), name
    assert list(full.cpu_seconds) == list(full.seconds) == list(PHASES)
    assert full.cpu_seconds["kernels"] > 0.05  # the workers' CPU: the driver only waits in this phase


@pytest.mark.slow
def test_process_pool_and_cli(week: pa.Table, tmp_path: Path) -> None:
    small = week.filter(pc.is_in(week["mmsi"], pa.array([BARBERI, 366952790, 367496240], pa.int64())))
    root = tmp_path / "s"
    store = Store.create(root)
    put_positions(store, small, "small")
    geojson = tmp_path / "terminals.geojson"
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-74.0131, 40.7013]},
            "properties": {"id": "whitehall", "name": "Whitehall", "radius_m": 500, "r_out_m": 700},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-74.0730, 40.6437]},
            "properties": {"id": "stgeorge", "name": "St George", "radius_m": 500, "r_out_m": 700},
        },
    ]
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    runner = CliRunner()
    res = runner.invoke(
        app, ["detect", "--store", str(root), "--places", str(geojson), "--workers", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["shards_total"] == 3 or out["shards_total"] <= 16
    assert out["counts"]["visits"] == store.read_table("visits").num_rows > 200
    direct = run_vessel_kernels(small, store.read_table("places"), Thresholds(), [])
    assert _sorted(store.read_table("visits"), "visit_id").equals(_sorted(direct["visits"], "visit_id"))


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    from supplyline.cli import main

    runner = CliRunner()
    res = runner.invoke(app, ["detect", "--store", str(tmp_path / "nope"), "--no-gazetteer"])
    assert res.exit_code != 0 and isinstance(res.exception, Exception)
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "supplyline", "detect", "--store", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3 and "no supplyline store" in proc.stderr and "Traceback" not in proc.stderr
    assert main is not None


def test_empty_store_gives_empty_tables(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s")
    res = detect(store, TERMINALS, Thresholds(), SIF, workers=1)
    assert res.shards_total == 0 and set(res.counts.values()) == {0}
    assert store.read_table("visits").num_rows == 0


def test_cli_threshold_overrides(tmp_path: Path) -> None:
    from supplyline.errors import UsageError

    Store.create(tmp_path / "s")
    geojson = tmp_path / "p.geojson"
    point = {"type": "Point", "coordinates": [-74.0131, 40.7013]}
    geojson.write_text(
        json.dumps({"type": "Feature", "geometry": point, "properties": {"name": "Whitehall"}})
    )
    base = ["detect", "--store", str(tmp_path / "s"), "--places", str(geojson), "--workers", "1"]
    runner = CliRunner()
    assert runner.invoke(app, [*base, "--set", "dark_gap_h=4", "--json"]).exit_code == 0
    assert isinstance(runner.invoke(app, [*base, "--set", "dark_gap_h=soon"]).exception, UsageError)
    unknown = runner.invoke(app, [*base, "--set", "dark_gap_hours=4"])
    assert isinstance(unknown.exception, UsageError) and "dark_gap_hours" in str(unknown.exception)
    negative = runner.invoke(app, [*base, "--set", "dark_gap_h=-1"])
    assert isinstance(negative.exception, UsageError) and "dark_gap_h must be" in str(negative.exception)


def test_statics_flow_through_the_engine_into_draught_events(week: pa.Table, tmp_path: Path) -> None:
    from datetime import timedelta

    from supplyline import schema

    small = week.filter(pc.equal(week["mmsi"], BARBERI))
    store = Store.create(tmp_path / "s")
    put_positions(store, small, "pos")
    visit = run_vessel_kernels(small, TERMINALS, Thresholds(), SIF)["visits"].slice(3, 1).to_pylist()[0]
    when = [visit["arrival_ts"] - timedelta(days=1), visit["arrival_ts"] + timedelta(minutes=1)]
    n = len(when)
    cols = {f.name: pa.nulls(n, f.type) for f in schema.STATICS}
    cols |= {"mmsi": pa.array([BARBERI] * n, pa.int64()), "ts": pa.array(when, schema.TS)}
    cols |= {"draught_m": pa.array([3.0, 4.2], pa.float32()), "input_id": pa.array(["st"] * n)}
    with store.transaction() as txn:
        txn.put("statics/day=2020-12-01/part-st.parquet", pa.table(cols, schema=schema.STATICS))
    detect(store, TERMINALS, Thresholds(), SIF, workers=1, shards=4)
    (change,) = store.read_table("draught_changes").to_pylist()
    assert change["place_id"] == visit["place_id"] and change["state"] == "laden"
    assert change["change_m"] == pytest.approx(1.2)
    visits = store.read_table("visits").sort_by("arrival_ts").to_pylist()
    assert visits[3]["draught_arrival_m"] == pytest.approx(3.0)
    assert visits[3]["draught_departure_m"] == pytest.approx(4.2)
