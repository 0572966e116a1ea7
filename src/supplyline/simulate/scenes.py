"""Synthetic GRD-like SAR scenes (SYNTHETIC): speckled sea, bright land, ships of known size, azimuth ghosts.

Intensity (linear sigma0) per pixel: sea ``sigma0_sea_db`` (falling by ``sea_gradient_db`` from near to far
range across the columns, as the incidence angle grows) and land ``sigma0_land_db`` (with a slow texture)
times gamma speckle of ``looks`` looks (GRD high resolution: ~4.4 looks); each ship a rotated rectangle of
``rcs_db`` (sigma0 of the hull) with its own speckle; each ship also leaves two ghosts ``ghost_offset_px``
up and down the azimuth axis (rows), ``ghost_db`` fainter. Written north-up in EPSG:4326 with square
``pixel_m`` pixels, row block by row block (memory bounded, so a 10,000 x 10,000 px scene is fine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from supplyline.geo import EARTH_RADIUS_M

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Ship:
    row: float
    col: float
    length_m: float
    width_m: float
    heading_deg: float  # clockwise from north (image up)
    rcs_db: float = 5.0


@dataclass(frozen=True)
class SceneSpec:
    height: int = 2000
    width: int = 2000
    pixel_m: float = 10.0
    lat0: float = 42.30  # top-left corner
    lon0: float = 130.20
    looks: float = 4.4
    sigma0_sea_db: float = -20.0
    sigma0_land_db: float = -6.0
    sea_gradient_db: float = 10.0  # sea sigma0 fall from near (col 0) to far range (S1 IW VV)
    land_cols: int = 0  # land occupies the first land_cols columns (a straight coast), 0 = none
    land_targets_per_km2: float = 20.0  # bright point scatterers on land (buildings, cranes), +15 dB
    ghost_offset_px: int = 0
    ghost_db: float = -22.0
    seed: int = 0
    ships: tuple[Ship, ...] = field(default_factory=tuple)

    @property
    def dlat(self) -> float:
        return math.degrees(self.pixel_m / EARTH_RADIUS_M)

    @property
    def dlon(self) -> float:
        return self.dlat / math.cos(math.radians(self.lat0 - self.dlat * self.height / 2))

    def lonlat(self, row: F64, col: F64) -> tuple[F64, F64]:
        return self.lon0 + np.asarray(col) * self.dlon, self.lat0 - np.asarray(row) * self.dlat

    def land_polygon(self) -> shapely.Geometry:
        """The land as a lon/lat polygon (for a case-level land mask)."""
        lon1 = self.lon0 + self.land_cols * self.dlon
        return shapely.box(self.lon0 - 1.0, self.lat0 - self.height * self.dlat - 1.0, lon1, self.lat0 + 1.0)


def random_ships(spec: SceneSpec, n: int, rng: np.random.Generator, margin: int = 60) -> tuple[Ship, ...]:
    """``n`` ships at sea (not on land, not within ``margin`` px of the edge or of each other's ghosts)."""
    ships: list[Ship] = []
    while len(ships) < n:
        r = rng.uniform(margin, spec.height - margin)
        c = rng.uniform(max(margin, spec.land_cols + 15), spec.width - margin)
        if any(math.hypot(r - s.row, c - s.col) < 40 for s in ships):
            continue
        if spec.ghost_offset_px and any(
            abs(c - s.col) < 20 and abs(abs(r - s.row) - spec.ghost_offset_px) < 30 for s in ships
        ):
            continue
        length = float(np.clip(np.exp(rng.normal(math.log(110), 0.5)), 40, 300))
        ships.append(Ship(r, c, length, length / 6.5, float(rng.uniform(0, 180)), float(rng.uniform(-5, 10))))
    return tuple(ships)


def _paint(
    block: F64, r0: int, ship: Ship, spec: SceneSpec, gain: float, row: float, rng: np.random.Generator
) -> None:
    """Add one ship (or ghost, ``gain`` < 1) centred at ``row`` onto rows r0.. of ``block``."""
    half = 0.5 * math.hypot(ship.length_m, ship.width_m) / spec.pixel_m + 2
    a, b = int(max(row - half, r0)), int(min(row + half + 1, r0 + block.shape[0]))
    c, d = int(max(ship.col - half, 0)), int(min(ship.col + half + 1, spec.width))
    if a >= b or c >= d:
        return
    rr, cc = np.meshgrid(np.arange(a, b) + 0.5, np.arange(c, d) + 0.5, indexing="ij")
    north, east = (row - rr) * spec.pixel_m, (cc - ship.col) * spec.pixel_m
    th = math.radians(ship.heading_deg)
    along = north * math.cos(th) + east * math.sin(th)
    across = -north * math.sin(th) + east * math.cos(th)
    hull = (np.abs(along) <= ship.length_m / 2) & (np.abs(across) <= max(ship.width_m, spec.pixel_m) / 2)
    level = gain * 10 ** (ship.rcs_db / 10)
    speckle = rng.gamma(spec.looks, 1 / spec.looks, hull.shape)
    block[a - r0 : b - r0, c:d] += np.where(hull, level * speckle, 0.0)


def render_block(spec: SceneSpec, r0: int, r1: int) -> F64:
    """Intensity rows r0:r1 of the scene (deterministic per block and seed)."""
    rng = np.random.default_rng([spec.seed, r0])
    h, w = r1 - r0, spec.width
    cols_db = spec.sigma0_sea_db + spec.sea_gradient_db * (0.5 - np.arange(w) / max(w - 1, 1))
    base = np.broadcast_to(10 ** (cols_db / 10), (h, w)).copy()
    if spec.land_cols:
        cols = np.arange(w)
        texture = 1.0 + 0.5 * np.sin(cols[None, :] / 37.0) * np.cos(np.arange(r0, r1)[:, None] / 53.0)
        base = np.where(cols[None, :] < spec.land_cols, 10 ** (spec.sigma0_land_db / 10) * texture, base)
    block = base * rng.gamma(spec.looks, 1 / spec.looks, (h, w))
    if spec.land_cols:
        px_km2 = (spec.pixel_m / 1000) ** 2
        n = rng.poisson(spec.land_targets_per_km2 * px_km2 * h * spec.land_cols)
        pr, pc = rng.integers(0, h, n), rng.integers(0, spec.land_cols, n)
        block[pr, pc] += 10 ** ((spec.sigma0_land_db + 15) / 10) * rng.gamma(spec.looks, 1 / spec.looks, n)
    for s in spec.ships:
        _paint(block, r0, s, spec, 1.0, s.row, rng)
        if spec.ghost_offset_px:
            for sign in (-1, 1):
                _paint(
                    block, r0, s, spec, 10 ** (spec.ghost_db / 10), s.row + sign * spec.ghost_offset_px, rng
                )
    return block


def write_scene(spec: SceneSpec, path: Path | str, block_rows: int = 512) -> pa.Table:
    """Write the scene as a float32 GeoTIFF; return the ships' truth (lon, lat, length, width, heading)."""
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    transform = from_origin(spec.lon0, spec.lat0, spec.dlon, spec.dlat)
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    from rasterio.windows import Window

    with rasterio.open(path, "w", **profile) as ds:
        ds.update_tags(SYNTHETIC="yes", GENERATOR="supplyline.simulate.scenes")
        for r0 in range(0, spec.height, block_rows):
            r1 = min(r0 + block_rows, spec.height)
            ds.write(
                render_block(spec, r0, r1).astype(np.float32), 1, window=Window(0, r0, spec.width, r1 - r0)
            )
    rows = np.array([s.row for s in spec.ships])
    cols = np.array([s.col for s in spec.ships])
    lon, lat = spec.lonlat(rows, cols)
    return pa.table(
        {
            "lon": pa.array(lon, pa.float64()),
            "lat": pa.array(lat, pa.float64()),
            "length_m": [s.length_m for s in spec.ships],
            "width_m": [s.width_m for s in spec.ships],
            "heading_deg": [s.heading_deg for s in spec.ships],
        }
    )
