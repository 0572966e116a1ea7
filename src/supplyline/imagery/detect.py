"""A SAR scene -> the ``detections`` table: tiles, land mask, CFAR, objects, ghosts, geocoding.

Each tile is read with a margin of the CFAR training window so every core pixel sees its whole ring; an
object belongs to the tile whose core holds its centroid, so tiles never report an object twice. Memory is
bounded by the tile size (a 2048 px tile with its margin is ~60 MB of float64 work arrays), not the scene.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely

from supplyline import schema
from supplyline.ids import stable_id
from supplyline.imagery.cfar import CfarConfig, cfar_mask
from supplyline.imagery.ghosts import GhostConfig, ghost_mask
from supplyline.imagery.landmask import F64, IsLandFn, LonLatFn, land_mask
from supplyline.imagery.objects import ObjectConfig, Objects, find_objects
from supplyline.imagery.read import Scene, aoi_window, open_scene, tiles


@dataclass(frozen=True)
class DetectConfig:
    cfar: CfarConfig = field(default_factory=lambda: CfarConfig(k=6.0, guard=20, train=40))
    objects: ObjectConfig = field(default_factory=lambda: ObjectConfig(min_pixels=3))
    ghosts: GhostConfig = field(default_factory=GhostConfig)
    tile: int = 1024  # px; with its margin ~1100^2 px: ~10 MB per float64 work array
    band: int = 1
    min_length_m: float = 0.0  # drop smaller objects (speckle clumps at high resolution)


@dataclass
class _Found:
    row: list[float] = field(default_factory=list)
    col: list[float] = field(default_factory=list)
    length_px: list[float] = field(default_factory=list)
    width_px: list[float] = field(default_factory=list)
    heading: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)
    bright: list[float] = field(default_factory=list)

    def add(self, ob: Objects, keep: np.ndarray, r0: int, c0: int) -> None:
        self.row += (ob.row[keep] + r0).tolist()
        self.col += (ob.col[keep] + c0).tolist()
        self.length_px += ob.length_px[keep].tolist()
        self.width_px += ob.width_px[keep].tolist()
        self.heading += ob.heading_deg[keep].tolist()
        self.peak += ob.peak[keep].tolist()
        assert ob.peak_value is not None  # find_objects always measures it
        self.bright += ob.peak_value[keep].tolist()  # the object's own brightest pixel (ghost test)


def _offset(scene: Scene, r0: int, c0: int) -> LonLatFn:
    """Tile pixel -> lon/lat, for a tile starting at scene pixel (r0, c0)."""

    def lonlat(r: F64, c: F64) -> tuple[F64, F64]:
        return scene.lonlat(r + r0, c + c0)

    return lonlat


def detect_array(
    scene: Scene,
    window: tuple[int, int, int, int],
    is_land: IsLandFn | None,
    cfg: DetectConfig,
    on_tile: Callable[[int, int], None] | None = None,
) -> _Found:
    """Objects (scene pixel coordinates) found in ``window`` of ``scene``."""
    found = _Found()
    all_tiles = list(tiles(window, cfg.tile, cfg.cfar.margin))
    for i, (read, core) in enumerate(all_tiles):
        x = scene.read(read, cfg.band)
        r0, c0 = read[0], read[1]
        land = None if is_land is None else land_mask(x.shape, _offset(scene, r0, c0), is_land)
        mask, contrast = cfar_mask(x, land, cfg.cfar)
        ob = find_objects(mask, np.nan_to_num(x), contrast, cfg.objects)
        rr, cc = ob.row + r0, ob.col + c0
        keep = (rr >= core[0]) & (rr < core[2]) & (cc >= core[1]) & (cc < core[3])
        found.add(ob, keep, r0, c0)
        if on_tile:
            on_tile(i + 1, len(all_tiles))
    return found


def detect_scene(
    path: Path | str,
    *,
    acquired: dt.datetime,
    aoi: shapely.Geometry | None = None,
    is_land: IsLandFn | None = None,
    cfg: DetectConfig | None = None,
    scene_id: str | None = None,
    sensor: str = "sar",
    synthetic: bool = False,
    on_tile: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """Vessel detections (schema.DETECTIONS) in one SAR scene (``acquired``: the acquisition time, UTC)."""
    cfg = cfg or DetectConfig()
    scene = open_scene(path)
    try:
        f = detect_array(scene, aoi_window(scene, aoi), is_land, cfg, on_tile)
        px = scene.pixel_m()
        row, col = np.array(f.row), np.array(f.col)
        ghost = ghost_mask(row, col, np.array(f.bright), np.array(f.length_px), cfg.ghosts)
        length = np.array(f.length_px) * px
        keep = ~ghost & (length >= cfg.min_length_m)
        lon, lat = (
            scene.lonlat(row[keep] + 0.5, col[keep] + 0.5) if keep.any() else (np.zeros(0), np.zeros(0))
        )
        if aoi is not None and len(lon):
            inside = shapely.contains_xy(aoi, lon, lat)
            keep[np.flatnonzero(keep)[~inside]] = False
            lon, lat = lon[inside], lat[inside]
    finally:
        scene.ds.close()
    sid = scene_id or Path(path).stem
    contrast = np.array(f.peak)[keep]
    score = 1.0 / (1.0 + np.exp(-(contrast - 2 * cfg.cfar.k) / cfg.cfar.k))  # 0.5 at twice the CFAR factor
    return detections_table(
        sid,
        sensor,
        acquired,
        lon,
        lat,
        length[keep],
        np.array(f.width_px)[keep] * px,
        np.array(f.heading)[keep],
        score,
        "cfar",
        synthetic,
    )


def scene_footprint(
    path: Path | str,
    *,
    acquired: dt.datetime,
    aoi: shapely.Geometry | None = None,
    scene_id: str | None = None,
    sensor: str = "sar",
    synthetic: bool = False,
    source: str = "cfar",
) -> pa.Table:
    """schema.SCENES row of the area searched in ``path`` (the AOI window's lon/lat box, cut to the AOI), so a
    scene without detections still counts as a pass that saw the berths empty."""
    scene = open_scene(path)
    try:
        r0, c0, r1, c1 = aoi_window(scene, aoi)
        t = np.linspace(0.0, 1.0, 17)
        rows = np.r_[r0 + t * (r1 - r0), np.full(17, r1), r1 - t * (r1 - r0), np.full(17, r0)]
        cols = np.r_[np.full(17, c0), c0 + t * (c1 - c0), np.full(17, c1), c1 - t * (c1 - c0)]
        lon, lat = scene.lonlat(rows.astype(np.float64), cols.astype(np.float64))
    finally:
        scene.ds.close()
    box = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    if aoi is not None:
        a = shapely.bounds(aoi)
        box = [max(box[0], a[0]), max(box[1], a[1]), min(box[2], a[2]), min(box[3], a[3])]
    row = {"scene_id": scene_id or Path(path).stem, "ts": acquired.astimezone(dt.UTC), "sensor": sensor}
    row |= dict(zip(("lon_min", "lat_min", "lon_max", "lat_max"), box, strict=True))
    return pa.Table.from_pylist([row | {"source": source, "synthetic": synthetic}], schema=schema.SCENES)


def detections_table(
    sid: str,
    sensor: str,
    acquired: dt.datetime,
    lon: np.ndarray,
    lat: np.ndarray,
    length: np.ndarray,
    width: np.ndarray,
    heading: np.ndarray,
    score: np.ndarray,
    source: str,
    synthetic: bool = False,
) -> pa.Table:
    """Detected objects (geocoded, in metres) as schema.DETECTIONS rows with stable ids."""
    n = len(lon)
    ts = pa.array([acquired.astimezone(dt.UTC)] * n, schema.TS)
    return pa.table(
        {
            "det_id": pa.array(
                [stable_id("det", sid, f"{x:.6f}", f"{y:.6f}") for x, y in zip(lon, lat, strict=True)],
                pa.string(),
            ),
            "scene_id": pa.array([sid] * n, pa.string()),
            "sensor": pa.array([sensor] * n, pa.string()),
            "ts": ts,
            "lon": pa.array(lon, pa.float64()),
            "lat": pa.array(lat, pa.float64()),
            "length_m": pa.array(length, pa.float32()),
            "width_m": pa.array(width, pa.float32()),
            "heading_deg": pa.array(heading, pa.float32()),
            "score": pa.array(score, pa.float32()),
            "in_place": pa.nulls(n, pa.string()),
            "near_place": pa.nulls(n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "synthetic": pa.array([synthetic] * n, pa.bool_()),
        },
        schema=schema.DETECTIONS,
    )
