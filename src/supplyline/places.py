"""Places: the shipped gazetteer (WPI ports, UN/LOCODE ports, GFW anchorages), user places, a spatial index.

A place is a circle (centre + entry radius ``r_in_m`` + exit radius ``r_out_m``; r_out > r_in gives the
hysteresis that stops a vessel idling on the boundary from making dozens of visits) or a polygon kept as WKB
in ``geometry_wkb`` (exit = the polygon grown by ``r_out_m - r_in_m``).

:class:`PlaceIndex` answers point -> place questions for millions of points. Centres are 3D unit vectors in a
KD-tree, so the great-circle distance is a monotonic function of the straight-line (chord) distance and no
longitude wrap or pole case exists. Polygons are tested with shapely in a local equirectangular frame centred
on each polygon, so a polygon across the antimeridian is tested correctly too.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from scipy.spatial import cKDTree

from supplyline import schema
from supplyline.errors import InputError, UsageError
from supplyline.geo import M_PER_DEG, haversine_km, km_to_chord, to_unit_xyz

SOURCES = ("wpi", "unlocode", "gfw")
"""Shipped gazetteer sources, in order of positional quality (WPI harbour points first)."""

DEFAULT_R_IN_M = 3000.0
"""Entry radius (m) for a user point without one: GFW's port-visit entry distance."""
EXIT_RATIO = 4.0 / 3.0
"""r_out / r_in when only one radius is given: GFW's 3 km enter / 4 km exit."""
DEFAULT_POLYGON_MARGIN_M = 1000.0
"""How far (m) outside a polygon a vessel must go to leave it, unless the place says otherwise."""

_CHUNK = 1 << 20  # points per batch in assign(): bounds memory at ~100 MB whatever the input size
_K = 4  # nearest candidates examined per point before the exact fallback
_BUCKET_RATIO = 1.25  # radius classes for the exact fallback: radii within a class differ by <25 %

Radius = Literal["r_in", "r_out"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# --- tables ------------------------------------------------------------------------------------------------


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
    rows: list[dict[str, Any]] = []
    for n, rec in enumerate(records, start=1):
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
            poly = _polygon(geom, where)
            frame = _LocalFrame.of(poly)
            row["lat"], row["lon"] = frame.centre()
            bound_m = frame.bounding_radius_m()
            margin = _num(rec.get("exit_margin_m"), "exit_margin_m", where)
            margin = DEFAULT_POLYGON_MARGIN_M if margin is None else margin
            row["r_in_m"], row["r_out_m"] = bound_m, bound_m + margin
            row["geometry_wkb"] = shapely.to_wkb(poly)
        else:
            try:
                row["lat"], row["lon"] = float(rec["lat"]), float(rec["lon"])
            except (KeyError, TypeError, ValueError):
                raise InputError(f"{where}: give numeric 'lat' and 'lon' (degrees) or a polygon") from None
            r_in = r_in if r_in is not None else (radius if radius is not None else DEFAULT_R_IN_M)
            row["r_in_m"] = r_in
            row["r_out_m"] = r_out if r_out is not None else r_in * EXIT_RATIO
            if row["r_out_m"] < r_in:
                raise InputError(f"{where}: r_out_m ({row['r_out_m']}) must be >= r_in_m ({r_in})")
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=schema.PLACES.remove_metadata())
    ids, counts = np.unique(table["place_id"].to_numpy(zero_copy_only=False), return_counts=True)
    if (counts > 1).any():
        raise InputError(f"duplicate place ids {ids[counts > 1].tolist()}; give each place a unique 'id'")
    return conform_places(table)


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
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"places file {p} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"places file {p} is not readable GeoJSON: {exc}") from None
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


# --- polygons ----------------------------------------------------------------------------------------------


def _wrap180(lon: npt.ArrayLike) -> FloatArray:
    return np.asarray(np.mod(np.asarray(lon, dtype=np.float64) + 180.0, 360.0) - 180.0)


@dataclass(frozen=True)
class _LocalFrame:
    """A polygon in an equirectangular frame (degrees of latitude, ~111 km) centred on its vertices.

    Longitudes are unwrapped around the circular mean of the vertices, so a polygon that crosses the
    antimeridian (even written as 179..-179, or split into two parts) becomes one contiguous shape.
    """

    lat0: float
    lon0: float
    coslat: float
    local: shapely.Geometry

    @classmethod
    def of(cls, geom: shapely.Geometry) -> _LocalFrame:
        xy = shapely.get_coordinates(geom)
        lam = np.radians(xy[:, 0])
        lon0 = float(np.degrees(np.arctan2(np.sin(lam).mean(), np.cos(lam).mean())))
        lat0 = float(xy[:, 1].mean())
        coslat = max(float(np.cos(np.radians(lat0))), 1e-6)

        def fwd(c: FloatArray) -> FloatArray:
            return np.column_stack([_wrap180(c[:, 0] - lon0) * coslat, c[:, 1] - lat0])

        local = shapely.make_valid(shapely.transform(geom, fwd))
        return cls(lat0, lon0, coslat, local)

    def project(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _wrap180(lon - self.lon0) * self.coslat, lat - self.lat0

    def centre(self) -> tuple[float, float]:
        c = shapely.centroid(self.local)
        return self.lat0 + float(c.y), float(_wrap180(self.lon0 + float(c.x) / self.coslat))

    def bounding_radius_m(self) -> float:
        lat, lon = self.centre()
        xy = shapely.get_coordinates(self.local)
        vlat, vlon = xy[:, 1] + self.lat0, self.lon0 + xy[:, 0] / self.coslat
        return float(haversine_km(lat, lon, vlat, vlon).max() * 1000.0)


# --- the index ---------------------------------------------------------------------------------------------


def _points(lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if la.shape != lo.shape or la.ndim != 1:
        raise UsageError(f"lat and lon must be 1-D arrays of equal length, got {la.shape} and {lo.shape}")
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90.0) & (np.abs(lo) <= 180.0)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise UsageError(f"point {i} ({la[i]}, {lo[i]}) is not a valid lat/lon in degrees")
    return la, lo


@dataclass
class _Circles:
    """Circle places of one radius mode: a KD-tree over all of them plus per-radius-class trees."""

    rows: IntArray  # row in the places table
    chord: FloatArray  # radius as chord length on the unit sphere
    tree: cKDTree
    classes: list[tuple[IntArray, cKDTree, float]]  # (positions into rows, tree, max chord)


class PlaceIndex:
    """Spatial index over a PLACES table; every method is vectorised over points.

    >>> idx = PlaceIndex(places_from_records([{"name": "A", "lat": 0.0, "lon": 179.99, "radius_m": 5000}]))
    >>> idx.assign(np.array([0.0, 0.0]), np.array([-179.99, 10.0])).tolist()  # 2.2 km across the antimeridian
    [0, -1]
    """

    def __init__(self, places: pa.Table, *, workers: int = 1) -> None:
        self.places = conform_places(places)
        self.workers = workers
        self.lat = self.places["lat"].to_numpy()
        self.lon = self.places["lon"].to_numpy()
        self._xyz = to_unit_xyz(self.lat, self.lon) if len(self.lat) else np.empty((0, 3))
        self._tree = cKDTree(self._xyz)
        wkb = self.places["geometry_wkb"]
        is_poly = pc.is_valid(wkb).to_numpy(zero_copy_only=False)
        self._poly_rows = np.flatnonzero(is_poly).astype(np.int64)
        self._circle_rows = np.flatnonzero(~is_poly).astype(np.int64)
        geoms = shapely.from_wkb(wkb.filter(pc.is_valid(wkb)).to_numpy(zero_copy_only=False))
        self._frames = [_LocalFrame.of(g) for g in geoms]
        self._bounds_m = np.array([f.bounding_radius_m() for f in self._frames], dtype=np.float64)
        centres = np.array([f.centre() for f in self._frames], dtype=np.float64).reshape(-1, 2)
        self._poly_xyz = to_unit_xyz(centres[:, 0], centres[:, 1]) if len(centres) else np.empty((0, 3))
        self._grown: dict[tuple[int, float], shapely.Geometry] = {}
        self._circles: dict[str, _Circles] = {}
        self._search: _Choices | None = None

    def __len__(self) -> int:
        return self.places.num_rows

    def _radius_m(self, radius: Radius) -> FloatArray:
        if radius not in ("r_in", "r_out"):
            raise UsageError(f"radius must be 'r_in' or 'r_out', got {radius!r}")
        return np.asarray(self.places[f"{radius}_m"].to_numpy(), dtype=np.float64)

    def _circle_set(self, radius: Radius) -> _Circles:
        if radius not in self._circles:
            rows = self._circle_rows
            chord = km_to_chord(self._radius_m(radius)[rows] / 1000.0)
            cls = np.floor(np.log(np.maximum(chord, 1e-12)) / np.log(_BUCKET_RATIO)).astype(np.int64)
            classes = []
            for c in np.unique(cls):
                pos = np.flatnonzero(cls == c)
                classes.append((pos, cKDTree(self._xyz[rows[pos]]), float(chord[pos].max())))
            self._circles[radius] = _Circles(rows, chord, cKDTree(self._xyz[rows]), classes)
        return self._circles[radius]

    def assign(self, lat: npt.ArrayLike, lon: npt.ArrayLike, radius: Radius = "r_in") -> IntArray:
        """Row of the nearest place (by centre distance) whose circle or polygon contains each point; -1 if none.

        ``radius="r_in"`` tests entry (circle of r_in_m, or the polygon); ``"r_out"`` tests staying inside
        (circle of r_out_m, or the polygon grown by r_out_m - r_in_m).
        """
        la, lo = _points(lat, lon)
        self._radius_m(radius)
        out = np.full(len(la), -1, dtype=np.int64)
        for s in range(0, len(la), _CHUNK):
            out[s : s + _CHUNK] = self._assign_chunk(la[s : s + _CHUNK], lo[s : s + _CHUNK], radius)
        return out

    def _assign_chunk(self, lat: FloatArray, lon: FloatArray, radius: Radius) -> IntArray:
        n = len(lat)
        best = np.full(n, -1, dtype=np.int64)
        best_d = np.full(n, np.inf)  # chord distance to the chosen place's centre
        q = to_unit_xyz(lat, lon)
        if len(self._circle_rows):
            circ = self._circle_set(radius)
            pos, d, todo = _first_inside(circ.tree, circ.chord, q, float(circ.chord.max()), self.workers)
            hit = pos >= 0
            best[hit], best_d[hit] = circ.rows[pos[hit]], d[hit]
            if todo.any():  # K candidates were inside the search radius and none contained the point
                self._assign_exact(circ, q, np.flatnonzero(todo), best, best_d)
        if len(self._poly_rows):
            self._assign_polygons(lat, lon, q, radius, best, best_d)
        return best

    def _assign_exact(
        self, circ: _Circles, q: FloatArray, sel: IntArray, best: IntArray, best_d: FloatArray
    ) -> None:
        """Exact answer for hard points: per radius class the K-nearest test is almost always conclusive."""
        for pos, tree, cmax in circ.classes:
            p, d, todo = _first_inside(tree, circ.chord[pos], q[sel], cmax, self.workers)
            if todo.any():  # still unsure: every place of this class within its max radius
                t = np.flatnonzero(todo)
                p[t], d[t] = _ball_nearest_inside(tree, circ.chord[pos], q[sel[t]], cmax)
            better = (p >= 0) & (d < best_d[sel])
            best[sel[better]] = circ.rows[pos[p[better]]]
            best_d[sel[better]] = d[better]

    def _assign_polygons(
        self,
        lat: FloatArray,
        lon: FloatArray,
        q: FloatArray,
        radius: Radius,
        best: IntArray,
        best_d: FloatArray,
    ) -> None:
        r_in, r_out = self._radius_m("r_in"), self._radius_m("r_out")
        rows = self._poly_rows
        margins = np.maximum(r_out[rows] - r_in[rows], 0.0) if radius == "r_out" else np.zeros(len(rows))
        # prefilter: the circle around each polygon's own centroid that holds it (plus the exit margin), as
        # one ball query per polygon against a KD-tree of the points (C loop; 3-D chords: antimeridian-safe)
        chords = km_to_chord((self._bounds_m + margins) / 1000.0) * (1 + 1e-9)
        hits = cKDTree(q).query_ball_point(self._poly_xyz, chords, workers=self.workers)
        for k in np.flatnonzero(np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))):
            row, frame, margin_m = rows[k], self._frames[k], float(margins[k])
            cand = np.asarray(hits[k], dtype=np.int64)
            d = np.sqrt(((q[cand] - self._xyz[row]) ** 2).sum(axis=1))  # ranking: chord to the place centre
            nearer = d < best_d[cand]
            cand, d = cand[nearer], d[nearer]
            if not len(cand):
                continue
            key = (int(row), margin_m)
            if key not in self._grown:
                self._grown[key] = (
                    shapely.buffer(frame.local, margin_m / M_PER_DEG) if margin_m else frame.local
                )
            x, y = frame.project(lat[cand], lon[cand])
            inside = shapely.contains_xy(self._grown[key], x, y)
            best[cand[inside]], best_d[cand[inside]] = row, d[inside]

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_m: float = np.inf
    ) -> tuple[IntArray, FloatArray]:
        """Nearest place centre to each point: (row or -1, great-circle distance in m or inf) within ``max_m``."""
        la, lo = _points(lat, lon)
        idx = np.full(len(la), -1, dtype=np.int64)
        dist = np.full(len(la), np.inf)
        if not len(self) or not len(la):
            return idx, dist
        bound = np.inf if not np.isfinite(max_m) else float(km_to_chord(max_m / 1000.0)) * (1 + 1e-9)
        _, j = self._tree.query(to_unit_xyz(la, lo), k=1, distance_upper_bound=bound, workers=self.workers)
        ok = j < len(self)
        idx[ok] = j[ok]
        dist[ok] = haversine_km(la[ok], lo[ok], self.lat[j[ok]], self.lon[j[ok]]) * 1000.0
        keep = dist <= max_m
        idx[~keep], dist[~keep] = -1, np.inf
        return idx, dist

    def near(self, lat: float, lon: float, radius_m: float, limit: int | None = None) -> pa.Table:
        """Places whose centre lies within ``radius_m`` of one point, nearest first, with a ``dist_km`` column."""
        la, lo = _points(lat, lon)
        if not np.isfinite(radius_m) or radius_m < 0:
            raise UsageError(f"radius must be a non-negative number of metres, got {radius_m}")
        rows = np.asarray(
            self._tree.query_ball_point(
                to_unit_xyz(la, lo)[0], float(km_to_chord(radius_m / 1000.0)) * (1 + 1e-9)
            ),
            dtype=np.int64,
        )
        dist = haversine_km(la[0], lo[0], self.lat[rows], self.lon[rows])
        keep = dist * 1000.0 <= radius_m
        rows, dist = rows[keep], dist[keep]
        order = np.lexsort((rows, dist))[:limit]
        return self.places.take(rows[order]).append_column("dist_km", pa.array(dist[order], pa.float64()))

    def search(self, name: str, limit: int = 20, country: str | None = None) -> pa.Table:
        """Fuzzy name search over names and aliases (accents, case and punctuation ignored).

        Ranked by: exact name, exact alias, rapidfuzz WRatio score (0-100), source quality (WPI first).
        Cells of one GFW anchorage (same name, country and source) collapse to one row, the cell nearest
        their mean position, with the count in ``n_same``. ``matched`` is the name or alias that matched
        best (e.g. "Rajin" for Najin). ``country`` is an ISO 3166 alpha-2 code.
        """
        from rapidfuzz import fuzz, process

        query = normalise_name(name)
        if not query:
            raise UsageError("give a place name to search for, e.g. `supplyline places search Vostochny`")
        if limit < 1:
            raise UsageError("limit must be at least 1")
        ch = self._search_choices()
        # WRatio's partial matching rewards a choice found inside the query ("n" in "najin"), so names
        # shorter than the query are scored by QRatio (whole-string) only.
        kw: dict[str, Any] = {"dtype": np.float32, "workers": self.workers}
        whole = process.cdist([query], ch.normalised, scorer=fuzz.QRatio, **kw)[0]
        part = process.cdist([query], ch.normalised, scorer=fuzz.WRatio, **kw)[0]
        scores = np.where(ch.lengths >= len(query), np.maximum(whole, part), whole)
        hit = ch.normalised_arr == query
        exact = np.zeros(len(self), dtype=bool)
        exact[ch.owner[hit]] = True
        exact_name = np.zeros(len(self), dtype=bool)
        exact_name[ch.owner[hit & ch.is_name]] = True
        best = np.zeros(len(self), dtype=np.float32)
        np.maximum.at(best, ch.owner, scores)
        mask = best >= 60.0
        if country:
            if not re.fullmatch(r"[A-Za-z]{2}", country):
                raise UsageError(f"country must be an ISO 3166 alpha-2 code like RU or KP, got {country!r}")
            mask &= (
                pc.equal(self.places["country"], country.upper())
                .fill_null(False)
                .to_numpy(zero_copy_only=False)
            )
        src_rank = _source_rank(self.places["source"])
        rows = np.flatnonzero(mask)
        order = rows[np.lexsort((rows, src_rank[rows], -best[rows], ~exact[rows], ~exact_name[rows]))]
        # group repeated cells of one anchorage (same lower-case name, country, source)
        t = self.places.take(order)
        key = pc.binary_join_element_wise(
            pc.utf8_lower(t["name"]), t["country"].fill_null(""), t["source"].fill_null(""), "\x1f"
        )
        _, first, inv, counts = np.unique(
            key.to_numpy(zero_copy_only=False), return_index=True, return_inverse=True, return_counts=True
        )
        groups = np.argsort(first, kind="stable")[:limit]  # groups in rank order of their best member
        # representative: the member nearest the group's mean position (unit vectors, so wrap-free)
        xyz = self._xyz[order]
        mean = np.zeros((len(first), 3))
        np.add.at(mean, inv, xyz)
        mean /= counts[:, None]
        off = ((xyz - mean[inv]) ** 2).sum(axis=1)
        by_group = np.lexsort((off, inv))
        rep = by_group[np.concatenate([[0], np.cumsum(counts)[:-1]])] if len(inv) else by_group
        pick = rep[groups]
        matched = [ch.raw[self._best_choice(int(p), scores)] for p in order[first[groups]]]
        return (
            t.take(pick)
            .append_column("score", pa.array(best[order[first[groups]]].astype(np.float64)))
            .append_column("n_same", pa.array(counts[groups].astype(np.int64)))
            .append_column("matched", pa.array(matched, pa.string()))
        )

    def _best_choice(self, row: int, scores: FloatArray) -> int:
        """Index (into the search choices) of the best-scoring name or alias of place ``row``."""
        owner = self._search_choices().owner
        lo, hi = np.searchsorted(owner, row, "left"), np.searchsorted(owner, row, "right")
        return int(lo + np.argmax(scores[lo:hi]))

    def _search_choices(self) -> _Choices:
        if self._search is None:
            names = self.places["name"].to_pylist()
            aliases = self.places["aliases"].to_pylist()
            raw: list[str] = []
            owner: list[int] = []
            is_name: list[bool] = []
            for i, (n, a) in enumerate(zip(names, aliases, strict=True)):
                for j, s in enumerate([n, *(a.split("|") if a else [])]):
                    raw.append(s)
                    owner.append(i)
                    is_name.append(j == 0)
            norm = [normalise_name(s) for s in raw]
            self._search = _Choices(
                raw=raw,
                normalised=norm,
                normalised_arr=np.asarray(norm, dtype=object),
                owner=np.asarray(owner, dtype=np.int64),
                lengths=np.fromiter(map(len, norm), dtype=np.int64, count=len(norm)),
                is_name=np.asarray(is_name, dtype=bool),
            )
        return self._search


@dataclass(frozen=True)
class _Choices:
    """Every name and alias of every place, flattened for one vectorised rapidfuzz call."""

    raw: list[str]
    normalised: list[str]
    normalised_arr: npt.NDArray[np.object_]
    owner: IntArray  # place row of each choice, ascending
    lengths: IntArray
    is_name: npt.NDArray[np.bool_]  # the place's main name (not an alias)


def _source_rank(col: pa.ChunkedArray) -> IntArray:
    rank = {s: i for i, s in enumerate(SOURCES)}
    return np.array([rank.get(s, -1) for s in col.to_pylist()], dtype=np.int64)


def normalise_name(text: str) -> str:
    """Lower case, accents and apostrophes removed, other punctuation as spaces: "Ch'ŏngjin" -> "chongjin".

    >>> normalise_name("Ch'ŏngjin  (Seishin)")
    'chongjin seishin'
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    plain = re.sub(r"['`’]", "", plain)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _first_inside(
    tree: cKDTree, chord: FloatArray, q: FloatArray, cmax: float, workers: int
) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Among the K nearest centres within ``cmax``, the first whose circle holds each point.

    Returns (position in the tree or -1, chord distance, undecided) where undecided marks points whose K-th
    candidate was still inside ``cmax``: a farther place might still contain them.
    """
    n_tree = tree.n
    k = min(_K, n_tree)
    d, j = tree.query(q, k=k, distance_upper_bound=cmax * (1 + 1e-12), workers=workers)
    d, j = d.reshape(len(q), k), j.reshape(len(q), k)
    valid = j < n_tree
    inside = valid & (d <= chord[np.where(valid, j, 0)])
    first = inside.argmax(axis=1)
    rows = np.arange(len(q))
    found = inside[rows, first]
    pos = np.where(found, j[rows, first], -1).astype(np.int64)
    dist = np.where(found, d[rows, first], np.inf)
    undecided = ~found & valid[:, -1] & (k < n_tree)
    return pos, dist, undecided


def _ball_nearest_inside(
    tree: cKDTree, chord: FloatArray, q: FloatArray, cmax: float
) -> tuple[IntArray, FloatArray]:
    """Exhaustive version of :func:`_first_inside` for the few points it could not decide."""
    lists = tree.query_ball_point(q, cmax * (1 + 1e-12), return_sorted=False)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(counts.sum()))
    who = np.repeat(np.arange(len(q)), counts)
    d = np.sqrt(((q[who] - tree.data[flat]) ** 2).sum(axis=1))
    ok = d <= chord[flat]
    who, flat, d = who[ok], flat[ok], d[ok]
    order = np.lexsort((d, who))
    who, flat, d = who[order], flat[order], d[order]
    first = np.ones(len(who), dtype=bool)
    first[1:] = who[1:] != who[:-1]
    pos = np.full(len(q), -1, dtype=np.int64)
    dist = np.full(len(q), np.inf)
    pos[who[first]], dist[who[first]] = flat[first], d[first]
    return pos, dist


__all__ = [
    "SOURCES",
    "PlaceIndex",
    "conform_places",
    "load_gazetteer",
    "normalise_name",
    "places_from_geojson",
    "places_from_records",
]
