"""A busy synthetic harbour (SYNTHETIC): vessels with true tracks and the AIS they send, for measuring how
well satellite detections are matched to AIS (tests, bench/imagery.py).

Vessels sail constant-turn arcs (speed 4-18 kn, turning up to 10 degrees an hour) or lie moored/anchored
in clusters; a share of them is dark (no AIS at all) and the others report every 10 s (moving) or 3 min
(moored) with a GNSS position error and occasional reception drop-outs of 1-6 h. Lengths follow a
log-normal around 90 m (10-300 m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from supplyline import schema
from supplyline.geo import EARTH_RADIUS_M
from supplyline.simulate.passes import KN_TO_MS, ShipsAt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fleet:
    """Vessels' initial state at ``t0`` (unix s) and how they move and report."""

    t0: float
    mmsi: npt.NDArray[np.int64]
    length_m: F64
    lat0: F64
    lon0: F64
    sog_kn: F64
    cog0_deg: F64
    turn_deg_h: F64
    ais_on: npt.NDArray[np.bool_]
    drop_start: F64  # reception drop-out start (unix s; nan = none) and length
    drop_h: F64


def random_fleet(
    n: int,
    lat: float,
    lon: float,
    radius_m: float,
    t0: float,
    rng: np.random.Generator,
    *,
    dark_share: float = 0.2,
    moored_share: float = 0.4,
    dropout_share: float = 0.05,
) -> Fleet:
    """``n`` vessels within ``radius_m`` of (lat, lon) at ``t0``; moored ones in anchorages of ~10."""
    moored = rng.random(n) < moored_share
    r = radius_m * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    n_clusters = max(1, n // 25)
    cr = 0.7 * radius_m * np.sqrt(rng.random(n_clusters))
    ca = rng.random(n_clusters) * 2 * np.pi
    k = rng.integers(0, n_clusters, n)
    spread = _anchorage_slots(k, rng)
    east = np.where(moored, cr[k] * np.sin(ca[k]) + spread[0], r * np.sin(a))
    north = np.where(moored, cr[k] * np.cos(ca[k]) + spread[1], r * np.cos(a))
    lat0 = lat + np.degrees(north / EARTH_RADIUS_M)
    lon0 = lon + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    drop = rng.random(n) < dropout_share
    return Fleet(
        t0=t0,
        mmsi=(200_000_000 + rng.choice(500_000_000, n, replace=False)).astype(np.int64),
        length_m=np.clip(np.exp(rng.normal(np.log(90.0), 0.6, n)), 10.0, 300.0),
        lat0=lat0,
        lon0=lon0,
        sog_kn=np.where(moored, 0.0, rng.uniform(4.0, 18.0, n)),
        cog0_deg=rng.uniform(0, 360, n),
        turn_deg_h=np.where(moored, 0.0, rng.uniform(-10.0, 10.0, n)),
        ais_on=rng.random(n) >= dark_share,
        drop_start=np.where(drop, t0 + rng.uniform(-6, 6, n) * 3600.0, np.nan),
        drop_h=rng.uniform(1.0, 6.0, n),
    )


def _anchorage_slots(
    cluster: npt.NDArray[np.int64], rng: np.random.Generator, spacing_m: float = 250.0
) -> F64:
    """East/north offsets (m) of each vessel in its anchorage: a grid of swing circles ``spacing_m`` apart."""
    order = np.argsort(cluster, kind="stable")
    first = np.searchsorted(cluster[order], cluster[order])
    slot = np.empty(len(cluster), np.int64)
    slot[order] = np.arange(len(cluster)) - first
    side = 4
    grid = np.stack([slot % side - side / 2, slot // side - side / 2]) * spacing_m
    return grid + rng.normal(0, 20.0, grid.shape)


def _arc(lat0: F64, lon0: F64, sog_kn: F64, cog0_deg: F64, turn_deg_h: F64, dt: F64) -> tuple[F64, F64, F64]:
    """Lat, lon, course after ``dt`` s on a constant-turn arc (arrays broadcast together)."""
    v = sog_kn * KN_TO_MS
    th0 = np.radians(cog0_deg)
    w = np.radians(turn_deg_h / 3600.0)
    th = th0 + w * dt
    straight = np.abs(w) < 1e-12
    w_safe = np.where(straight, 1.0, w)
    east = np.where(straight, v * dt * np.sin(th0), v / w_safe * (np.cos(th0) - np.cos(th)))
    north = np.where(straight, v * dt * np.cos(th0), v / w_safe * (np.sin(th) - np.sin(th0)))
    lat = lat0 + np.degrees(north / EARTH_RADIUS_M)
    lon = lon0 + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    return lat, lon, np.degrees(th) % 360.0


def fleet_track(fleet: Fleet, t: F64) -> tuple[F64, F64, F64]:
    """True lat, lon, course of every vessel (rows) at times ``t`` (columns, unix s)."""
    dt = np.asarray(t, np.float64)[None, :] - fleet.t0

    def col(x: F64) -> F64:
        return x[:, None]

    f = fleet
    return _arc(col(f.lat0), col(f.lon0), col(f.sog_kn), col(f.cog0_deg), col(f.turn_deg_h), dt)


def fleet_at(fleet: Fleet, t: float) -> ShipsAt:
    """Every vessel's true state at ``t`` (for :func:`supplyline.simulate.passes.image_pass`)."""
    lat, lon, cog = fleet_track(fleet, np.array([t]))
    return ShipsAt(
        ship=np.array([f"v{m}" for m in fleet.mmsi]),
        mmsi=fleet.mmsi,
        lat=lat[:, 0],
        lon=lon[:, 0],
        sog_kn=fleet.sog_kn,
        cog_deg=cog[:, 0],
        length_m=fleet.length_m,
        ais_on=fleet.ais_on,
    )


def fleet_ais(
    fleet: Fleet, t_start: float, t_end: float, rng: np.random.Generator, pos_sigma_m: float = 10.0
) -> tuple[pa.Table, pa.Table]:
    """AIS positions (schema.POSITIONS) received in [t_start, t_end) and one static report per vessel."""
    step = np.where(fleet.sog_kn > 0, 10.0, 180.0)
    parts = []
    for i in np.flatnonzero(fleet.ais_on):
        t = np.arange(t_start + rng.uniform(0, step[i]), t_end, step[i])
        if np.isfinite(fleet.drop_start[i]):
            t = t[(t < fleet.drop_start[i]) | (t >= fleet.drop_start[i] + fleet.drop_h[i] * 3600.0)]
        parts.append((i, t))
    idx = np.concatenate([np.full(len(t), i) for i, t in parts]) if parts else np.zeros(0, np.int64)
    ts = np.concatenate([t for _, t in parts]) if parts else np.zeros(0)
    f = fleet
    lat, lon, cog = _arc(
        f.lat0[idx], f.lon0[idx], f.sog_kn[idx], f.cog0_deg[idx], f.turn_deg_h[idx], ts - f.t0
    )
    noise = rng.normal(0, pos_sigma_m, (2, len(ts)))
    lat = lat + np.degrees(noise[1] / EARTH_RADIUS_M)
    lon = lon + np.degrees(noise[0] / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return _positions(fleet.mmsi[idx], ts, lat, lon, fleet.sog_kn[idx], cog), _statics(fleet, t_start)


def _positions(mmsi: np.ndarray, ts: F64, lat: F64, lon: F64, sog: F64, cog: F64) -> pa.Table:
    order = np.lexsort((ts, mmsi))
    n = len(order)
    return pa.table(
        {
            "mmsi": pa.array(mmsi[order], pa.int64()),
            "ts": pa.array((ts[order] * 1e6).astype(np.int64)).cast(schema.TS),
            "lat": lat[order],
            "lon": lon[order],
            "sog_kn": pa.array(sog[order], pa.float32()),
            "cog_deg": pa.array(cog[order], pa.float32()),
            "heading_deg": pa.array(cog[order], pa.float32()),
            "nav_status": pa.array(np.where(sog[order] > 0, 0, 5), pa.int8()),
            "msg_type": pa.array(np.ones(n), pa.int8()),
            "source": pa.array(["synthetic-harbour"] * n, pa.string()),
            "input_id": pa.array(["synthetic"] * n, pa.string()),
        },
        schema=schema.POSITIONS,
    )


def _statics(fleet: Fleet, t: float) -> pa.Table:
    on = fleet.ais_on
    n = int(on.sum())
    cols: dict[str, pa.Array] = {f.name: pa.nulls(n, f.type) for f in schema.STATICS}
    cols["mmsi"] = pa.array(fleet.mmsi[on], pa.int64())
    cols["ts"] = pa.array(np.full(n, int(t * 1e6))).cast(schema.TS)
    cols["length_m"] = pa.array(fleet.length_m[on], pa.float32())
    cols["width_m"] = pa.array(fleet.length_m[on] / 6.5, pa.float32())
    return pa.table(cols, schema=schema.STATICS)
