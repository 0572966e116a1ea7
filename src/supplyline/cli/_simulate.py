"""`supplyline simulate`: a scenario -> synthetic AIS (NMEA and/or Parquet) plus ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, err_console, print_json, progress
from supplyline.errors import UsageError

_FORMATS = {"nmea": ("nmea",), "parquet": ("parquet",), "both": ("nmea", "parquet")}


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        scenario: Annotated[Path, typer.Argument(help="scenario.toml (or a case folder holding one).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("synthetic-ais"),
        seed: Annotated[
            int | None, typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")
        ] = None,
        fmt: Annotated[
            str, typer.Option("--format", "-f", help="What to write: nmea, parquet or both.")
        ] = "both",
        min_interval: Annotated[
            float | None,
            typer.Option(
                "--min-interval",
                min=0,
                help="Floor on the reporting interval in seconds (e.g. 60 keeps big scenarios small; "
                "0 = full AIS rate). Default: the scenario's.",
            ),
        ] = None,
        import_truth: Annotated[
            bool,
            typer.Option("--import-truth", help="Also write the truth tables into the store (as truth_*)."),
        ] = False,
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write synthetic AIS and a ground-truth table of what really happened (all marked synthetic)."""
        from supplyline.simulate import simulate

        if fmt not in _FORMATS:
            raise UsageError(f"--format must be nmea, parquet or both, not {fmt!r}")
        formats = _FORMATS[fmt]
        with progress() as bar:
            task = bar.add_task("simulating", total=None)

            def on_window(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            res = simulate(
                scenario, out, seed=seed, formats=formats, min_interval_s=min_interval, on_window=on_window
            )
        imported: list[str] = []
        if import_truth:
            from supplyline.simulate import import_truth as write_truth
            from supplyline.store import Store

            imported = write_truth(Store.create(store), res.truth)
        summary = {
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
        if as_json:
            print_json(summary)
            return
        console.print(
            f"[bold]{res.scenario.name}[/] (seed {res.scenario.seed}): {res.n_positions:,} positions, "
            f"{res.n_statics:,} static reports -> {out} [yellow](SYNTHETIC)[/]"
        )
        console.print("truth: " + ", ".join(f"{k} {v.num_rows}" for k, v in res.truth.items()))
        for w in res.warnings:
            err_console.print(f"[yellow]warning:[/] {w}")
        if imported:
            console.print(f"imported into the store: {', '.join(imported)}")
