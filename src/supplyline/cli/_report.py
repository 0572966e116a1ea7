"""`supplyline report` (one self-contained HTML file) and `supplyline export` (GeoJSON, KML, CSV, Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_json
from supplyline.errors import UsageError

# supplyline.report is imported at start-up anyway: its defaults appear in --help
from supplyline.report.builder import build_report
from supplyline.report.data import DEFAULT_MAX_POINTS
from supplyline.report.export import EXPORT_MAX_POINTS, FORMATS, export_store
from supplyline.store import Store


def register(app: typer.Typer) -> None:
    """Add the `report` and `export` commands to ``app``."""
    app.command("report")(report)
    app.command("export")(export)


def report(
    store: StoreOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    title: Annotated[str | None, typer.Option(help="Title shown at the top of the report.")] = None,
    max_points: Annotated[
        int, typer.Option(help="Track points drawn in all (positions are thinned per vessel to fit).")
    ] = DEFAULT_MAX_POINTS,
    json_out: JsonOpt = False,
) -> None:
    """Write ONE self-contained HTML report (map, timeline, estimates, tables) that works offline.

    Example: supplyline report --store supplyline-demo/store --out report.html
    """
    if max_points < 2:
        raise UsageError("--max-points must be at least 2")
    path = build_report(Store.open(store), out, max_points=max_points, title=title)
    size = path.stat().st_size
    if json_out:
        print_json({"path": str(path), "bytes": size})
    else:
        console.print(f"wrote {path} ({size / 1e6:.1f} MB); open it in any browser, no network needed")


def export(
    format_: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            "-t",
            help="Table to export (repeatable). Default: every table (csv/parquet) or every map layer "
            "(geojson/kml: places, tracks, voyages, gaps, encounters).",
        ),
    ] = None,
    max_points: Annotated[
        int, typer.Option(help="Track points kept in GeoJSON/KML tracks (thinned per vessel).")
    ] = EXPORT_MAX_POINTS,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export the store: GeoJSON/KML map layers (Google Earth), or CSV/Parquet of every table.

    Example: supplyline export --store supplyline-demo/store --format geojson --out layers
    """
    paths = export_store(Store.open(store), format_.lower(), out, table or None, max_points=max_points)
    if json_out:
        print_json([{"path": str(p), "bytes": p.stat().st_size} for p in paths])
    else:
        for p in paths:
            console.print(f"wrote {p} ({p.stat().st_size:,} bytes)")
