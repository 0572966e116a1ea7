"""Azimuth-ambiguity ("ghost") suppression near bright targets.

A SAR samples the Doppler spectrum at the pulse repetition frequency, so a bright target leaks faint copies
of itself displaced along azimuth by ``dx = lambda * R * PRF / (2 * V)`` on either side (Sentinel-1 IW:
~5.5 cm x 850 km x ~1.7 kHz / 15.2 km/s = ~5 km, i.e. hundreds of GRD pixels), some 20-30 dB fainter. An
object is dropped as a ghost when an object at least ``min_ratio_db`` brighter lies ``offset_px`` away along
the azimuth axis (image rows for a GRD in radar geometry, ``axis=0``) within ``tolerance_px``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GhostConfig:
    offset_px: float = 0.0  # azimuth ambiguity distance in pixels; 0 = no suppression
    tolerance_px: float = 6.0
    min_ratio_db: float = 10.0
    axis: int = 0  # azimuth axis of the image: 0 = rows


def ghost_mask(
    row: F64, col: F64, brightness: F64, length_px: F64, cfg: GhostConfig
) -> npt.NDArray[np.bool_]:
    """True for objects that are ambiguities of a much brighter object (``brightness``: linear intensity).

    The ghost of a long ship breaks up like the ship, so the tolerance grows by half the bright object's
    length (px).
    """
    n = len(row)
    ghost = np.zeros(n, bool)
    if cfg.offset_px <= 0 or n < 2:
        return ghost
    xy = np.column_stack([row, col])
    tree = cKDTree(xy)
    shift = np.zeros(2)
    shift[cfg.axis] = cfg.offset_px
    ratio = 10 ** (cfg.min_ratio_db / 10)
    reach = cfg.tolerance_px + 0.5 * float(np.max(length_px))
    for sign in (-1.0, 1.0):
        # where a ghost of each object would be: look there for the object's fainter copies
        spots = xy + sign * shift
        for j, candidates in enumerate(tree.query_ball_point(spots, reach)):
            for i in candidates:
                close = np.hypot(*(xy[i] - spots[j])) <= cfg.tolerance_px + 0.5 * length_px[j]
                if close and brightness[j] >= ratio * brightness[i]:
                    ghost[i] = True
    return ghost
