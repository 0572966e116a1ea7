"""Read satellite scenes with rasterio (GDAL), window by window, so a whole GRD never sits in memory.

Any GDAL raster works: a terrain-corrected GeoTIFF (affine transform, any CRS), a Sentinel-1 GRD
measurement TIFF or ``manifest.safe`` (geolocated by its ground control points, through GDAL's GCP
transformer), a Sentinel-2 band (JP2/GeoTIFF). ``--aoi`` (a bbox ``minlon,minlat,maxlon,maxlat``, a
GeoJSON file, or a place's circle) is turned into a pixel window first, and only tiles inside it are read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from supplyline.errors import DependencyError, InputError, UsageError
from supplyline.geo import EARTH_RADIUS_M

F64 = npt.NDArray[np.float64]


def _rasterio() -> Any:
    try:
        import rasterio
    except ImportError as exc:
        raise DependencyError("reading scenes needs rasterio: pip install 'supplyline[imagery]'") from exc
    return rasterio


@dataclass
class Scene:
    """An open raster and how to turn its pixels into lon/lat."""

    path: Path
    ds: Any  # rasterio DatasetReader
    kind: str  # "affine" | "gcp"

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.ds.height), int(self.ds.width)

    def lonlat(self, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Lon/lat (deg) of fractional pixel positions (row, col; +0.5 = pixel centre)."""
        rasterio = _rasterio()
        from rasterio.warp import transform as warp

        if self.kind == "gcp":
            gcps, crs = self.ds.gcps
            with rasterio.transform.GCPTransformer(gcps) as tr:
                xs, ys = tr.xy(rows, cols, offset="ul")
        else:
            xs, ys = rasterio.transform.xy(self.ds.transform, rows, cols, offset="ul")
            crs = self.ds.crs
        xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
        if crs is not None and not crs.is_geographic:
            xs, ys = (np.asarray(v, np.float64) for v in warp(crs, "EPSG:4326", xs, ys))
        return xs, ys

    def pixel_m(self) -> float:
        """Ground size of a pixel (m, geometric mean of the two axes) at the scene centre."""
        h, w = self.shape
        lon, lat = self.lonlat(np.array([h / 2, h / 2, h / 2 + 1]), np.array([w / 2, w / 2 + 1, w / 2]))
        k = math.cos(math.radians(lat[0]))
        dx = math.hypot((lon[1] - lon[0]) * k, lat[1] - lat[0])
        dy = math.hypot((lon[2] - lon[0]) * k, lat[2] - lat[0])
        return math.radians(math.sqrt(dx * dy)) * EARTH_RADIUS_M

    def read(self, window: tuple[int, int, int, int], band: int = 1) -> F64:
        """Pixels rows r0:r1, cols c0:c1 of ``band`` as float64 (nodata -> NaN)."""
        from rasterio.windows import Window

        r0, c0, r1, c1 = window
        arr = self.ds.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
        return np.asarray(arr.astype(np.float64).filled(np.nan))


def open_scene(path: Path | str) -> Scene:
    """Open a raster; a clear error when GDAL cannot read it or it has no geolocation."""
    rasterio = _rasterio()
    path = Path(path)
    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"cannot read scene {path}: {exc}; give a GeoTIFF, JP2 or Sentinel-1 SAFE file"
        ) from exc
    if ds.crs is not None and not ds.transform.is_identity:
        return Scene(path, ds, "affine")
    if ds.gcps[0]:
        return Scene(path, ds, "gcp")
    ds.close()
    raise InputError(f"scene {path} has no geolocation (no CRS/transform and no GCPs); it cannot be geocoded")


def parse_aoi(spec: str, places: dict[str, tuple[float, float, float]] | None = None) -> shapely.Geometry:
    """An AOI polygon (lon/lat) from a bbox ``minlon,minlat,maxlon,maxlat``, a GeoJSON file or a place id."""
    if places and spec in places:
        lat, lon, r_m = places[spec]
        dlat = math.degrees(r_m / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    parts = spec.split(",")
    if len(parts) == 4:
        try:
            x0, y0, x1, y1 = (float(p) for p in parts)
        except ValueError as exc:
            raise UsageError(f"--aoi {spec!r}: a bbox is four numbers minlon,minlat,maxlon,maxlat") from exc
        if not (x0 < x1 and y0 < y1):
            raise UsageError(f"--aoi {spec!r}: min must be below max")
        return shapely.box(x0, y0, x1, y1)
    path = Path(spec)
    if path.exists():
        doc = json.loads(path.read_text())
        feats = doc.get("features") or [doc]
        return shapely.union_all([shapely.geometry.shape(f.get("geometry", f)) for f in feats])
    raise UsageError(f"--aoi {spec!r} is not a bbox, a GeoJSON file or a place id of the case")


def aoi_window(scene: Scene, aoi: shapely.Geometry | None, step: int = 64) -> tuple[int, int, int, int]:
    """The pixel window (r0, c0, r1, c1) covering ``aoi`` (whole scene when None); empty -> UsageError."""
    h, w = scene.shape
    if aoi is None:
        return 0, 0, h, w
    rr, cc = np.meshgrid(
        np.arange(0, h + step, step).clip(0, h), np.arange(0, w + step, step).clip(0, w), indexing="ij"
    )
    lon, lat = scene.lonlat(rr.ravel().astype(np.float64), cc.ravel().astype(np.float64))
    inside = shapely.contains_xy(shapely.buffer(aoi, 0), lon, lat).reshape(rr.shape)
    if not inside.any():
        raise UsageError(f"the --aoi does not overlap scene {scene.path.name}")
    ri, ci = np.nonzero(inside)
    return (
        int(max(rr[ri.min(), 0] - step, 0)),
        int(max(cc[0, ci.min()] - step, 0)),
        int(min(rr[ri.max(), 0] + step, h)),
        int(min(cc[0, ci.max()] + step, w)),
    )


def tiles(
    window: tuple[int, int, int, int], size: int, margin: int
) -> Iterator[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """(read window with ``margin`` px overlap, core window) pairs covering ``window``; cores never overlap."""
    r0, c0, r1, c1 = window
    for a in range(r0, r1, size):
        for b in range(c0, c1, size):
            core = (a, b, min(a + size, r1), min(b + size, c1))
            read = (
                max(a - margin, r0),
                max(b - margin, c0),
                min(core[2] + margin, r1),
                min(core[3] + margin, c1),
            )
            yield read, core


def acquisition_time(scene: Scene) -> str | None:
    """The acquisition time the file states (Sentinel-1 SAFE ``ACQUISITION_START_TIME``, Sentinel-2
    ``PRODUCT_START_TIME``/``DATATAKE_1_DATATAKE_SENSING_START``, TIFF ``TIFFTAG_DATETIME``), else None."""
    tags = {**scene.ds.tags()}
    for key in (
        "ACQUISITION_START_TIME",
        "PRODUCT_START_TIME",
        "DATATAKE_1_DATATAKE_SENSING_START",
        "ACQUIRED",
        "TIFFTAG_DATETIME",
    ):
        if tags.get(key):
            return str(tags[key])
    return None
