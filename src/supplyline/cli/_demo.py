"""`supplyline demo`: the whole pipeline on a bundled case, with progress and a short summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, console, err_console, print_json, progress


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)


def demo_cmd(
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            help="dprk-russia (bundled case, synthetic AIS from the reported pattern) or nyharbor "
            "(real NOAA AIS of New York Harbor, 1-7 Dec 2020).",
        ),
    ] = "dprk-russia",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the store, simulated AIS and report.html (default supplyline-demo, or "
            "supplyline-demo-nyharbor for --data nyharbor, so one demo never overwrites the other).",
            show_default=False,
        ),
    ] = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="For --data nyharbor: path of nyharbor_2020-12-01_to_07_points.csv.gz."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Simulator seed (default: the scenario's).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Detection processes.")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Run simulate -> ingest -> detect -> evidence -> estimate -> monitor -> report on a bundled case.

    Example: `supplyline demo` then open supplyline-demo/report.html in a browser (works offline).
    """
    # deferred: supplyline.demo loads the case loader (~30 ms of start-up)
    from supplyline.demo import STEPS, run_demo

    with progress(transient=True) as bar:
        task = bar.add_task("demo", total=len(STEPS))

        def on_step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))
            if not bar.disable:
                return
            if not as_json:
                err_console.print(f"[dim]· {name}[/]")

        result = run_demo(data, out, input_path=input_path, seed=seed, workers=workers, on_step=on_step)
        bar.update(task, completed=len(STEPS))
    if as_json:
        print_json(
            {
                "case": result.case,
                "report": str(result.report),
                "synthetic": result.synthetic,
                "summary": result.lines,
                "figures": result.figures,
            }
        )
        return
    for line in result.lines:
        console.print(line, highlight=False)
