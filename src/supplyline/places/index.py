"""A spatial index over places: point -> place questions for millions of points.

:class:`PlaceIndex` keeps centres as 3D unit vectors in a KD-tree, so the great-circle distance is a
monotonic function of the straight-line (chord) distance and no longitude wrap or pole case exists.
Polygons are tested with shapely in a local equirectangular frame centred on each polygon
(:class:`~supplyline.places.frame.LocalFrame`), so a polygon across the antimeridian is tested correctly too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from scipy.spatial import cKDTree

from supplyline.errors import UsageError
from supplyline.geo import M_PER_DEG, haversine_km, km_to_chord, to_unit_xyz
from supplyline.places.frame import LocalFrame
from supplyline.places.gazetteer import conform_places
from supplyline.places.search import NameSearch

_CHUNK = 1 << 20  # points per batch in assign(): bounds memory at ~100 MB whatever the input size
_K = 4  # nearest candidates examined per point before the exact fallback
_BUCKET_RATIO = 1.25  # radius classes for the exact fallback: radii within a class differ by <25 %

Radius = Literal["r_in", "r_out"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _points(lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if la.shape != lo.shape or la.ndim != 1:
        raise UsageError(f"lat and lon must be 1-D arrays of equal length, got {la.shape} and {lo.shape}")
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90.0) & (np.abs(lo) <= 180.0)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise UsageError(f"point {i} ({la[i]}, {lo[i]}) is not a valid lat/lon in degrees")
    return la, lo


@dataclass
class _Circles:
    """Circle places of one radius mode: a KD-tree over all of them plus per-radius-class trees."""

    rows: IntArray  # row in the places table
    chord: FloatArray  # radius as chord length on the unit sphere
    tree: cKDTree
    classes: list[tuple[IntArray, cKDTree, float]]  # (positions into rows, tree, max chord)


class PlaceIndex:
    """Spatial index over a PLACES table; every method is vectorised over points.

    >>> from supplyline.places import places_from_records
    >>> idx = PlaceIndex(places_from_records([{"name": "A", "lat": 0.0, "lon": 179.99, "radius_m": 5000}]))
    >>> idx.assign(np.array([0.0, 0.0]), np.array([-179.99, 10.0])).tolist()  # 2.2 km across the antimeridian
    [0, -1]
    """

    def __init__(self, places: pa.Table, *, workers: int = 1) -> None:
        self.places = conform_places(places)
        self.workers = workers
        self.lat = self.places["lat"].to_numpy()
        self.lon = self.places["lon"].to_numpy()
        self._xyz = to_unit_xyz(self.lat, self.lon) if len(self.lat) else np.empty((0, 3))
        self._tree = cKDTree(self._xyz)
        wkb = self.places["geometry_wkb"]
        is_poly = pc.is_valid(wkb).to_numpy(zero_copy_only=False)
        self._poly_rows = np.flatnonzero(is_poly).astype(np.int64)
        self._circle_rows = np.flatnonzero(~is_poly).astype(np.int64)
        geoms = shapely.from_wkb(wkb.filter(pc.is_valid(wkb)).to_numpy(zero_copy_only=False))
        self._frames = [LocalFrame.of(g) for g in geoms]
        self._bounds_m = np.array([f.bounding_radius_m() for f in self._frames], dtype=np.float64)
        centres = np.array([f.centre() for f in self._frames], dtype=np.float64).reshape(-1, 2)
        self._poly_xyz = to_unit_xyz(centres[:, 0], centres[:, 1]) if len(centres) else np.empty((0, 3))
        self._grown: dict[tuple[int, float], shapely.Geometry] = {}
        self._circles: dict[str, _Circles] = {}
        self._names: NameSearch | None = None

    def __len__(self) -> int:
        return self.places.num_rows

    def _radius_m(self, radius: Radius) -> FloatArray:
        if radius not in ("r_in", "r_out"):
            raise UsageError(f"radius must be 'r_in' or 'r_out', got {radius!r}")
        return np.asarray(self.places[f"{radius}_m"].to_numpy(), dtype=np.float64)

    def _circle_set(self, radius: Radius) -> _Circles:
        if radius not in self._circles:
            rows = self._circle_rows
            chord = km_to_chord(self._radius_m(radius)[rows] / 1000.0)
            cls = np.floor(np.log(np.maximum(chord, 1e-12)) / np.log(_BUCKET_RATIO)).astype(np.int64)
            classes = []
            for c in np.unique(cls):
                pos = np.flatnonzero(cls == c)
                classes.append((pos, cKDTree(self._xyz[rows[pos]]), float(chord[pos].max())))
            self._circles[radius] = _Circles(rows, chord, cKDTree(self._xyz[rows]), classes)
        return self._circles[radius]

    def assign(self, lat: npt.ArrayLike, lon: npt.ArrayLike, radius: Radius = "r_in") -> IntArray:
        """Row of the nearest place (by centre distance) whose circle or polygon contains each point; -1 if none.

        ``radius="r_in"`` tests entry (circle of r_in_m, or the polygon); ``"r_out"`` tests staying inside
        (circle of r_out_m, or the polygon grown by r_out_m - r_in_m).
        """
        la, lo = _points(lat, lon)
        self._radius_m(radius)
        out = np.full(len(la), -1, dtype=np.int64)
        for s in range(0, len(la), _CHUNK):
            out[s : s + _CHUNK] = self._assign_chunk(la[s : s + _CHUNK], lo[s : s + _CHUNK], radius)
        return out

    def _assign_chunk(self, lat: FloatArray, lon: FloatArray, radius: Radius) -> IntArray:
        n = len(lat)
        best = np.full(n, -1, dtype=np.int64)
        best_d = np.full(n, np.inf)  # chord distance to the chosen place's centre
        q = to_unit_xyz(lat, lon)
        if len(self._circle_rows):
            circ = self._circle_set(radius)
            pos, d, todo = _first_inside(circ.tree, circ.chord, q, float(circ.chord.max()), self.workers)
            hit = pos >= 0
            best[hit], best_d[hit] = circ.rows[pos[hit]], d[hit]
            if todo.any():  # K candidates were inside the search radius and none contained the point
                self._assign_exact(circ, q, np.flatnonzero(todo), best, best_d)
        if len(self._poly_rows):
            self._assign_polygons(lat, lon, q, radius, best, best_d)
        return best

    def _assign_exact(
        self, circ: _Circles, q: FloatArray, sel: IntArray, best: IntArray, best_d: FloatArray
    ) -> None:
        """Exact answer for hard points: per radius class the K-nearest test is almost always conclusive."""
        for pos, tree, cmax in circ.classes:
            p, d, todo = _first_inside(tree, circ.chord[pos], q[sel], cmax, self.workers)
            if todo.any():  # still unsure: every place of this class within its max radius
                t = np.flatnonzero(todo)
                p[t], d[t] = _ball_nearest_inside(tree, circ.chord[pos], q[sel[t]], cmax)
            better = (p >= 0) & (d < best_d[sel])
            best[sel[better]] = circ.rows[pos[p[better]]]
            best_d[sel[better]] = d[better]

    def _assign_polygons(
        self,
        lat: FloatArray,
        lon: FloatArray,
        q: FloatArray,
        radius: Radius,
        best: IntArray,
        best_d: FloatArray,
    ) -> None:
        r_in, r_out = self._radius_m("r_in"), self._radius_m("r_out")
        rows = self._poly_rows
        margins = np.maximum(r_out[rows] - r_in[rows], 0.0) if radius == "r_out" else np.zeros(len(rows))
        # prefilter: the circle around each polygon's own centroid that holds it (plus the exit margin), as
        # one ball query per polygon against a KD-tree of the points (C loop; 3-D chords: antimeridian-safe)
        chords = km_to_chord((self._bounds_m + margins) / 1000.0) * (1 + 1e-9)
        hits = cKDTree(q).query_ball_point(self._poly_xyz, chords, workers=self.workers)
        for k in np.flatnonzero(np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))):
            row, frame, margin_m = rows[k], self._frames[k], float(margins[k])
            cand = np.asarray(hits[k], dtype=np.int64)
            d = np.sqrt(((q[cand] - self._xyz[row]) ** 2).sum(axis=1))  # ranking: chord to the place centre
            nearer = d < best_d[cand]
            cand, d = cand[nearer], d[nearer]
            if not len(cand):
                continue
            key = (int(row), margin_m)
            if key not in self._grown:
                self._grown[key] = (
                    shapely.buffer(frame.local, margin_m / M_PER_DEG) if margin_m else frame.local
                )
            x, y = frame.project(lat[cand], lon[cand])
            inside = shapely.contains_xy(self._grown[key], x, y)
            best[cand[inside]], best_d[cand[inside]] = row, d[inside]

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_m: float = np.inf
    ) -> tuple[IntArray, FloatArray]:
        """Nearest place centre to each point: (row or -1, great-circle distance in m or inf) within ``max_m``."""
        la, lo = _points(lat, lon)
        idx = np.full(len(la), -1, dtype=np.int64)
        dist = np.full(len(la), np.inf)
        if not len(self) or not len(la):
            return idx, dist
        bound = np.inf if not np.isfinite(max_m) else float(km_to_chord(max_m / 1000.0)) * (1 + 1e-9)
        _, j = self._tree.query(to_unit_xyz(la, lo), k=1, distance_upper_bound=bound, workers=self.workers)
        ok = j < len(self)
        idx[ok] = j[ok]
        dist[ok] = haversine_km(la[ok], lo[ok], self.lat[j[ok]], self.lon[j[ok]]) * 1000.0
        keep = dist <= max_m
        idx[~keep], dist[~keep] = -1, np.inf
        return idx, dist

    def near(self, lat: float, lon: float, radius_m: float, limit: int | None = None) -> pa.Table:
        """Places whose centre lies within ``radius_m`` of one point, nearest first, with a ``dist_km`` column."""
        la, lo = _points(lat, lon)
        if not np.isfinite(radius_m) or radius_m < 0:
            raise UsageError(f"radius must be a non-negative number of metres, got {radius_m}")
        rows = np.asarray(
            self._tree.query_ball_point(
                to_unit_xyz(la, lo)[0], float(km_to_chord(radius_m / 1000.0)) * (1 + 1e-9)
            ),
            dtype=np.int64,
        )
        dist = haversine_km(la[0], lo[0], self.lat[rows], self.lon[rows])
        keep = dist * 1000.0 <= radius_m
        rows, dist = rows[keep], dist[keep]
        order = np.lexsort((rows, dist))[:limit]
        return self.places.take(rows[order]).append_column("dist_km", pa.array(dist[order], pa.float64()))

    def search(self, name: str, limit: int = 20, country: str | None = None) -> pa.Table:
        """Fuzzy name search over names and aliases (accents, case and punctuation ignored).

        Ranked by: exact name, exact alias, rapidfuzz WRatio score (0-100), source quality (WPI first).
        Cells of one GFW anchorage (same name, country and source) collapse to one row, the cell nearest
        their mean position, with the count in ``n_same``. ``matched`` is the name or alias that matched
        best (e.g. "Rajin" for Najin). ``country`` is an ISO 3166 alpha-2 code.
        """
        if self._names is None:
            self._names = NameSearch(self.places, self._xyz, self.workers)
        return self._names.search(name, limit, country)


def _first_inside(
    tree: cKDTree, chord: FloatArray, q: FloatArray, cmax: float, workers: int
) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Among the K nearest centres within ``cmax``, the first whose circle holds each point.

    Returns (position in the tree or -1, chord distance, undecided) where undecided marks points whose K-th
    candidate was still inside ``cmax``: a farther place might still contain them.
    """
    n_tree = tree.n
    k = min(_K, n_tree)
    d, j = tree.query(q, k=k, distance_upper_bound=cmax * (1 + 1e-12), workers=workers)
    d, j = d.reshape(len(q), k), j.reshape(len(q), k)
    valid = j < n_tree
    inside = valid & (d <= chord[np.where(valid, j, 0)])
    first = inside.argmax(axis=1)
    rows = np.arange(len(q))
    found = inside[rows, first]
    pos = np.where(found, j[rows, first], -1).astype(np.int64)
    dist = np.where(found, d[rows, first], np.inf)
    undecided = ~found & valid[:, -1] & (k < n_tree)
    return pos, dist, undecided


def _ball_nearest_inside(
    tree: cKDTree, chord: FloatArray, q: FloatArray, cmax: float
) -> tuple[IntArray, FloatArray]:
    """Exhaustive version of :func:`_first_inside` for the few points it could not decide."""
    lists = tree.query_ball_point(q, cmax * (1 + 1e-12), return_sorted=False)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(counts.sum()))
    who = np.repeat(np.arange(len(q)), counts)
    d = np.sqrt(((q[who] - tree.data[flat]) ** 2).sum(axis=1))
    ok = d <= chord[flat]
    who, flat, d = who[ok], flat[ok], d[ok]
    order = np.lexsort((d, who))
    who, flat, d = who[order], flat[order], d[order]
    first = np.ones(len(who), dtype=bool)
    first[1:] = who[1:] != who[:-1]
    pos = np.full(len(q), -1, dtype=np.int64)
    dist = np.full(len(q), np.inf)
    pos[who[first]], dist[who[first]] = flat[first], d[first]
    return pos, dist
