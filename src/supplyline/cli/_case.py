"""`supplyline case validate DIR` and `supplyline case show DIR`: check and summarise a case folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from supplyline.cli._common import JsonOpt, console, print_arrow, print_json
from supplyline.errors import CaseError

CaseArg = Annotated[
    str, typer.Argument(help="Case folder (or its case.toml), or a bundled case name such as dprk-russia.")
]


def register(app: typer.Typer) -> None:
    case_app = typer.Typer(
        help="Case folders: places, routes, watchlist, thresholds, priors, evidence.\n\n"
        "Example: supplyline case show dprk-russia"
    )
    app.add_typer(case_app, name="case", no_args_is_help=True)
    case_app.command("validate")(validate_cmd)
    case_app.command("show")(show_cmd)


def validate_cmd(path: CaseArg, as_json: JsonOpt = False) -> None:
    """Check a case folder and report every problem with file, line and what to fix (exit code 5).

    Example: supplyline case validate my-case/
    """
    # deferred (both commands): the case loader costs ~30 ms of start-up
    from supplyline.case import resolve_case
    from supplyline.simulate.scenario import validate_case_folder

    root = resolve_case(path)
    problems = validate_case_folder(root)
    if as_json:
        print_json(
            {
                "case": str(root),
                "ok": not problems,
                "problems": [{"file": f, "line": line, "message": m} for f, line, m in problems],
            }
        )
        if problems:
            raise typer.Exit(CaseError.exit_code)
        return
    if problems:
        raise CaseError(f"case {root} has {len(problems)} problem(s)", problems)
    console.print(f"ok: {root} is a valid case")


def show_cmd(path: CaseArg, as_json: JsonOpt = False) -> None:
    """Summarise a case: places, routes, watched vessels, thresholds, priors and evidence counts.

    Example: supplyline case show nyharbor --json
    """
    from supplyline.case import case_summary, load_case, resolve_case

    case = load_case(resolve_case(path))
    if as_json:
        print_json(case_summary(case))
        return
    console.print(f"[bold]{case.title or case.name}[/]  ({case.root})")
    if case.period_start or case.period_end:
        console.print(f"period: {case.period_start} .. {case.period_end}")
    print_arrow(
        case.places.select(["place_id", "name", "kind", "lat", "lon", "r_in_m", "r_out_m"]),
        title="places",
    )
    print_arrow(
        pa.table(
            {
                "route": [r.name for r in case.routes],
                "origins": [", ".join(r.origins) for r in case.routes],
                "destinations": [", ".join(r.destinations) for r in case.routes],
            }
        ),
        title="routes",
    )
    print_arrow(case.watchlist.table().select(["name", "imo", "mmsi"]), title="watched vessels")
    for s in case.watchlist.sanctions:
        found = "found" if s.path else "NOT FOUND"
        console.print(f"sanctions list: {s.name} ({s.file}, as of {s.as_of}, {found})")
    print_arrow(
        pa.table(
            {
                "prior": list(case.priors),
                "low": [p.low for p in case.priors.values()],
                "mode": [p.mode for p in case.priors.values()],
                "high": [p.high for p in case.priors.values()],
                "unit": [p.unit for p in case.priors.values()],
            }
        ),
        title="priors",
    )
    console.print(
        f"claims: {case.claims.num_rows}  observations: {case.observations.num_rows}  "
        f"scenario: {Path(case.scenario_path).name if case.scenario_path else 'none'}"
    )
