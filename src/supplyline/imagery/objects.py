"""Target pixels -> vessel objects: clustering, then length, width and heading from the second moments.

Pixels are clustered by 8-connectivity after a small closing (a ship's echo breaks up at 10 m pixels).
For an object with intensity-weighted pixel covariance eigenvalues l1 >= l2, a uniform rectangle of length
L has variance L^2 / 12 along its axis, so ``length = sqrt(12 * l1) * pixel`` and ``width = sqrt(12 * l2) *
pixel``; the heading is the direction of the major axis (0-180 deg, clockwise from image up = north for a
north-up scene). Objects below ``min_pixels`` are dropped as speckle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ObjectConfig:
    min_pixels: int = 3
    close: int = 1  # closing radius (px) before labelling
    max_pixels: int = 20_000  # larger objects are land or artefacts, not ships


@dataclass(frozen=True)
class Objects:
    """One entry per object, pixel coordinates (row, col) of the intensity-weighted centroid."""

    row: F64
    col: F64
    length_px: F64
    width_px: F64
    heading_deg: F64  # major axis, 0-180, clockwise from the -row direction
    n_pixels: npt.NDArray[np.int64]
    peak: F64  # peak contrast (score input)
    bbox: list[tuple[int, int, int, int]]  # row0, col0, row1, col1 (exclusive)


def find_objects(mask: npt.NDArray[np.bool_], weight: F64, contrast: F64, cfg: ObjectConfig) -> Objects:
    """Cluster ``mask`` into objects and measure them (``weight``: intensity, ``contrast``: CFAR contrast)."""
    grown = ndimage.binary_closing(mask, np.ones((2 * cfg.close + 1,) * 2, bool)) if cfg.close else mask
    grown &= ndimage.binary_dilation(mask, np.ones((3, 3), bool), iterations=cfg.close)
    labels, n = ndimage.label(grown | mask, structure=np.ones((3, 3), bool))
    if n == 0:
        e = np.zeros(0)
        return Objects(e, e, e, e, e, np.zeros(0, np.int64), e, [])
    idx = np.arange(1, n + 1)
    w = np.where(labels > 0, np.maximum(weight, 0.0), 0.0) + 1e-12 * (labels > 0)
    rows, cols = np.indices(mask.shape, dtype=np.float64)
    sw = ndimage.sum_labels(w, labels, idx)
    mr = ndimage.sum_labels(w * rows, labels, idx) / sw
    mc = ndimage.sum_labels(w * cols, labels, idx) / sw
    lr, lc = mr[labels - 1], mc[labels - 1]  # centroid of each pixel's object
    dr, dc = np.where(labels > 0, rows - lr, 0.0), np.where(labels > 0, cols - lc, 0.0)
    crr = ndimage.sum_labels(w * dr * dr, labels, idx) / sw + 1.0 / 12  # + pixel's own extent
    ccc = ndimage.sum_labels(w * dc * dc, labels, idx) / sw + 1.0 / 12
    crc = ndimage.sum_labels(w * dr * dc, labels, idx) / sw
    half_tr, det = (crr + ccc) / 2, np.sqrt(((crr - ccc) / 2) ** 2 + crc**2)
    l1, l2 = half_tr + det, np.maximum(half_tr - det, 0.0)
    # major-axis angle: eigenvector of [[crr, crc], [crc, ccc]]; heading measured from "up" (-row)
    theta = 0.5 * np.arctan2(2 * crc, crr - ccc)  # angle from the +row axis towards +col
    heading = (180.0 - np.degrees(theta)) % 180.0
    npx = ndimage.sum_labels(np.ones(mask.shape), labels, idx).astype(np.int64)
    peak = ndimage.maximum(np.where(labels > 0, contrast, -np.inf), labels, idx)
    slices = ndimage.find_objects(labels)
    bbox = [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in slices if s is not None]
    keep = (npx >= cfg.min_pixels) & (npx <= cfg.max_pixels)
    pick = np.flatnonzero(keep)
    return Objects(
        mr[keep],
        mc[keep],
        np.sqrt(12 * l1[keep]),
        np.sqrt(12 * l2[keep]),
        heading[keep],
        npx[keep],
        np.asarray(peak, np.float64)[keep],
        [bbox[i] for i in pick],
    )
