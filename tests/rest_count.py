"""An independent stop count for checking port calls: rests as a person reads a track, no speeds involved.

A *rest* is a run of one vessel's fixes that all stay within ``radius_m`` of the run's first fix and spans
``min_minutes`` or more (greedy from each fix; GFW's anchorage method finds "stationary periods" the same
way with 0.5 km and 12 h). Plain Python over sorted arrays: it is a yardstick for the detector, not part
of it, and shares none of its code (no speed thresholds, windows or hysteresis).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8


def rests(
    mmsi: npt.ArrayLike,
    ts_s: npt.ArrayLike,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    radius_m: float = 300.0,
    min_minutes: float = 30.0,
) -> list[tuple[int, int, int]]:
    """(mmsi, first row, last row) of every rest; rows sorted by (mmsi, time), ``ts_s`` in seconds."""
    m = np.asarray(mmsi).tolist()
    t = np.asarray(ts_s).tolist()
    la = np.radians(np.asarray(lat, dtype=np.float64)).tolist()
    lo = np.radians(np.asarray(lon, dtype=np.float64)).tolist()
    limit = 2 * math.sin(radius_m / EARTH_RADIUS_M / 2)  # chord on the unit sphere
    limit2, min_s, n = limit * limit, min_minutes * 60, len(m)
    out, i = [], 0
    while i < n:
        ci, si = math.cos(la[i]), math.sin(la[i])
        xi, yi = ci * math.cos(lo[i]), ci * math.sin(lo[i])
        j = i + 1
        while j < n and m[j] == m[i]:
            cj = math.cos(la[j])
            dx, dy, dz = cj * math.cos(lo[j]) - xi, cj * math.sin(lo[j]) - yi, math.sin(la[j]) - si
            if dx * dx + dy * dy + dz * dz > limit2:
                break
            j += 1
        if t[j - 1] - t[i] >= min_s:
            out.append((int(m[i]), i, j - 1))
            i = j
        else:
            i += 1
    return out
