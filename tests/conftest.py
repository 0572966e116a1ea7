"""Shared fixtures: the real datasets in ../shared/data, skipped cleanly when that folder is absent."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the test is skipped with a clear message when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (set SUPPLYLINE_SHARED_DATA to their folder)")
    return SHARED_DATA


def data_file(shared_data: Path, relpath: str) -> Path:
    """One file under ../shared/data, or a skip naming it."""
    path = shared_data / relpath
    if not path.exists():
        pytest.skip(f"dataset file missing: {path}")
    return path


@pytest.fixture
def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``run_main(*args)`` runs ``supplyline.cli.main`` in-process (the console script's exit-code path) and
    returns (exit code, stdout, stderr)."""
    from supplyline.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["supplyline", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Spark standalone master and two workers (separate JVMs on 127.0.0.1), stopped at the end."""
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'supplyline[spark]')")
    from tests.spark_cluster import SparkCluster

    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A local webhook receiver answering 500 for an outage, then 200 (tests.watch_support.http_receiver).
    The outage in seconds is the fixture's indirect parameter (default 2):
    ``@pytest.mark.parametrize("receiver", [60.0], indirect=True)``."""
    from tests.watch_support import http_receiver

    with http_receiver(float(getattr(request, "param", 2.0))) as server:
        yield server
