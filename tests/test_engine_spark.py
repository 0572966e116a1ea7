"""The Spark engine (local[2]) gives the local engine's event tables: same ids, same values, same order.

Two stores: the real NOAA New York Harbor week (ingested with supplyline.ingest) and a simulated scenario
with a ship-to-ship meeting, dark stretches and identity changes (supplyline.simulate, NMEA ingested), so
every event table, encounters included, is compared. One module-scoped SparkSession keeps this short.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import supplyline
from supplyline import schema
from supplyline.cli import main
from supplyline.detect import Thresholds
from supplyline.engine.local import detect
from supplyline.ingest.pipeline import ingest
from supplyline.places import conform_places, places_from_geojson
from supplyline.simulate import simulate
from supplyline.simulate.scenario import load_scenario
from supplyline.store import Store
from tests.conftest import data_file
from tests.test_detect_nyharbor import SIF, TERMINALS, WEEK
from tests.test_simulate import EFFECTS

pytestmark = pytest.mark.spark

ID = {
    "segments": "segment_id",
    "visits": "visit_id",
    "voyages": "voyage_id",
    "gaps": "gap_id",
    "loitering": "loiter_id",
    "encounters": "encounter_id",
    "draught_changes": "change_id",
}
ID_SCHEMAS = list(schema.EVENT_TABLES.items())


@pytest.fixture(scope="module", params=["local[2]", pytest.param("standalone", marks=pytest.mark.slow)])
def spark(request: pytest.FixtureRequest) -> Any:
    """local[2], then the standalone cluster (master + two worker JVMs, tests/spark_cluster.py): executors
    there are separate processes that unpickle the kernels and import supplyline from this checkout."""
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'supplyline[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (java on PATH or JAVA_HOME) for Spark")
    from supplyline.engine.spark import spark_session

    if request.param == "local[2]":
        session = spark_session("local[2]")
    else:
        cluster = request.getfixturevalue("spark_cluster")
        src = str(Path(supplyline.__file__).resolve().parents[1])
        session = spark_session(cluster.url, conf=cluster_conf(src))
        assert session.sparkContext.master == cluster.url
    yield session
    session.stop()


def cluster_conf(src: str) -> dict[str, str]:
    """Client mode on loopback; executors get this checkout's src on PYTHONPATH and 1 core each."""
    return {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.executor.memory": "768m",
        "spark.executor.cores": "1",
        "spark.executorEnv.PYTHONPATH": src,
        "spark.executorEnv.SPARK_LOCAL_IP": "127.0.0.1",
    }


def tables(store: Store) -> dict[str, pa.Table]:
    return {name: store.read_table(name).cast(sch) for name, sch in schema.EVENT_TABLES.items()}


def assert_same_tables(local: dict[str, pa.Table], spark: dict[str, pa.Table]) -> dict[str, int]:
    """Every event table equal: strings/ints/times/bools exactly, floats to 1e-9 relative."""
    counts = {}
    for name, sch in schema.EVENT_TABLES.items():
        key = [(ID[name], "ascending")]
        a, b = local[name].sort_by(key), spark[name].sort_by(key)
        assert a.num_rows == b.num_rows, name
        for field in sch:
            x, y = a.column(field.name), b.column(field.name)
            if pa.types.is_floating(field.type):
                xa = np.asarray(x.to_numpy(zero_copy_only=False), dtype=np.float64)
                ya = np.asarray(y.to_numpy(zero_copy_only=False), dtype=np.float64)
                np.testing.assert_allclose(ya, xa, rtol=1e-9, atol=1e-12, err_msg=f"{name}.{field.name}")
            else:
                assert x.equals(y), f"{name}.{field.name}"
        counts[name] = a.num_rows
    return counts


def test_executors_import_this_checkout(spark: Any) -> None:
    """The kernels' module as the executors see it: this checkout's supplyline; on the cluster, in two
    executor processes other than the driver (so pickling and executor-side imports are exercised)."""
    import supplyline.engine.spark as engine

    rows = (
        spark.sparkContext.parallelize(range(4), 4)
        .map(lambda _: (engine.__file__, os.getpid(), engine.ENVELOPE))
        .collect()
    )
    assert {r[0] for r in rows} == {engine.__file__}
    assert {r[2] for r in rows} == {engine.ENVELOPE}
    if spark.sparkContext.master.startswith("spark://"):
        assert os.getpid() not in {r[1] for r in rows}
        status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus  # block managers: driver + executors
        deadline = time.monotonic() + 30
        while status().size() < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status().size() == 3  # one executor on each worker


def test_nyharbor_week_same_events(spark: Any, shared_data: Path, tmp_path: Path) -> None:
    from supplyline.engine.spark import _write, detect_spark

    store = Store.create(tmp_path / "ny")
    report = ingest(store, [data_file(shared_data, WEEK)])
    assert report.totals["positions"] == 172_679
    th = Thresholds(port_call_min_h=0.0)  # ferry slips: every terminal visit is a call (test_detect_nyharbor)
    detect(store, TERMINALS, th, SIF, workers=1)
    out = tmp_path / "spark-out"  # a separate output store: the input store is only read
    res = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=3, out=out)
    assert res.shards_total == 3
    counts = assert_same_tables(tables(store), tables(Store.open(out)))
    assert res.counts == counts
    # Known answers of the week (tests/test_detect_nyharbor.py, tests/test_engine_local.py): busy ferries.
    assert counts["visits"] > 600 and counts["voyages"] > 500 and counts["gaps"] == 265
    assert counts["encounters"] > 0

    # The JVM path (what a remote store takes: Spark reads and shuffles the positions) gives them too.
    jvm = tmp_path / "spark-jvm"
    res = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=3, out=jvm, prepartition=False)
    assert res.counts == counts
    assert_same_tables(tables(store), tables(Store.open(jvm)))

    # A remote store's tables are written by Spark itself (one folder per table): same rows back.
    spark_tables = tables(Store.open(out))
    _write(spark, f"file:{tmp_path}/remote", spark_tables, TERMINALS)
    back = {name: pq.read_table(tmp_path / "remote" / "tables" / name).cast(sch) for name, sch in ID_SCHEMAS}
    assert_same_tables(spark_tables, back)


def test_simulated_meeting_same_events_through_the_cli(spark: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "effects.toml"
    scenario.write_text(EFFECTS, encoding="utf-8")
    sim = simulate(scenario, tmp_path / "sim", formats=("nmea",))
    store = Store.create(tmp_path / "s")
    ingest(store, [sim.paths["nmea"]])
    geojson = tmp_path / "places.geojson"
    geojson.write_text(_geojson(load_scenario(scenario).places_table), encoding="utf-8")
    places = conform_places(places_from_geojson(geojson))  # what the CLI hands both engines

    detect(store, places, Thresholds(), [], workers=1)
    local = tables(store)
    # --no-gazetteer: the CLI would otherwise add the gazetteer as exclusion zones, which `places` lacks
    args = [
        "detect",
        "--store",
        str(store.root),
        "--places",
        str(geojson),
        "--no-gazetteer",
        "--engine",
        "spark",
    ]
    assert _cli([*args, "--partitions", "4"]) == 0  # into the same store, replacing the local tables
    visits = {p.name for p in store.table_dir("visits").glob("*.parquet")}
    assert visits and visits <= {f"shard-{k:04d}.parquet" for k in range(4)}  # Spark's parts, not local's 16
    counts = assert_same_tables(local, tables(store))
    assert counts["visits"] > 0 and counts["draught_changes"] > 0  # gaps: see the NY Harbor week
    enc = local["encounters"].to_pylist()
    assert [(e["mmsi_a"], e["mmsi_b"]) for e in enc] == [(244000007, 244000008)]  # the scripted meeting
    assert abs(enc[0]["duration_h"] - 4.0) < 0.5

    # The local engine after Spark recomputes everything and drops Spark's parts: no duplicated rows.
    detect(store, places, Thresholds(), [], workers=1)
    assert {name: t.num_rows for name, t in tables(store).items()} == counts


def test_incremental_copy_and_parts(spark: Any, shared_data: Path, tmp_path: Path) -> None:
    """Into the store itself, as the local engine: the vessel-partitioned copy is split once; a run with no
    new data recomputes nothing; a new input re-splits only its own file and recomputes only the parts its
    vessels hash to, and the tables equal a full local run's; after a local run, Spark redoes every part."""
    from supplyline.engine.spark import detect_spark

    store = Store.create(tmp_path / "s")
    ingest(store, [data_file(shared_data, WEEK)])
    th = Thresholds(port_call_min_h=0.0)
    n = 8
    first = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=n)
    assert first.shards_run == list(range(n)) and first.seconds["split"] > 0
    again = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=n)
    assert again.shards_run == [] and again.counts == first.counts

    before = {r[0] for r in store.connect().execute("SELECT DISTINCT mmsi FROM positions").fetchall()}
    scenario = tmp_path / "effects.toml"
    scenario.write_text(EFFECTS, encoding="utf-8")
    ingest(store, [simulate(scenario, tmp_path / "sim", formats=("nmea",)).paths["nmea"]])
    con = store.connect()
    new_mmsi = sorted({r[0] for r in con.execute("SELECT DISTINCT mmsi FROM positions").fetchall()} - before)
    parts = con.execute(
        f"SELECT DISTINCT hash(mmsi) % {n} FROM positions WHERE mmsi IN ({', '.join(map(str, new_mmsi))})"
    )
    touched = sorted(int(r[0]) for r in parts.fetchall())
    con.close()
    assert new_mmsi and len(touched) < n  # the test needs parts the new input leaves alone
    split_files = set(store.cache_dir("spark-vessels-v1-p8").glob("positions/part=*/*.parquet"))
    third = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=n)
    assert third.shards_run == touched
    added = set(store.cache_dir("spark-vessels-v1-p8").glob("positions/part=*/*.parquet")) - split_files
    assert added and {int(f.parent.name.split("=")[1]) for f in added} == set(touched)
    spark_tables = tables(store)

    detect(store, TERMINALS, th, SIF, workers=1)  # the local engine, everything from scratch
    counts = assert_same_tables(tables(store), spark_tables)
    assert counts == third.counts and counts["encounters"] > first.counts["encounters"]
    after_local = detect_spark(store.root, TERMINALS, th, SIF, spark=spark, partitions=n)
    assert after_local.shards_run == list(range(n)) and after_local.counts == counts


def test_cli_rejects_spark_options_without_spark_and_bad_store(spark: Any, tmp_path: Path) -> None:
    Store.create(tmp_path / "s")
    assert _cli(["detect", "--store", str(tmp_path / "s"), "--master", "local[1]"]) == 2
    assert _cli(["detect", "--store", str(tmp_path / "s"), "--engine", "flink"]) == 2
    assert _cli(["detect", "--store", str(tmp_path / "none"), "--engine", "spark"]) == 3


def test_store_on_a_filesystem_without_connector_says_how(spark: Any) -> None:
    """No hadoop-aws here: a store at s3a:// fails in one line that names the way out (`supplyline pull`),
    not with the JVM's stack trace."""
    from supplyline.engine.spark import detect_spark
    from supplyline.errors import EngineError

    with pytest.raises(EngineError) as err:
        detect_spark("s3a://no-bucket/store", TERMINALS, Thresholds(), SIF, spark=spark, partitions=2)
    message = str(err.value)
    assert "no filesystem connector for s3a://" in message and "supplyline pull" in message
    assert "\n" not in message and "at org.apache" not in message


def test_store_uri() -> None:
    from supplyline.engine.spark import store_uri

    assert store_uri(Path("s3a://bucket/stores/x")) == "s3a://bucket/stores/x"  # Path collapsed the //
    assert store_uri("hdfs://nn:8020/s/") == "hdfs://nn:8020/s"
    assert store_uri("hdfs:///s") == "hdfs:///s"  # strings are kept as written
    assert store_uri(Path("file:///tmp/st")) == store_uri("/tmp/st") == "file:///tmp/st"
    assert store_uri("rel/store").startswith("file:///") and store_uri("rel/store").endswith("/rel/store")


def _cli(args: list[str]) -> int:
    import sys

    old = sys.argv
    sys.argv = ["supplyline", *args]
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = old
    return 0


def _geojson(places: pa.Table) -> str:
    import json

    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
            "properties": {
                "id": p["place_id"],
                "name": p["name"],
                "radius_m": p["r_in_m"],
                "r_out_m": p["r_out_m"],
            },
        }
        for p in places.to_pylist()
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats})
