"""Locations as URIs (supplyline.fs) and the edges of a store on object storage (supplyline.remote_store):
parsing, secrets kept out of reprs and messages, clear errors for what cannot work here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supplyline import fs
from supplyline.errors import StoreError
from supplyline.remote_store import RemoteStore, input_id_of
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the session fixture)
from tests.spark_cluster import free_port


def test_locations() -> None:
    assert fs.as_text(Path("s3://bucket/a/b")) == "s3://bucket/a/b"  # a CLI option arrives as a Path
    assert fs.as_text("s3://bucket/a") == "s3://bucket/a"
    assert [
        fs.is_remote(x) for x in ("s3://b/p", "s3a://b/p", "hdfs://nn:8020/p", "file:///tmp/x", "rel/x")
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]
    where = fs.resolve("s3://bucket/store/", fs.S3Settings(region="eu-west-1"))
    assert (where.uri, where.path) == ("s3://bucket/store", "bucket/store")
    assert where.join("manifest", "x.parquet").path == "bucket/store/manifest/x.parquet"
    assert fs.resolve("file:///tmp/a").path == "/tmp/a"
    with pytest.raises(StoreError, match="names no bucket"):
        fs.resolve("s3:///nobucket")
    with pytest.raises(StoreError, match="unsupported location"):
        fs.resolve("ftp://host/x")
    assert input_id_of("positions/day=2020-12-01/part-0123abcd4567ef89-00002.parquet") == "0123abcd4567ef89"
    assert input_id_of("manifest/0123abcd4567ef89.parquet") == "0123abcd4567ef89"
    assert input_id_of("positions/day=2020-12-01/other.parquet") is None


def test_secrets_stay_out_of_reprs_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fs.S3Settings(
        endpoint="http://127.0.0.1:9", access_key="AKIDEXAMPLE", secret_key="s3cr3t-value"
    )
    assert "s3cr3t" not in repr(settings) and "AKIDEXAMPLE" not in repr(settings)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    with pytest.raises(StoreError, match="cannot reach the store at s3://bucket/store") as err:
        RemoteStore.open("s3://bucket/store")
    assert "s3cr3t" not in str(err.value) and "check the bucket, AWS_ENDPOINT_URL" in str(err.value)


def test_remote_store_refusals(s3_server: S3Server) -> None:  # noqa: F811
    with pytest.raises(StoreError, match="whole bucket"):
        RemoteStore.create(f"s3://{s3_server.bucket}")
    with pytest.raises(StoreError, match="no supplyline store at"):
        RemoteStore.open(s3_server.uri("none"))
    busy = s3_server.uri("busy")
    fs.write_bytes(fs.resolve(f"{busy}/other.txt"), b"not a store")
    with pytest.raises(StoreError, match="holds files and is not a supplyline store"):
        RemoteStore.create(busy)
    with pytest.raises(StoreError, match="not an s3:// or hdfs:// URI"):
        RemoteStore.create("/tmp/folder")


def test_hdfs_without_libhdfs_is_a_clear_error() -> None:
    """No Hadoop client with libhdfs installs from this project's registries: hdfs:// says what it needs."""
    code = (
        "from supplyline import fs\n"
        "try:\n    fs.resolve('hdfs://127.0.0.1:1/store')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    if not out.startswith("StoreError"):
        pytest.skip(f"this machine has a Hadoop client (hdfs:// resolved): {out[:200]}")
    assert "needs a Hadoop client with libhdfs" in out and len(out) < 800


def test_folder_commands_refuse_a_uri_with_the_way_forward(tmp_path: Path) -> None:
    """``Store.open``/``create`` given ``s3://...`` (a CLI option arrives as a Path: ``s3:/...``) make no local
    folder named ``s3:`` and say which commands take such a store."""
    from supplyline.store import Store

    for make in (Store.open, Store.create):
        with pytest.raises(StoreError, match=r"supplyline pull s3://bucket/store --store DIR"):
            make(Path("s3://bucket/store"))
    assert not Path("s3:").exists()
