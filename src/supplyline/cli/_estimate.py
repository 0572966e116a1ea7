"""`supplyline estimate`: shipments and volumes per route and period (Monte Carlo), and every claim tested."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, print_arrow, print_json
from supplyline.errors import UsageError


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    def estimate_cmd(
        store: StoreOpt = None,
        case: Annotated[
            Path | None,
            typer.Option("--case", help="Case folder: laden routes, priors, claims and observations."),
        ] = None,
        period: Annotated[
            str, typer.Option("--period", help="month (plus the whole span) or all.")
        ] = "month",
        draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws.")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the Monte Carlo generator.")] = 0,
        about: Annotated[
            float,
            typer.Option("--about", min=0, max=1, help="Tolerance of an 'about' claim (0.2 = -/+20 %)."),
        ] = 0.2,
        as_json: JsonOpt = False,
    ) -> None:
        """Estimate shipments, containers, tonnes and shells, test every claim, write both to the store."""
        from supplyline.estimate.claims import ClaimTestConfig
        from supplyline.estimate.run import run_estimate
        from supplyline.estimate.shipments import whole_span
        from supplyline.store import Store

        if period not in ("month", "all"):
            raise UsageError(f"--period must be month or all (got {period!r})")
        if not 100 <= draws <= 1_000_000:
            raise UsageError(f"--draws must be between 100 and 1,000,000 (got {draws})")
        if not 0 <= about < 1:
            raise UsageError(f"--about must be in [0, 1) (got {about})")
        loaded = None
        if case is not None:
            from supplyline.case import load_case

            loaded = load_case(case)
        res = run_estimate(
            Store.open(store),
            loaded,
            period=period,
            n_draws=draws,
            seed=seed,
            claims_cfg=ClaimTestConfig(about_tolerance=about),
        )
        if as_json:
            est = res.estimates.to_pylist()
            tests = res.claim_tests.to_pylist()
            for r in est:
                r["inputs"] = json.loads(r["inputs"])
            for r in tests:
                r["details"] = json.loads(r["details"])
            print_json({"routes": res.routes, "estimates": est, "claim_tests": tests})
            return
        whole = whole_span(res.estimates)
        print_arrow(
            whole.select(["route", "period_start", "period_end", "unit", "p05", "p50", "p95", "method"]),
            title=f"estimates {res.data_start}..{res.data_end} (5/50/95 %; monthly rows in the store)",
        )
        print_arrow(
            res.claim_tests.select(
                [
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
                ]
            ),
            title="claims tested (store table claim_tests)",
            limit=200,
        )
