"""Claims set against the estimates, like with like: consistent, higher or lower and by how much; the
conversion factor each claim implies beside the priors; and the claims against each other on one timeline.

A claim becomes an interval by its qualifier (``at_least`` q -> [q, inf), ``up_to`` -> [0, q], ``about`` ->
q -/+ ``about_tolerance``, ``exactly`` -> [q, q], a range -> [low, high]) and is compared with the estimate's
5-95 % interval over the voyages in the claim's scope (all routes, a route, a ship, a port) and window (the
period; a loading window plus ``loading_lag_days``; one consignment = one voyage's load), from the same Monte
Carlo draws as the estimates. Overlapping intervals are *consistent*; a claim entirely above is *higher*,
entirely below *lower*. An estimate that covers only part of the claim (the data cover less than
``full_coverage`` of its period, or the claim counts modes the estimate does not) only bounds it from below:
such a claim is *partly_covered* or *lower_bound* unless the estimate already exceeds it. A claim with no
comparable estimate (no date, a unit or mode not estimated, a ship never seen, under ``min_coverage`` of its
period in the data) is *not_comparable*, and its message says why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.estimate.joint import JointDraws, parts_summary
from supplyline.estimate.priors import PriorRange, prior_ranges
from supplyline.estimate.scope import MODES, ClaimScope, parse_scope, scope_mask
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
    min_coverage: float = 0.5  # below this share of the claim period in the data: not comparable
    full_coverage: float = 0.98  # below this share the estimate only bounds the claim: partly_covered
    loading_lag_days: int = 4  # "loaded on" counts departures up to this many days later (White House: loaded 7-8 Sep, at Dunay by 12 Sep)


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
    """What every claim is tested against: the estimate's draws, the priors, the data span, the ships seen
    (ship key -> MMSIs) and the modes the estimate counts."""

    draws: VoyageDraws
    priors: dict[str, PriorRange]
    data_start: date
    data_end: date
    routes: list[str] | None
    cfg: ClaimTestConfig
    ships: Mapping[str, Sequence[int]]
    modes: frozenset[str]
    joint: JointDraws | None = None


def assess_claims(
    claims: pa.Table,
    draws: VoyageDraws,
    priors: Mapping[str, Any] | None,
    *,
    data_start: date,
    data_end: date,
    routes: list[str] | None = None,
    cfg: ClaimTestConfig | None = None,
    ships: Mapping[str, Sequence[int]] | None = None,
    modes: frozenset[str] = frozenset({"sea"}),
    joint: JointDraws | None = None,
) -> pa.Table:
    """Every claim tested (schema.CLAIM_TESTS), ordered on one timeline (period end, then published).

    ``ships``: ship key (:func:`supplyline.estimate.scope.ship_key`) -> MMSIs, for claims scoped to a ship;
    ``modes``: the transport modes the estimate counts (a claim counting more gets a lower bound);
    ``joint``: the joint model (:mod:`supplyline.estimate.joint`): sea claims then count the voyages detection
    missed, and all-mode claims over all routes add its rail and trade parts (with its modes).
    """
    cfg = cfg or ClaimTestConfig()
    ctx = _Context(draws, prior_ranges(priors), data_start, data_end, routes, cfg, ships or {}, modes, joint)
    rows_in = claims.to_pylist()
    pairs = _pairs(rows_in)
    out = [_test_claim(c, pairs.get(c["claim_id"]), ctx) for c in rows_in]
    _timeline(out)
    out.sort(key=lambda r: (r["period_end"] or date.max, r["published"] or date.min, r["claim_id"]))
    return pa.Table.from_pylist(out, schema=schema.CLAIM_TESTS)


@dataclass(frozen=True)
class _Window:
    """The days whose departures a claim is compared with, and how much of them the data cover."""

    start: date | None
    end: date | None
    coverage: float
    note: str  # how the window was set, in words ("" when it is the claim's own period)


def _window(c: Mapping[str, Any], scope: ClaimScope, ctx: _Context) -> _Window:
    """The claim's period as departures: open starts begin with the data, loading windows run ``lag`` days
    past their end, a single consignment without a date is any voyage of its subject."""
    end = c.get("period_end") or c.get("published")
    start = c.get("period_start")
    if end is None:
        return _Window(None, None, 1.0 if scope.window == "single" else 0.0, "the claim states no date")
    note = ""
    if scope.window == "loading":
        start = start or end
        end = end + timedelta(days=ctx.cfg.loading_lag_days)
        note = f"loaded {start}..{c.get('period_end') or end}, so departures up to {ctx.cfg.loading_lag_days} days later"
    elif start is None:
        start = ctx.data_start
        note = "the claim states no start, so from the start of the data"
    span = max((end - start).days + 1, 1)
    overlap = max((min(end, ctx.data_end) - max(start, ctx.data_start)).days + 1, 0)
    return _Window(start, end, min(overlap / span, 1.0), note)


def _test_claim(c: dict[str, Any], pair: dict[str, Any] | None, ctx: _Context) -> dict[str, Any]:
    """One CLAIM_TESTS row: the claim's interval, scope and window, then its test against the estimate."""
    eu = UNIT_MAP.get((c["unit"] or "").lower())
    scope, problem = parse_scope(c)
    scope = scope or ClaimScope()
    win = _window(c, scope, ctx)
    lo, hi, value = claim_interval(c, ctx.cfg.about_tolerance)
    rec: dict[str, Any] = {
        "claim_id": c["claim_id"],
        "claimant": c["claimant"],
        "published": c["published"],
        "period_start": win.start,
        "period_end": win.end,
        "unit": c["unit"],
        "estimate_unit": eu,
        "claim_low": lo,
        "claim_high": hi,
        "claim_value": value,
        "coverage": win.coverage,
    }
    span = (win.end - win.start).days + 1 if win.start and win.end else None
    details: dict[str, Any] = {
        "qualifier": c["qualifier"],
        "n_draws": ctx.draws.n_draws,
        "seed": ctx.draws.seed,
        "scope": scope.label(),
        "mode": scope.mode,
        "window": scope.window,
        "window_note": win.note,
        # the claim as a daily rate, so claims over different periods can be set side by side
        "per_day": value / span if span and not math.isnan(value) else None,
        "period_days": span,
    }
    mask, why = _comparable(eu, value, scope, problem, win, ctx)
    if mask is None or eu is None:
        rec["verdict"] = "not_comparable"
        rec["message"] = f"not comparable: {why}."
    else:
        est = _against_estimate(rec, details, eu, mask, scope, win, ctx)
        _against_prior(rec, details, c, eu, pair, est, ctx)
    rec["details"] = json.dumps(details, default=str, sort_keys=True)
    return rec


def _comparable(
    eu: str | None, value: float, scope: ClaimScope, problem: str | None, win: _Window, ctx: _Context
) -> tuple[np.ndarray | None, str]:
    """(mask of the voyages the claim is compared with, "") or (None, why nothing is comparable)."""
    draws = ctx.draws
    if problem is not None:
        return None, problem
    if math.isnan(value):
        return None, "the claim states no quantity"
    if eu is None or eu not in draws.units:
        return None, f"no estimate in {eu or 'this unit'} (estimates: {', '.join(draws.units)})"
    if scope.mode != "all" and scope.mode not in ctx.modes:
        return (
            None,
            f"the claim counts {scope.mode} only and the estimate counts {', '.join(sorted(ctx.modes))}",
        )
    if scope.window == "single" and eu == "voyages":
        return None, "a single consignment is one voyage by definition"
    if win.end is None and scope.window != "single":
        return None, "the claim states no date or period, so no set of voyages matches it"
    if win.coverage < ctx.cfg.min_coverage:
        return None, f"the data cover only {win.coverage:.0%} of the claim's period {win.start}..{win.end}"
    mask, why = scope_mask(scope, draws.voyages, ctx.ships)
    if mask is None:
        return None, why or "no voyage in scope"
    if win.start is not None and win.end is not None:
        mask = mask & draws.mask(win.start, win.end, ctx.routes)
    if scope.window == "single" and not mask.any():
        return None, f"no detected voyage of {scope.label()} to compare one consignment with"
    return mask, ""


def _single_draws(draws: VoyageDraws, mask: np.ndarray, eu: str) -> np.ndarray:
    """Draws of one voyage's load, pooled over the voyages in ``mask`` (a consignment is one voyage's)."""
    if draws.containers is None or draws.tonnes is None:
        raise KeyError(eu)
    if eu == "tonnes":
        return draws.tonnes[:, mask].ravel()
    per = draws.containers[:, mask]
    return (per if eu == "containers" else per * draws.factors[eu][:, None]).ravel()


def _verdict(
    lo: float,
    hi: float,
    p05: float,
    p95: float,
    scope: ClaimScope,
    coverage: float,
    modes: frozenset[str],
    cfg: ClaimTestConfig,
) -> str:
    """Only what the comparison can decide: an estimate over part of the period or of the modes only grows
    with the rest, so it can show a claim too low but never too high."""
    if scope.window == "single":
        return "higher" if lo > p95 else "consistent"
    if hi < p05:
        return "lower"
    if scope.mode == "all" and modes != frozenset(MODES) - {"all"}:
        return "lower_bound"
    if coverage < cfg.full_coverage:
        return "partly_covered"
    return "higher" if lo > p95 else "consistent"


def _against_estimate(
    rec: dict[str, Any],
    details: dict[str, Any],
    eu: str,
    mask: np.ndarray,
    scope: ClaimScope,
    win: _Window,
    ctx: _Context,
) -> dict[str, float]:
    """Set the estimate's 5/50/95 % over the claim's scope and window, the verdict and its one-sentence
    explanation; return the median voyages and containers in scope (for the implied factor)."""
    draws = ctx.draws
    d, modes = _estimate_draws(mask, eu, scope, win, ctx, details)
    p05, p50, p95 = (float(x) for x in np.percentile(d, [5, 50, 95]))
    est: dict[str, float] = {
        u: float(np.median(draws.draws(mask, u))) for u in ("voyages", "containers") if u in draws.units
    }
    lo, hi, value = rec["claim_low"], rec["claim_high"], rec["claim_value"]
    rec.update(est_p05=p05, est_p50=p50, est_p95=p95, ratio=value / p50 if p50 > 0 else None)
    details["voyage_ids"] = [
        v for v, m in zip(draws.voyages["voyage_id"].to_pylist(), mask, strict=True) if m
    ]
    details["priors"] = draws.priors_for(eu)
    verdict = _verdict(lo, hi, p05, p95, scope, win.coverage, modes, ctx.cfg)
    rec["verdict"] = verdict
    rec["message"] = _sentence(rec, verdict, scope, win, int(mask.sum()), modes, details.get("parts"))
    return est


def _estimate_draws(
    mask: np.ndarray, eu: str, scope: ClaimScope, win: _Window, ctx: _Context, details: dict[str, Any]
) -> tuple[np.ndarray, frozenset[str]]:
    """(draws the claim is compared with, the modes they count): one voyage's load for a consignment; with
    the joint model, detected + missed voyages, plus rail and trade for an all-mode claim over all routes."""
    if scope.window == "single":
        return _single_draws(ctx.draws, mask, eu), frozenset({"sea"})
    if ctx.joint is None:
        return ctx.draws.draws(mask, eu), ctx.modes
    other = scope.mode == "all" and scope.kind == "all" and eu != "voyages"  # rail and trade carry no voyages
    parts = ctx.joint.parts(mask, win.start, win.end, eu, other_modes=other)
    details["parts"] = {k: float(np.median(v)) for k, v in parts.items()}
    modes = ctx.joint.modes if other else frozenset({"sea"})
    return np.sum(list(parts.values()), axis=0), modes


def _sentence(
    rec: dict[str, Any],
    verdict: str,
    scope: ClaimScope,
    win: _Window,
    n_voyages: int,
    modes: frozenset[str],
    parts: Mapping[str, float] | None,
) -> str:
    """The verdict in one sentence a reader can check: the claim, what it was compared with, the outcome."""
    claim = f"{_fmt(rec['claim_low'], rec['claim_high'])} {rec['unit']}"
    kind = "+".join(sorted(modes))
    est = f"{kind} estimate {rec['est_p05']:,.0f}-{rec['est_p95']:,.0f} (median {rec['est_p50']:,.0f})"
    days = f"departing {win.start}..{win.end}" if win.start else "with no date limit"
    what = f"{n_voyages} detected voyage(s) of {scope.label()} {days}"
    if win.note:
        what += f" ({win.note})"
    tail = _tail(rec, verdict, scope, win, claim, est, what)
    cover = (
        ""
        if verdict == "partly_covered" or win.coverage >= 1
        else f"; data cover {win.coverage:.0%} of the period"
    )
    if parts:
        cover += "; medians of the parts: " + parts_summary(parts)
    ratio = rec.get("ratio")
    how = f" ({ratio:.2g}x the median)" if verdict in ("higher", "lower") and ratio else ""
    return f"{verdict.replace('_', ' ')}{how}: {tail}{cover}."


def _tail(
    rec: dict[str, Any], verdict: str, scope: ClaimScope, win: _Window, claim: str, est: str, what: str
) -> str:
    """The body of :func:`_sentence` for one verdict."""
    share = rec["est_p50"] / rec["claim_value"] if rec["claim_value"] else math.nan
    if scope.window == "single":
        load = f"the claim {claim} is one consignment, compared with one voyage's load ({est}) from {what}"
        if verdict == "higher":
            return load + "; it is above it"
        return load + f", {rec['claim_value'] / rec['est_p50']:.0%} of the median load"
    return {
        "consistent": f"the claim {claim} overlaps the {est} from {what}",
        "higher": f"the claim {claim} is above the {est} from {what}",
        "lower": f"the claim {claim} is below the {est} from {what}, which can only grow with more data",
        "lower_bound": f"the claim {claim} counts every mode; the {est} from {what} is a lower bound of it, "
        f"{share:.0%} of the stated figure",
        "partly_covered": f"the data cover {win.coverage:.0%} of the claim's period; the {est} from {what} is "
        f"{share:.0%} of the claim {claim}, so the rest may lie outside the data",
    }[verdict]


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
        if r["estimate_unit"] is None or r["period_start"] is None:
            continue
        notes = []
        for e in rows:
            if e is r or e["estimate_unit"] != r["estimate_unit"] or e["unit"] != r["unit"]:
                continue
            if e["period_start"] is None:
                continue
            comparable = abs((e["period_start"] - r["period_start"]).days) <= start_slack.days
            if comparable and e["period_end"] < r["period_end"] and r["claim_high"] < e["claim_low"]:
                notes.append(
                    f"below the earlier {e['claim_id']} ({_fmt(e['claim_low'], e['claim_high'])} by {e['period_end']})"
                )
        r["timeline_note"] = "; ".join(notes) or None
