"""The `supplyline` command: thin wrappers that parse, call the library and print.

Exit codes: 0 ok; 1 error; 2 usage error; 3 store problem; 4 unreadable input; 5 case problems;
6 engine failure; 7 missing optional dependency; 10 monitor raised alerts (only with --fail-on-alert).
"""

from __future__ import annotations

import typer

from supplyline.cli import (
    _case,
    _common,
    _demo,
    _detect,
    _errors,
    _estimate,
    _evidence,
    _imagery,
    _monitor,
    _places,
    _report,
    _serve,
    _simulate,
    _store,
    _watch,
)

app = typer.Typer(
    name="supplyline",
    help=(
        "Monitor shipments between ports from public evidence.\n\n"
        "Typical flow: ingest AIS -> detect events -> add evidence -> estimate -> monitor -> report.\n"
        "Start with `supplyline demo`, which runs all of it on the bundled dprk-russia case.\n\n"
        "Example: supplyline demo && supplyline info --store supplyline-demo/store"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from supplyline import __version__

        typer.echo(f"supplyline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Monitor shipments between ports from public evidence."""


# Each module registers its own commands; one module per verb group keeps this file thin.
for _module in (
    _store,
    _places,
    _detect,
    _simulate,
    _case,
    _evidence,
    _estimate,
    _monitor,
    _report,
    _serve,
    _demo,
    _imagery,
    _watch,
):
    _module.register(app)


__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app; every error ends as one short message and its exit code (see ``_errors``).

    Typer runs in standalone mode, so usage errors (unknown option, bad value) print click's usage message
    and exit 2, and ``raise typer.Exit(n)`` exits n; our own errors arrive as SupplylineError.
    """
    _errors.run(app, _common.err_console)
