"""Every alert kind on the dprk-russia scenario with real-world noise added (SYNTHETIC; bench/monitor_noise.py
prints the precision/recall table of docs/monitor.md from the same run)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from bench.monitor_noise import KINDS, NoisyRun, noisy_dprk

from supplyline.simulate.noise import score_alerts

pytestmark = pytest.mark.slow
ANGARA, MARIA = 273990001, 273990002


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> NoisyRun:
    return noisy_dprk(Path(tmp_path_factory.mktemp("noisy")), seed=1)


def _kind(run: NoisyRun, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in run.alerts.to_pylist() if a["kind"] == kind]


def _truth(run: NoisyRun, kind: str, expect: bool = True) -> list[dict]:  # type: ignore[type-arg]
    return [t for t in run.truth.to_pylist() if t["kind"] == kind and t["expect_alert"] == expect]


def test_the_spoofed_window_is_one_spoofing_alert(run: NoisyRun) -> None:
    (a,) = _kind(run, "spoofing")
    (t,) = _truth(run, "spoofing")
    d = json.loads(a["details"])
    assert a["mmsi"] == ANGARA and abs(d["offset_km"] - 150) < 5
    # the window's first and last moved fix (fixes every 5 minutes) and the alert when the track came back
    assert 0 <= (a["ts"] - t["end_ts"]).total_seconds() <= 600
    start, end = (datetime.fromisoformat(d[k].replace("Z", "+00:00")) for k in ("start_ts", "end_ts"))
    assert start >= t["start_ts"] and end < t["end_ts"]


def test_the_shared_mmsi_is_one_alert_and_no_rename_storm(run: NoisyRun) -> None:
    (a,) = _kind(run, "shared_mmsi")
    (t,) = _truth(run, "shared_mmsi")
    assert a["mmsi"] == MARIA and "two consistent tracks" in a["message"] and "OCEAN TWIN" in a["message"]
    assert 0 <= (a["ts"] - t["start_ts"]).total_seconds() <= 3600  # from the sixth jump, minutes in
    # the twin's name, reported 20 times over 5 days, raises no identity_change after the detection
    assert not [c for c in _kind(run, "identity_change") if c["mmsi"] == MARIA]


def test_in_port_silences_and_sparse_sampling_are_not_dark(run: NoisyRun) -> None:
    negatives = _truth(run, "dark_near_place", expect=False)
    assert (
        len(negatives) >= 8
    )  # in-port silences at Rajin (3 per ship that stays long enough) + the sparse feed
    for t in negatives:
        assert not [
            a
            for a in _kind(run, "dark_near_place")
            if a["mmsi"] == t["mmsi"] and t["start_ts"] <= a["ts"] <= t["end_ts"]
        ], t["note"]


def test_precision_and_recall_per_alert_kind(run: NoisyRun) -> None:
    scores = {s.kind: s for s in score_alerts(run.alerts, run.truth, KINDS, run.weeks)}
    for kind in (
        "halt",
        "resumption",
        "route_shift",
        "dark_near_place",
        "shared_mmsi",
        "spoofing",
        "new_vessel",
    ):
        s = scores[kind]
        assert (s.precision, s.recall) == (1.0, 1.0), s
    assert scores["dark_near_place"].true_pos == 33  # 34 switched-off legs less the one in the sparse span
    assert (scores["route_shift"].true_pos, scores["identity_change"].false_pos) == (1, 0)
