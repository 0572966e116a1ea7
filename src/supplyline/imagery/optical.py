"""Vessels in Sentinel-2 scenes: water from a water index, candidates that are not water or are bright
against it, then a discrimination stage on per-object features.

Stages (each a function below):

1. **Water** (:func:`water_mask`): NDWI ``(B03 - B08) / (B03 + B08) > 0`` (McFeeters 1996) when green and NIR
   are there; MNDWI ``(B03 - B11) / (B03 + B11) > 0`` (Xu 2006) with SWIR instead; with NIR alone, ``B08``
   below its Otsu threshold. Water bodies smaller than ``min_sea_px`` are dropped (:func:`sea_water`): in
   ports these are dark land (asphalt, shadows between containers) that the index or Otsu calls water.
2. **Sea** (:func:`sea_area`): the water plus its holes of vessel size (a hull is not water).
3. **Contrast** (:func:`band_contrast`): two-parameter CFAR (ring of sea water) on every 10 m band present
   (B02, B03, B04, B08); a pixel's contrast is its largest, in sigmas. Ships are bright in the visible bands
   even where they are dark in SWIR (San Francisco's ferries), so the visible bands count too.
4. **Candidates** (:func:`find_candidates`): pixels of the sea that the index calls non-water or that are
   bright, off the shore by ``edge_px``, grouped into objects (:mod:`supplyline.imagery.objects`) and
   measured (:func:`object_features`): size, peak contrast, elongation, the share of water in a 1-3 px ring
   around the object, and the ring water's level against the scene's water.
5. **Discrimination** (:func:`keep_vessels`): thresholds on those features, chosen by leave-one-scene-out
   cross-validation on the sen2ships ports (docs/imagery.md, ``bench/optical_sen2ships.py``).

Classical only: a learned classifier on the same features (scikit-learn random forest, gradient boosting,
logistic regression) was measured under the same protocol and did worse, so none ships.
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
TEN_M_BANDS = ("B02", "B03", "B04", "B08")  # Sentinel-2's 10 m bands
EIGHT = np.ones((3, 3), bool)  # 8-connectivity, as objects.find_objects labels


@dataclass(frozen=True)
class OpticalConfig:
    """Pixel sizes assume 10 m bands. The discrimination thresholds (last block) were chosen on all three
    sen2ships ports by pooled F1 (the same grid as the cross-validation; docs/imagery.md)."""

    min_sea_px: int = 2000  # water bodies smaller than this (20 ha) are dark land, not sea
    max_ship_px: int = 600  # holes in the water up to this size are vessels (6 ha at 10 m)
    max_ship_extent_px: int = 45  # ... and up to this long (450 m at 10 m): breakwaters and piers are longer
    edge_px: int = 1  # candidates this close to land are dropped (mixed shore pixels)
    contrast_bands: tuple[str, ...] = TEN_M_BANDS  # CFAR contrast on these (those present; else on all)
    cfar: CfarConfig = field(
        default_factory=lambda: CfarConfig(k=4.0, guard=8, train=16, min_water=0.3, block=1)
    )
    # discrimination
    min_pixels: int = 12  # smaller objects are dropped (12 px = 0.12 ha)
    min_peak_contrast: float = 15.0  # brightest pixel, sigmas above its water ring (any contrast band)
    big_pixels: int = 100  # objects at least this big (berthed hulls the index calls land) ...
    big_peak_contrast: float = 6.0  # ... need only this peak contrast
    min_ring_water: float = 0.9  # share of water in the 1-3 px ring around the object
    max_ring_level: float = 2.0  # ring water, IQRs above the scene's water median: dark land is brighter
    max_elongation: float = 10.0  # length / width: breakwater and jetty segments are thinner


@dataclass(frozen=True)
class Candidates:
    """Candidate objects (pixel coordinates) and the features the discrimination stage reads, one per object."""

    objects: Objects
    ring_water: F64  # share of water in the 1-3 px ring around the object
    ring_level: F64  # ring water's mean - median of all sea water, in its IQRs (reference band)
    elongation: F64  # length / width (width at least 1 px)
    rule: str  # the water rule: ndwi, mndwi or nir-otsu


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


def sea_water(water: Mask, min_sea_px: int) -> Mask:
    """The water bodies of at least ``min_sea_px`` pixels (4-connected): smaller ones are dark land. The
    largest body always stays (a scene cropped to a small basin keeps its water)."""
    lab, n = ndimage.label(water)
    if n == 0 or min_sea_px <= 1:
        return water
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep = sizes >= min(min_sea_px, int(sizes.max()))
    return np.asarray(keep[lab], bool)


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


def reference_band(bands: dict[str, F64]) -> F64:
    """The band objects are weighted and ring levels measured on: NIR, else the first 10 m band present."""
    name = "B08" if "B08" in bands else ([b for b in TEN_M_BANDS if b in bands] or sorted(bands))[0]
    return np.nan_to_num(np.asarray(bands[name], np.float64))


def band_contrast(
    bands: dict[str, F64], water: Mask, cfar: CfarConfig, names: tuple[str, ...] = TEN_M_BANDS
) -> tuple[Mask, F64]:
    """Pixels bright by CFAR in any of the bands ``names`` present (all bands if none is), and each pixel's
    largest contrast (sigmas of its ring)."""
    bright = np.zeros(water.shape, bool)
    contrast = np.full(water.shape, -np.inf)
    for name in [b for b in names if b in bands] or sorted(bands):
        hit, c = cfar_mask(np.nan_to_num(np.asarray(bands[name], np.float64)), ~water, cfar)
        bright |= hit
        contrast = np.maximum(contrast, c)
    return bright, contrast


def find_candidates(bands: dict[str, F64], cfg: OpticalConfig | None = None) -> Candidates:
    """Stages 1-4: every object that might be a vessel, with its features (no thresholds on them yet)."""
    cfg = cfg or OpticalConfig()
    index_water, rule = water_mask(bands)
    water = sea_water(index_water, cfg.min_sea_px)
    sea = sea_area(water, cfg.max_ship_px, cfg.max_ship_extent_px)
    bright, contrast = band_contrast(bands, water, cfg.cfar, cfg.contrast_bands)
    candidate = sea & (~water | bright)
    if cfg.edge_px:
        candidate &= ~ndimage.binary_dilation(~sea, iterations=cfg.edge_px)
    x = reference_band(bands)
    objects = ObjectConfig(min_pixels=2, close=0, max_pixels=cfg.max_ship_px)
    ob = find_objects(candidate, x, contrast, objects)
    ring_water, ring_level = object_features(candidate, water, x, objects)
    elongation = ob.length_px / np.maximum(ob.width_px, 1.0)
    return Candidates(ob, ring_water, ring_level, elongation, rule)


def object_features(candidate: Mask, water: Mask, x: F64, objects: ObjectConfig) -> tuple[F64, F64]:
    """Per object (labelled and size-filtered as find_objects does with ``objects``, no closing, so in its
    order): the water share of its 1-3 px ring, and the level of the ring's water in ``x``: its mean minus
    the median of all water, in interquartile ranges of all water (about 0 at sea; dark land that passed
    as water is brighter)."""
    lab, n = ndimage.label(candidate, structure=EIGHT)
    npx = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    ids = np.flatnonzero((npx >= objects.min_pixels) & (npx <= objects.max_pixels)) + 1
    inner = ndimage.grey_dilation(lab, footprint=EIGHT)
    outer = ndimage.grey_dilation(lab, size=(7, 7))
    ring = (outer > 0) & (inner == 0)
    owner, wet = outer[ring], water[ring]
    count = np.bincount(owner, minlength=n + 1).astype(np.float64)
    wet_count = np.bincount(owner, wet, minlength=n + 1)
    wet_sum = np.bincount(owner, np.where(wet, x[ring], 0.0), minlength=n + 1)
    q1, median, q3 = np.percentile(x[water], (25, 50, 75)) if water.any() else (0.0, 0.0, 1.0)
    ring_water = wet_count / np.maximum(count, 1.0)
    ring_level = (wet_sum / np.maximum(wet_count, 1.0) - median) / max(q3 - q1, 1e-9)
    ring_level[wet_count == 0] = np.inf
    return ring_water[ids], ring_level[ids]


def keep_vessels(c: Candidates, cfg: OpticalConfig) -> Mask:
    """Stage 5: the candidates that pass every threshold of ``cfg`` (big objects with a lower contrast bar)."""
    ob = c.objects
    bright = (ob.peak >= cfg.min_peak_contrast) | (
        (ob.n_pixels >= cfg.big_pixels) & (ob.peak >= cfg.big_peak_contrast)
    )
    at_sea = (c.ring_water >= cfg.min_ring_water) & (c.ring_level <= cfg.max_ring_level)
    return np.asarray(
        (ob.n_pixels >= cfg.min_pixels) & at_sea & (c.elongation <= cfg.max_elongation) & bright
    )


def detect_optical(bands: dict[str, F64], cfg: OpticalConfig | None = None) -> tuple[Objects, str]:
    """Vessel objects (pixel coordinates) in co-registered bands, and the water rule used."""
    cfg = cfg or OpticalConfig()
    c = find_candidates(bands, cfg)
    return subset(c.objects, keep_vessels(c, cfg)), c.rule


def subset(ob: Objects, keep: Mask) -> Objects:
    """The objects where ``keep`` is true."""
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
    ob, rule = detect_optical(bands, cfg)
    lon, lat = scene.lonlat(ob.row + 0.5, ob.col + 0.5)
    px = scene.pixel_m()
    sid = scene_id or re.sub(r"[_-]?(B0[1-9]|B1[0-2]|B8A)$", "", Path(paths[0]).stem, flags=re.IGNORECASE)
    score = 1.0 / (1.0 + np.exp(-(ob.peak - 20.0) / 10.0))
    return detections_table(
        sid,
        "optical",
        acquired,
        lon,
        lat,
        ob.length_px * px,
        ob.width_px * px,
        ob.heading_deg,
        score,
        f"sentinel2-{rule}",
    )
