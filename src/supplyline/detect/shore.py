"""Distance to the nearest coastline, a proxy good to a few km (for the gap kernel's "near shore").

The coastline is the Natural Earth 1:50m land the report already ships (``report/assets/land-50m.json``,
~60,000 vertices, public domain). Distances are to the nearest *vertex* (a KD-tree on 3-D unit vectors, so
poles and the antimeridian need no special case): vertices are at most a few km apart at this scale, so the
answer overestimates the true distance to the coast by up to half a segment. Points on land get their
distance to the coastline too (a pier is "near shore").
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.spatial import cKDTree

from supplyline.detect._arrays import FloatArray
from supplyline.geo import EARTH_RADIUS_KM, to_unit_xyz

LAND_ASSET = "land-50m.json"


@lru_cache(maxsize=1)
def _coast_tree() -> cKDTree:
    """KD-tree over every coastline vertex (built once per process: ~30 ms)."""
    raw = resources.files("supplyline.report").joinpath("assets", LAND_ASSET).read_text(encoding="utf-8")
    doc = json.loads(raw)
    scale = float(doc["scale"])
    parts = []
    for ring in doc["rings"]:
        xy = np.cumsum(np.asarray(ring, dtype=np.float64).reshape(-1, 2), axis=0) / scale
        parts.append(xy)
    lonlat = np.concatenate(parts)
    return cKDTree(to_unit_xyz(lonlat[:, 1], lonlat[:, 0]))


def shore_distance_km(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Great-circle km from each point to the nearest Natural Earth 1:50m coastline vertex."""
    if len(lat) == 0:
        return np.zeros(0, dtype=np.float64)
    chord, _ = _coast_tree().query(to_unit_xyz(np.asarray(lat, np.float64), np.asarray(lon, np.float64)))
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0)), np.float64)
