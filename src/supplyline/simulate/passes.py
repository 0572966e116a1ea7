"""Simulated Sentinel-1-like passes: vessel detections with ground truth (SYNTHETIC).

A pass images an area of interest at a fixed local solar time every ``revisit_days`` (Sentinel-1: one
satellite repeats its orbit every 12 days, two every 6; the orbit is dawn-dusk, ~06:00 descending and
~18:00 ascending). Each vessel in the area is detected with a probability that rises with its length and
falls with the sea state (a logistic in length whose midpoint grows with the sea state); false alarms fall
uniformly in the area at a rate per 100 km2; detected positions carry a geolocation error and, for moving
vessels, the SAR azimuth shift (along the satellite track, proportional to the vessel's speed across it).
Measured lengths carry a log-normal error. Every detection keeps its truth: which vessel (or none: a false
alarm), whether its transponder was on, the sea state and the detection probability.

:func:`random_fleet` / :func:`fleet_ais` make a harbour of vessels with AIS (some dark, some with reception
drop-outs) to measure the matcher on; :func:`scenario_ships` reads the ships of a simulated scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.geo import EARTH_RADIUS_M
from supplyline.ids import stable_id
from supplyline.imagery.landmask import IsLandFn
from supplyline.imagery.sar import azimuth_shift_m

F64 = npt.NDArray[np.float64]
KN_TO_MS = 1852.0 / 3600.0
DAY_S = 86400.0

PASS_TRUTH = pa.schema(
    [
        pa.field("det_id", pa.string()),  # null: a vessel in the area that was not detected
        pa.field("scene_id", pa.string(), nullable=False),
        pa.field("ts", schema.TS, nullable=False),
        pa.field("ship", pa.string()),  # null: a false alarm
        pa.field("mmsi", pa.int64()),
        pa.field("ais_on", pa.bool_()),  # transponder on at the pass time
        pa.field("length_m", pa.float32()),  # true length
        pa.field("sea_state", pa.int8()),
        pa.field("p_detect", pa.float32()),
    ]
)


@dataclass(frozen=True)
class PassConfig:
    """Pass geometry and detection model; defaults are Sentinel-1 IW GRD-like (docs/imagery.md)."""

    revisit_days: float = 12.0
    local_times_h: tuple[float, ...] = (6.0,)  # local solar times imaged (6.0 descending, 18.0 ascending)
    phase_days: float = 0.0  # first pass this many days after the start day
    l50_calm_m: float = 12.0  # length detected half the time at sea state 0
    l50_per_sea_state_m: float = 6.0  # ... plus this per sea-state step
    l_width_m: float = 4.0  # logistic width (m)
    sea_state_p: tuple[float, ...] = (0.10, 0.25, 0.30, 0.20, 0.10, 0.05)  # P(sea state 0, 1, ...)
    false_alarms_per_100km2: float = 0.5
    geo_sigma_m: float = 20.0  # geolocation error, per axis
    shift_s: float = 60.0  # azimuth shift per m/s of speed across the track (~ R/V x sin(incidence))
    track_deg: float = 350.0  # satellite heading (ascending ~350, descending ~190)
    length_sigma_log: float = 0.2
    sensor: str = "sar"
    source: str = "simulated-s1"
    scene_prefix: str = "sim-s1"
    clear_p: float = 1.0  # share of passes that give a usable image (optical: cloud-free); SAR sees through


@dataclass(frozen=True)
class ShipsAt:
    """Vessels' true state at one time (arrays aligned by vessel)."""

    ship: npt.NDArray[np.str_]
    mmsi: npt.NDArray[np.int64]
    lat: F64
    lon: F64
    sog_kn: F64
    cog_deg: F64
    length_m: F64
    ais_on: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Area:
    """A circular area of interest imaged by every pass (a watched place)."""

    place_id: str
    lat: float
    lon: float
    radius_m: float


def pass_times(start_s: float, end_s: float, lon: float, cfg: PassConfig) -> F64:
    """Acquisition times (unix s) in [start, end) at the configured local solar times over longitude ``lon``."""
    day0 = math.floor(start_s / DAY_S) * DAY_S + cfg.phase_days * DAY_S
    n = int((end_s - day0) / (cfg.revisit_days * DAY_S)) + 2
    base = day0 + np.arange(-1, n) * cfg.revisit_days * DAY_S
    utc_h = np.array([(h - lon / 15.0) % 24.0 for h in cfg.local_times_h])
    times = np.sort((base[:, None] + utc_h[None, :] * 3600.0).ravel())
    return times[(times >= start_s) & (times < end_s)]


def _offsets_m(lat0: float, lat: F64, lon: F64, lat_c: float, lon_c: float) -> tuple[F64, F64]:
    east = np.radians(lon - lon_c) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    north = np.radians(lat - lat_c) * EARTH_RADIUS_M
    return east, north


def _move(lat: F64, lon: F64, east_m: F64, north_m: F64) -> tuple[F64, F64]:
    return (
        lat + np.degrees(north_m / EARTH_RADIUS_M),
        lon + np.degrees(east_m / (EARTH_RADIUS_M * np.cos(np.radians(lat)))),
    )


def _observed(
    ships: ShipsAt, sel: npt.NDArray[np.bool_], cfg: PassConfig, rng: np.random.Generator
) -> tuple[F64, F64, F64]:
    """Detected lat, lon and length of the selected vessels (geolocation error, azimuth shift, length error)."""
    n = int(sel.sum())
    v = ships.sog_kn[sel] * KN_TO_MS
    shift = azimuth_shift_m(v, ships.cog_deg[sel], cfg.track_deg, cfg.shift_s)
    track = np.radians(cfg.track_deg)
    east = rng.normal(0, cfg.geo_sigma_m, n) + shift * np.sin(track)
    north = rng.normal(0, cfg.geo_sigma_m, n) + shift * np.cos(track)
    lat, lon = _move(ships.lat[sel], ships.lon[sel], east, north)
    length = ships.length_m[sel] * np.exp(rng.normal(0, cfg.length_sigma_log, n))
    return lat, lon, length


def _false_alarms(
    area: Area, cfg: PassConfig, rng: np.random.Generator, is_land: IsLandFn | None
) -> tuple[F64, F64]:
    """False alarms uniform over the area (over its water when ``is_land`` is given: a land mask ran)."""
    area_km2 = math.pi * (area.radius_m / 1000.0) ** 2
    n = int(rng.poisson(cfg.false_alarms_per_100km2 * area_km2 / 100.0))
    r = area.radius_m * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * math.pi
    lat_c, lon_c = np.full(n, area.lat), np.full(n, area.lon)
    lat, lon = _move(lat_c, lon_c, r * np.sin(a), r * np.cos(a))
    if is_land is not None and n:
        sea = ~is_land(lon, lat)
        lat, lon = lat[sea], lon[sea]
    return lat, lon


@dataclass
class PassResult:
    """Detections (schema.DETECTIONS) and their truth (PASS_TRUTH) of one or more passes."""

    detections: list[pa.Table] = field(default_factory=list)
    truth: list[pa.Table] = field(default_factory=list)
    scenes: list[dict[str, object]] = field(default_factory=list)  # schema.SCENES rows, empty passes too

    def tables(self) -> tuple[pa.Table, pa.Table]:
        det = pa.concat_tables(self.detections) if self.detections else schema.DETECTIONS.empty_table()
        tru = pa.concat_tables(self.truth) if self.truth else PASS_TRUTH.empty_table()
        return det, tru

    def scene_table(self) -> pa.Table:
        """schema.SCENES: every usable pass with its footprint (the area's bounding box)."""
        return pa.Table.from_pylist(self.scenes, schema=schema.SCENES)


def _scene_row(area: Area, t: float, scene_id: str, cfg: PassConfig) -> dict[str, object]:
    dlat = math.degrees(area.radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(area.lat)), 1e-6)
    return {
        "scene_id": scene_id,
        "ts": datetime.fromtimestamp(t, UTC),
        "sensor": cfg.sensor,
        "lon_min": area.lon - dlon,
        "lat_min": area.lat - dlat,
        "lon_max": area.lon + dlon,
        "lat_max": area.lat + dlat,
        "source": cfg.source,
        "synthetic": True,
    }


def image_pass(
    ships: ShipsAt,
    t: float,
    area: Area,
    cfg: PassConfig,
    rng: np.random.Generator,
    out: PassResult,
    is_land: IsLandFn | None = None,
) -> None:
    """One acquisition of ``area`` at ``t`` (unix s): append its detections and truth to ``out`` (nothing
    when the pass is cloudy: drawn only when ``clear_p`` < 1, so SAR runs keep their random stream)."""
    if cfg.clear_p < 1.0 and rng.random() >= cfg.clear_p:
        return
    scene_id = f"{cfg.scene_prefix}-{area.place_id.split(':')[-1]}-{int(t)}"
    out.scenes.append(_scene_row(area, t, scene_id, cfg))
    east, north = _offsets_m(area.lat, ships.lat, ships.lon, area.lat, area.lon)
    inside = np.hypot(east, north) <= area.radius_m
    sea = int(rng.choice(len(cfg.sea_state_p), p=np.asarray(cfg.sea_state_p) / sum(cfg.sea_state_p)))
    l50 = cfg.l50_calm_m + cfg.l50_per_sea_state_m * sea
    p = 1.0 / (1.0 + np.exp(-(ships.length_m - l50) / cfg.l_width_m))
    seen = inside & (rng.random(len(p)) < p)
    lat, lon, length = _observed(ships, seen, cfg, rng)
    fa_lat, fa_lon = _false_alarms(area, cfg, rng, is_land)
    n_fa = len(fa_lat)
    fa_len = rng.uniform(8.0, 40.0, n_fa)
    all_lat, all_lon = np.r_[lat, fa_lat], np.r_[lon, fa_lon]
    det_ids = [stable_id("det", scene_id, i) for i in range(len(all_lat))]
    score = np.clip(np.r_[p[seen], np.full(n_fa, 0.3)] + rng.normal(0, 0.1, len(all_lat)), 0.01, 1.0)
    ts = pa.array(np.full(len(all_lat), int(t * 1e6)), pa.int64()).cast(schema.TS)
    out.detections.append(
        pa.table(
            {
                "det_id": pa.array(det_ids, pa.string()),
                "scene_id": pa.array([scene_id] * len(all_lat), pa.string()),
                "sensor": pa.array([cfg.sensor] * len(all_lat), pa.string()),
                "ts": ts,
                "lon": all_lon,
                "lat": all_lat,
                "length_m": pa.array(np.r_[length, fa_len], pa.float32()),
                "width_m": pa.array(np.r_[length, fa_len] / 6.5, pa.float32()),
                "heading_deg": pa.array(
                    np.r_[ships.cog_deg[seen] % 180.0, rng.uniform(0, 180, n_fa)], pa.float32()
                ),
                "score": pa.array(score, pa.float32()),
                "in_place": pa.nulls(len(all_lat), pa.string()),
                "near_place": pa.nulls(len(all_lat), pa.string()),
                "source": pa.array([cfg.source] * len(all_lat), pa.string()),
                "synthetic": pa.array([True] * len(all_lat), pa.bool_()),
            },
            schema=schema.DETECTIONS,
        )
    )
    out.truth.append(_truth(ships, inside, seen, p, sea, det_ids, scene_id, t, n_fa))


def _truth(
    ships: ShipsAt,
    inside: npt.NDArray[np.bool_],
    seen: npt.NDArray[np.bool_],
    p: F64,
    sea: int,
    det_ids: list[str],
    scene_id: str,
    t: float,
    n_fa: int,
) -> pa.Table:
    """Truth rows: detected vessels, then false alarms, then vessels in the area that were missed."""
    missed = inside & ~seen
    n_seen, n_missed = int(seen.sum()), int(missed.sum())
    n = n_seen + n_fa + n_missed
    pick = np.r_[np.flatnonzero(seen), np.flatnonzero(missed)]
    real = np.r_[np.ones(n_seen, bool), np.zeros(n_fa, bool), np.ones(n_missed, bool)]
    idx = np.r_[pick[:n_seen], np.zeros(n_fa, np.int64), pick[n_seen:]].astype(np.int64)

    def col(values: np.ndarray, typ: pa.DataType) -> pa.Array:
        return pa.array(values[idx] if len(values) else np.zeros(n, values.dtype), typ, mask=~real)

    return pa.table(
        {
            "det_id": pa.array([*det_ids, *([None] * n_missed)], pa.string()),
            "scene_id": pa.array([scene_id] * n, pa.string()),
            "ts": pa.array(np.full(n, int(t * 1e6)), pa.int64()).cast(schema.TS),
            "ship": col(ships.ship.astype(object), pa.string()),
            "mmsi": col(ships.mmsi, pa.int64()),
            "ais_on": col(ships.ais_on, pa.bool_()),
            "length_m": col(ships.length_m, pa.float32()),
            "sea_state": pa.array(np.full(n, sea), pa.int8()),
            "p_detect": pa.array(np.r_[p[pick[:n_seen]], np.zeros(n_fa), p[pick[n_seen:]]], pa.float32()),
        },
        schema=PASS_TRUTH,
    )


def _fix_near(mmsi_fix: np.ndarray, t_fix: F64, mmsi: int, t: float, max_dt_s: float) -> bool:
    a, b = np.searchsorted(mmsi_fix, mmsi, "left"), np.searchsorted(mmsi_fix, mmsi, "right")
    return bool(np.any(np.abs(t_fix[a:b] - t) <= max_dt_s))


def score_matches(
    matches: pa.Table, truth: pa.Table, received: pa.Table, max_dt_s: float
) -> dict[str, float]:
    """Precision and recall of ``matched`` (right MMSI) and ``dark`` against the pass truth.

    A detection should match when its vessel has an AIS fix in ``received`` (positions) within ``max_dt_s``
    of the acquisition, and be dark otherwise (transponder off, out of reception, or a false alarm).
    """
    rec = received.select(["mmsi", "ts"]).sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    mmsi_fix = rec["mmsi"].to_numpy()
    t_fix = rec["ts"].cast(pa.int64()).to_numpy() / 1e6
    det_truth = truth.filter(pc.is_valid(truth["det_id"]))
    expect: dict[str, int | None] = {}
    rows = zip(
        det_truth["det_id"].to_pylist(),
        det_truth["mmsi"].to_pylist(),
        det_truth["ts"].to_pylist(),
        strict=True,
    )
    for d, m, ts in rows:
        expect[d] = m if m is not None and _fix_near(mmsi_fix, t_fix, m, ts.timestamp(), max_dt_s) else None
    got = dict(zip(matches["det_id"].to_pylist(), matches["mmsi"].to_pylist(), strict=True))
    tp_m = sum(1 for d, m in got.items() if m is not None and expect[d] == m)
    n_m_pred = sum(1 for m in got.values() if m is not None)
    n_m_true = sum(1 for m in expect.values() if m is not None)
    tp_d = sum(1 for d, m in got.items() if m is None and expect[d] is None)
    n_d_pred = sum(1 for m in got.values() if m is None)
    n_d_true = sum(1 for m in expect.values() if m is None)
    return {
        "n": float(len(got)),
        "matched_precision": tp_m / max(n_m_pred, 1),
        "matched_recall": tp_m / max(n_m_true, 1),
        "dark_precision": tp_d / max(n_d_pred, 1),
        "dark_recall": tp_d / max(n_d_true, 1),
        "n_matched_true": float(n_m_true),
        "n_dark_true": float(n_d_true),
    }
