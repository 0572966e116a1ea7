"""An optional local vector basemap: the features of a PMTiles archive of vector tiles, as GeoJSON.

``supplyline serve --basemap FILE.pmtiles`` draws streets, piers, landuse and water from a local file (an
OpenStreetMap extract built with planetiler or tippecanoe, a Protomaps build) beneath the tracks; the
vendored coastlines stay the fallback. The file is read locally, tile by tile (``pmtiles``), decoded
(``mapbox-vector-tile``) and sent as lon/lat GeoJSON for the current view only, so the page needs no tile
renderer and nothing is fetched from elsewhere. Both libraries are the ``serve`` extra.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any, BinaryIO

from supplyline.errors import UsageError

MAX_TILES = 16  # tiles decoded per request (a 4 x 4 block): the page asks at the zoom its view needs
MVT = 1  # PMTiles tile_type for Mapbox Vector Tiles
GZIP = 2  # PMTiles compression code


def _lon(x: float, n: int) -> float:
    return x / n * 360.0 - 180.0


def _lat(y: float, n: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))


def tile_range(bbox: tuple[float, float, float, float], z: int) -> tuple[range, range]:
    """Tile columns and rows (XYZ, y down) covering ``bbox`` = (west, south, east, north) degrees at ``z``.

    >>> tile_range((-74.1, 40.6, -73.9, 40.8), 10)
    (range(301, 302), range(384, 386))
    """
    n = 2**z
    west, south, east, north = bbox
    north, south = (max(min(v, 85.05112878), -85.05112878) for v in (north, south))
    x0, x1 = (min(max(int((v + 180.0) / 360.0 * n), 0), n - 1) for v in (west, east))
    y0, y1 = (
        min(max(int((1.0 - math.asinh(math.tan(math.radians(v))) / math.pi) / 2.0 * n), 0), n - 1)
        for v in (north, south)
    )
    return range(x0, x1 + 1), range(y0, y1 + 1)


class Basemap:
    """A PMTiles archive opened read-only; :meth:`features` answers one view."""

    def __init__(self, path: Path) -> None:
        try:
            from pmtiles.reader import MmapSource, Reader
        except ImportError:
            raise UsageError("--basemap needs the serve extra: pip install 'supplyline[serve]'") from None
        self.path = Path(path)
        try:
            self._file: BinaryIO = self.path.open("rb")
            self._reader = Reader(MmapSource(self._file))
            header = self._reader.header()
        except Exception as exc:  # OSError, or pmtiles' own classes for a bad magic number or version
            raise UsageError(f"--basemap {self.path}: not a readable PMTiles file ({exc})") from None
        if header["tile_type"].value != MVT:
            raise UsageError(f"--basemap {self.path}: tiles are {header['tile_type'].name}, not vector (MVT)")
        self.minzoom, self.maxzoom = int(header["min_zoom"]), int(header["max_zoom"])
        self._gzip = header["tile_compression"].value == GZIP

    def zoom_for(self, bbox: tuple[float, float, float, float]) -> int:
        """The deepest zoom of the archive at which ``bbox`` needs at most :data:`MAX_TILES` tiles."""
        for z in range(self.maxzoom, self.minzoom - 1, -1):
            xs, ys = tile_range(bbox, z)
            if len(xs) * len(ys) <= MAX_TILES:
                return z
        return self.minzoom

    def features(self, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the tiles covering ``bbox``; each feature names its ``layer``."""
        z = self.zoom_for(bbox)
        xs, ys = tile_range(bbox, z)
        out: list[dict[str, Any]] = []
        for x in xs[:4]:
            for y in ys[:4]:
                out += self._tile(z, x, y)
        return {"type": "FeatureCollection", "zoom": z, "features": out}

    def _tile(self, z: int, x: int, y: int) -> list[dict[str, Any]]:
        import mapbox_vector_tile

        data = self._reader.get(z, x, y)
        if not data:
            return []
        raw = gzip.decompress(data) if self._gzip else data
        n = 2**z

        def to_lonlat(px: float, py: float, extent: int = 4096) -> tuple[float, float]:
            return round(_lon(x + px / extent, n), 6), round(_lat(y + py / extent, n), 6)

        feats = []
        layers = mapbox_vector_tile.decode(
            raw, default_options={"y_coord_down": True, "transformer": to_lonlat}
        )
        for name, layer in layers.items():
            for f in layer["features"]:
                props = {k: v for k, v in f["properties"].items() if isinstance(v, str | int | float | bool)}
                feats.append(
                    {"type": "Feature", "geometry": f["geometry"], "properties": {**props, "layer": name}}
                )
        return feats

    def close(self) -> None:
        self._file.close()
