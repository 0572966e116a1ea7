"""Claims set against the estimates: consistent, higher or lower and by how much; the conversion factor each
claim implies beside the priors; and the claims against each other on one timeline.

A claim becomes an interval by its qualifier (``at_least`` q -> [q, inf), ``up_to`` -> [0, q], ``about`` ->
q -/+ ``about_tolerance``, ``exactly`` -> [q, q], a range -> [low, high]) and is compared with the estimate's
5-95 % interval for the same period and unit, computed from the same Monte Carlo draws as the estimates:
overlapping intervals are *consistent*; a claim entirely above is *higher*, entirely below *lower*, and
``ratio`` = stated figure / median estimate says by how much. A claim whose period the data cover less than
``min_coverage`` of is *not_covered*; a unit with no estimate (missiles) is *not_testable*.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.estimate.priors import PriorRange, prior_ranges
from supplyline.estimate.shipments import VoyageDraws

# claim unit -> estimate unit
UNIT_MAP = {
    "trips": "voyages",
    "shipments": "voyages",
    "visits": "voyages",
    "voyages": "voyages",
    "containers": "containers",
    "teu": "containers",  # the case's containers are 20-ft (1 TEU)
    "tonnes": "tonnes",
    "shells": "shells",
    "shells_152mm": "shells_152mm",
    "shells_122mm": "rockets_122mm",  # ROK wording varies between 122 mm shells and MRL rockets
    "rockets_122mm": "rockets_122mm",
}
_PER_CONTAINER = ("shells", "shells_152mm", "rockets_122mm")


@dataclass(frozen=True)
class ClaimTestConfig:
    """Settings of the claim tests (documented in docs/estimates.md)."""

    about_tolerance: float = 0.2  # "about q" = q -/+ 20 %
    min_coverage: float = 0.5  # below this share of the claim period in the data: not_covered


def claim_interval(row: Mapping[str, Any], about: float = 0.2) -> tuple[float, float, float]:
    """(low, high, stated value) of a claim from quantity, quantity_low/high and qualifier."""
    q, lo, hi = row.get("quantity"), row.get("quantity_low"), row.get("quantity_high")
    if q is None and lo is not None and hi is not None:
        return (
            float(lo),
            float(hi),
            math.sqrt(float(lo) * float(hi)) if lo > 0 else (float(lo) + float(hi)) / 2,
        )
    if q is None:
        q = lo if lo is not None else hi
    if q is None:
        return math.nan, math.nan, math.nan
    q = float(q)
    qual = (row.get("qualifier") or "exactly").lower()
    if qual == "at_least":
        return q, math.inf, q
    if qual == "up_to":
        return 0.0, q, q
    if qual == "about":
        return q * (1 - about), q * (1 + about), q
    return float(lo if lo is not None else q), float(hi if hi is not None else q), q


def _pairs(claims: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each shells/tonnes claim, the same claimant's containers (or tonnes) claim published the same day."""
    out: dict[str, dict[str, Any]] = {}
    by_key: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for c in claims:
        by_key.setdefault((c["claimant"], c["published"]), []).append(c)
    for group in by_key.values():
        cont = [c for c in group if UNIT_MAP.get(c["unit"] or "") == "containers"]
        tonnes = [c for c in group if UNIT_MAP.get(c["unit"] or "") == "tonnes"]
        for c in group:
            eu = UNIT_MAP.get(c["unit"] or "")
            if eu in _PER_CONTAINER and cont:
                out[c["claim_id"]] = cont[0]
            elif eu == "shells" and tonnes:
                out[c["claim_id"]] = tonnes[0]
    return out


def _factor(
    c: dict[str, Any],
    eu: str,
    value: float,
    pair: dict[str, Any] | None,
    est: dict[str, float],
    pr: dict[str, PriorRange],
    draws: VoyageDraws,
) -> tuple[float | None, str | None, str | None, PriorRange | None]:
    """(implied factor, its unit, basis, the prior to compare it with)."""
    if pair is not None:
        pv = claim_interval(pair)[2]
        if UNIT_MAP.get(pair["unit"] or "") == "tonnes":
            prior = pr.get("kg_per_shell")
            return 1000 * pv / value, "kg/shell", f"claimant's own tonnes figure ({pair['claim_id']})", prior
        prior = draws.factor_priors.get(eu)
        return value / pv, f"{eu}/container", f"claimant's own containers figure ({pair['claim_id']})", prior
    if eu in _PER_CONTAINER and est.get("containers"):
        return (
            value / est["containers"],
            f"{eu}/container",
            "our median container estimate",
            draws.factor_priors.get(eu),
        )
    if eu == "containers" and est.get("voyages"):
        return (
            value / est["voyages"],
            "containers/voyage",
            "our detected voyage count",
            pr.get("containers_per_voyage"),
        )
    return None, None, None, None


@dataclass(frozen=True)
class _Context:
    """What every claim is tested against: the estimate's draws, the priors and the data span."""

    draws: VoyageDraws
    priors: dict[str, PriorRange]
    data_start: date
    data_end: date
    routes: list[str] | None
    cfg: ClaimTestConfig


def assess_claims(
    claims: pa.Table,
    draws: VoyageDraws,
    priors: Mapping[str, Any] | None,
    *,
    data_start: date,
    data_end: date,
    routes: list[str] | None = None,
    cfg: ClaimTestConfig | None = None,
) -> pa.Table:
    """Every claim tested (schema.CLAIM_TESTS), ordered on one timeline (period end, then published)."""
    ctx = _Context(draws, prior_ranges(priors), data_start, data_end, routes, cfg or ClaimTestConfig())
    rows_in = claims.to_pylist()
    pairs = _pairs(rows_in)
    out = [_test_claim(c, pairs.get(c["claim_id"]), ctx) for c in rows_in]
    _timeline(out)
    out.sort(key=lambda r: (r["period_end"], r["published"] or date.min, r["claim_id"]))
    return pa.Table.from_pylist(out, schema=schema.CLAIM_TESTS)


def _test_claim(c: dict[str, Any], pair: dict[str, Any] | None, ctx: _Context) -> dict[str, Any]:
    """One CLAIM_TESTS row: the claim's interval and period, then its test against the estimate."""
    eu = UNIT_MAP.get((c["unit"] or "").lower())
    p1 = c["period_end"] or c["published"] or ctx.data_end
    p0 = c["period_start"] or ctx.data_start
    lo, hi, value = claim_interval(c, ctx.cfg.about_tolerance)
    span = max((p1 - p0).days + 1, 1)
    overlap = max((min(p1, ctx.data_end) - max(p0, ctx.data_start)).days + 1, 0)
    rec: dict[str, Any] = {
        "claim_id": c["claim_id"],
        "claimant": c["claimant"],
        "published": c["published"],
        "period_start": p0,
        "period_end": p1,
        "unit": c["unit"],
        "estimate_unit": eu,
        "claim_low": lo,
        "claim_high": hi,
        "claim_value": value,
        "coverage": min(overlap / span, 1.0),
    }
    details: dict[str, Any] = {
        "qualifier": c["qualifier"],
        "n_draws": ctx.draws.n_draws,
        "seed": ctx.draws.seed,
        # the claim as a daily rate, so claims over different periods can be set side by side
        "per_day": value / span if not math.isnan(value) else None,
        "period_days": span,
    }
    if eu is None or eu not in ctx.draws.units or math.isnan(value):
        rec["verdict"] = "not_testable"
        rec["message"] = f"no estimate in {c['unit']!r} (estimates: {', '.join(ctx.draws.units)})"
    else:
        est = _against_estimate(rec, details, eu, ctx)
        _against_prior(rec, details, c, eu, pair, est, ctx)
    rec["details"] = json.dumps(details, default=str, sort_keys=True)
    return rec


def _against_estimate(
    rec: dict[str, Any], details: dict[str, Any], eu: str, ctx: _Context
) -> dict[str, float]:
    """Set the estimate's 5/50/95 % over the claim's period, the verdict and the message; return the median
    voyages and containers over that period (for the implied factor)."""
    draws, p0, p1 = ctx.draws, rec["period_start"], rec["period_end"]
    lo, hi, value, coverage = rec["claim_low"], rec["claim_high"], rec["claim_value"], rec["coverage"]
    mask = draws.mask(p0, p1, ctx.routes)
    p05, p50, p95 = (float(x) for x in np.percentile(draws.draws(mask, eu), [5, 50, 95]))
    est: dict[str, float] = {
        u: float(np.median(draws.draws(mask, u))) for u in ("voyages", "containers") if u in draws.units
    }
    rec.update(est_p05=p05, est_p50=p50, est_p95=p95, ratio=value / p50 if p50 > 0 else None)
    details["voyage_ids"] = [
        v for v, m in zip(draws.voyages["voyage_id"].to_pylist(), mask, strict=True) if m
    ]
    details["priors"] = draws.priors_for(eu)
    if coverage < ctx.cfg.min_coverage:
        verdict = "not_covered"
    elif lo > p95:
        verdict = "higher"
    elif hi < p05:
        verdict = "lower"
    else:
        verdict = "consistent"
    rec["verdict"] = verdict
    how = (
        ""
        if verdict in ("consistent", "not_covered")
        else f" ({value / p50:.2g}x the median)"
        if p50 > 0
        else ""
    )
    rec["message"] = (
        f"{verdict}{how}: claim {_fmt(lo, hi)} {rec['unit']} vs estimate {p05:,.0f} / {p50:,.0f} / {p95:,.0f} "
        f"(5/50/95 %) for {p0}..{p1}; data cover {coverage:.0%} of the period"
    )
    return est


def _against_prior(
    rec: dict[str, Any],
    details: dict[str, Any],
    c: dict[str, Any],
    eu: str,
    pair: dict[str, Any] | None,
    est: dict[str, float],
    ctx: _Context,
) -> None:
    """Set the factor the claim implies (e.g. shells per container) and whether the prior range holds it."""
    f, fu, basis, prior = _factor(c, eu, rec["claim_value"], pair, est, ctx.priors, ctx.draws)
    if f is None:
        return
    rec.update(implied_factor=f, implied_factor_unit=fu, implied_factor_basis=basis)
    if prior is not None:
        rec.update(prior_name=prior.name, prior_low=prior.low, prior_high=prior.high)
        rec["factor_verdict"] = "below" if f < prior.low else "above" if f > prior.high else "within"
        details["factor_prior_source"] = prior.source


def _fmt(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f">= {lo:,.0f}"
    if lo == 0:
        return f"<= {hi:,.0f}"
    return f"{lo:,.0f}" if lo == hi else f"{lo:,.0f}-{hi:,.0f}"


def _timeline(rows: list[dict[str, Any]], start_slack: timedelta = timedelta(days=62)) -> None:
    """Cumulative claims in one unit should not shrink: flag a later total below an earlier lower bound.

    Two claims are comparable when they start within ``start_slack`` of each other (both "since Aug/Sep 2023")
    and the later one ends later; the note names the earlier claim and both figures.
    """
    for r in rows:
        if r["estimate_unit"] is None:
            continue
        notes = []
        for e in rows:
            if e is r or e["estimate_unit"] != r["estimate_unit"] or e["unit"] != r["unit"]:
                continue
            comparable = abs((e["period_start"] - r["period_start"]).days) <= start_slack.days
            if comparable and e["period_end"] < r["period_end"] and r["claim_high"] < e["claim_low"]:
                notes.append(
                    f"below the earlier {e['claim_id']} ({_fmt(e['claim_low'], e['claim_high'])} by {e['period_end']})"
                )
        r["timeline_note"] = "; ".join(notes) or None
