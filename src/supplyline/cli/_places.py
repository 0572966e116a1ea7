"""`supplyline places search|near`: look places up in the shipped gazetteer and your own GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer

from supplyline.cli._common import JsonOpt, console, print_arrow, print_json
from supplyline.errors import UsageError

if TYPE_CHECKING:  # imported lazily at run time so `supplyline --help` stays fast
    from supplyline.places import PlaceIndex

PlacesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--places",
        "-p",
        help="GeoJSON file of your own places (Point + radius_m property, or Polygon); repeatable.",
        exists=False,
        show_default=False,
    ),
]
SourceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        help="Gazetteer source to include: wpi, unlocode, gfw (repeatable; default all three). "
        "Use --source none to look only in --places files.",
        show_default=False,
    ),
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="Most rows to show.")]

_SHOW = ["place_id", "name", "kind", "country", "locode", "lat", "lon", "r_in_m", "r_out_m", "source"]

# Negative numbers such as a western longitude (-74.01) must be read as values, not as options.
_NUMBERS_OK = {"ignore_unknown_options": True, "allow_interspersed_args": True}


def _index(sources: list[str] | None, places: list[Path] | None) -> PlaceIndex:
    """The gazetteer sources asked for plus the user's GeoJSON places, indexed."""
    # deferred: supplyline.places pulls in scipy and shapely (~200 ms of start-up)
    from supplyline.places import SOURCES, PlaceIndex, load_gazetteer, places_from_geojson

    chosen: tuple[str, ...] = SOURCES if not sources else tuple(s for s in sources if s != "none")
    tables = [load_gazetteer(chosen)]
    tables += [places_from_geojson(p) for p in places or []]
    table = pa.concat_tables(tables)
    if table.num_rows == 0:
        raise UsageError("no places to look in: drop --source none or give a --places FILE.geojson")
    return PlaceIndex(table)


def _output(table: pa.Table, extra: list[str], as_json: bool, title: str) -> None:
    out = table.select([c for c in _SHOW + extra if c in table.column_names])
    if as_json:
        print_json(out.to_pylist())
    elif out.num_rows == 0:
        console.print("no places found")
    else:  # a terminal-width view: fewer columns, rounded (lat/lon to ~10 m)
        hide = (
            ("kind", "r_out_m", "source", "locode", "r_in_m")
            if "score" in out.column_names
            else ("kind", "r_out_m")
        )
        view = out.drop_columns([c for c in hide if c in out.column_names])
        for name, digits in (("lat", 4), ("lon", 4), ("dist_km", 2), ("score", 0), ("r_in_m", 0)):
            if name in view.column_names:
                i = view.column_names.index(name)
                view = view.set_column(i, name, pc.round(view[name], digits))
        print_arrow(view, title=title)


def register(app: typer.Typer) -> None:
    """Add the `places` command group to the app."""
    places_app = typer.Typer(
        name="places",
        help=(
            "Find ports, anchorages and your own places.\n\n"
            "The gazetteer ships with 3,766 World Port Index ports, 10,011 further UN/LOCODE ports and 56,013 "
            "Global Fishing Watch anchorage cells. Add your own places with --places FILE.geojson.\n\n"
            "Examples:\n\n"
            "  supplyline places search Vostochny --country RU\n\n"
            "  supplyline places near 42.25 130.30 --radius-km 5\n\n"
            "  supplyline places near 40.70 -74.01 --json"
        ),
        no_args_is_help=True,
    )
    places_app.command("search")(search)

    places_app.command("near", context_settings=_NUMBERS_OK)(near)
    app.add_typer(places_app)


def search(
    name: Annotated[str, typer.Argument(help="Place name; spelling may be approximate (Najin, Rajin).")],
    country: Annotated[
        str | None, typer.Option("--country", "-c", help="ISO 3166 alpha-2 country code, e.g. RU or KP.")
    ] = None,
    limit: LimitOpt = 10,
    source: SourceOpt = None,
    places: PlacesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fuzzy search by name or alias (case, accents and punctuation ignored).

    Exact matches come first, then by similarity score (0-100); `matched` shows the name or alias that
    matched (Rajin finds Najin through its alias). Repeated GFW anchorage cells with the same name are
    shown once (the cell nearest their middle), with their count in n_same.

    Example: supplyline places search Najin --country KP
    """
    table = _index(source, places).search(name, limit=limit, country=country)
    _output(table, ["score", "n_same", "matched"], as_json, f"places matching {name!r}")


def near(
    lat: Annotated[float, typer.Argument(help="Latitude in degrees (-90..90).")],
    lon: Annotated[float, typer.Argument(help="Longitude in degrees (-180..180); west is negative.")],
    radius_km: Annotated[float, typer.Option("--radius-km", "-r", min=0, help="Search radius in km.")] = 10.0,
    limit: LimitOpt = 20,
    source: SourceOpt = None,
    places: PlacesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Places whose centre lies within --radius-km of LAT LON, nearest first (great-circle distance).

    Example: supplyline places near 42.25 130.30 --radius-km 5
    """
    table = _index(source, places).near(lat, lon, radius_km * 1000.0, limit=limit)
    _output(table, ["dist_km"], as_json, f"places within {radius_km:g} km of {lat:g}, {lon:g}")
