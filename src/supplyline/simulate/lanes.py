"""Sea lanes between stops and the speed profile along them.

A lane is a polyline from berth to berth: the scenario's hand-placed ``via`` points when given (the
searoute network is coarse near small ports), else the ``searoute`` maritime network between the two
points; the first and last few km leave the network straight into the berth. The polyline is densified
to <= 1 km and its corners are rounded (Chaikin corner cutting) so course changes look like turns, not
kinks. Speed along a lane: accelerate/decelerate at ``ACCEL_MS2`` from/to rest at the berths, harbour
speed within ``HARBOUR_KM`` of either end, cruise speed in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from supplyline.errors import DependencyError
from supplyline.geo import KM_PER_NM, haversine_km, initial_bearing_deg

ACCEL_MS2 = 0.02  # m/s^2: a laden coaster needs ~5 min to reach 12 kn
HARBOUR_KM = 3.0  # km from a berth sailed at harbour speed
HARBOUR_KN = 6.0  # harbour speed limit
MS_PER_KN = KM_PER_NM * 1000 / 3600  # 0.5144 m/s per knot


@dataclass(frozen=True)
class Path:
    """A densified polyline: ``lat``/``lon`` (lon unwrapped, may leave [-180, 180)), cumulative ``km``."""

    lat: np.ndarray
    lon: np.ndarray
    km: np.ndarray
    cog: np.ndarray  # bearing of each segment (len n-1), degrees

    @property
    def length_km(self) -> float:
        return float(self.km[-1])

    def at(self, s_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position (lat, lon in [-180, 180)) and course (deg) at distances ``s_km`` along the path."""
        lat = np.interp(s_km, self.km, self.lat)
        lon = np.mod(np.interp(s_km, self.km, self.lon) + 180.0, 360.0) - 180.0
        seg = np.clip(np.searchsorted(self.km, s_km, side="right") - 1, 0, len(self.cog) - 1)
        return lat, lon, self.cog[seg]


def _chaikin(lon: np.ndarray, lat: np.ndarray, rounds: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Cut every interior corner ``rounds`` times (endpoints kept): rounded turns, same general track."""
    pts = np.column_stack([lon, lat])
    for _ in range(rounds):
        if len(pts) < 3:
            break
        a, b = pts[:-1], pts[1:]
        q, r = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        mid = np.empty((2 * len(a), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid[1:-1], pts[-1:]])
    return pts[:, 0], pts[:, 1]


def _densify(lon: np.ndarray, lat: np.ndarray, step_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert points so no segment is longer than ``step_km`` (linear in lon/lat; fine at this scale)."""
    d = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    n = np.maximum(1, np.ceil(d / step_km).astype(np.int64))
    seg = np.repeat(np.arange(len(d)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    out_lon = np.append(lon[seg] + frac * (lon[seg + 1] - lon[seg]), lon[-1])
    out_lat = np.append(lat[seg] + frac * (lat[seg + 1] - lat[seg]), lat[-1])
    return out_lon, out_lat


def _searoute_interior(a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Interior points (lon, lat) of the searoute network path from a to b (both lon/lat)."""
    try:
        import searoute
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise DependencyError("the simulator needs `searoute`: pip install searoute") from exc
    feat = searoute.searoute([a[0], a[1]], [b[0], b[1]])
    return np.asarray(feat["geometry"]["coordinates"], dtype=np.float64).reshape(-1, 2)


@lru_cache(maxsize=1024)
def make_path(
    a: tuple[float, float], b: tuple[float, float], via: tuple[tuple[float, float], ...] | None
) -> Path:
    """The lane from berth ``a`` to berth ``b`` (lon, lat): ``via`` points, else the searoute network."""
    interior = (
        np.asarray(via, dtype=np.float64).reshape(-1, 2) if via is not None else _searoute_interior(a, b)
    )
    pts = np.vstack([np.asarray([a]), interior, np.asarray([b])])
    lon = np.unwrap(pts[:, 0], period=360.0)  # antimeridian: keep longitudes continuous
    lat = pts[:, 1]
    keep = np.append(True, (np.abs(np.diff(lon)) + np.abs(np.diff(lat))) > 1e-9)  # drop repeated points
    lon, lat = lon[keep], lat[keep]
    if len(lon) < 2:
        lon, lat = np.array([a[0], a[0]]), np.array([a[1], a[1]])
    lon, lat = _densify(lon, lat, 1.0)
    lon, lat = _chaikin(lon, lat)
    km = np.concatenate([[0.0], np.cumsum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]))])
    cog = initial_bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:]) if len(lat) > 1 else np.zeros(1)
    return Path(lat=lat, lon=lon, km=km, cog=cog)


@dataclass(frozen=True)
class Profile:
    """Time (s since departure) and speed (kn) as functions of distance ``s_km`` along a lane."""

    s_km: np.ndarray
    t_s: np.ndarray
    v_kn: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def s_at(self, tau_s: np.ndarray) -> np.ndarray:
        return np.interp(tau_s, self.t_s, self.s_km)

    def t_at(self, s_km: np.ndarray | float) -> np.ndarray:
        return np.interp(s_km, self.s_km, self.t_s)

    def v_at(self, s_km: np.ndarray) -> np.ndarray:
        return np.interp(s_km, self.s_km, self.v_kn)


@lru_cache(maxsize=2048)
def make_profile(length_km: float, cruise_kn: float) -> Profile:
    """Speed along a lane of ``length_km``: v = min(cruise, ramp from start, ramp to end), t = integral ds/v.

    Ramps: from rest at ``ACCEL_MS2`` up to harbour speed within ``HARBOUR_KM``, then on to cruise.
    Time per ~100 m step uses the mean of its end speeds, exact under constant acceleration.
    """
    length_m = max(length_km * 1000.0, 1.0)
    n = int(min(max(length_m / 100.0, 200), 40_000))
    s = np.linspace(0.0, length_m, n + 1)
    vc = cruise_kn * MS_PER_KN
    vh = min(HARBOUR_KN * MS_PER_KN, vc)
    h = min(HARBOUR_KM * 1000.0, length_m / 2)

    def ramp(x: np.ndarray) -> np.ndarray:
        inner = np.minimum(np.sqrt(2 * ACCEL_MS2 * x), vh)
        outer = np.sqrt(vh**2 + 2 * ACCEL_MS2 * np.maximum(x - h, 0.0))
        return np.where(x < h, inner, outer)

    def speed(x: np.ndarray) -> np.ndarray:
        return np.minimum(vc, np.minimum(ramp(x), ramp(length_m - x)))

    v_ms = speed(s)
    # mean speed over a step of constant acceleration is (v0 + v1) / 2: exact on the ramps
    dt = 2.0 * np.diff(s) / np.maximum(v_ms[:-1] + v_ms[1:], 0.05)
    t = np.concatenate([[0.0], np.cumsum(dt)])
    v = v_ms / MS_PER_KN
    return Profile(s_km=s / 1000.0, t_s=t, v_kn=v)
