"""Exports: GeoJSON and KML layers for GIS / Google Earth, CSV and Parquet of every store table.

The map layers (places, tracks, voyages, dark gaps, encounters) are built once as GeoJSON-like features
(:func:`map_layers`); the GeoJSON and KML writers only serialise them, so both formats always agree.
Faithful to RFC 7946: places are their polygons or entry circles, lines are cut at the antimeridian, and
track and voyage positions are ``[lon, lat, 0, unix_seconds]`` (kepler.gl's Trip layer animates them).
Every feature names its vessel(s); every time is spelled ``YYYY-MM-DDTHH:MM:SSZ``
(:mod:`supplyline.isotime`). Parquet exports are GeoParquet 1.1 (:mod:`supplyline.report.parquet_export`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv

from supplyline import schema
from supplyline.errors import UsageError
from supplyline.isotime import ISO_Z, iso_utc, iso_utc_us, json_default
from supplyline.report.data import BREAK_H, Tracks, decimate_tracks, table_arrow, used_places, vessel_names
from supplyline.report.geometry import line_geometry, multi_line_geometry, place_geometry
from supplyline.report.lines import track_lines, voyage_lines
from supplyline.report.parquet_export import export_parquet
from supplyline.sqlquote import ident, literal
from supplyline.store import Store

FORMATS: tuple[str, ...] = ("geojson", "kml", "csv", "parquet", "gfw", "portwatch")
GFW_TABLES: tuple[str, ...] = ("visits", "gaps", "encounters", "loitering")
MAP_LAYERS: tuple[str, ...] = ("places", "tracks", "voyages", "gaps", "encounters", "detections")
EXPORT_MAX_POINTS = 1_000_000  # track points kept in GeoJSON/KML (one per vessel-minute at most)
KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"  # Google's KML extensions: gx:Track carries a time per point

Feature = dict[str, Any]


def _props(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready properties: times as ISO 8601 UTC (``...Z``), NaN and infinities as null (JSON has neither)."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dt.datetime | dt.date):
            v = iso_utc(v)
        elif isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else [_props(r) for r in table.to_pylist()]


def map_layers(
    con: duckdb.DuckDBPyConnection,
    layers: tuple[str, ...] = MAP_LAYERS,
    max_points: int = EXPORT_MAX_POINTS,
    break_h: float = BREAK_H,
) -> dict[str, list[Feature]]:
    """The map layers as GeoJSON Feature dicts (absent tables give empty layers)."""
    out: dict[str, list[Feature]] = {name: [] for name in layers}
    names = vessel_names(con)
    if "places" in layers:
        out["places"] = _place_features(con)
    if "gaps" in layers:
        for r in _rows(table_arrow(con, "gaps")):
            if None in (r["start_lat"], r["start_lon"], r["end_lat"], r["end_lon"]):
                continue
            r["kind"], r["name"] = "dark_gap", names.get(r["mmsi"])
            geom = line_geometry([[r["start_lon"], r["start_lat"]], [r["end_lon"], r["end_lat"]]])
            out["gaps"].append({"type": "Feature", "geometry": geom, "properties": r})
    if "encounters" in layers:
        for r in _rows(table_arrow(con, "encounters")):
            if r["lat"] is None or r["lon"] is None:
                continue
            r["name_a"], r["name_b"] = names.get(r["mmsi_a"]), names.get(r["mmsi_b"])
            out["encounters"].append(
                {"type": "Feature", "geometry": _point(r["lon"], r["lat"]), "properties": r}
            )
    if "detections" in layers:  # satellite detections with their AIS match (matched / dark) and evidence
        for r in _rows(table_arrow(con, "detection_matches")):
            r["name"] = names.get(r["mmsi"]) if r.get("mmsi") is not None else None
            out["detections"].append(
                {"type": "Feature", "geometry": _point(r["lon"], r["lat"]), "properties": r}
            )
    if "tracks" in layers or "voyages" in layers:
        tracks = decimate_tracks(con, max_points)
        if "tracks" in layers:
            out["tracks"] = _track_features(tracks, names, break_h)
        if "voyages" in layers:
            out["voyages"] = _voyage_features(con, tracks, names)
    return out


def _place_features(con: duckdb.DuckDBPyConnection) -> list[Feature]:
    """Places as their polygon, else their entry circle (``r_in_m``); lat/lon stay in the properties."""
    rows = _rows(used_places(con))
    ids = [r["place_id"] for r in rows]
    polys: dict[str, bytes] = {}
    if ids and "geometry_wkb" in con.sql("SELECT * FROM places LIMIT 0").to_arrow_table().schema.names:
        found = con.execute(
            "SELECT place_id, geometry_wkb FROM places WHERE geometry_wkb IS NOT NULL AND list_contains(?, place_id)",
            [ids],
        ).fetchall()
        polys = {str(pid): bytes(w) for pid, w in found}
    return [
        {
            "type": "Feature",
            "geometry": place_geometry(r["lat"], r["lon"], r.get("r_in_m"), polys.get(r["place_id"])),
            "properties": r,
        }
        for r in rows
    ]


def _track_features(tracks: Tracks, names: dict[int, str], break_h: float) -> list[Feature]:
    """One MultiLineString per vessel, split where it went silent and at the antimeridian; timed positions."""
    feats = []
    for m, lines in track_lines(tracks, break_h).items():
        props = {
            "mmsi": m,
            "name": names.get(m),
            "start_ts": iso_utc_us(int(lines[0][0][3]) * 1_000_000),
            "end_ts": iso_utc_us(int(lines[-1][-1][3]) * 1_000_000),
            "n_points": sum(len(x) for x in lines),
        }
        feats.append({"type": "Feature", "geometry": multi_line_geometry(lines), "properties": props})
    return feats


def _voyage_features(con: duckdb.DuckDBPyConnection, tracks: Tracks, names: dict[int, str]) -> list[Feature]:
    """Each voyage's timed track between departure and arrival (voyages with under two points are skipped)."""
    voyages = table_arrow(con, "voyages")
    if voyages is None or voyages.num_rows == 0:
        return []
    lines = voyage_lines(con, tracks)
    feats = []
    for r in _rows(voyages):
        geom = line_geometry(lines.get(r["voyage_id"], []))
        if geom is not None:
            r["name"] = names.get(r["mmsi"])
            feats.append({"type": "Feature", "geometry": geom, "properties": r})
    return feats


# --- writers ------------------------------------------------------------------------------------------------


def write_geojson(layers: dict[str, list[Feature]], out_dir: Path) -> list[Path]:
    """One FeatureCollection file per layer (``places.geojson``, ``tracks.geojson``, ...)."""
    paths = []
    for name, feats in layers.items():
        path = out_dir / f"{name}.geojson"
        doc = {"type": "FeatureCollection", "name": name, "features": feats}
        path.write_text(json.dumps(doc, separators=(",", ":"), default=json_default, allow_nan=False))
        paths.append(path)
    return paths


# KML colours are aabbggrr.
_KML_STYLES = {
    "place": ("IconStyle", "ff00d7ff", "1.0"),
    "encounter": ("IconStyle", "ff2f2fd6", "1.2"),
    "voyage": ("LineStyle", "ff1c8cf5", "4"),
    "dark-gap": ("LineStyle", "b30000ff", "2"),
    "detection": ("IconStyle", "ff0000d0", "0.9"),
}
_TRACK_COLOURS = ("ffb47757", "ff2b8ef2", "ff5957e1", "ffb2b776", "ff4fa159", "ff48c9ed", "ffa17ab0")
_LAYER_STYLE = {
    "places": "place",
    "voyages": "voyage",
    "gaps": "dark-gap",
    "encounters": "encounter",
    "detections": "detection",
}
_LAYER_TITLE = {
    "places": "Places",
    "tracks": "Tracks (by vessel)",
    "voyages": "Voyages",
    "gaps": "Dark gaps (AIS silent)",
    "encounters": "Encounters",
    "detections": "Satellite detections (matched / dark)",
}


def _kml_name(layer: str, p: dict[str, Any]) -> str:
    if layer == "places":
        return str(p.get("name") or p.get("place_id"))
    if layer == "tracks":
        return f"{p.get('name') or 'MMSI'} {p['mmsi']}"
    if layer == "voyages":
        return f"{p.get('mmsi')}: {p.get('origin_name')} -> {p.get('destination_name')}"
    if layer == "gaps":
        return f"dark {p.get('duration_h') or 0:.1f} h, MMSI {p.get('mmsi')}"
    if layer == "detections":
        return f"{p.get('status')} detection{' MMSI ' + str(p['mmsi']) if p.get('mmsi') else ''}"
    return f"encounter {p.get('mmsi_a')} / {p.get('mmsi_b')}"


def _time_span(p: dict[str, Any]) -> tuple[str | None, str | None]:
    """(begin, end) ISO times of a feature's properties, from whichever pair of time columns it has."""
    for a, b in (("start_ts", "end_ts"), ("departure_ts", "arrival_ts"), ("ts", "ts")):
        if a in p or b in p:
            return p.get(a), p.get(b)
    return None, None


def _kml_geometry(parent: ET.Element, geom: dict[str, Any]) -> None:
    """Point, LineString, Polygon and their Multi forms (positions beyond lon, lat are dropped)."""

    def coords(el: ET.Element, pts: list[list[float]]) -> None:
        ET.SubElement(el, "coordinates").text = " ".join(f"{p[0]},{p[1]}" for p in pts)

    if geom["type"] == "Point":
        coords(ET.SubElement(parent, "Point"), [geom["coordinates"]])
    elif geom["type"] == "LineString":
        ls = ET.SubElement(parent, "LineString")
        ET.SubElement(ls, "tessellate").text = "1"
        coords(ls, geom["coordinates"])
    elif geom["type"] == "Polygon":
        poly = ET.SubElement(parent, "Polygon")
        for i, ring in enumerate(geom["coordinates"]):
            boundary = ET.SubElement(poly, "outerBoundaryIs" if i == 0 else "innerBoundaryIs")
            coords(ET.SubElement(boundary, "LinearRing"), ring)
    elif geom["type"] in ("MultiLineString", "MultiPolygon"):
        multi = ET.SubElement(parent, "MultiGeometry")
        single = geom["type"].removeprefix("Multi")
        for part in geom["coordinates"]:
            _kml_geometry(multi, {"type": single, "coordinates": part})


def _gx_track(parent: ET.Element, geom: dict[str, Any]) -> None:
    """A timed line (positions ``[lon, lat, alt, unix_s]``) as ``gx:MultiTrack`` of one ``gx:Track`` per part.

    Google Earth's time slider then moves each vessel along its track; the parts stay apart (no line drawn
    across a silence or the antimeridian), as ``gx:interpolate`` 0 says.
    """
    parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
    multi = ET.SubElement(parent, f"{{{GX_NS}}}MultiTrack")
    ET.SubElement(multi, f"{{{GX_NS}}}interpolate").text = "0"
    for part in parts:
        track = ET.SubElement(multi, f"{{{GX_NS}}}Track")
        for p in part:
            ET.SubElement(track, "when").text = iso_utc_us(int(p[3]) * 1_000_000)
        for p in part:
            ET.SubElement(track, f"{{{GX_NS}}}coord").text = f"{p[0]} {p[1]} 0"


def _is_timed(geom: dict[str, Any] | None) -> bool:
    """True for a (Multi)LineString whose positions all carry a time (the fourth ordinate)."""
    if geom is None or geom["type"] not in ("LineString", "MultiLineString"):
        return False
    parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
    return all(len(p) >= 4 for part in parts for p in part)


def write_kml(layers: dict[str, list[Feature]], path: Path, title: str = "supplyline") -> Path:
    """One KML 2.2 document with a Folder per layer; tracks coloured by vessel, dark gaps in red.

    Vessel tracks are ``gx:Track`` elements with a time per position (Google Earth plays them); every other
    feature has a plain geometry and a ``TimeSpan``.
    """
    ET.register_namespace("", KML_NS)
    ET.register_namespace("gx", GX_NS)
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    styles = dict(_KML_STYLES)
    for i, colour in enumerate(_TRACK_COLOURS):
        styles[f"track-{i}"] = ("LineStyle", colour, "2")
    for sid, (kind, colour, size) in styles.items():
        st = ET.SubElement(doc, "Style", id=sid)
        sub = ET.SubElement(st, kind)
        ET.SubElement(sub, "color").text = colour
        ET.SubElement(sub, "scale" if kind == "IconStyle" else "width").text = size
    for layer, feats in layers.items():
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = _LAYER_TITLE.get(layer, layer)
        for f in feats:
            p = f["properties"]
            pm = ET.SubElement(folder, "Placemark")
            ET.SubElement(pm, "name").text = _kml_name(layer, p)
            begin, end = _time_span(p)
            if begin or end:  # lets Google Earth's time slider play the events
                span = ET.SubElement(pm, "TimeSpan")
                if begin:
                    ET.SubElement(span, "begin").text = begin
                if end:
                    ET.SubElement(span, "end").text = end
            style = _LAYER_STYLE.get(layer) or f"track-{int(p['mmsi']) % len(_TRACK_COLOURS)}"
            ET.SubElement(pm, "styleUrl").text = f"#{style}"
            ext = ET.SubElement(pm, "ExtendedData")
            for k, v in p.items():
                if v is not None:
                    ET.SubElement(ET.SubElement(ext, "Data", name=k), "value").text = str(v)
            if layer == "tracks" and _is_timed(f["geometry"]):
                _gx_track(pm, f["geometry"])
            else:
                _kml_geometry(pm, f["geometry"])
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _tabular(con: duckdb.DuckDBPyConnection, fmt: str, names: list[str], out_dir: Path) -> list[Path]:
    """CSV of each named table via DuckDB COPY (streams; positions need not fit in memory), times as ``...Z``."""
    paths = []
    for name in names:
        path = out_dir / f"{name}.{fmt}"
        opts = f"FORMAT CSV, HEADER, TIMESTAMPFORMAT '{ISO_Z}'"
        columns = _csv_safe_columns(con, name)
        con.execute(f"COPY (SELECT {columns} FROM {ident(name)}) TO {literal(path)} ({opts})")
        paths.append(path)
    return paths


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula (OWASP "CSV Injection")."""


def formula_safe(table: pa.Table) -> pa.Table:
    """``table`` with text cells that start like a formula prefixed by ``'`` (the Arrow form of
    :func:`_csv_safe_columns`, for CSVs written from Arrow: place names come from the data)."""
    import pyarrow.compute as pc

    pattern = "^[" + re.escape("".join(FORMULA_START)) + "]"
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type):
            col = table.column(i)
            risky = pc.fill_null(pc.match_substring_regex(col, pattern), False)
            table = table.set_column(
                i, field, pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
            )
    return table


def _csv_safe_columns(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Select list of ``name`` with text cells that start like a formula prefixed by ``'`` (OWASP).

    Spreadsheets run ``=HYPERLINK(...)``, ``+cmd|...`` or ``@SUM(...)`` typed into a cell; a leading single
    quote makes them text. Only text columns are touched: numbers such as -73.9 stay numbers.
    """
    starts = ", ".join(literal(c) for c in FORMULA_START)
    quote = literal("'")
    selected = []
    for column, sql_type, *_ in con.execute(f"DESCRIBE {ident(name)}").fetchall():
        col = ident(column)
        if sql_type == "VARCHAR":
            selected.append(
                f"CASE WHEN left({col}, 1) IN ({starts}) THEN {quote} || {col} ELSE {col} END AS {col}"
            )
        else:
            selected.append(col)
    return ", ".join(selected)


def _compat(store: Store, fmt: str, out_dir: Path) -> Path:
    """GFW Events API JSON (``gfw_events.json``) or PortWatch daily port calls (``portwatch_daily.csv``)."""
    from supplyline.compat import portwatch_daily, to_gfw_events

    def table(name: str) -> pa.Table:
        return store.read_table(name, schema.EVENT_TABLES.get(name))

    places = store.read_table("places") if store.has_files("places") else None
    if fmt == "portwatch":
        path = out_dir / "portwatch_daily.csv"
        known = places if places is not None else pa.table({"place_id": [], "name": [], "country": []})
        pa.csv.write_csv(formula_safe(portwatch_daily(table("visits"), known)), path)
        return path
    con = store.connect()
    try:
        names = vessel_names(con)
    finally:
        con.close()
    vessels = pa.table({"mmsi": pa.array(list(names), pa.int64()), "name": pa.array(list(names.values()))})
    events = to_gfw_events({n: table(n) for n in GFW_TABLES}, places, vessels)
    path = out_dir / "gfw_events.json"
    doc = {"entries": events, "total": len(events), "limit": None, "offset": 0, "nextOffset": None}
    path.write_text(json.dumps(doc, default=json_default, allow_nan=False))
    return path


def export_store(
    store: Store,
    fmt: str,
    out_dir: Path,
    tables: list[str] | None = None,
    max_points: int = EXPORT_MAX_POINTS,
) -> list[Path]:
    """Write ``fmt`` files for ``tables`` (default: every table, or every map layer) into ``out_dir``.

    Returns the paths written. Unknown formats or table names raise :class:`UsageError` naming the choices.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot use {out_dir} as the export folder: {exc.strerror}; choose another --out"
        ) from None
    if fmt in ("gfw", "portwatch"):
        return [_compat(store, fmt, out_dir)]
    con = store.connect()
    try:
        if fmt in ("csv", "parquet"):
            available = [n for n in [*store.table_names(), "vessels"] if n not in schema.INTERNAL_TABLES]
            if fmt == "parquet" and store.has_files("positions"):
                available.append("tracks")
            names = tables or available
            unknown = [n for n in names if n not in available]
            if unknown:
                raise UsageError(
                    f"the store has no table {', '.join(unknown)}; tables: {', '.join(available)}"
                )
            if fmt == "csv":
                return _tabular(con, fmt, names, out_dir)
            tracks = decimate_tracks(con, max_points) if {"tracks", "voyages"} & set(names) else None
            return export_parquet(con, names, out_dir, tracks)
        layers = tuple(tables) if tables else MAP_LAYERS
        unknown = [n for n in layers if n not in MAP_LAYERS]
        if unknown:
            raise UsageError(
                f"{fmt} exports map layers only, not {', '.join(unknown)}; choose from {', '.join(MAP_LAYERS)} "
                "(use --format csv or parquet for other tables)"
            )
        feats = map_layers(con, layers, max_points)
        if fmt == "geojson":
            return write_geojson(feats, out_dir)
        return [write_kml(feats, out_dir / "supplyline.kml")]
    finally:
        con.close()
