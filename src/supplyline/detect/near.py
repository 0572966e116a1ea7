"""A conservative grid prefilter: which points *may* lie within some distance of any place.

Most AIS positions are far from every place of a case; sending only the rest to the place index
(a KD-tree query per point) makes visit and loitering detection several times faster. Cells are ``g``
degrees with ``g`` = the largest radius in degrees; each place marks the cells its circle can touch
(3 rows, and as many columns as its radius spans at its most poleward latitude), so a point outside every
marked cell is certainly farther than the radius from every place. Cell columns wrap at the antimeridian.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from supplyline.detect._arrays import BoolArray, FloatArray, IntArray
from supplyline.geo import KM_PER_DEG

if TYPE_CHECKING:
    from supplyline.detect.kernels import PlaceLookup


_MAX_GRID_CELLS = 4_000_000
"""Largest dense lookup table of marked cells (one byte each); wider spans binary-search the keys."""


class NearFilter:
    """``mask(lat, lon)`` is False only where a point is farther than ``radius_m`` from every place."""

    def __init__(self, lat: FloatArray, lon: FloatArray, radius_m: FloatArray) -> None:
        r_deg = np.asarray(radius_m, dtype=np.float64) / 1000.0 / KM_PER_DEG * (1 + 1e-6)
        self.empty = len(r_deg) == 0
        if self.empty:
            return
        self.g = max(float(r_deg.max()), 1e-4)
        self.ncol = int(np.ceil(360.0 / self.g))
        self.row0 = int(np.ceil(90.0 / self.g)) + 2
        cy, cx = self._cells(lat, lon)
        poleward = np.minimum(np.abs(lat) + r_deg, 89.999)
        k = np.ceil(r_deg / np.cos(np.radians(poleward)) / self.g).astype(np.int64)
        k = np.clip(k, 1, self.ncol // 2 + 1)
        per = 3 * (2 * k + 1)
        owner = np.repeat(np.arange(len(k)), per)
        within = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
        width = 2 * k[owner] + 1
        dy = within // width - 1
        dx = within % width - k[owner]
        keys = (cy[owner] + dy) * self.ncol + (cx[owner] + dx) % self.ncol
        self.keys = np.unique(keys)
        self._grid_of_keys()

    def _grid_of_keys(self) -> None:
        """A dense True/False table over the rows and columns spanned by the marked cells, when it is
        small: a point's lookup is then one bounds test and one gather instead of a binary search."""
        rows, cols = self.keys // self.ncol, self.keys % self.ncol
        self.y0, self.x0 = int(rows.min()), int(cols.min())
        self.ny, self.nx = int(rows.max()) - self.y0 + 1, int(cols.max()) - self.x0 + 1
        self.grid: BoolArray | None = None
        if self.ny * self.nx <= _MAX_GRID_CELLS:
            self.grid = np.zeros(self.ny * self.nx, dtype=bool)
            self.grid[(rows - self.y0) * self.nx + (cols - self.x0)] = True

    def _cells(self, lat: FloatArray, lon: FloatArray) -> tuple[np.ndarray, np.ndarray]:
        cy = np.floor(np.asarray(lat) / self.g).astype(np.int64) + self.row0
        cx = np.floor((np.asarray(lon) + 180.0) / self.g).astype(np.int64)
        wrap = np.flatnonzero((cx < 0) | (cx >= self.ncol))  # lon = 180 (or outside -180..180) only
        if len(wrap):
            cx[wrap] %= self.ncol
        return cy, cx

    def mask(self, lat: FloatArray, lon: FloatArray) -> BoolArray:
        if self.empty:
            return np.zeros(len(lat), dtype=bool)
        cy, cx = self._cells(lat, lon)
        if self.grid is None:
            key = cy * self.ncol + cx
            pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            return np.asarray(self.keys[pos] == key)
        cy -= self.y0
        cx -= self.x0
        box = np.flatnonzero((cy >= 0) & (cy < self.ny) & (cx >= 0) & (cx < self.nx))
        hit = np.zeros(len(cy), dtype=bool)
        hit[box] = self.grid[cy[box] * self.nx + cx[box]]
        return hit


class Prefiltered:
    """A place index whose ``assign``/``nearest`` first drop points the grid proves are far from all places."""

    def __init__(self, index: PlaceLookup) -> None:
        self.index = index
        self.places = index.places
        self._filters: dict[object, NearFilter] = {}

    def _filter(self, key: object, radius_m: FloatArray) -> NearFilter:
        if key not in self._filters:
            lat = np.asarray(self.places.column("lat").to_numpy(), dtype=np.float64)
            lon = np.asarray(self.places.column("lon").to_numpy(), dtype=np.float64)
            self._filters[key] = NearFilter(lat, lon, radius_m)
        return self._filters[key]

    def maybe_within(self, lat: FloatArray, lon: FloatArray, radius: Literal["r_in", "r_out"]) -> BoolArray:
        """False where a point is proven farther than its ``radius`` from every place."""
        r = np.asarray(self.places.column(f"{radius}_m").to_numpy(), dtype=np.float64)
        return self._filter(radius, r).mask(lat, lon)

    def assign(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, radius: Literal["r_in", "r_out"] = "r_in"
    ) -> IntArray:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        r = np.asarray(self.places.column(f"{radius}_m").to_numpy(), dtype=np.float64)
        m = np.flatnonzero(self._filter(radius, r).mask(la, lo))
        out = np.full(len(la), -1, dtype=np.int64)
        if len(m):
            out[m] = self.index.assign(la[m], lo[m], radius)
        return out

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_m: float = np.inf
    ) -> tuple[IntArray, FloatArray]:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        if not np.isfinite(max_m):
            return self.index.nearest(la, lo, max_m)
        f = self._filter(("max", float(max_m)), np.full(self.places.num_rows, float(max_m)))
        m = np.flatnonzero(f.mask(la, lo))
        idx = np.full(len(la), -1, dtype=np.int64)
        dist = np.full(len(la), np.inf)
        if len(m):
            idx[m], dist[m] = self.index.nearest(la[m], lo[m], max_m)
        return idx, dist
