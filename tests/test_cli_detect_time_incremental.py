"""`supplyline detect --time-incremental` after each daily file drop gives the events of a full detect.

Real data: the NOAA NY Harbor week, then its eighth day, ingested by the CLI as an analyst with a daily
drop would; after each, `detect --time-incremental`; at the end a `detect --full` over a copy of the store
must hold the same event tables (docs/detect.md, "Time-incremental detect").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supplyline import schema
from supplyline.cli import app
from supplyline.detect.kernels import sort_events
from supplyline.store import Store
from tests.conftest import SHARED_DATA
from tests.watch_support import assert_same_events

NY = SHARED_DATA / "noaa_ais_nyharbor_2020"
DROPS = ("nyharbor_2020-12-01_to_07_points.csv.gz", "nyharbor_2020-12-08_points.csv.gz")


def _cli(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _events(root: Path) -> dict[str, Any]:
    store = Store.open(root)
    return {name: sort_events(name, store.read_table(name)) for name in schema.EVENT_TABLES}


def test_daily_drops_time_incremental_equal_full_detect(tmp_path: Path) -> None:
    if not all((NY / name).exists() for name in DROPS):
        pytest.skip(f"real data not found in {NY} (set SUPPLYLINE_SHARED_DATA to their folder)")
    st = str(tmp_path / "st")
    runs = []
    for name in DROPS:
        _cli("ingest", str(NY / name), "--store", st)
        runs.append(_cli("detect", "--store", st, "--case", "nyharbor", "--time-incremental"))
    assert runs[0]["incremental"]["whole"] == runs[0]["incremental"]["vessels"] > 100  # first run: all
    assert runs[1]["incremental"]["cut"] > 0  # the next day: vessels re-analysed from a horizon
    shutil.copytree(st, tmp_path / "full")
    _cli("detect", "--store", str(tmp_path / "full"), "--case", "nyharbor", "--full")
    got, want = _events(Path(st)), _events(tmp_path / "full")
    for name in schema.EVENT_TABLES:
        assert_same_events(name, got[name], want[name])
    assert want["visits"].num_rows > 1000 and want["gaps"].num_rows > 100


def test_time_incremental_refuses_full_and_spark(tmp_path: Path, run_main: Callable[..., Any]) -> None:
    for extra in (["--full"], ["--engine", "spark"]):
        code, _, err = run_main("detect", "--store", str(tmp_path), "--time-incremental", *extra)
        assert code == 2 and "--time-incremental" in err
