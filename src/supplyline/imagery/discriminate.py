"""Discrimination: the second stage of a SAR ship detector, after a permissive CFAR prescreen.

A prescreen at a low threshold finds every ship and many clutter spikes; the discriminator keeps the objects
that look like ships by a handful of features with fixed thresholds (no learned model): size in pixels,
peak and mean contrast in local clutter sigmas (the CFAR ring's), the peak's contrast against the whole
tile's water (``(peak - mean) / std``: a spike that is bright only against a locally dark ring is not a
ship), distance to land in pixels (quay corners and land-edge leaks), and elongation (length / width from
the moments). Thresholds are chosen by cross-validation (docs/imagery.md, bench/ssdd_cv.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from supplyline.imagery.objects import Objects

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# rule name -> feature it bounds ("min_*": feature >= threshold, "max_*": feature <= threshold)
FEATURES = {
    "min_pixels": "n_pixels",
    "min_peak": "peak",
    "min_mean": "mean",
    "min_global": "global",
    "min_land_px": "land_px",
    "max_elongation": "elongation",
}


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Thresholds on object features (0 / inf: the rule is off)."""

    min_pixels: float = 0.0
    min_peak: float = 0.0  # peak contrast, local sigmas
    min_mean: float = 0.0  # mean contrast of the object's pixels, local sigmas
    min_global: float = 0.0  # peak over the tile's water: (peak - mean) / std
    min_land_px: float = 0.0  # centroid distance to the nearest land pixel
    max_elongation: float = np.inf  # length / width


def object_features(ob: Objects, x: F64, land: Mask | None) -> dict[str, F64]:
    """Per-object features (pixel units) of ``ob`` found in intensity ``x`` with ``land`` masked."""
    n = len(ob.row)
    water = np.isfinite(x) if land is None else np.isfinite(x) & ~land
    vals = x[water]
    mu, sd = (float(vals.mean()), float(vals.std())) if vals.size else (0.0, 1.0)
    peak_value = ob.peak_value if ob.peak_value is not None else np.full(n, np.nan)
    mean = ob.mean_contrast if ob.mean_contrast is not None else np.full(n, np.nan)
    return {
        "row": ob.row,
        "col": ob.col,
        "n_pixels": ob.n_pixels.astype(np.float64),
        "peak": ob.peak,
        "mean": mean,
        "global": (peak_value - mu) / max(sd, 1e-12),
        "land_px": _land_distance(ob, land),
        "elongation": ob.length_px / np.maximum(ob.width_px, 1.0),
    }


def _land_distance(ob: Objects, land: Mask | None) -> F64:
    """Distance (px) from each centroid to the nearest land pixel; inf without land."""
    if land is None or not land.any() or len(ob.row) == 0:
        return np.full(len(ob.row), np.inf)
    dist = ndimage.distance_transform_edt(~land)
    r = np.clip(np.round(ob.row).astype(np.int64), 0, land.shape[0] - 1)
    c = np.clip(np.round(ob.col).astype(np.int64), 0, land.shape[1] - 1)
    return np.asarray(dist[r, c], np.float64)


def discriminate(features: dict[str, F64], cfg: DiscriminatorConfig) -> Mask:
    """True for the objects that pass every rule of ``cfg``."""
    keep = np.ones(len(features["row"]), bool)
    for rule, name in FEATURES.items():
        bound = float(getattr(cfg, rule))
        f = features[name]
        keep &= (f <= bound) if rule.startswith("max_") else (f >= bound)
    return keep
