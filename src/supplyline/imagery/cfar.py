"""CFAR vessel detection on SAR intensity: a ring of clutter around every pixel sets its threshold.

Two-parameter CFAR (default): a pixel is a target when ``x > mu + k * sigma`` of the water pixels in the ring
between a guard box and a training box centred on it (the guard keeps the ship's own echo out of its clutter
estimate). Cell-averaging (``method="ca"``): ``x > alpha * mu`` (exponential/gamma clutter). Land pixels
(``land`` mask) neither become targets nor enter any clutter estimate, so ships at berths next to bright
quays keep a sea-only threshold. Ring sums are separable running box sums (``ndimage.uniform_filter``): O(1) per pixel whatever the
window, float64, vectorised over the tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CfarConfig:
    """Window sizes in pixels and the threshold factor (defaults: 10-20 m pixels, ships up to ~300 m)."""

    method: str = "two-parameter"  # or "ca"
    guard: int = 15  # half-size of the guard box (px): larger than half the biggest ship
    train: int = 30  # half-size of the training box (px)
    k: float = 5.0  # two-parameter: sigmas above the ring mean
    alpha: float = 6.0  # cell-averaging: multiple of the ring mean
    min_water: float = 0.25  # a ring with less water than this share gives no threshold (no detection)
    censor: int = 2  # second pass with first-pass targets (grown by this many px) removed from the clutter
    sd_floor: float = 0.0  # local sigma at least this share of the tile's water sigma (quantised/dark seas)

    @property
    def margin(self) -> int:
        """Pixels a tile must overlap its neighbours by so every pixel sees its whole ring."""
        return self.train


def _box_sums(a: F64, half: int) -> F64:
    """Sum of ``a`` over the (2*half+1)^2 box around every pixel (zero outside), separable running means."""
    n = 2 * half + 1
    return np.asarray(ndimage.uniform_filter(a, size=n, mode="constant", cval=0.0), np.float64) * float(n * n)


def ring_stats(x: F64, water: Mask, guard: int, train: int) -> tuple[F64, F64, F64]:
    """Mean, standard deviation and count of water pixels in the ring around every pixel."""
    xw = np.where(water, x, 0.0)
    w = water.astype(np.float64)
    n = _box_sums(w, train) - _box_sums(w, guard)
    s1 = _box_sums(xw, train) - _box_sums(xw, guard)
    s2 = _box_sums(xw * xw, train) - _box_sums(xw * xw, guard)
    nn = np.maximum(n, 1.0)
    mu = s1 / nn
    var = np.maximum(s2 / nn - mu * mu, 0.0)
    return mu, np.sqrt(var), n


def cfar_mask(x: F64, land: Mask | None, cfg: CfarConfig) -> tuple[Mask, F64]:
    """Target pixels and their contrast ``(x - mu) / sigma`` (the score input) for one tile of intensity.

    With ``censor`` > 0 a first pass finds the bright targets and a second pass estimates the clutter
    without them, so neighbouring ships and their sidelobes do not raise each other's thresholds.
    """
    x = np.asarray(x, np.float64)
    water = np.isfinite(x) & (x > 0) if land is None else np.isfinite(x) & ~land
    xs = np.where(np.isfinite(x), x, 0.0)
    hit, contrast = _pass(xs, water, water, cfg)
    if cfg.censor > 0 and hit.any():
        grown = ndimage.binary_dilation(hit, iterations=cfg.censor)
        hit, contrast = _pass(xs, water, water & ~grown, cfg)
    return hit, contrast


def _pass(xs: F64, water: Mask, clutter: Mask, cfg: CfarConfig) -> tuple[Mask, F64]:
    mu, sd, n = ring_stats(np.where(clutter, xs, 0.0), clutter, cfg.guard, cfg.train)
    if cfg.sd_floor > 0 and clutter.any():
        sd = np.maximum(sd, cfg.sd_floor * float(xs[clutter].std()))
    ring = (2 * cfg.train + 1) ** 2 - (2 * cfg.guard + 1) ** 2
    enough = n >= cfg.min_water * ring
    if cfg.method == "ca":
        hit = xs > cfg.alpha * mu
    elif cfg.method == "two-parameter":
        hit = xs > mu + cfg.k * sd
    else:
        raise ValueError(f"unknown CFAR method {cfg.method!r}; use two-parameter or ca")
    return hit & water & enough, _contrast(xs, water, mu, sd)


def _contrast(xs: F64, water: Mask, mu: F64, sd: F64) -> F64:
    """(x - mu) / sigma everywhere; land pixels keep their own value, so a hull that the caller calls land
    (optical: a non-water hole) still gets its contrast against the water around it."""
    return (xs - mu) / np.maximum(sd, 1e-12)


def global_threshold_mask(x: F64, land: Mask | None, k: float = 5.0) -> Mask:
    """The naive baseline: one threshold ``mean + k * std`` of all water pixels of the image."""
    water = np.isfinite(x) if land is None else np.isfinite(x) & ~land
    vals = x[water]
    if vals.size == 0:
        return np.zeros(x.shape, bool)
    return water & (x > vals.mean() + k * vals.std())
