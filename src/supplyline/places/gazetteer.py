"""Places as tables: the shipped gazetteer (WPI ports, UN/LOCODE ports, GFW anchorages) and user places.

A place is a circle (centre + entry radius ``r_in_m`` + exit radius ``r_out_m``; r_out > r_in gives the
hysteresis that stops a vessel idling on the boundary from making dozens of visits) or a polygon kept as WKB
in ``geometry_wkb`` (exit = the polygon grown by ``r_out_m - r_in_m``). Every table here is in
:data:`schema.PLACES`; :func:`assemble_places` gathers the places one detection run uses.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from supplyline import schema
from supplyline.errors import InputError, UsageError
from supplyline.places.frame import LocalFrame
from supplyline.textfiles import NotUtf8Error, read_utf8

if TYPE_CHECKING:
    from supplyline.case import Case

SOURCES = ("wpi", "unlocode", "gfw")
"""Shipped gazetteer sources, in order of positional quality (WPI harbour points first)."""

DEFAULT_R_IN_M = 3000.0
"""Entry radius (m) for a user point without one: GFW's port-visit entry distance."""
EXIT_RATIO = 4.0 / 3.0
"""r_out / r_in when only one radius is given: GFW's 3 km enter / 4 km exit."""
DEFAULT_POLYGON_MARGIN_M = 1000.0
"""How far (m) outside a polygon a vessel must go to leave it, unless the place says otherwise."""


def conform_places(table: pa.Table) -> pa.Table:
    """Return ``table`` in exactly :data:`schema.PLACES` (missing optional columns become null).

    Raises InputError naming the problem when a required column is missing or null, a coordinate is out of
    range, or a radius is not positive / r_out < r_in.
    """
    cols = {}
    for field in schema.PLACES:
        if field.name in table.column_names:
            try:
                cols[field.name] = table[field.name].cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(
                    f"places column {field.name!r} cannot be read as {field.type}: {exc}"
                ) from exc
        elif not field.nullable:
            raise InputError(f"places table lacks the required column {field.name!r}")
        else:
            default = False if field.name in ("watched", "exclusion_only") else None
            cols[field.name] = pa.array([default] * table.num_rows, field.type)
    out = pa.table(cols, schema=schema.PLACES.remove_metadata())
    for field in schema.PLACES:
        if not field.nullable and out[field.name].null_count:
            raise InputError(f"places column {field.name!r} has {out[field.name].null_count} empty values")
    lat, lon = out["lat"].to_numpy(), out["lon"].to_numpy()
    r_in, r_out = out["r_in_m"].to_numpy(), out["r_out_m"].to_numpy()
    _check(np.isfinite(lat) & (np.abs(lat) <= 90), out, "lat must be within -90..90")
    _check(np.isfinite(lon) & (np.abs(lon) <= 180), out, "lon must be within -180..180")
    _check(np.isfinite(r_in) & (r_in >= 0), out, "r_in_m must be a non-negative number of metres")
    _check(np.isfinite(r_out) & (r_out >= r_in), out, "r_out_m must be >= r_in_m (exit beyond entry)")
    return out


def _check(ok: npt.NDArray[np.bool_], table: pa.Table, message: str) -> None:
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise InputError(f"place {table['place_id'][bad].as_py()!r}: {message}")


@functools.lru_cache(maxsize=8)
def _load_source(source: str) -> pa.Table:
    path = resources.files("supplyline") / "data" / f"places_{source}.parquet"
    with resources.as_file(path) as p:
        return conform_places(pq.read_table(p))


def load_gazetteer(sources: Sequence[str] = SOURCES) -> pa.Table:
    """The shipped gazetteer as one PLACES table (``watched`` False), rows in ``sources`` order.

    ``wpi``: 3,766 NGA World Port Index ports; ``unlocode``: 10,011 further UN/LOCODE ports with UNECE's own
    coordinates; ``gfw``: 56,013 Global Fishing Watch named anchorage cells. See data/places.PROVENANCE.md.
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise UsageError(f"unknown gazetteer source(s) {unknown}; choose from {', '.join(SOURCES)}")
    if not sources:
        return schema.PLACES.empty_table()
    return pa.concat_tables([_load_source(s) for s in sources])


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "place"


def _num(value: Any, what: str, where: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} must be a number of metres, got {value!r}") from None
    if not np.isfinite(out) or out < 0:
        raise InputError(f"{where}: {what} must be a non-negative number of metres, got {value!r}")
    return out


def places_from_records(records: Iterable[Mapping[str, Any]], *, source: str = "user") -> pa.Table:
    """Build a PLACES table from user records (the case file's places, GeoJSON features).

    Each record has ``name`` and either ``lat``/``lon`` (a circle) or ``geometry`` (a shapely Polygon or
    MultiPolygon, or a GeoJSON geometry dict, lon/lat degrees). Optional: ``id`` (place_id becomes
    ``<source>:<id>``; default is the slugged name), ``kind``, ``country``, ``locode``, ``watched``,
    ``aliases`` (list or "|" string), and radii in metres: ``r_in_m`` / ``r_out_m`` or ``radius_m``
    (r_out defaults to 4/3 r_in, r_in to 3 km). A polygon's r_in_m is set to the radius of the circle
    around its centroid that holds it, and r_out_m to that plus ``exit_margin_m`` (default 1000 m), so
    circle-only consumers still get a conservative geofence.
    """
    rows = [_record_row(rec, n, source) for n, rec in enumerate(records, start=1)]
    table = pa.Table.from_pylist(rows, schema=schema.PLACES.remove_metadata())
    ids, counts = np.unique(table["place_id"].to_numpy(zero_copy_only=False), return_counts=True)
    if (counts > 1).any():
        raise InputError(f"duplicate place ids {ids[counts > 1].tolist()}; give each place a unique 'id'")
    return conform_places(table)


def _record_row(rec: Mapping[str, Any], n: int, source: str) -> dict[str, Any]:
    """One PLACES row from record number ``n``: the shared columns, then the circle's or polygon's shape."""
    where = f"place #{n}" + (f" ({rec['name']!r})" if rec.get("name") else "")
    name = rec.get("name")
    if not name or not isinstance(name, str):
        raise InputError(f"{where}: every place needs a 'name' (text)")
    radius = _num(rec.get("radius_m", rec.get("radius")), "radius_m", where)
    r_in = _num(rec.get("r_in_m"), "r_in_m", where)
    r_out = _num(rec.get("r_out_m"), "r_out_m", where)
    aliases = rec.get("aliases")
    if isinstance(aliases, list | tuple):
        aliases = "|".join(str(a) for a in aliases) or None
    row: dict[str, Any] = {
        "place_id": f"{source}:{rec.get('id') or _slug(name)}",
        "name": name,
        "kind": rec.get("kind") or ("area" if rec.get("geometry") is not None else "port"),
        "country": rec.get("country"),
        "locode": rec.get("locode"),
        "watched": bool(rec.get("watched", True)),
        "source": source,
        "aliases": aliases,
        "geometry_wkb": None,
    }
    geom = rec.get("geometry")
    if geom is not None:
        row.update(_polygon_shape(geom, rec.get("exit_margin_m"), where))
    else:
        row.update(_circle_shape(rec, radius, r_in, r_out, where))
    return row


def _polygon_shape(geom: Any, exit_margin: Any, where: str) -> dict[str, Any]:
    """Centre, bounding radii (m) and WKB of a polygon place; exit = bounding radius + margin."""
    poly = _polygon(geom, where)
    frame = LocalFrame.of(poly)
    lat, lon = frame.centre()
    bound_m = frame.bounding_radius_m()
    margin = _num(exit_margin, "exit_margin_m", where)
    margin = DEFAULT_POLYGON_MARGIN_M if margin is None else margin
    return {
        "lat": lat,
        "lon": lon,
        "r_in_m": bound_m,
        "r_out_m": bound_m + margin,
        "geometry_wkb": shapely.to_wkb(poly),
    }


def _circle_shape(
    rec: Mapping[str, Any], radius: float | None, r_in: float | None, r_out: float | None, where: str
) -> dict[str, Any]:
    """Centre and radii (m) of a circle place: r_in from r_in_m, radius_m or 3 km; r_out 4/3 r_in by default."""
    try:
        lat, lon = float(rec["lat"]), float(rec["lon"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: give numeric 'lat' and 'lon' (degrees) or a polygon") from None
    r_in = r_in if r_in is not None else (radius if radius is not None else DEFAULT_R_IN_M)
    r_out = r_out if r_out is not None else r_in * EXIT_RATIO
    if r_out < r_in:
        raise InputError(f"{where}: r_out_m ({r_out}) must be >= r_in_m ({r_in})")
    return {"lat": lat, "lon": lon, "r_in_m": r_in, "r_out_m": r_out}


def _polygon(geom: Any, where: str) -> shapely.Geometry:
    try:
        poly = shapely.geometry.shape(geom) if isinstance(geom, Mapping) else geom
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise InputError(f"{where}: geometry is not valid GeoJSON ({exc})") from None
    if not isinstance(poly, shapely.Polygon | shapely.MultiPolygon) or poly.is_empty:
        raise InputError(
            f"{where}: geometry must be a Polygon or MultiPolygon, got {getattr(poly, 'geom_type', poly)!r}"
        )
    return poly


def places_from_geojson(path: str | Path, *, source: str = "user") -> pa.Table:
    """Read user places from a GeoJSON FeatureCollection (or a single Feature).

    Point features are circles: properties ``radius_m`` (entry radius, m; default 3000) and optionally
    ``r_out_m``. Polygon/MultiPolygon features keep their shape (``geometry_wkb``) and may set
    ``exit_margin_m`` (default 1000). Other properties used: ``name`` (required), ``id``, ``kind``,
    ``country``, ``locode``, ``aliases``. Feature ``id`` is used when properties have none.
    """
    p = Path(path)
    try:
        doc = json.loads(read_utf8(p))
    except FileNotFoundError:
        raise InputError(f"places file {p} does not exist") from None
    except NotUtf8Error as exc:  # names the line of the first bad byte
        raise InputError(f"places file {exc.path}:{exc.line} is not UTF-8: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"places file {p}:{exc.lineno} is not readable GeoJSON: {exc.msg}") from None
    except OSError as exc:
        raise InputError(f"places file {p} is not readable: {exc}") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{p}: expected a GeoJSON FeatureCollection of Point/Polygon features")
    records = []
    for n, feat in enumerate(doc.get("features") or [], start=1):
        geom = (feat or {}).get("geometry") or {}
        props = dict((feat or {}).get("properties") or {})
        props.setdefault("id", feat.get("id"))
        gtype = geom.get("type")
        if gtype == "Point":
            coords = geom.get("coordinates") or []
            if len(coords) < 2:
                raise InputError(f"{p}: feature #{n} Point has no coordinates")
            props["lon"], props["lat"] = coords[0], coords[1]
        elif gtype in ("Polygon", "MultiPolygon"):
            props["geometry"] = geom
        else:
            raise InputError(f"{p}: feature #{n} is a {gtype!r}; use Point (with radius_m) or Polygon")
        records.append(props)
    try:
        return places_from_records(records, source=source)
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from None


def assemble_places(
    case: Case | None = None,
    geojson: Sequence[str | Path] = (),
    gazetteer: bool | None = None,
    *,
    extra: Sequence[pa.Table] = (),
) -> pa.Table:
    """The places one detection run uses, as one PLACES table: the case's, each GeoJSON file's, ``extra``
    tables, then the shipped gazetteer.

    ``gazetteer=None`` adds the gazetteer for visits only when no other places were given (so a bare
    ``detect`` still finds port calls), and otherwise flagged ``exclusion_only``: a case never shrinks the
    ">= N km from any place" exclusions of encounters and loitering. True always adds it for visits too,
    False never adds it. Raises UsageError when nothing is left.
    """
    tables: list[pa.Table] = [case.places] if case is not None else []
    tables += [places_from_geojson(p) for p in geojson]
    tables += list(extra)
    if gazetteer is not False:
        gaz = load_gazetteer()
        if gazetteer is None and tables:
            gaz = conform_places(gaz)
            flag = pa.array([True] * gaz.num_rows, pa.bool_())
            gaz = gaz.set_column(gaz.schema.get_field_index("exclusion_only"), "exclusion_only", flag)
        tables.append(gaz)
    if not tables:
        raise UsageError("no places given: use --case, --places FILE.geojson or --gazetteer")
    return pa.concat_tables([conform_places(t) for t in tables], promote_options="default")
