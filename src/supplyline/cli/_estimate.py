"""`supplyline estimate`: shipments and volumes per route and period (Monte Carlo), and every claim tested."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, load_case_option, print_arrow, print_json
from supplyline.errors import UsageError
from supplyline.store import Store

if TYPE_CHECKING:
    from supplyline.estimate.run import EstimateResult


CaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--case", help="Case folder or bundled case name: laden routes, priors, claims and observations."
    ),
]
PeriodOpt = Annotated[str, typer.Option("--period", help="month (plus the whole span) or all.")]
DrawsOpt = Annotated[int, typer.Option("--draws", help="Monte Carlo draws.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Seed of the Monte Carlo generator.")]
DepotKmOpt = Annotated[
    float, typer.Option("--depot-km", help="A destination within this many km of a case depot is 'near' it.")
]
AboutOpt = Annotated[float, typer.Option("--about", help="Tolerance of an 'about' claim (0.2 = -/+20 %).")]
_CLAIM_VIEW = [
    "claim_id",
    "period_end",
    "unit",
    "claim_value",
    "est_p50",
    "verdict",
    "ratio",
    "implied_factor",
    "implied_factor_unit",
    "factor_verdict",
    "message",
]


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_cmd)


def estimate_cmd(
    store: StoreOpt = None,
    case: CaseOpt = None,
    period: PeriodOpt = "month",
    draws: DrawsOpt = 10_000,
    seed: SeedOpt = 0,
    about: AboutOpt = 0.2,
    depot_km: DepotKmOpt = 20.0,
    as_json: JsonOpt = False,
) -> None:
    """Estimate shipments, containers, tonnes and shells, test every claim, write both to the store.

    Example: supplyline estimate --store supplyline-demo/store --case dprk-russia
    """
    # deferred: supplyline.estimate costs ~8 ms of start-up and only this command needs it
    from supplyline.estimate.claims import ClaimTestConfig
    from supplyline.estimate.run import run_estimate

    if period not in ("month", "all"):
        raise UsageError(f"--period must be month or all (got {period!r})")
    if not 100 <= draws <= 1_000_000:
        raise UsageError(f"--draws must be between 100 and 1,000,000 (got {draws})")
    if not 0 <= about < 1:
        raise UsageError(f"--about must be in [0, 1) (got {about})")
    if not depot_km > 0:
        raise UsageError(f"--depot-km must be > 0 (got {depot_km})")
    res = run_estimate(
        Store.open(store),
        load_case_option(case),
        period=period,
        n_draws=draws,
        seed=seed,
        claims_cfg=ClaimTestConfig(about_tolerance=about),
        depot_km=depot_km,
    )
    if as_json:
        _print_json(res)
    else:
        _print_tables(res)


def _print_json(res: EstimateResult) -> None:
    est = res.estimates.to_pylist()
    tests = res.claim_tests.to_pylist()
    for r in est:
        r["inputs"] = json.loads(r["inputs"])
    for r in tests:
        r["details"] = json.loads(r["details"])
    depots = None
    if res.depots is not None:
        depots = {
            "figure": res.depots.sentence(),
            "near": res.depots.near,
            "sites": res.depots.total,
            "km": res.depots.km,
            "site_rows": res.depots.sites.to_pylist(),
            "depot_sources": res.depots.depot_sources,
            "not_geocoded": res.depots.not_geocoded,
        }
    print_json({"routes": res.routes, "estimates": est, "claim_tests": tests, "destinations": depots})


def _print_tables(res: EstimateResult) -> None:
    from supplyline.estimate.shipments import whole_span  # deferred, as above

    whole = whole_span(res.estimates)
    print_arrow(
        whole.select(["route", "period_start", "period_end", "unit", "p05", "p50", "p95", "method"]),
        title=f"estimates {res.data_start}..{res.data_end} (5/50/95 %; monthly rows in the store)",
    )
    print_arrow(
        res.claim_tests.select(_CLAIM_VIEW), title="claims tested (store table claim_tests)", limit=200
    )
    if res.depots is not None and res.depots.total:
        print_arrow(
            res.depots.sites.select(["site", "nearest_depot", "depot_km", "near_depot", "obs_ids"]),
            title=f"destinations: {res.depots.sentence()}",
        )
