"""The standalone test cluster starts two registered workers and leaves no JVM behind when stopped; the
Java check refuses a Java the installed pyspark cannot run on, with a message naming the versions."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from supplyline.engine.spark_runtime import check_java, java_major
from supplyline.errors import EngineError
from tests.spark_cluster import SparkCluster

pytestmark = pytest.mark.spark


def fake_java(home: Path, version_line: str, code: int = 0) -> Path:
    """A JAVA_HOME whose bin/java prints ``version_line`` on stderr, as ``java -version`` does."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\nexit {code}\n", encoding="utf-8")
    java.chmod(0o755)
    return home


def test_java_versions_are_parsed(tmp_path: Path) -> None:
    home = fake_java(tmp_path / "j8", 'openjdk version "1.8.0_392"')
    assert java_major(str(home / "bin" / "java")) == 8
    home = fake_java(tmp_path / "j21", 'openjdk version "21.0.2" 2024-01-16')
    assert java_major(str(home / "bin" / "java")) == 21


@pytest.mark.parametrize(
    ("pyspark", "line", "ok"),
    [
        ("4.3.0", 'openjdk version "11.0.22" 2024-01-16', False),
        ("4.3.0", 'openjdk version "17.0.15" 2025-04-15', True),
        ("4.0.1", 'openjdk version "21.0.2" 2024-01-16', True),
        ("3.5.1", 'openjdk version "1.8.0_392"', True),
        ("3.5.1", 'openjdk version "17.0.15" 2025-04-15', True),
        ("3.5.1", 'openjdk version "21.0.2" 2024-01-16', False),
    ],
)
def test_java_check_per_pyspark_major(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyspark: str, line: str, ok: bool
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "jdk", line)))
    if ok:
        assert check_java(pyspark) == java_major(str(tmp_path / "jdk" / "bin" / "java"))
    else:
        with pytest.raises(EngineError, match=rf"pyspark {pyspark} needs Java .* point JAVA_HOME"):
            check_java(pyspark)


def test_java_missing_or_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(EngineError, match="needs Java 17 or newer and none was found"):
        check_java("4.3.0")
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "broken", "Error: boom", code=1)))
    with pytest.raises(EngineError, match="did not report a Java version"):
        check_java("4.3.0")


def test_spark_session_refuses_a_wrong_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's own entry point, before any JVM starts: a clear EngineError, not a gateway traceback."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from supplyline.engine.spark import spark_session

    if SparkSession.getActiveSession() is not None:
        pytest.skip("a Spark session is already running in this process (its JVM is fixed)")
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "jdk", 'java version "1.7.0_80"')))
    with pytest.raises(EngineError, match="is Java 7"):
        spark_session("local[1]")


def test_cluster_registers_two_workers_and_leaves_no_jvm(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark")
    cluster = SparkCluster(tmp_path / "c").start()
    try:
        state = cluster.state()
        assert cluster.alive_workers() == 2
        assert state["url"] == cluster.url
        assert all(w["cores"] == 1 and w["memory"] == 1024 for w in state["workers"])  # type: ignore[union-attr]
        assert len(cluster.groups_alive()) == 3
    finally:
        cluster.stop()
    deadline = time.monotonic() + 10
    while cluster.groups_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.groups_alive() == []
    assert all(p.returncode is not None for p in cluster.procs)
