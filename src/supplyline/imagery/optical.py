"""Vessels in Sentinel-2 scenes: a water mask from a water index, then hulls as bright or non-water objects.

Water: NDWI ``(B03 - B08) / (B03 + B08) > 0`` (McFeeters 1996) when green and NIR are there; MNDWI
``(B03 - B11) / (B03 + B11) > 0`` (Xu 2006) with SWIR instead; with NIR alone, ``B08`` below its Otsu threshold
(water is dark in the NIR). A hull is not water, so it makes a hole in the water mask: holes smaller than
``max_ship_px`` are filled to give the sea area (land and big quays stay out). Inside it, a pixel is a
candidate when the index calls it non-water or when it is bright in the brightest band (NIR, or SWIR) by a
two-parameter CFAR on a ring of water (turbid or sunlit water can pass the index). Candidates are grouped
and measured by :mod:`supplyline.imagery.objects`. Classical only: a small learned model was not tried.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import ndimage

from supplyline.errors import UsageError
from supplyline.imagery.cfar import CfarConfig, cfar_mask
from supplyline.imagery.objects import ObjectConfig, Objects, find_objects

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
BAND_RE = re.compile(r"(?:^|[_-])(B0[1-9]|B1[0-2]|B8A)(?:[_.-]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class OpticalConfig:
    max_ship_px: int = 600  # holes in the water up to this size are vessels (6 ha at 10 m)
    max_ship_extent_px: int = 45  # ... and up to this long (450 m at 10 m): breakwaters and piers are longer
    min_peak_contrast: float = 10.0  # object's brightest pixel, in sigmas of its water ring
    cfar: CfarConfig = field(
        default_factory=lambda: CfarConfig(k=6.0, guard=8, train=16, min_water=0.3, block=1)
    )
    objects: ObjectConfig = field(default_factory=lambda: ObjectConfig(min_pixels=3, close=0, max_pixels=600))
    edge_px: int = 1  # candidates this close to land are dropped (mixed shore pixels)


def band_of(path: Path | str) -> str:
    """The Sentinel-2 band named in a file name (``..._B08.tiff`` -> ``B08``)."""
    m = BAND_RE.search(Path(path).stem)
    if not m:
        raise UsageError(f"cannot tell the Sentinel-2 band of {Path(path).name}; name it like scene_B08.tif")
    return m.group(1).upper()


def otsu(values: F64, bins: int = 256) -> float:
    """Otsu's threshold (between-class variance maximum) of ``values``."""
    hist, edges = np.histogram(values[np.isfinite(values)], bins)
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * mids) / np.maximum(w0, 1)
    m1 = (np.sum(hist * mids) - np.cumsum(hist * mids)) / np.maximum(w1, 1)
    return float(mids[np.argmax(w0 * w1 * (m0 - m1) ** 2)])


def water_mask(bands: dict[str, F64]) -> tuple[Mask, str]:
    """Water pixels and the rule used (ndwi, mndwi or nir-otsu)."""
    if "B03" in bands and "B08" in bands:
        g, n = bands["B03"], bands["B08"]
        return (g - n) / np.maximum(g + n, 1e-9) > 0, "ndwi"
    if "B03" in bands and "B11" in bands:
        g, s = bands["B03"], bands["B11"]
        return (g - s) / np.maximum(g + s, 1e-9) > 0, "mndwi"
    if "B08" in bands:
        nir = bands["B08"]
        return nir < otsu(nir[nir > 0]), "nir-otsu"
    raise UsageError(f"a water mask needs B03 with B08 or B11, or B08 alone; got {sorted(bands)}")


def sea_area(water: Mask, max_ship_px: int, max_extent_px: int = 45) -> Mask:
    """Water plus the holes in it no bigger (area and extent) than a vessel."""
    holes = ~water
    lab, n = ndimage.label(holes)
    if n == 0:
        return water
    sizes = ndimage.sum_labels(np.ones(water.shape), lab, np.arange(1, n + 1))
    border = np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    extent = np.array(
        [max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) for sl in ndimage.find_objects(lab)]
    )
    small = np.flatnonzero((sizes <= max_ship_px) & (extent <= max_extent_px)) + 1
    small = small[~np.isin(small, border)]
    return water | np.isin(lab, small)


def detect_optical(bands: dict[str, F64], cfg: OpticalConfig | None = None) -> tuple[Objects, str]:
    """Vessel objects (pixel coordinates) in co-registered bands, and the water rule used."""
    cfg = cfg or OpticalConfig()
    water, rule = water_mask(bands)
    sea = sea_area(water, cfg.max_ship_px, cfg.max_ship_extent_px)
    bright_band = bands.get("B08", bands.get("B11", next(iter(bands.values()))))
    x = np.nan_to_num(np.asarray(bright_band, np.float64))
    bright, contrast = cfar_mask(x, ~water, cfg.cfar)
    candidate = sea & (~water | bright)
    if cfg.edge_px:
        land = ~sea
        near_land = ndimage.binary_dilation(land, iterations=cfg.edge_px)
        candidate &= ~near_land
    ob = find_objects(candidate, x, contrast, cfg.objects)
    keep = ob.peak >= cfg.min_peak_contrast
    return _subset(ob, keep), rule


def _subset(ob: Objects, keep: Mask) -> Objects:
    return Objects(
        ob.row[keep],
        ob.col[keep],
        ob.length_px[keep],
        ob.width_px[keep],
        ob.heading_deg[keep],
        ob.n_pixels[keep],
        ob.peak[keep],
        [b for b, k in zip(ob.bbox, keep, strict=True) if k],
    )


def detect_optical_scene(
    paths: list[Path], *, acquired: dt.datetime, scene_id: str | None = None, cfg: OpticalConfig | None = None
) -> pa.Table:
    """Detections (schema.DETECTIONS) in one Sentinel-2 scene given as co-registered band files."""
    from supplyline.imagery.detect import detections_table
    from supplyline.imagery.read import open_scene

    bands: dict[str, F64] = {}
    scene = None
    for p in paths:
        scene = open_scene(p)
        if bands and scene.shape != next(iter(bands.values())).shape:
            raise UsageError(
                f"{Path(p).name} is not on the grid of the other bands; resample them to one grid"
            )
        bands[band_of(p)] = scene.read((0, 0, *scene.shape))
        scene.ds.close()
    if scene is None:
        raise UsageError("give the band files of one Sentinel-2 scene (e.g. T52TGN_..._B03.jp2 ..._B08.jp2)")
    ob, _ = detect_optical(bands, cfg)
    lon, lat = scene.lonlat(ob.row + 0.5, ob.col + 0.5)
    px = scene.pixel_m()
    sid = scene_id or re.sub(r"[_-]?(B0[1-9]|B1[0-2]|B8A)$", "", Path(paths[0]).stem, flags=re.IGNORECASE)
    score = 1.0 / (1.0 + np.exp(-(ob.peak - 20.0) / 10.0))
    return detections_table(
        sid, "optical", acquired, lon, lat, ob.length_px * px, ob.width_px * px, ob.heading_deg, score, "ndwi"
    )
