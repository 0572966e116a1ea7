"""Ingest on Spark (supplyline.engine.spark_ingest) stores exactly what the local ingest stores.

Same inputs into two stores, one by the local pipeline and one by ``ingest --engine spark`` (local[2], then
the standalone cluster: executors in separate JVM and Python processes): the same positions, statics,
quarantine rows, manifest rows and per-input reports. Inputs: the real NOAA New York Harbor week (CSV) and
a real DMA raw NMEA log (tag blocks, multi-sentence type 5, unsupported types quarantined); then logs that
repeat each other's lines and one copy of a file (the overlap check and the driver's exact fallback).
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyline.engine.spark_ingest import ingest_spark, vessel_days
from supplyline.ingest.accounting import IngestReport
from supplyline.ingest.pipeline import ingest
from supplyline.remote_store import RemoteStore
from supplyline.store import Store
from tests.conftest import data_file
from tests.test_detect_nyharbor import WEEK
from tests.test_engine_spark import _cli, spark  # noqa: F401 (the module-scoped session fixture, both masters)

pytestmark = pytest.mark.spark

DMA = "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz"
SORT = {
    "positions": ["input_id", "mmsi", "ts", "lat", "lon", "sog_kn", "cog_deg", "msg_type", "source"],
    "statics": ["input_id", "mmsi", "ts", "last_ts", "name", "draught_m", "destination"],
    "quarantine": ["input_id", "line", "reason"],
    "manifest": ["input_id"],
}


def contents(store: Store | RemoteStore) -> dict[str, pa.Table]:
    """Every raw table of ``store`` (a folder or on S3: committed inputs only) in a canonical row order (the
    manifest without its clock column)."""
    out = {}
    for name, keys in SORT.items():
        table = store.read_table(name)
        if name == "manifest":
            table = table.drop_columns(["ingested_at"])
        out[name] = table.sort_by([(k, "ascending") for k in keys])
    return out


def assert_same_store(local: Store, other: Store) -> dict[str, int]:
    a, b = contents(local), contents(other)
    for name in SORT:
        assert a[name].num_rows == b[name].num_rows, name
        assert a[name].equals(b[name]), name
    assert sorted(p.relative_to(local.root).as_posix() for p in local.root.rglob("part-*.parquet")) == sorted(
        p.relative_to(other.root).as_posix() for p in other.root.rglob("part-*.parquet")
    )
    return {name: a[name].num_rows for name in SORT}


def reports(report: IngestReport) -> list[dict[str, Any]]:
    return [f.to_dict() for f in report.files]


@pytest.fixture(scope="module")
def week_and_dma(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Store, Any]:
    """The two real inputs, and the store the local ingest makes of them (once for both masters)."""
    files = [str(data_file(shared_data, WEEK)), str(data_file(shared_data, DMA))]
    local = Store.create(tmp_path_factory.mktemp("local-ingest"))
    return files, local, ingest(local, files)


def test_real_inputs_same_store_as_local(spark: Any, week_and_dma: Any, tmp_path: Path) -> None:  # noqa: F811
    files, local, expected = week_and_dma
    store = Store.create(tmp_path / "spark")
    report = ingest_spark(store, files, spark=spark)
    assert reports(report) == reports(expected)
    counts = assert_same_store(local, store)
    week, dma = report.files
    assert (week.format, week.read, week.positions) == ("points", 172_679, 172_679)
    assert (dma.format, dma.quarantined, dma.reasons) == ("nmea", 2_232, {"unsupported_type": 2_232})
    assert dma.read == dma.kept + dma.duplicate + dma.quarantined == 27_119
    assert counts == {"positions": 197_367, "statics": 130, "quarantine": 2_232, "manifest": 2}
    assert not list((store.root / "_staging").iterdir())  # the task stores are gone

    again = ingest_spark(store, files, spark=spark)  # same content again: skipped, nothing added
    assert [(f.status, f.input_id) for f in again.files] == [("skipped", f.input_id) for f in report.files]
    assert reports(again) == reports(ingest(local, files))
    assert assert_same_store(local, store) == counts


def overlapping_logs(shared_data: Path, folder: Path) -> list[str]:
    """Three NMEA logs: ``a`` (the DMA sample's first 12,000 lines), ``b`` (lines 8,001-20,000: 4,000
    repeat ``a``'s) and ``c`` (a byte copy of ``a``: skipped as already ingested)."""
    with gzip.open(data_file(shared_data, DMA), "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    folder.mkdir()
    (folder / "a.nmea").write_bytes(b"".join(lines[:12_000]))
    (folder / "b.nmea").write_bytes(b"".join(lines[8_000:20_000]))
    shutil.copy(folder / "a.nmea", folder / "c.nmea")
    return [str(folder)]


def test_overlapping_logs_same_store_as_local(spark: Any, shared_data: Path, tmp_path: Path) -> None:  # noqa: F811
    paths = overlapping_logs(shared_data, tmp_path / "logs")
    local = Store.create(tmp_path / "local")
    expected = ingest(local, paths)
    store = Store.create(tmp_path / "spark")
    report = ingest_spark(store, paths, spark=spark)
    assert reports(report) == reports(expected)
    assert_same_store(local, store)
    a, b, c = report.files
    assert b.duplicate > 1_000 and b.read == b.kept + b.duplicate + b.quarantined  # a's lines again
    assert (c.status, c.input_id) == ("skipped", a.input_id)


def test_vessel_days_one_code_per_vessel_day(week_and_dma: Any) -> None:
    """The pre-check's codes: one per distinct (mmsi, UTC day) of an input's positions and statics; the NY
    week and the DMA log share none (so the Spark overlap query is not run for them)."""
    _, local, report = week_and_dma
    codes, pairs = [], []
    for f in report.files:
        files = [
            str(p) for t in ("positions", "statics") for p in (local.root / t).rglob(f"part-{f.input_id}-*")
        ]
        codes.append(vessel_days(files))
        rows = pa.concat_tables([pq.read_table(p, columns=["mmsi", "ts"]) for p in files]).to_pylist()
        pairs.append({(r["mmsi"], r["ts"].date()) for r in rows})
    assert [c.size for c in codes] == [len(p) for p in pairs]
    assert len(pairs[0]) > 400 and {d for _, d in pairs[0]} == {dt.date(2020, 12, d) for d in range(1, 8)}
    assert not set(codes[0].tolist()) & set(codes[1].tolist())
    assert vessel_days([]).size == 0


def test_cli_ingest_engine_spark(spark: Any, shared_data: Path, tmp_path: Path, capsys: Any) -> None:  # noqa: F811
    """``supplyline ingest --engine spark --json``: the same JSON report as the local engine's."""
    if not spark.sparkContext.master.startswith("local"):
        pytest.skip("the CLI makes its own session; once (local[2]) is enough")
    src = str(data_file(shared_data, DMA))
    assert _cli(["ingest", src, "--store", str(tmp_path / "l"), "--json"]) == 0
    local_json = capsys.readouterr().out
    code = _cli(
        ["ingest", src, "--store", str(tmp_path / "s"), "--engine", "spark", "--master", "local[2]", "--json"]
    )
    assert code == 0
    assert capsys.readouterr().out == local_json
    assert _cli(["ingest", src, "--store", str(tmp_path / "x"), "--master", "local[2]"]) == 2  # needs spark
    assert _cli(["ingest", src, "--store", str(tmp_path / "x"), "--engine", "dask"]) == 2
