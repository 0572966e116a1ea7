"""Claim tests: intervals by qualifier, verdicts with known answers, implied factors, the timeline, and
every claim of the bundled case given a verdict."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.estimate import assess_claims, claim_interval, estimate
from tests.test_estimate import _full, voyages

# Fixed priors so every estimate is exact: 20 voyages x 250 containers, 448 shells_152mm a container,
# 12 t a container.
PRIORS = {
    "containers_per_voyage": {"low": 250, "high": 250, "unit": "containers/voyage", "source": "t"},
    "tonnes_per_container": {"low": 12, "high": 12, "unit": "tonnes/container", "source": "t"},
    "shells_per_container_152mm": {
        "low": 250,
        "high": 480,
        "unit": "shells_152mm/container",
        "source": "ROK",
    },
    "rounds_per_container_mixed": {"low": 266, "high": 367, "unit": "shells/container", "source": "OSC"},
    "kg_per_shell": {"low": 21, "high": 65, "unit": "kg/shell", "source": "C4ADS"},
}
START, END = date(2023, 9, 1), date(2024, 2, 29)


def claims(rows: list[dict]) -> pa.Table:
    cols = {
        k: [r.get(k) for r in rows]
        for k in (
            "claim_id",
            "claimant",
            "published",
            "period_start",
            "period_end",
            "quantity",
            "quantity_low",
            "quantity_high",
            "unit",
            "qualifier",
            "scope",
            "mode",
            "window",
        )
    }
    t = pa.table({k: pa.array(v, schema.CLAIMS.field(k).type) for k, v in cols.items()})
    return _full(t, schema.CLAIMS)


def _draws():
    _, d = estimate(voyages(20), PRIORS, n_draws=4000, seed=0)  # 1 Sep .. 24 Dec 2023, every 6 days
    return d


def test_claim_intervals() -> None:
    assert claim_interval({"quantity": 10, "qualifier": "at_least"}) == (10, math.inf, 10)
    assert claim_interval({"quantity": 10, "qualifier": "up_to"}) == (0, 10, 10)
    assert claim_interval({"quantity": 10, "qualifier": "about"}) == (8, 12, 10)
    assert claim_interval({"quantity": 10, "qualifier": "exactly"}) == (10, 10, 10)
    lo, hi, mid = claim_interval({"quantity_low": 4.2e6, "quantity_high": 5.8e6, "qualifier": "range"})
    assert (lo, hi) == (4.2e6, 5.8e6) and mid == pytest.approx(math.sqrt(4.2e6 * 5.8e6))


def test_verdicts_and_by_how_much() -> None:
    day = {"published": date(2024, 1, 1), "period_start": START, "period_end": date(2023, 12, 31)}
    t = assess_claims(
        claims(
            [
                {
                    "claim_id": "trips-ok",
                    "claimant": "A",
                    "quantity": 18,
                    "unit": "trips",
                    "qualifier": "at_least",
                    **day,
                },
                {
                    "claim_id": "cont-high",
                    "claimant": "B",
                    "quantity": 10000,
                    "unit": "containers",
                    "qualifier": "at_least",
                    **day,
                },
                {
                    "claim_id": "cont-low",
                    "claimant": "C",
                    "quantity": 2500,
                    "unit": "containers",
                    "qualifier": "about",
                    **day,
                },
                {
                    "claim_id": "missiles",
                    "claimant": "D",
                    "quantity": 100,
                    "unit": "missiles",
                    "qualifier": "at_least",
                    **day,
                },
                {
                    "claim_id": "later",
                    "claimant": "E",
                    "quantity": 40,
                    "unit": "trips",
                    "qualifier": "exactly",
                    "published": date(2025, 4, 1),
                    "period_start": START,
                    "period_end": date(2025, 3, 31),
                },
            ]
        ),
        _draws(),
        PRIORS,
        data_start=START,
        data_end=END,
    )
    by = {r["claim_id"]: r for r in t.to_pylist()}
    assert by["trips-ok"]["verdict"] == "consistent" and by["trips-ok"]["est_p50"] == 20
    # 20 voyages x 250 = 5,000 containers: ">= 10,000" is higher, 2x; "about 2,500" (2,000-3,000) is lower, 0.5x
    assert (by["cont-high"]["verdict"], by["cont-high"]["est_p50"], by["cont-high"]["ratio"]) == (
        "higher",
        5000,
        2.0,
    )
    assert (by["cont-low"]["verdict"], by["cont-low"]["ratio"]) == ("lower", 0.5)
    assert "2x the median" in by["cont-high"]["message"]
    # containers per voyage implied: 10,000 / 20 = 500, above the 250..250 prior
    assert (by["cont-high"]["implied_factor"], by["cont-high"]["factor_verdict"]) == (500, "above")
    assert by["missiles"]["verdict"] == "not_comparable"
    assert by["missiles"]["message"].startswith("not comparable: no estimate in this unit")
    # 10,000 containers over 1 Sep .. 31 Dec 2023 (122 days) = 82 a day, for the timeline
    assert json.loads(by["cont-high"]["details"])["per_day"] == pytest.approx(10000 / 122)
    # the data (Sep 2023 - Feb 2024) cover 182 of the 578 days of the 2025 claim
    assert by["later"]["verdict"] == "not_comparable" and by["later"]["coverage"] == pytest.approx(182 / 578)
    assert "the data cover only 31% of the claim's period" in by["later"]["message"]


def test_implied_factors_from_the_claimants_own_figures() -> None:
    shin = {
        "claimant": "ROK MND (Shin)",
        "published": date(2024, 2, 26),
        "period_start": START,
        "period_end": date(2024, 2, 26),
    }
    c4 = {
        "claimant": "C4ADS",
        "published": date(2024, 6, 22),
        "period_start": date(2023, 8, 1),
        "period_end": date(2024, 1, 31),
    }
    t = assess_claims(
        claims(
            [
                {
                    "claim_id": "shin-cont",
                    "quantity": 6700,
                    "unit": "containers",
                    "qualifier": "about",
                    **shin,
                },
                {
                    "claim_id": "shin-152",
                    "quantity": 3_000_000,
                    "unit": "shells_152mm",
                    "qualifier": "up_to",
                    **shin,
                },
                {"claim_id": "c4-t", "quantity": 74000, "unit": "tonnes", "qualifier": "at_least", **c4},
                {
                    "claim_id": "c4-shells",
                    "quantity": 1_600_000,
                    "unit": "shells",
                    "qualifier": "about",
                    **c4,
                },
            ]
        ),
        _draws(),
        PRIORS,
        data_start=START,
        data_end=END,
    )
    by = {r["claim_id"]: r for r in t.to_pylist()}
    s = by["shin-152"]
    # 3 million / 6,700 containers = 447.8 shells a container: inside the 250-480 prior
    assert (
        s["implied_factor"] == pytest.approx(447.76, abs=0.01)
        and s["implied_factor_unit"] == "shells_152mm/container"
    )
    assert (s["prior_name"], s["prior_low"], s["prior_high"], s["factor_verdict"]) == (
        "shells_per_container_152mm",
        250,
        480,
        "within",
    )
    assert "shin-cont" in s["implied_factor_basis"]
    k = by["c4-shells"]
    # 74,000 t / 1.6 M shells = 46.25 kg a shell-equivalent, inside 21-65 kg
    assert (k["implied_factor"], k["implied_factor_unit"], k["factor_verdict"]) == (
        46.25,
        "kg/shell",
        "within",
    )
    # without a pair, a containers claim implies containers per voyage from our voyage count (20)
    assert by["shin-cont"]["implied_factor"] == pytest.approx(6700 / 20)


def test_timeline_flags_a_total_that_shrinks() -> None:
    base = {"claimant": "X", "period_start": START, "unit": "containers", "qualifier": "at_least"}
    t = assess_claims(
        claims(
            [
                {
                    "claim_id": "state-feb",
                    "quantity": 10000,
                    "published": date(2024, 2, 23),
                    "period_end": date(2024, 2, 23),
                    **base,
                },
                {
                    "claim_id": "shin-feb",
                    "quantity": 6700,
                    "published": date(2024, 2, 26),
                    "period_end": date(2024, 2, 26),
                    **{**base, "qualifier": "about"},
                },
            ]
        ),
        _draws(),
        PRIORS,
        data_start=START,
        data_end=END,
    )
    assert t["claim_id"].to_pylist() == ["state-feb", "shin-feb"]  # one timeline, by period end
    assert t["timeline_note"].to_pylist() == [None, "below the earlier state-feb (>= 10,000 by 2024-02-23)"]


def test_every_bundled_claim_gets_a_verdict() -> None:
    from supplyline.case import bundled_case_path, load_case

    case = load_case(bundled_case_path("dprk-russia"))
    _, d = estimate(voyages(30, start=datetime(2023, 8, 15, tzinfo=UTC)), case.priors, n_draws=2000)
    t = assess_claims(case.claims, d, case.priors, data_start=date(2023, 8, 1), data_end=date(2024, 3, 31))
    assert t.num_rows == case.claims.num_rows
    verdicts = t["verdict"].to_pylist()
    assert set(verdicts) <= {
        "consistent",
        "higher",
        "lower",
        "lower_bound",
        "partly_covered",
        "not_comparable",
    }
    assert None not in verdicts
    # the ROK 26 Feb 2024 pair implies ~448 shells a container, as the facts file computes
    shin = next(r for r in t.to_pylist() if r["claim_id"] == "shin-2024-02-26-152mm")
    assert shin["implied_factor"] == pytest.approx(3_000_000 / 6700)
