"""Options and output helpers shared by every command, so each is declared once."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from supplyline.isotime import json_default
from supplyline.store import ENV_VAR

if TYPE_CHECKING:
    from supplyline.case import Case

console = Console()
err_console = Console(stderr=True)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        "-s",
        envvar=ENV_VAR,
        help=f"Store folder (default ./supplyline-store; or set ${ENV_VAR}).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def progress(transient: bool = True) -> Progress:
    """A rich progress bar on stderr; silent when stderr is not a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
        disable=not sys.stderr.isatty(),
    )


JSON_PRINTED: list[bool] = []
"""Non-empty once this command printed its JSON document (an error after that adds no second one)."""


def print_json(obj: Any) -> None:
    """Print one JSON document to stdout (times as ``YYYY-MM-DDTHH:MM:SSZ``, numpy scalars stringified)."""
    sys.stdout.write(json.dumps(obj, default=json_default, indent=2) + "\n")
    JSON_PRINTED.append(True)


def print_arrow(table: pa.Table, title: str | None = None, limit: int = 50) -> None:
    """Render an Arrow table as a rich table (first ``limit`` rows), numbers and times formatted for people
    (``4,366`` not ``4365.738720449737``; --json keeps the exact values)."""
    from supplyline.numfmt import column_cell, is_numeric_column

    out = Table(title=title, show_lines=False)
    shown = table.slice(0, limit)
    for name in table.column_names:
        numeric = is_numeric_column(shown.column(name).to_pylist())
        out.add_column(name, overflow="fold", justify="right" if numeric else "left")
    names = table.column_names
    for row in shown.to_pylist():
        out.add_row(*(column_cell(c, v) for c, v in zip(names, row.values(), strict=True)))
    console.print(out)
    if table.num_rows > limit:
        console.print(f"... {table.num_rows - limit:,} more rows (use --json or `supplyline export`)")


def load_case_option(case: Path | str | None) -> Case | None:
    """The case a ``--case`` option names (folder, case.toml or bundled case name), or None when it was
    not given."""
    if case is None:
        return None
    # deferred: the case loader costs ~30 ms of start-up and only --case needs it
    from supplyline.case import load_case

    return load_case(case)
