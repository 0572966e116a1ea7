"""Matching satellite detections to AIS: known answers, then precision/recall on simulated passes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.imagery.match import MatchConfig, ais_at, match_scene
from supplyline.simulate.harbour import fleet_ais, fleet_at, random_fleet
from supplyline.simulate.passes import Area, PassConfig, PassResult, image_pass, pass_times, score_matches

T0 = 1_700_000_000.0
M_PER_DEG = 111_195.0


def _pos(rows: list[tuple[int, float, float, float, float, float]]) -> dict[str, np.ndarray]:
    a = np.array(rows, dtype=np.float64)
    order = np.lexsort((a[:, 1], a[:, 0]))
    a = a[order]
    return {
        "mmsi": a[:, 0].astype(np.int64),
        "ts": a[:, 1],
        "lat": a[:, 2],
        "lon": a[:, 3],
        "sog_kn": a[:, 4],
        "cog_deg": a[:, 5],
    }


def _dets(points: list[tuple[float, float, float | None]], t: float = T0) -> pa.Table:
    n = len(points)
    ts = pa.array([int(t * 1e6)] * n, pa.int64()).cast(schema.TS)
    return pa.table(
        {
            "det_id": [f"d{i}" for i in range(n)],
            "scene_id": ["s"] * n,
            "sensor": ["sar"] * n,
            "ts": ts,
            "lon": [p[1] for p in points],
            "lat": [p[0] for p in points],
            "length_m": pa.array([p[2] for p in points], pa.float32()),
            "width_m": pa.nulls(n, pa.float32()),
            "heading_deg": pa.nulls(n, pa.float32()),
            "score": pa.array([0.9] * n, pa.float32()),
            "in_place": pa.nulls(n, pa.string()),
            "near_place": pa.nulls(n, pa.string()),
            "source": ["test"] * n,
            "synthetic": [True] * n,
        },
        schema=schema.DETECTIONS,
    )


def test_interpolates_between_fixes_and_dead_reckons_past_the_last():
    # vessel 1: fixes 10 min before and after at lat 0.00 / 0.02 -> midpoint 0.01
    # vessel 2: one fix 30 min before at 10 kn due north -> 5 nm = 9260 m north
    pos = _pos(
        [
            (1, T0 - 600, 0.0, 0.0, 7.0, 0.0),
            (1, T0 + 600, 0.02, 0.0, 7.0, 0.0),
            (2, T0 - 1800, 0.0, 1.0, 10, 0),
        ]
    )
    est = ais_at(pos, T0, MatchConfig(shift_s=0))
    assert est.mmsi.tolist() == [1, 2]
    assert est.lat[0] == pytest.approx(0.01, abs=1e-9)
    assert est.lat[1] * M_PER_DEG == pytest.approx(9260.0, rel=1e-3)
    assert est.dt_s.tolist() == [600.0, 1800.0]
    # dead reckoning is less certain than interpolation
    assert est.sigma_m[1] > est.sigma_m[0]


def test_vessels_without_a_fix_near_the_acquisition_take_no_part():
    pos = _pos([(1, T0 - 4 * 3600, 0.0, 0.0, 0.0, 0.0), (2, T0 + 60, 0.0, 0.0, 0.0, 0.0)])
    assert ais_at(pos, T0, MatchConfig(max_dt_s=3 * 3600)).mmsi.tolist() == [2]


def test_one_to_one_and_a_dark_vessel_does_not_steal_the_match():
    # AIS vessel 1 moored at (0, 0); its detection 20 m away; a dark vessel 150 m away
    pos = _pos([(1, T0 - 300, 0.0, 0.0, 0.0, 0.0), (1, T0 + 300, 0.0, 0.0, 0.0, 0.0)])
    dets = _dets([(150 / M_PER_DEG, 0.0, 100.0), (20 / M_PER_DEG, 0.0, 100.0)])
    out = match_scene(dets, pos, {1: 100.0}, MatchConfig())
    assert out["status"].to_pylist() == ["dark", "matched"]
    assert out["mmsi"].to_pylist() == [None, 1]
    assert out["dist_m"][1].as_py() == pytest.approx(20.0, rel=0.01)
    assert out["n_candidates"].to_pylist() == [1, 1]
    assert 0.9 < out["match_score"][1].as_py() <= 1.0


def test_length_inconsistent_with_the_static_report_stays_dark():
    pos = _pos([(1, T0 - 60, 0.0, 0.0, 0.0, 0.0)])
    out = match_scene(_dets([(0.0, 0.0, 25.0)]), pos, {1: 250.0}, MatchConfig())
    assert out["status"].to_pylist() == ["dark"]
    out = match_scene(_dets([(0.0, 0.0, 230.0)]), pos, {1: 250.0}, MatchConfig())
    assert out["mmsi"].to_pylist() == [1]


def test_far_detection_is_dark_even_alone():
    pos = _pos([(1, T0 - 60, 0.0, 0.0, 0.0, 0.0)])
    out = match_scene(_dets([(2000 / M_PER_DEG, 0.0, None)]), pos, {}, MatchConfig())
    assert out["status"].to_pylist() == ["dark"] and out["n_candidates"].to_pylist() == [0]


def test_pass_times_fixed_local_time_and_revisit():
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    times = pass_times(start, start + 40 * 86400, 130.3, PassConfig(revisit_days=12, local_times_h=(6.0,)))
    assert np.diff(times).tolist() == [12 * 86400.0] * (len(times) - 1)
    utc_h = (times[0] % 86400) / 3600
    assert utc_h == pytest.approx((6.0 - 130.3 / 15) % 24)  # 06:00 local solar time at 130.3 E


def _harbour_run(
    seed: int, pos_sigma_m: float, cfg: MatchConfig, track_deg: float = 350.0
) -> dict[str, float]:
    """Three passes over a 400-vessel harbour (20 % dark, 5 % reception drop-outs)."""
    rng = np.random.default_rng(seed)
    fleet = random_fleet(400, 42.0, 130.0, 20_000.0, T0, rng)
    pcfg = PassConfig(track_deg=track_deg)
    out = PassResult()
    windows = []
    for t in (T0 - 3 * 86400, T0 - 86400, T0):
        image_pass(fleet_at(fleet, t), t, Area("case:harbour", 42.0, 130.0, 20_000.0), pcfg, rng, out)
        windows.append(fleet_ais(fleet, t - 3 * 3600, t + 3 * 3600, rng, pos_sigma_m))
    positions = pa.concat_tables([w[0] for w in windows]).sort_by(
        [("mmsi", "ascending"), ("ts", "ascending")]
    )
    statics = windows[0][1]
    lengths = dict(zip(statics["mmsi"].to_pylist(), statics["length_m"].to_pylist(), strict=True))
    det, truth = out.tables()
    pos = {c: positions[c].to_numpy() for c in ("mmsi", "lat", "lon")}
    pos["ts"] = positions["ts"].cast(pa.int64()).to_numpy() / 1e6
    pos["sog_kn"] = positions["sog_kn"].to_numpy().astype(np.float64)
    pos["cog_deg"] = positions["cog_deg"].to_numpy().astype(np.float64)
    parts = []
    for scene in sorted(set(det["scene_id"].to_pylist())):
        parts.append(match_scene(det.filter(pa.compute.equal(det["scene_id"], scene)), pos, lengths, cfg))
    return score_matches(pa.concat_tables(parts), truth, positions, cfg.max_dt_s)


@pytest.mark.parametrize("pos_sigma_m", [10.0, 50.0])
def test_precision_recall_on_simulated_passes_track_known(pos_sigma_m):
    s = _harbour_run(7, pos_sigma_m, MatchConfig(track_deg=350.0))
    assert s["n"] > 600 and s["n_dark_true"] > 150
    for key in ("matched_precision", "matched_recall", "dark_precision", "dark_recall"):
        assert s[key] >= 0.95, s


def test_precision_recall_on_simulated_passes_track_unknown():
    s = _harbour_run(11, 10.0, MatchConfig())
    for key in ("matched_precision", "matched_recall", "dark_precision", "dark_recall"):
        assert s[key] >= 0.95, s


def test_wrong_assumptions_cost_recall():
    """The numbers above can fail: with a 5 m detection error assumed the gate is too tight."""
    s = _harbour_run(7, 50.0, MatchConfig(sigma_ais_m=5.0, sigma_det_m=5.0, shift_s=0.0))
    assert s["matched_recall"] < 0.9
