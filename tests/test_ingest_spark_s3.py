"""Ingest on Spark into a store on S3 (supplyline.remote_store) stores exactly what the local ingest stores.

A real S3 API server on loopback (moto's server mode, tests/s3_server.py); executors write with pyarrow.fs,
so no Hadoop S3 connector is involved. Same inputs into a local folder by the local pipeline and into
``s3://...`` by ``ingest --engine spark`` (local[2], then the standalone cluster): the store read back from
S3 has the same rows, files and per-input reports. Inputs also come from S3 (overlapping logs: the
overlap check reads S3 through mapInArrow and the driver's exact fallback runs against a mirror). A commit
that fails before an input's manifest row, and a run killed with SIGKILL, leave readers the old state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from supplyline import fs
from supplyline.engine.spark_ingest import ingest_spark
from supplyline.errors import StoreError
from supplyline.ingest.pipeline import ingest
from supplyline.remote_store import RemoteStore
from supplyline.store import Store
from tests.conftest import data_file
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the session fixture)
from tests.test_detect_nyharbor import WEEK
from tests.test_engine_spark import _cli, spark  # noqa: F401 (the module-scoped session fixture, both masters)
from tests.test_ingest_spark import DMA, SORT, contents, overlapping_logs, reports, week_and_dma  # noqa: F401

pytestmark = pytest.mark.spark


def assert_same_as_local(
    local: Store, store: RemoteStore, rename: tuple[str, str] | None = None
) -> dict[str, int]:
    """Same rows in every raw table and the same data files; ``rename``: (local prefix, URI prefix) of the
    input names the manifest and quarantine record."""
    a, b = contents(local), contents(store)
    for name in SORT:
        table = a[name]
        if rename and name in ("manifest", "quarantine"):
            col = "path" if name == "manifest" else "file"
            names = [v.replace(rename[0], rename[1], 1) for v in table[col].to_pylist()]
            at = table.schema.get_field_index(col)
            table = table.set_column(at, table.schema.field(at), pa.array(names, pa.string()))
        assert table.num_rows == b[name].num_rows, name
        assert table.equals(b[name]), name
    held = sorted(p.relative_to(local.root).as_posix() for p in local.root.rglob("part-*.parquet"))
    assert held == sorted(r for t in ("positions", "statics", "quarantine") for r in store.files(t))
    return {name: a[name].num_rows for name in SORT}


def leftovers(store: RemoteStore) -> list[str]:
    """Files under the store's ``_staging/`` and ``_locks/`` (none once a run has finished)."""
    return [f.uri for d in ("_staging", "_locks") for f in fs.files_under(store.root.join(d))]


def test_real_inputs_to_s3_same_store_as_local(
    spark: Any,  # noqa: F811
    week_and_dma: Any,  # noqa: F811
    s3_server: S3Server,  # noqa: F811
) -> None:
    files, local, expected = week_and_dma
    store = RemoteStore.create(s3_server.uri("real"))
    report = ingest_spark(store, files, spark=spark)
    assert reports(report) == reports(expected)
    counts = assert_same_as_local(local, store)
    assert counts == {"positions": 197_367, "statics": 130, "quarantine": 2_232, "manifest": 2}
    week, dma = report.files
    assert (week.read, week.positions) == (172_679, 172_679)
    assert dma.read == dma.kept + dma.duplicate + dma.quarantined == 27_119
    assert leftovers(store) == []

    again = ingest_spark(RemoteStore.open(store.uri), files, spark=spark)  # same content: skipped
    assert [(f.status, f.input_id) for f in again.files] == [("skipped", f.input_id) for f in report.files]
    assert assert_same_as_local(local, store) == counts


def upload_folder(server: S3Server, folder: Path, uri: str) -> None:
    for path in sorted(folder.iterdir()):
        fs.upload(path, fs.resolve(f"{uri}/{path.name}"))


def test_overlapping_inputs_from_s3_same_store_as_local(
    spark: Any,  # noqa: F811
    shared_data: Path,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Logs on S3 that repeat each other's lines: the overlap check reads the staged files from S3 (Spark's
    mapInArrow over pyarrow.fs) and the later log is re-ingested on the driver against a mirror of the days
    it touches; the byte copy is skipped. Same rows and reports as the local ingest of the same files."""
    (folder,) = overlapping_logs(shared_data, tmp_path / "logs")
    inputs = s3_server.uri("logs")
    upload_folder(s3_server, Path(folder), inputs)
    local = Store.create(tmp_path / "local")
    expected = ingest(local, [folder])
    store = RemoteStore.create(s3_server.uri("overlap"))
    report = ingest_spark(store, [inputs], spark=spark)
    renamed = [dict(r, path=r["path"].replace(folder, inputs, 1)) for r in reports(expected)]
    assert reports(report) == renamed
    assert_same_as_local(local, store, rename=(folder, inputs))
    a, b, c = report.files
    assert b.duplicate > 1_000 and b.read == b.kept + b.duplicate + b.quarantined
    assert (c.status, c.input_id) == ("skipped", a.input_id)
    assert leftovers(store) == []


def test_failed_commit_leaves_the_old_state(
    spark: Any,  # noqa: F811
    shared_data: Path,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commit fails after the DMA log's data files are in place but before its manifest row: readers see
    the store as it was (the week only); the next run removes the debris and commits the log exactly."""
    if not spark.sparkContext.master.startswith("local"):
        pytest.skip("the commit runs on the driver: once (local[2]) is enough")
    week, dma = str(data_file(shared_data, WEEK)), str(data_file(shared_data, DMA))
    store = RemoteStore.create(s3_server.uri("fail"))
    ingest_spark(store, [week], spark=spark)
    before = contents(store)

    real_put = RemoteStore._put

    def put(self: RemoteStore, source: str, relpath: str) -> None:
        if relpath.startswith("manifest/"):
            raise OSError("injected: connection lost before the manifest row")
        real_put(self, source, relpath)

    monkeypatch.setattr(RemoteStore, "_put", put)
    with pytest.raises(OSError, match="injected"):
        ingest_spark(store, [dma], spark=spark)
    debris = [r for r in store.files("positions", committed=False) if r not in store.files("positions")]
    assert debris  # the log's position files were written ...
    after = contents(RemoteStore.open(store.uri))
    assert all(after[name].equals(before[name]) for name in SORT)  # ... and no reader sees them
    assert leftovers(store) == []  # staging and lease removed on the way out

    monkeypatch.setattr(RemoteStore, "_put", real_put)
    ingest_spark(store, [dma], spark=spark)
    local = Store.create(tmp_path / "local")
    ingest(local, [week])
    ingest(local, [dma])
    assert_same_as_local(local, store)


def test_killed_run_leaves_the_old_state(
    spark: Any,  # noqa: F811
    shared_data: Path,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``supplyline ingest --engine spark`` killed with SIGKILL while its tasks upload: nothing of it is
    visible, and the next run (no waiting out the dead run's lease: same host, process gone) ingests exactly."""
    if not spark.sparkContext.master.startswith("local"):
        pytest.skip("a separate CLI process with its own session: once is enough")
    week = str(data_file(shared_data, WEEK))
    store = RemoteStore.create(s3_server.uri("kill"))
    cmd = [sys.executable, "-m", "supplyline", "ingest", week, "--store", store.uri]
    proc = subprocess.Popen(
        [*cmd, "--engine", "spark", "--master", "local[1]"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not fs.files_under(store.root.join("_staging")) and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never staged a file"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert store.manifest_ids() == set() and store.read_table("positions").num_rows == 0
    assert fs.files_under(store.root.join("_locks"))  # the dead run's lease is still there

    report = ingest_spark(store, [week], spark=spark)
    assert [f.status for f in report.files] == ["ingested"]
    local = Store.create(tmp_path / "local")
    ingest(local, [week])
    assert_same_as_local(local, store)
    assert leftovers(store) == []


def test_second_writer_is_refused(s3_server: S3Server) -> None:  # noqa: F811
    """While one writer holds the lease another gets a clear error; after it, the lease is free again."""
    store = RemoteStore.create(s3_server.uri("lock"))
    other = RemoteStore.open(store.uri)
    with store.lock(), pytest.raises(StoreError, match="another supplyline process is writing"), other.lock():
        pass
    with store.lock():
        assert len(fs.files_under(store.root.join("_locks"))) == 1
    assert fs.files_under(store.root.join("_locks")) == []


def test_cli_ingest_s3_to_s3(
    spark: Any,  # noqa: F811
    shared_data: Path,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
    capsys: Any,
) -> None:
    """``supplyline ingest s3://... --store s3://... --engine spark --json`` (and into a store folder): the
    local engine's JSON report (input named by its URI); a URI without ``--engine spark`` is a usage error."""
    if not spark.sparkContext.master.startswith("local"):
        pytest.skip("the CLI makes its own session; once (local[2]) is enough")
    src = data_file(shared_data, DMA)
    uri = f"{s3_server.uri('cli-in')}/{src.name}"
    fs.upload(src, fs.resolve(uri))
    assert _cli(["ingest", str(src), "--store", str(tmp_path / "l"), "--json"]) == 0
    local_json = capsys.readouterr().out.replace(str(src), uri)
    store = s3_server.uri("cli")
    assert _cli(["ingest", uri, "--store", store, "--engine", "spark", "--master", "local[2]", "--json"]) == 0
    assert capsys.readouterr().out == local_json
    folder = str(tmp_path / "f")  # an input on S3 into a store folder
    assert (
        _cli(["ingest", uri, "--store", folder, "--engine", "spark", "--master", "local[2]", "--json"]) == 0
    )
    assert capsys.readouterr().out == local_json
    assert _cli(["ingest", uri, "--store", str(tmp_path / "x")]) == 2
    assert _cli(["ingest", str(src), "--store", store]) == 2


def test_pull_then_detect_same_events_as_local(
    spark: Any,  # noqa: F811
    shared_data: Path,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
    capsys: Any,
) -> None:
    """Detect on a store on S3: ``supplyline pull`` copies its committed inputs to a local folder (pyarrow.fs,
    no connector), incrementally; ``detect`` there finds the same events as on the local ingest's store."""
    if not spark.sparkContext.master.startswith("local"):
        pytest.skip("pull and detect run on the driver: once (local[2]) is enough")
    from supplyline.detect import Thresholds
    from supplyline.engine.local import detect
    from tests.test_detect_nyharbor import SIF, TERMINALS
    from tests.test_engine_spark import assert_same_tables, tables

    week, dma = str(data_file(shared_data, WEEK)), str(data_file(shared_data, DMA))
    store = RemoteStore.create(s3_server.uri("pull"))
    ingest_spark(store, [week], spark=spark)
    copy = tmp_path / "copy"
    assert _cli(["pull", store.uri, "--store", str(copy), "--json"]) == 0
    assert '"inputs": 1' in capsys.readouterr().out
    (new,) = ingest_spark(store, [dma], spark=spark).files
    files = [r for t in ("positions", "statics", "quarantine") for r in store.files(t) if new.input_id in r]
    assert RemoteStore.open(store.uri).pull(Store.open(copy)) == (1, len(files) + 1)  # only the new input
    local = Store.create(tmp_path / "local")
    ingest(local, [week, dma])
    assert contents(local) == contents(Store.open(copy))
    th = Thresholds(port_call_min_h=0.0)
    for target in (local, Store.open(copy)):
        detect(target, TERMINALS, th, SIF, workers=1)
    counts = assert_same_tables(tables(local), tables(Store.open(copy)))
    assert counts["gaps"] > 0 and counts["visits"] > 600
    assert _cli(["pull", str(tmp_path / "x"), "--store", str(copy)]) == 2  # not a URI
    assert _cli(["pull", s3_server.uri("nothing"), "--store", str(copy)]) == 3  # no store there (StoreError)
