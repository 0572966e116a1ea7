"""Synthetic vessels (labelled synthetic) whose tracks give shared-MMSI and spoofing events: one fix a minute.

* ``SHARED`` (366999001): two ships on one MMSI, alternating runs of 3-5 fixes ~55 km apart for 12 hours
  from hour 12 (an episode that micro-batches cut), one ship before and after;
* ``SPOOFED`` (366999002): three excursions of 20 fixes 60 km away (6 jumps, too sparse for shared):
  spoofed windows, judged again whole once it has 6 jumps;
* ``TWO_WINDOWS`` (366999003): two such excursions (4 jumps: the tail from the last jump is re-read);
* ``GLITCHES`` (366999004): two lone one-fix outliers;
* ``PENDING`` (366999005): dense switches whose second ship is first inconsistent (each of its runs 20 km
  from the last), then that ship alone for hours: its side becomes consistent with no new jump, so the
  MMSI turns shared later (a vessel the kept state must judge again without a new jump);
* ``PLAIN`` (366999006): one ship.
"""

from __future__ import annotations

import numpy as np

SHARED, SPOOFED, TWO_WINDOWS, GLITCHES, PENDING, PLAIN = range(366999001, 366999007)
KM_PER_DEG = 111.2


def _drift(t: np.ndarray, lat0: float, lon0: float, kn: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """A ship heading east at ``kn`` from (lat0, lon0) at t[0] (t in seconds)."""
    deg = (t - t[0]) / 3600 * kn * 1.852 / (KM_PER_DEG * np.cos(np.radians(lat0)))
    return np.full(len(t), lat0), lon0 + deg


def _vessel(mmsi: int, t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    return {"mmsi": np.full(len(t), mmsi, np.int64), "ts": t, "lat": lat, "lon": lon}


def _alternating(t: np.ndarray, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                 on: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Track ``a``, except inside ``on`` where runs of 3-5 fixes alternate between ``a`` and ``b``."""
    rng = np.random.default_rng(seed)
    runs = np.repeat(np.arange(len(t)), rng.integers(3, 6, len(t)))[: len(t)] % 2 == 1
    use_b = on & runs
    return np.where(use_b, b[0], a[0]), np.where(use_b, b[1], a[1])


def _excursions(
    t: np.ndarray, track: tuple[np.ndarray, np.ndarray], starts_h: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """``track`` with 20-fix excursions 60 km north from each of ``starts_h`` hours."""
    lat, lon = track[0].copy(), track[1]
    for h in starts_h:
        k = int(h * 60)
        lat[k : k + 20] += 60 / KM_PER_DEG
    return lat, lon


def fleet(t0: int, hours: float = 72) -> dict[str, np.ndarray]:
    """The six vessels over ``hours`` from ``t0`` (seconds), sorted by time."""
    t = t0 + np.arange(0, int(hours * 3600), 60, dtype=np.int64)
    h = (t - t0) / 3600
    one, two = _drift(t, 40.45, -74.0), _drift(t, 40.95, -73.6, 6.0)
    parts = [
        _vessel(SHARED, t, *_alternating(t, one, two, (h >= 12) & (h < 24), 1)),
        _vessel(SPOOFED, t, *_excursions(t, _drift(t, 40.5, -73.9), [5.9, 20.1, 40.0])),
        _vessel(TWO_WINDOWS, t, *_excursions(t, _drift(t, 40.55, -73.8), [10.0, 23.95])),
        _vessel(GLITCHES, t, *_glitches(_drift(t, 40.6, -73.7), [300, 2000])),
        _vessel(PENDING, t, *_pending(t, h)),
        _vessel(PLAIN, t, *_drift(t, 40.65, -73.6)),
    ]
    rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((rows["mmsi"], rows["ts"]))
    return {k: v[order] for k, v in rows.items()}


def _glitches(track: tuple[np.ndarray, np.ndarray], at: list[int]) -> tuple[np.ndarray, np.ndarray]:
    lat = track[0].copy()
    lat[at] += 30 / KM_PER_DEG
    return lat, track[1]


def _pending(t: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Switches from hour 30 to 32 with the second ship's runs scattered 20 km apart, then the second ship
    alone (consistent) from hour 32 on; the first ship before."""
    one, two = _drift(t, 40.7, -74.1), _drift(t, 41.2, -73.9, 6.0)
    on = (h >= 30) & (h < 32)
    lat, lon = _alternating(t, one, two, on, 2)
    run = np.cumsum(np.r_[False, (lat[1:] != lat[:-1])])
    scatter = on & (lat == two[0])
    lon = np.where(scatter, lon + (run % 7) * 20 / (KM_PER_DEG * 0.76), lon)
    after = h >= 32
    last = np.flatnonzero(scatter)[-1]
    return np.where(after, two[0], lat), np.where(after, two[1] + (lon[last] - two[1][last]), lon)
