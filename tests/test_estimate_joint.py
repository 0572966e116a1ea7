"""Joint volume model: sea (detected + missed by recall, imaged calls on the right route only), rail-car
counts, trade records, one Monte Carlo with each part's contribution; known answers with point priors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from supplyline import schema
from supplyline.estimate import assess_claims, estimate
from supplyline.estimate.joint import JOINT_ROUTE, joint_draws, joint_rows
from supplyline.estimate.shipments import assign_imaged_calls
from tests.test_estimate import _full, voyages
from tests.test_estimate_claims import PRIORS, claims

POINT = PRIORS | {
    "voyage_recall": {"low": 1.0, "high": 1.0, "unit": "1", "source": "t"},
    "rail_cargo_share": {"low": 0.5, "high": 0.5, "unit": "1", "source": "t"},
    "containers_per_railcar": {"low": 2, "high": 2, "unit": "containers/railcar", "source": "t"},
}
KINDS = {"rajin": "port", "dunai": "port", "vostochny": "port", "tumangang": "rail", "khasan": "rail"}
KINDS |= {"tikhoretsk": "depot", "nampo": "port"}


def _obs(rows: list[dict]) -> pa.Table:
    cols = {k: [r.get(k) for r in rows] for k in ("obs_id", "date", "place_id", "kind", "quantity", "unit")}
    t = pa.table({k: pa.array(v, schema.OBSERVATIONS.field(k).type) for k, v in cols.items()})
    return _full(t, schema.OBSERVATIONS)


OBS = _obs(
    [
        # one crossing imaged from both ends on one day: counted once (the larger), 100 cars
        {
            "obs_id": "t1",
            "date": date(2023, 10, 5),
            "place_id": "case:tumangang",
            "kind": "rail",
            "quantity": 100,
            "unit": "railcars",
        },
        {
            "obs_id": "k1",
            "date": date(2023, 10, 5),
            "place_id": "case:khasan",
            "kind": "rail",
            "quantity": 60,
            "unit": "railcars",
        },
        # a depot is where sea cargo ends up: not added
        {
            "obs_id": "d1",
            "date": date(2023, 11, 1),
            "place_id": "case:tikhoretsk",
            "kind": "rail",
            "quantity": 50,
            "unit": "railcars",
        },
        # trade: 1,200 t at a port of no laden route is added; at Rajin it is a cross-check only
        {
            "obs_id": "tr1",
            "date": date(2023, 12, 1),
            "place_id": "case:nampo",
            "kind": "trade",
            "quantity": 1200,
            "unit": "tonnes",
        },
        {
            "obs_id": "tr2",
            "date": date(2023, 12, 1),
            "place_id": "case:rajin",
            "kind": "trade",
            "quantity": 9999,
            "unit": "tonnes",
        },
    ]
)


def _joint(priors=POINT, obs=OBS, imaged=()):
    _, d = estimate(voyages(20), priors, n_draws=2000, seed=0)  # 20 x 250 containers, 12 t each
    return joint_draws(
        d, priors, observations=obs, place_kinds=KINDS, route_ports={"rajin", "dunai"}, imaged=imaged
    )


def test_parts_with_point_priors_add_up() -> None:
    j = _joint()
    assert j.modes == frozenset({"sea", "rail"})
    mask = np.ones(20, dtype=bool)
    parts = j.parts(mask, date(2023, 9, 1), date(2024, 2, 29), "containers")
    med = {k: float(np.median(v)) for k, v in parts.items()}
    # sea 5,000; recall 1 misses none; rail 100 cars x 0.5 x 2 = 100; trade 1,200 t / 12 = 100
    assert med == {"sea_detected": 5000, "sea_missed": 0, "rail": 100, "trade": 100}
    rows = [r for r in joint_rows(j, date(2023, 9, 1), date(2024, 2, 29)) if r["unit"] == "containers"]
    total = next(r for r in rows if r["route"] == JOINT_ROUTE)
    assert total["p50"] == 5200
    inputs = json.loads(total["inputs"])
    assert inputs["parts"]["rail"]["share_of_median"] == pytest.approx(100 / 5200)
    assert inputs["rail_observations"] == ["k1", "t1"] and inputs["trade_cross_checks"] == ["tr2"]
    assert {r["route"] for r in rows} >= {"joint part: sea_detected", "joint part: rail"}


def test_recall_gives_voyage_counts_an_uncertainty() -> None:
    # recall 0.9 on 20 detected: missed ~ NB(20, 0.9), mean 20 x 0.1 / 0.9 = 2.2
    j = _joint(POINT | {"voyage_recall": {"low": 0.9, "high": 0.9, "unit": "1", "source": "t"}})
    missed = j.parts(np.ones(20, dtype=bool), None, None, "voyages")["sea_missed"]
    assert missed.mean() == pytest.approx(20 * 0.1 / 0.9, rel=0.1)
    assert np.percentile(missed, 5) == 0 and np.percentile(missed, 95) >= 4


def test_imaged_calls_count_on_their_own_route_only() -> None:
    # rajin-dunai runs in Sep-Dec 2023, rajin-vostochny from Jan 2024; an unmatched Rajin call on 9 Feb 2024 is
    # a Vostochny run, not a rajin-dunai voyage (the 23 -> 29 double count of issue 20)
    dunai = voyages(10, start=datetime(2023, 9, 1, 6, tzinfo=UTC), every_days=10)
    vost = voyages(5, route="rajin-vostochny", start=datetime(2024, 1, 5, 6, tzinfo=UTC), every_days=10)
    v = pa.concat_tables([dunai, vost])
    calls = [
        {"obs_id": "feb", "date": date(2024, 2, 9), "place_id": "case:rajin", "unit": "ships"},
        {"obs_id": "matched", "date": date(2023, 9, 11), "place_id": "case:rajin", "unit": "ships"},
        {"obs_id": "oct", "date": date(2023, 10, 26), "place_id": "case:rajin", "unit": "ships"},
    ]
    assigned = [(o["obs_id"], r) for o, r in assign_imaged_calls(calls, v)]
    assert assigned == [("feb", "rajin-vostochny"), ("oct", "rajin-dunai")]
    est, _ = estimate(v, PRIORS, observations=_obs([c | {"kind": "imagery", "quantity": 1} for c in calls]))
    imaged = est.filter(
        pc.equal(est["method"], "detected voyages + imaged calls at the origin without a detected voyage")
    )
    whole = {
        r["route"]: r for r in imaged.to_pylist() if r["period_end"] - r["period_start"] > timedelta(days=60)
    }
    assert (whole["rajin-dunai"]["p05"], whole["rajin-dunai"]["p50"]) == (10, 11)
    assert (whole["rajin-vostochny"]["p05"], whole["rajin-vostochny"]["p50"]) == (5, 6)


def test_all_mode_claim_uses_sea_and_rail_parts() -> None:
    j = _joint()
    row = {
        "claim_id": "state",
        "claimant": "S",
        "quantity": 10000,
        "qualifier": "at_least",
        "unit": "containers",
    }
    row |= {"period_start": date(2023, 9, 1), "period_end": date(2024, 2, 23), "mode": "all"}
    t = assess_claims(
        claims([row]), j.sea, POINT, data_start=date(2023, 9, 1), data_end=date(2024, 2, 29), joint=j
    )
    r = t.to_pylist()[0]
    assert (r["verdict"], r["est_p50"]) == ("lower_bound", 5200)
    assert "rail+sea estimate" in r["message"]
    assert "sea_detected 5,000 + rail 100 + trade 100" in r["message"]
    # a sea claim is compared with sea only: detected + missed
    sea = assess_claims(
        claims([row | {"mode": "sea"}]),
        j.sea,
        POINT,
        data_start=date(2023, 9, 1),
        data_end=date(2024, 2, 29),
        joint=j,
    )
    assert sea.to_pylist()[0]["est_p50"] == 5000
