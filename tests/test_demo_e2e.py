"""End-to-end: the real `supplyline demo` command, its summary checked against the scenario's ground truth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import data_file


def _demo(args: list[str], cwd: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "supplyline", "demo", "--json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, object] = json.loads(proc.stdout)
    return out


@pytest.fixture(scope="module")
def dprk_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    cwd = tmp_path_factory.mktemp("demo")
    return _demo([], cwd), cwd / "supplyline-demo"


def test_demo_summary_matches_scenario_truth(dprk_demo: tuple[dict[str, object], Path]) -> None:
    result, out = dprk_demo
    truth = pq.read_table(out / "simulated" / "truth_voyages.synthetic.parquet").to_pylist()
    outbound = Counter(
        r["ship"]
        for r in truth
        if r["origin_id"] == "case:rajin" and r["destination_id"] in ("case:dunai", "case:vostochny")
    )
    figures = result["figures"]
    assert isinstance(figures, dict)
    # The scenario encodes 34 loaded Rajin -> Russia legs (about 32 reported by 12 Feb 2024, plus Lady R after).
    assert sum(outbound.values()) == 34
    assert figures["trips"] == 34
    names = {"angara": "ANGARA", "maria": "MARIA", "maia-1": "MAIA-1", "lady-r": "LADY R"}
    assert figures["per_ship"] == {names[k]: n for k, n in outbound.items()}
    lines = result["summary"]
    assert isinstance(lines, list)
    assert lines[0].startswith("case dprk-russia (SYNTHETIC scenario)")
    assert any(line.startswith("trips on watched routes") and ": 34 " in line for line in lines)
    assert any(line.startswith("halt: any watched route on 2024-02") for line in lines)
    assert any(line.startswith("resumption: any watched route on 2024-03") for line in lines)
    # the port shift Dunai -> Vostochny is one route_shift, not halts of the two Dunai routes
    assert [line for line in lines if line.startswith("route_shift:")] == [
        "route_shift: rajin-dunai on 2024-01-19 (p=0.01)"
    ]
    assert not [line for line in lines if line.startswith(("halt: rajin-dunai", "halt: dunai-rajin"))]
    assert any(line.startswith("claims tested: 46") for line in lines)
    assert result["synthetic"] is True


def test_demo_report_is_written_and_labelled_synthetic(dprk_demo: tuple[dict[str, object], Path]) -> None:
    result, out = dprk_demo
    report = (
        Path(out.parent / str(result["report"]))
        if not Path(str(result["report"])).is_absolute()
        else Path(str(result["report"]))
    )
    html = report.read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    assert "<script src=" not in html and "https://cdn" not in html  # self-contained, nothing fetched


def test_demo_nyharbor_runs_on_real_data(shared_data: Path, tmp_path: Path) -> None:
    csv = data_file(shared_data, "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz")
    result = _demo(["--data", "nyharbor", "--input", str(csv)], tmp_path)
    # its own folder by default: the dprk-russia demo's supplyline-demo/ is left alone
    assert Path(str(result["report"])).parts[0] == "supplyline-demo-nyharbor"
    assert not (tmp_path / "supplyline-demo").exists()
    figures = result["figures"]
    assert isinstance(figures, dict)
    assert figures["ingested"]["read"] == 172_679  # every row of the week file
    assert result["synthetic"] is False
    lines = result["summary"]
    assert isinstance(lines, list) and lines[0].startswith("case nyharbor (real AIS)")
    # a 24/7 ferry week with no event: no halt or resumption, at most 10 dark alerts (was 11 / 8 / 321)
    assert figures["alerts"] == {"dark_near_place": 10}
    # Whitehall -> St George trips of the two ferries in the file: within 95 % of the hand count (52 and 66,
    # tests/test_detect_nyharbor.py) and never above it; the ferries' slip stays are short stops, which end
    # voyages (was 0 trips while voyages ran only between port calls).
    per_ship = figures["per_ship"]
    assert 0.95 * 52 <= per_ship["367000150"] <= 52 and 0.95 * 66 <= per_ship["366952790"] <= 66, per_ship
    assert 112 <= figures["trips"] <= 120
    html = (tmp_path / str(result["report"])).read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" not in html  # the banner only appears when an input is synthetic


def test_demo_gap_classes_against_truth(dprk_demo: tuple[dict[str, object], Path]) -> None:
    """All 34 dark loaded legs are switched-off transponders by the simulator's truth; 32 are labelled so.
    The other two sail after the March halt with no other ship around, so no reception evidence exists."""
    from supplyline.store import Store

    _, out = dprk_demo
    truth = pq.read_table(out / "simulated" / "truth_dark.synthetic.parquet")
    assert truth.num_rows == 34 and set(truth["likely"].to_pylist()) == {"disabled"}
    gaps = Store.open(out / "store").read_table("gaps").to_pylist()
    assert Counter(g["likely"] for g in gaps) == {"switched_off": 32, "unknown": 1, "coverage": 1}
    late = [g for g in gaps if g["likely"] != "switched_off"]
    assert all(
        g["others_received"] == 0 and g["start_ts"].year == 2024 and g["start_ts"].month >= 3 for g in late
    )
    assert min(g["dist_km"] for g in gaps) > 100  # whole legs: never a moored silence
