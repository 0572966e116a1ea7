"""`supplyline simulate`: a scenario -> synthetic AIS (NMEA and/or Parquet) plus ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, err_console, print_json, progress
from supplyline.errors import UsageError
from supplyline.store import Store

if TYPE_CHECKING:
    from supplyline.simulate import SimResult

_FORMATS = {"nmea": ("nmea",), "parquet": ("parquet",), "both": ("nmea", "parquet")}


ScenarioArg = Annotated[Path, typer.Argument(help="scenario.toml (or a case folder holding one).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="What to write: nmea, parquet or both.")]
MinIntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--min-interval",
        min=0,
        help="Floor on the reporting interval in seconds (e.g. 60 keeps big scenarios small; "
        "0 = full AIS rate). Default: the scenario's.",
    ),
]
TruthOpt = Annotated[
    bool, typer.Option("--import-truth", help="Also write the truth tables into the store (as truth_*).")
]


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)


def simulate_cmd(
    scenario: ScenarioArg,
    out: OutOpt = Path("synthetic-ais"),
    seed: SeedOpt = None,
    fmt: FormatOpt = "both",
    min_interval: MinIntervalOpt = None,
    import_truth: TruthOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write synthetic AIS and a ground-truth table of what really happened (all marked synthetic).

    Example: supplyline simulate src/supplyline/cases/dprk-russia --out sim && supplyline ingest sim --store st
    """
    # deferred (as below): supplyline.simulate costs ~26 ms of start-up and only this command needs it
    from supplyline.simulate import simulate

    if fmt not in _FORMATS:
        raise UsageError(f"--format must be nmea, parquet or both, not {fmt!r}")
    with progress() as bar:
        task = bar.add_task("simulating", total=None)

        def on_window(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        res = simulate(
            scenario, out, seed=seed, formats=_FORMATS[fmt], min_interval_s=min_interval, on_window=on_window
        )
    imported: list[str] = []
    if import_truth:
        from supplyline.simulate import import_truth as write_truth  # deferred, as above

        imported = write_truth(Store.create(store), res.truth)
    if as_json:
        print_json(_summary(res, imported))
    else:
        _print_summary(res, imported, out)


def _summary(res: SimResult, imported: list[str]) -> dict[str, Any]:
    return {
        "scenario": res.scenario.name,
        "seed": res.scenario.seed,
        "positions": res.n_positions,
        "statics": res.n_statics,
        "truth": {k: v.num_rows for k, v in res.truth.items()},
        "files": {k: str(p) for k, p in res.paths.items()},
        "imported": imported,
        "warnings": list(res.warnings),
        "synthetic": True,
    }


def _print_summary(res: SimResult, imported: list[str], out: Path) -> None:
    console.print(
        f"[bold]{res.scenario.name}[/] (seed {res.scenario.seed}): {res.n_positions:,} positions, "
        f"{res.n_statics:,} static reports -> {out} [yellow](SYNTHETIC)[/]"
    )
    console.print("truth: " + ", ".join(f"{k} {v.num_rows}" for k, v in res.truth.items()))
    for w in res.warnings:
        err_console.print(f"[yellow]warning:[/] {w}")
    if imported:
        console.print(f"imported into the store: {', '.join(imported)}")
