"""Estimates: the displacement method by hand, Monte Carlo over priors with known answers, provenance."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from supplyline import schema
from supplyline.cli import app
from supplyline.detect.thresholds import Route
from supplyline.errors import CaseError
from supplyline.estimate import (
    PriorRange,
    cargo_moved_t,
    displacement_t,
    estimate,
    load_t,
    outbound_routes,
    prior_ranges,
)
from supplyline.estimate.run import run_estimate
from supplyline.store import Store, write_parquet

T0 = datetime(2023, 9, 1, 6, tzinfo=UTC)


def _full(table: pa.Table, schema_: pa.Schema) -> pa.Table:
    cols = {
        f.name: table[f.name] if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema_
    }
    return pa.table(cols, schema=schema_)


def voyages(
    n: int, every_days: float = 6.0, route: str = "rajin-dunai", mmsi: int = 273100001, start: datetime = T0
) -> pa.Table:
    deps = [start + timedelta(days=every_days * i) for i in range(n)]
    return _full(
        pa.table(
            {
                "voyage_id": [f"{route}-{i}" for i in range(n)],
                "mmsi": pa.array([mmsi] * n, pa.int64()),
                "origin_id": ["case:" + route.split("-")[0]] * n,
                "destination_id": ["case:" + route.split("-")[1]] * n,
                "departure_ts": pa.array(deps, schema.TS),
                "arrival_ts": pa.array([d + timedelta(days=2) for d in deps], schema.TS),
                "route": [route] * n,
            }
        ),
        schema.VOYAGES,
    )


def test_displacement_method_by_hand() -> None:
    # L 120 m, B 18 m, d 6 m, rho 1.025 t/m3, C_B 0.7: 120 * 18 * 6 * 1.025 * 0.7 = 9,298.8 t
    assert displacement_t(120, 18, 6.0, 0.7) == pytest.approx(9298.8)
    # design draught 7 m, DWT 7,300 t: load = Disp(6) - Disp(7) + DWT = 7300 - 1549.8 = 5,750.2 t
    assert load_t(6.0, 7.0, 7300, 120, 18, 0.7) == pytest.approx(5750.2)
    # a call arriving at 4.0 m and leaving at 6.5 m loaded L B (2.5 m) rho C_B = 3,874.5 t
    assert cargo_moved_t(4.0, 6.5, 120, 18, 0.7) == pytest.approx(3874.5)
    # = load at departure - load at arrival, whatever the (unknown) design draught and DWT
    for design, dwt in [(7.0, 7300), (5.5, 4000)]:
        diff = load_t(6.5, design, dwt, 120, 18, 0.7) - load_t(4.0, design, dwt, 120, 18, 0.7)
        assert diff == pytest.approx(3874.5)
    # vectorised: calls x draws by broadcasting
    out = cargo_moved_t(np.array([4.0, 5.0]), np.array([6.5, 5.0]), 120, 18, np.array([[0.6], [0.8]]))
    assert out.shape == (2, 2) and out[0, 1] == 0 and out[1, 0] == pytest.approx(3874.5 / 0.7 * 0.8)


def test_priors_sample_inside_their_range() -> None:
    rng = np.random.default_rng(0)
    tri = PriorRange("s", 250, 480, "shells/container", "x", mode=448, distribution="triangular")
    d = tri.sample(rng, 200_000)
    assert d.min() >= 250 and d.max() <= 480 and d.mean() == pytest.approx((250 + 448 + 480) / 3, rel=2e-3)
    logu = PriorRange("k", 21, 65, "kg/shell", "x", distribution="loguniform").sample(rng, 200_000)
    assert np.median(logu) == pytest.approx(np.sqrt(21 * 65), rel=1e-2)
    assert PriorRange("p", 5, 5, "u", "x").sample(rng, 3).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(CaseError, match="prior bad"):
        PriorRange("bad", 10, 5, "u", "x")
    with pytest.raises(CaseError):
        PriorRange("tri", 1, 5, "u", "x", mode=9, distribution="triangular")
    pr = prior_ranges(
        {"tonnes_per_container": {"low": 10, "high": 21.8, "unit": "tonnes/container", "source": "ISO"}}
    )
    assert pr["tonnes_per_container"].high == 21.8 and "block_coefficient" in pr  # defaults kept


PRIORS = {
    "containers_per_voyage": {"low": 150, "high": 320, "unit": "containers/voyage", "source": "test"},
    "tonnes_per_container": {"low": 15, "high": 15, "unit": "tonnes/container", "source": "test"},
    "shells_per_container_152mm": {
        "low": 448,
        "high": 448,
        "unit": "shells_152mm/container",
        "source": "ROK",
    },
}


def _whole(est: pa.Table, unit: str, route: str = "rajin-dunai") -> dict:
    rows = est.filter(pc.and_(pc.equal(est["unit"], unit), pc.equal(est["route"], route))).to_pylist()
    return max(rows, key=lambda r: r["period_end"] - r["period_start"])


def test_prior_only_monte_carlo_matches_the_normal_approximation() -> None:
    est, _ = estimate(voyages(10), PRIORS, n_draws=200_000, seed=3)
    v = _whole(est, "voyages")
    assert (v["p05"], v["p50"], v["p95"]) == (10, 10, 10)
    c = _whole(est, "containers")
    # sum of 10 independent U(150, 320): mean 2,350, sd = 170 / sqrt(12) * sqrt(10) = 155.2
    sd = 170 / np.sqrt(12) * np.sqrt(10)
    assert c["p50"] == pytest.approx(2350, rel=2e-3)
    assert c["p05"] == pytest.approx(2350 - 1.645 * sd, rel=5e-3) and c["p95"] == pytest.approx(
        2350 + 1.645 * sd, rel=5e-3
    )
    t = _whole(est, "tonnes")
    assert t["p50"] == pytest.approx(15 * c["p50"], rel=1e-3)
    s = _whole(est, "shells_152mm")
    assert s["p50"] == pytest.approx(448 * c["p50"], rel=1e-3)
    inputs = json.loads(s["inputs"])
    assert inputs["voyage_ids"] == [f"rajin-dunai-{i}" for i in range(10)]
    assert {p["name"] for p in inputs["priors"]} == {
        "containers_per_voyage",
        "tonnes_per_container",
        "shells_per_container_152mm",
    }
    assert all(p["source"] for p in inputs["priors"]) and inputs["seed"] == 3 and inputs["n_draws"] == 200_000


def test_monthly_periods_and_determinism() -> None:
    v = voyages(10)  # 1 Sep + 6 days x 9 -> 1, 7, 13, 19, 25 Sep; 1, 7, 13, 19, 25 Oct
    a, _ = estimate(v, PRIORS, seed=1, n_draws=2000)
    b, _ = estimate(v, PRIORS, seed=1, n_draws=2000)
    c, _ = estimate(v, PRIORS, seed=2, n_draws=2000)
    assert a.equals(b) and not a.equals(c)
    months = {(r["period_start"], r["p50"]) for r in a.to_pylist() if r["unit"] == "voyages"}
    assert months == {(date(2023, 9, 1), 5), (date(2023, 10, 1), 5), (date(2023, 9, 1), 10)}


def test_draught_measured_voyages_use_the_displacement_method() -> None:
    v = voyages(3)
    # origin calls at Rajin: arrive 4.0 m, leave 6.5 m (loaded 3,874.5 t at C_B 0.7); the third has no draught
    calls = _full(
        pa.table(
            {
                "visit_id": ["a", "b", "c"],
                "mmsi": pa.array([273100001] * 3, pa.int64()),
                "place_id": ["case:rajin"] * 3,
                "arrival_ts": pa.array(
                    [d - timedelta(days=1) for d in v["departure_ts"].to_pylist()], schema.TS
                ),
                "departure_ts": v["departure_ts"],
                "draught_arrival_m": pa.array([4.0, 4.0, None], pa.float32()),
                "draught_departure_m": pa.array([6.5, 6.5, None], pa.float32()),
            }
        ),
        schema.VISITS,
    )
    part = pa.table({"mmsi": pa.array([273100001], pa.int64()), "length_m": [120.0], "beam_m": [18.0]})
    priors = {
        **PRIORS,
        "block_coefficient": {"low": 0.7, "high": 0.7, "unit": "1", "source": "test"},
        "containers_per_voyage": {"low": 200, "high": 200, "unit": "containers/voyage", "source": "test"},
    }
    est, draws = estimate(v, priors, visits=calls, particulars=part, n_draws=500)
    assert draws.basis == ["draught", "draught", "prior"]
    t = _whole(est, "tonnes")
    assert t["p50"] == pytest.approx(2 * 3874.5 + 200 * 15)  # two measured calls + one prior voyage
    c = _whole(est, "containers")
    assert c["p50"] == pytest.approx(2 * 3874.5 / 15 + 200)
    assert json.loads(t["inputs"])["basis"] == {"draught": 2}


def test_outbound_routes_drop_return_legs() -> None:
    routes = [
        Route("rajin-dunai", ("rajin",), ("dunai",)),
        Route("rajin-vostochny", ("rajin",), ("vostochny",)),
        Route("dunai-rajin", ("dunai",), ("rajin",)),
        Route("vostochny-rajin", ("vostochny",), ("rajin",)),
    ]
    assert outbound_routes(routes) == ["rajin-dunai", "rajin-vostochny"]


def test_routes_combined_and_observed_calls() -> None:
    v = pa.concat_tables([voyages(4), voyages(3, route="rajin-vostochny", start=T0 + timedelta(days=40))])
    obs = pa.table(
        {
            "obs_id": ["seen-with-voyage", "seen-without"],
            "date": pa.array([date(2023, 9, 7), date(2023, 9, 28)], pa.date32()),
            "place_id": ["rajin", "rajin"],
            "kind": ["imagery", "imagery"],
            "quantity": [1.0, 1.0],
            "unit": ["ships", "ships"],
        }
    )
    est, _ = estimate(v, PRIORS, observations=_full(obs, schema.OBSERVATIONS), n_draws=500)
    allr = _whole(est, "voyages", "all laden routes")
    assert allr["p50"] == 7
    withobs = [
        r
        for r in est.to_pylist()
        if r["route"] == "rajin-dunai" and r["method"].startswith("detected voyages +")
    ]
    sep = next(
        r for r in withobs if r["period_start"] == date(2023, 9, 1) and r["period_end"] == date(2023, 9, 30)
    )
    assert (sep["p05"], sep["p50"]) == (
        4,
        5,
    )  # 4 detected (1, 7, 13, 19 Sep) + the 28 Sep call without a voyage
    assert json.loads(sep["inputs"])["unmatched_observation_ids"] == ["seen-without"]
    # the Monte Carlo rows list the observations at the route's ports in their period
    mc = next(
        r
        for r in est.to_pylist()
        if r["route"] == "rajin-dunai" and r["unit"] == "containers" and r["period_end"] == date(2023, 9, 30)
    )
    assert json.loads(mc["inputs"])["observation_ids"] == ["seen-with-voyage", "seen-without"]


def _store(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "store")
    store.replace_table("voyages", {"all": voyages(20)})
    pos = _full(
        pa.table(
            {
                "mmsi": pa.array([273100001, 273100001], pa.int64()),
                "ts": pa.array([T0, T0 + timedelta(days=150)], schema.TS),
                "lat": [42.0, 42.0],
                "lon": [130.0, 130.0],
            }
        ),
        schema.POSITIONS,
    )
    write_parquet(pos, store.root / "positions" / "day=2023-09-01" / "part-t.parquet")
    claims = _full(
        pa.table(
            {
                "claim_id": ["c1", "c2"],
                "claimant": ["A", "A"],
                "published": pa.array([date(2024, 1, 1)] * 2, pa.date32()),
                "period_start": pa.array([date(2023, 9, 1)] * 2, pa.date32()),
                "period_end": pa.array([date(2023, 12, 31)] * 2, pa.date32()),
                "quantity": [20.0, 100.0],
                "unit": ["trips", "missiles"],
                "qualifier": ["about", "at_least"],
            }
        ),
        schema.CLAIMS,
    )
    store.replace_table("claims", {"all": claims})
    return store


def test_store_run_and_cli(tmp_path: Path) -> None:
    store = _store(tmp_path)
    res = run_estimate(store, n_draws=1000)
    assert store.read_table("estimates", schema.ESTIMATES).num_rows == res.estimates.num_rows > 0
    tests = store.read_table("claim_tests", schema.CLAIM_TESTS).to_pylist()
    # 20 voyages every 6 days from 1 Sep = 1 Sep .. 24 Dec: all 20 in the claim period; "about 20" is consistent
    assert [(t["claim_id"], t["verdict"], t["est_p50"]) for t in tests] == [
        ("c1", "consistent", 20.0),
        ("c2", "not_comparable", None),
    ]
    out = CliRunner().invoke(app, ["estimate", "--store", str(store.root), "--json", "--draws", "500"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {e["unit"] for e in doc["estimates"]} == {"voyages"}  # no priors without a case: counts only
    assert doc["claim_tests"][0]["verdict"] == "consistent"
    bad = CliRunner().invoke(app, ["estimate", "--store", str(store.root), "--period", "week"])
    assert bad.exit_code != 0
