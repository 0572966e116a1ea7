"""CFAR vessel detection on SAR intensity: a ring of clutter around every pixel sets its threshold.

Two-parameter CFAR (default): a pixel is a target when ``x > mu + k * sigma`` of the water pixels in the ring
between a guard box and a training box centred on it (the guard keeps the ship's own echo out of its clutter
estimate). Cell-averaging (``method="ca"``): ``x > alpha * mu`` (exponential/gamma clutter). K-distribution
(``method="k"``): ``x > t(nu) * mu`` with the texture shape ``nu`` from the ring's moments and ``t`` set for a
false-alarm probability ``pfa`` (``imagery/kdist.py``; spiky clutter gets a higher factor). Land pixels
(``land`` mask) neither become targets nor enter any clutter estimate, so ships at berths next to bright
quays keep a sea-only threshold. Ring sums are separable running box sums (``ndimage.uniform_filter``): O(1) per pixel whatever the
window, float64, vectorised over the tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from supplyline.imagery.kdist import threshold_factor

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CfarConfig:
    """Window sizes in pixels and the threshold factor (defaults: 10-20 m pixels, ships up to ~300 m)."""

    method: str = "two-parameter"  # or "ca" (cell-averaging), "k" (K-distributed clutter)
    guard: int = 15  # half-size of the guard box (px): larger than half the biggest ship
    train: int = 30  # half-size of the training box (px)
    k: float = 5.0  # two-parameter: sigmas above the ring mean
    alpha: float = 6.0  # cell-averaging: multiple of the ring mean
    pfa: float = 1e-6  # K-distribution: false-alarm probability per pixel
    looks: float = 4.4  # K-distribution: equivalent number of looks of the intensity (S1 IW GRD ~4.4)
    min_water: float = 0.25  # a ring with less water than this share gives no threshold (no detection)
    censor: int = 2  # second pass with first-pass targets (grown by this many px) removed from the clutter
    sd_floor: float = 0.0  # local sigma at least this share of the tile's water sigma (quantised/dark seas)
    block: int = 4  # clutter estimated on block x block cells (1 = every pixel; see cfar_mask)

    @property
    def margin(self) -> int:
        """Pixels a tile must overlap its neighbours by so every pixel sees its whole ring."""
        return self.train


def _box_sums(a: F64, half: int) -> F64:
    """Sum of ``a`` over the (2*half+1)^2 box around every pixel (zero outside), separable running means."""
    n = 2 * half + 1
    return np.asarray(ndimage.uniform_filter(a, size=n, mode="constant", cval=0.0), np.float64) * float(n * n)


def _cell_sums(a: F64, block: int) -> F64:
    """Sums over ``block`` x ``block`` cells (``a``'s shape is a multiple of ``block``)."""
    h, w = a.shape
    return np.asarray(a.reshape(h // block, block, w // block, block).sum(axis=(1, 3)), np.float64)


def ring_stats(sums: tuple[F64, F64, F64], guard: int, train: int) -> tuple[F64, F64, F64]:
    """Mean, standard deviation and count of the water in the ring (in cells) around every cell, from the
    per-cell water count, sum and sum of squares."""
    n, s1, s2 = (_box_sums(a, train) - _box_sums(a, guard) for a in sums)
    nn = np.maximum(n, 1.0)
    mu = s1 / nn
    return mu, np.sqrt(np.maximum(s2 / nn - mu * mu, 0.0)), n


def cfar_mask(x: F64, land: Mask | None, cfg: CfarConfig) -> tuple[Mask, F64]:
    """Target pixels and their contrast ``(x - mu) / sigma`` (the score input) for one tile of intensity.

    The clutter is estimated on ``block`` x ``block`` cells (sums per cell, the ring in whole cells, the
    guard rounded up) and compared with every pixel of the cell by broadcasting: clutter varies over tens
    of pixels, so this costs ~1/block^2 of per-pixel filtering, with ring edges shifted by under a cell.
    With ``censor`` > 0 a second pass drops the cells holding first-pass targets (and their neighbours)
    from the clutter, so neighbouring ships and their sidelobes do not raise each other's thresholds.
    """
    b = max(int(cfg.block), 1)
    h, w = x.shape
    hp, wp = -(-h // b) * b, -(-w // b) * b
    xp = np.full((hp, wp), np.nan)
    xp[:h, :w] = x
    water = np.isfinite(xp) & (xp > 0)
    if land is not None:
        water[:h, :w] &= ~land
    xs = np.where(np.isfinite(xp), xp, 0.0)
    xw = np.where(water, xs, 0.0)
    sums = (_cell_sums(water.astype(np.float64), b), _cell_sums(xw, b), _cell_sums(xw * xw, b))
    guard, train = -(-cfg.guard // b), max(cfg.train // b, -(-cfg.guard // b) + 1)
    hit, contrast = _pass(xs, water, sums, guard, train, b, cfg)
    if cfg.censor > 0 and hit.any():
        busy = _cell_sums(hit.astype(np.float64), b) > 0
        busy = ndimage.binary_dilation(busy, iterations=max(1, -(-cfg.censor // b)))
        hit, contrast = _pass(xs, water, tuple(np.where(busy, 0.0, a) for a in sums), guard, train, b, cfg)  # type: ignore[arg-type]
    return hit[:h, :w], contrast[:h, :w]


def _pass(
    xs: F64, water: Mask, sums: tuple[F64, F64, F64], guard: int, train: int, b: int, cfg: CfarConfig
) -> tuple[Mask, F64]:
    mu, sd, n = ring_stats(sums, guard, train)
    if cfg.sd_floor > 0 and sums[0].sum() > 0:
        total, s1, s2 = (float(a.sum()) for a in sums)
        sd = np.maximum(sd, cfg.sd_floor * np.sqrt(max(s2 / total - (s1 / total) ** 2, 0.0)))
    ring_cells = (2 * train + 1) ** 2 - (2 * guard + 1) ** 2
    enough = n >= cfg.min_water * ring_cells * b * b
    hc, wc = mu.shape
    x4, w4 = xs.reshape(hc, b, wc, b), water.reshape(hc, b, wc, b)
    mu4, sd4, ok4 = mu[:, None, :, None], sd[:, None, :, None], enough[:, None, :, None]
    if cfg.method == "ca":
        hit = x4 > cfg.alpha * mu4
    elif cfg.method == "two-parameter":
        hit = x4 > mu4 + cfg.k * sd4
    elif cfg.method == "k":
        hit = x4 > threshold_factor(mu, sd, cfg.looks, cfg.pfa)[:, None, :, None] * mu4
    else:
        raise ValueError(f"unknown CFAR method {cfg.method!r}; use two-parameter, ca or k")
    # contrast everywhere, land included: a hull the caller calls land (optical: a non-water hole) still
    # gets its contrast against the water around it
    contrast = (x4 - mu4) / np.maximum(sd4, 1e-12)
    shape = xs.shape
    return (hit & w4 & ok4).reshape(shape), contrast.reshape(shape)


def global_threshold_mask(x: F64, land: Mask | None, k: float = 5.0) -> Mask:
    """The naive baseline: one threshold ``mean + k * std`` of all water pixels of the image."""
    water = np.isfinite(x) if land is None else np.isfinite(x) & ~land
    vals = x[water]
    if vals.size == 0:
        return np.zeros(x.shape, bool)
    return water & (x > vals.mean() + k * vals.std())
