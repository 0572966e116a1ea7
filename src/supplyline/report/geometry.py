"""GeoJSON geometries faithful to RFC 7946: lines cut at the antimeridian, places as polygons or circles.

Positions are ``[lon, lat, *extra]``; extra ordinates (altitude, time) are carried through and interpolated
where a line is cut. RFC 7946 3.1.9: a line crossing the antimeridian is cut into a MultiLineString whose
parts end and start at +/-180, and polygons are counter-clockwise (3.1.6).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box, mapping, shape

from supplyline.geo import destination_point

Geometry = dict[str, Any]
Position = list[float]

CIRCLE_VERTICES = 64  # a 64-gon is within 0.12 % of the circle's radius


def split_antimeridian(coords: list[Position]) -> list[list[Position]]:
    """Cut a line wherever a step jumps more than 180 deg in longitude (it crossed the antimeridian).

    >>> split_antimeridian([[179.0, 0.0], [-179.0, 2.0]])
    [[[179.0, 0.0], [180.0, 1.0]], [[-180.0, 1.0], [-179.0, 2.0]]]
    >>> split_antimeridian([[10.0, 0.0], [11.0, 1.0]])
    [[[10.0, 0.0], [11.0, 1.0]]]
    """
    parts: list[list[Position]] = [[list(coords[0])]] if coords else []
    for prev, cur in itertools.pairwise(coords):
        step = cur[0] - prev[0]
        if abs(step) > 180.0:
            edge = 180.0 if step < 0 else -180.0  # eastward crossing: +180 -> -180
            unwrapped = cur[0] + (360.0 if step < 0 else -360.0)
            f = (edge - prev[0]) / (unwrapped - prev[0])
            mid = [p + f * (c - p) for p, c in zip(prev[1:], cur[1:], strict=True)]
            parts[-1].append([edge, *mid])
            parts.append([[-edge, *mid]])
        parts[-1].append(list(cur))
    return [p for p in parts if len(p) >= 2]


def line_geometry(coords: list[Position]) -> Geometry | None:
    """A LineString, or a MultiLineString when the line crosses the antimeridian; None under two points."""
    parts = split_antimeridian(coords)
    if not parts:
        return None
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": parts[0]}
    return {"type": "MultiLineString", "coordinates": parts}


def multi_line_geometry(lines: list[list[Position]]) -> Geometry | None:
    """A MultiLineString of several lines, each cut at the antimeridian."""
    parts = [p for line in lines for p in split_antimeridian(line)]
    return {"type": "MultiLineString", "coordinates": parts} if parts else None


def circle_geometry(lat: float, lon: float, radius_m: float, n: int = CIRCLE_VERTICES) -> Geometry:
    """A geodesic circle as a counter-clockwise Polygon (MultiPolygon if it straddles the antimeridian)."""
    bearings = np.linspace(360.0, 0.0, n + 1)  # decreasing bearing = counter-clockwise on the map
    plat, plon = destination_point(np.full(n + 1, lat), np.full(n + 1, lon), bearings, radius_m / 1000.0)
    plon = lon + (np.mod(plon - lon + 180.0, 360.0) - 180.0)  # unwrap around the centre
    ring = np.round(np.column_stack([plon, plat]), 6)
    ring[-1] = ring[0]
    return _wrap_polygon(shapely.Polygon(ring))


def _wrap_polygon(poly: shapely.Polygon) -> Geometry:
    """Shift the parts of ``poly`` beyond +/-180 back into range (a MultiPolygon when it is cut)."""
    minx, _, maxx, _ = poly.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return _geojson(poly)
    pieces = [poly.intersection(box(-180, -90, 180, 90))]
    for shift in (360.0, -360.0):
        part = poly.intersection(box(-180 - shift, -90, 180 - shift, 90))
        if not part.is_empty:
            pieces.append(shapely.transform(part, lambda xy, s=shift: xy + np.array([s, 0.0])))
    return _geojson(shapely.union_all([p for p in pieces if not p.is_empty]))


def _geojson(geom: shapely.Geometry) -> Geometry:
    oriented = shapely.orient_polygons(geom) if hasattr(shapely, "orient_polygons") else _orient(geom)
    return dict(mapping(shapely.set_precision(oriented, 1e-6)))


def _orient(geom: shapely.Geometry) -> shapely.Geometry:
    if isinstance(geom, shapely.Polygon):
        return shapely.geometry.polygon.orient(geom, 1.0)
    if isinstance(geom, shapely.MultiPolygon):
        return shapely.MultiPolygon([shapely.geometry.polygon.orient(p, 1.0) for p in geom.geoms])
    return geom


def place_geometry(lat: float, lon: float, radius_m: float | None, wkb: bytes | None) -> Geometry:
    """A place's outline: its polygon if it has one, else its entry circle, else its point."""
    if wkb:
        return _geojson(shapely.from_wkb(wkb))
    if radius_m and radius_m > 0:
        return circle_geometry(lat, lon, radius_m)
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def to_wkb(geom: Geometry | None) -> bytes | None:
    """ISO WKB of a GeoJSON geometry in 2-D (extra ordinates such as time are dropped)."""
    if geom is None:
        return None
    flat = {"type": geom["type"], "coordinates": _xy(geom["coordinates"])}
    return bytes(shapely.to_wkb(shape(flat)))


def _xy(coords: Any) -> Any:
    """Nested GeoJSON coordinates cut to (lon, lat)."""
    if coords and isinstance(coords[0], int | float):
        return coords[:2]
    return [_xy(c) for c in coords]
