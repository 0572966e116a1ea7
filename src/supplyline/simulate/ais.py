"""What a ship broadcasts and what is received, for one ship over one time window (vectorised).

Reporting interval (ITU-R M.1371 / IALA): class A 10 s at 0-14 kn, 6 s at 14-23 kn, 2 s above 23 kn,
3 min at anchor or moored; class B 30 s moving (> 2 kn), 3 min otherwise; never below the scenario's
``min_interval_s``. Report times come from the accumulated phase phi(t) = integral dt / interval(t): one
report at each integer crossing, found with ``np.interp`` on a 30 s grid, so intervals follow the speed
without a per-report loop. Reception then drops reports: transponder off, coverage holes, satellite-only
areas (heard only during passes), random loss; spoofed windows report a false position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from supplyline import geo
from supplyline.geo import haversine_km
from supplyline.simulate.scenario import Area, Reception
from supplyline.simulate.timeline import (
    ANCHOR_SWING_H,
    ANCHOR_SWING_M,
    MEET_DRIFT_KN,
    NAV_ANCHOR,
    NAV_MOORED,
    NAV_UNDERWAY,
    Dwell,
    Leg,
    ShipPlan,
)

GRID_S = 30.0  # resolution of the interval grid
TYPE3_SHARE = 0.02  # class A reports sent as type 3 (interrogation response)
NOISE_KNOT_S = 60.0  # GNSS position error: independent every minute, linear in between
M_PER_DEG = round(geo.M_PER_DEG)  # whole metres (111,195) per degree: the synthetic tracks are made with it
KEPT, OFF, COVERAGE, SATELLITE, LOSS = 0, 1, 2, 3, 4
REASONS = ("kept", "disabled", "coverage", "satellite", "loss")


@dataclass
class GapCarry:
    """Per-ship state carried across windows: the last received report and what was lost since."""

    t: float | None = None
    lat: float = 0.0
    lon: float = 0.0
    mmsi: int = 0
    lost: np.ndarray = field(default_factory=lambda: np.zeros(5, dtype=np.int64))


def interval_s(sog_kn: np.ndarray, nav: np.ndarray, ais_class: str, floor_s: float) -> np.ndarray:
    """Nominal reporting interval (s) by speed and navigational status, floored at ``floor_s``."""
    if ais_class == "B":
        iv = np.where(sog_kn > 2.0, 30.0, 180.0)
    else:
        iv = np.where(sog_kn > 23.0, 2.0, np.where(sog_kn > 14.0, 6.0, 10.0))
        iv = np.where((nav == NAV_ANCHOR) | (nav == NAV_MOORED), 180.0, iv)
    return np.maximum(iv, floor_s)


@dataclass
class State:
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray
    cog: np.ndarray
    heading: np.ndarray
    nav: np.ndarray


def true_state(plan: ShipPlan, t: np.ndarray) -> State:
    """Noise-free position, speed (kn), course, heading and nav status at sorted times ``t`` (unix s)."""
    n = len(t)
    st = State(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, np.int8))
    if n == 0:
        return st
    j0 = max(int(np.searchsorted(plan.seg_start, t[0], side="right")) - 1, 0)
    j1 = max(int(np.searchsorted(plan.seg_start, t[-1], side="right")) - 1, 0)
    cuts = np.searchsorted(t, plan.seg_start[j0 + 1 : j1 + 1], side="left")
    bounds = np.concatenate([[0], cuts, [n]])
    for k, j in enumerate(range(j0, j1 + 1)):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if hi <= lo:
            continue
        seg = plan.segs[j]
        tt = t[lo:hi]
        if isinstance(seg, Leg):
            prof = seg.profile
            s = prof.s_at(tt - seg.t0)
            lat, lon, cog = seg.path.at(s)
            st.lat[lo:hi], st.lon[lo:hi], st.cog[lo:hi] = lat, lon, cog
            st.sog[lo:hi] = prof.v_at(s)
            st.heading[lo:hi] = cog
            st.nav[lo:hi] = NAV_UNDERWAY
        else:
            _dwell_state(seg, tt, plan.index, st, lo, hi)
    return st


def _dwell_state(seg: Dwell, tt: np.ndarray, ship_index: int, st: State, lo: int, hi: int) -> None:
    coslat = max(np.cos(np.radians(seg.lat)), 1e-6)
    if seg.kind == "anchor":  # swing around the anchor
        ang = 2 * np.pi * (tt - seg.t0) / (ANCHOR_SWING_H * 3600) + seg.heading
        st.lat[lo:hi] = seg.lat + ANCHOR_SWING_M * np.cos(ang) / M_PER_DEG
        st.lon[lo:hi] = seg.lon + ANCHOR_SWING_M * np.sin(ang) / (M_PER_DEG * coslat)
        st.sog[lo:hi] = 2 * np.pi * ANCHOR_SWING_M / (ANCHOR_SWING_H * 3600) / 0.514444
        st.cog[lo:hi] = np.mod(np.degrees(ang) + 90.0, 360.0)
        st.heading[lo:hi] = np.mod(np.degrees(ang) + 180.0, 360.0)
        st.nav[lo:hi] = NAV_ANCHOR
    elif seg.kind == "meet":  # alongside: both ships drift together from the meeting start
        t_meet = seg.call.arrive_by if seg.call.arrive_by is not None else seg.t0
        bearing = np.radians(_meet_bearing(seg.call.meet_id))
        d_m = MEET_DRIFT_KN * 0.514444 * np.maximum(tt - t_meet, 0.0)
        side = 40.0 if ship_index % 2 else -40.0  # the two ships lie ~80 m apart, abeam
        st.lat[lo:hi] = seg.lat + (d_m * np.cos(bearing)) / M_PER_DEG
        st.lon[lo:hi] = seg.lon + (d_m * np.sin(bearing) + side) / (M_PER_DEG * coslat)
        st.sog[lo:hi] = MEET_DRIFT_KN
        st.cog[lo:hi] = np.degrees(bearing)
        st.heading[lo:hi] = np.degrees(bearing)
        st.nav[lo:hi] = NAV_UNDERWAY
    else:  # moored
        # berth offset per ship so ships sharing a port do not sit on one point
        off = ((ship_index * 37) % 11 - 5) * 15.0
        st.lat[lo:hi] = seg.lat + off / M_PER_DEG
        st.lon[lo:hi] = seg.lon + off / (M_PER_DEG * coslat)
        st.sog[lo:hi] = 0.0
        st.cog[lo:hi] = seg.heading
        st.heading[lo:hi] = seg.heading
        st.nav[lo:hi] = NAV_MOORED


def _meet_bearing(meet_id: str | None) -> float:
    """A drift direction both ships of a meeting agree on (deterministic from its key)."""
    return float(sum(map(ord, meet_id or "")) * 47 % 360)


def report_times(plan: ShipPlan, a: float, b: float, floor_s: float, rng: np.random.Generator) -> np.ndarray:
    """Whole-second report times in [a, b) following the speed-dependent interval."""
    a, b = max(a, plan.t_start), min(b, plan.t_end)
    if b <= a:
        return np.zeros(0)
    edges = np.append(np.arange(a, b, GRID_S), b)
    mid = (edges[:-1] + edges[1:]) / 2
    st = true_state(plan, mid)
    iv = interval_s(st.sog, st.nav, plan.ship.ais_class, floor_s)
    phi = np.concatenate([[0.0], np.cumsum(np.diff(edges) / iv)])
    k = np.arange(rng.random(), phi[-1], 1.0)
    t = np.floor(np.interp(k, phi, edges))
    return np.unique(t[(t >= a) & (t < b)])


def _in_area(area: Area, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    if area.polygon is None:
        # bounding box first (cheap), great-circle distance only for the points inside it
        dlat = area.radius_km / geo.KM_PER_DEG + 1e-3
        dlon = dlat / max(np.cos(np.radians(min(abs(area.lat) + dlat, 89.9))), 1e-3)
        box = (np.abs(lat - area.lat) <= dlat) & (
            np.abs(np.mod(lon - area.lon + 180.0, 360.0) - 180.0) <= dlon
        )
        inside = np.zeros(len(lat), dtype=bool)
        idx = np.flatnonzero(box)
        inside[idx] = haversine_km(lat[idx], lon[idx], area.lat, area.lon) <= area.radius_km
        return inside
    poly = area.polygon
    inside = np.zeros(len(lat), dtype=bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for i in range(len(poly)):  # ray casting, one pass per edge (polygons have few edges)
        cross = (y0[i] > lat) != (y1[i] > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = x0[i] + (lat - y0[i]) * (x1[i] - x0[i]) / (y1[i] - y0[i])
        inside ^= cross & (lon < xi)
    return inside


def in_windows(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each t lies in one of the sorted, non-overlapping [start, end) windows."""
    if len(starts) == 0:
        return np.zeros(len(t), dtype=bool)
    i = np.searchsorted(starts, t, side="right") - 1
    return (i >= 0) & (t < ends[np.maximum(i, 0)])


def reception(
    plan: ShipPlan, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, rc: Reception, rng: np.random.Generator
) -> np.ndarray:
    """Reason code per report: KEPT, or why it was not received (priority OFF > COVERAGE > SATELLITE > LOSS)."""
    n = len(t)
    keep_p = np.ones(n)
    sat_only = np.zeros(n, dtype=bool)
    for area in rc.areas:
        active = np.ones(n, dtype=bool)
        if area.start is not None:
            active &= t >= area.start
        if area.end is not None:
            active &= t < area.end
        if not active.any():
            continue
        inside = active & _in_area(area, lat, lon)
        if area.kind == "satellite":
            sat_only |= inside
        else:
            keep_p = np.where(inside, keep_p * area.reception, keep_p)
    u = rng.random((3, n))
    reason = np.full(n, KEPT, dtype=np.int8)
    reason[u[0] >= 1.0 - rc.loss] = LOSS if rc.loss > 0 else KEPT
    if sat_only.any():
        revisit, width = rc.satellite_revisit_min * 60, rc.satellite_pass_min * 60
        phase = (plan.index * 977.0) % revisit
        in_pass = np.mod(t + phase, revisit) < width
        reason[sat_only & ~(in_pass & (u[1] < rc.satellite_keep))] = SATELLITE
    reason[u[2] >= keep_p] = COVERAGE
    reason[in_windows(t, plan.off_a, plan.off_b)] = OFF
    return reason


def gaps_from(
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    mmsi: np.ndarray,
    reason: np.ndarray,
    carry: GapCarry,
    min_s: float,
) -> list[tuple[float, float, float, float, float, float, int, str]]:
    """Silences >= ``min_s`` between received reports, with the dominant cause; updates ``carry``."""
    kept = np.flatnonzero(reason == KEPT)
    rows: list[tuple[float, float, float, float, float, float, int, str]] = []
    if len(kept) == 0:
        carry.lost = carry.lost + np.bincount(reason, minlength=5)
        return rows
    # previous received report: the carried one, then each kept report
    prev = np.concatenate([[-1], kept[:-1]])
    prev_t = np.where(prev >= 0, t[np.maximum(prev, 0)], np.nan if carry.t is None else carry.t)
    dur = t[kept] - prev_t
    for i in np.flatnonzero(np.nan_to_num(dur, nan=0.0) >= min_s).tolist():  # per silence, not per report
        j, p = int(kept[i]), int(prev[i])
        lost = np.bincount(reason[p + 1 : j], minlength=5)
        if p < 0:
            lost = lost + carry.lost
            start = (float(prev_t[i]), carry.lat, carry.lon, carry.mmsi)
        else:
            start = (float(t[p]), float(lat[p]), float(lon[p]), int(mmsi[p]))
        cause = int(np.argmax(lost[1:])) + 1 if lost[1:].any() else KEPT
        rows.append(
            (
                start[0],
                float(t[j]),
                start[1],
                start[2],
                float(lat[j]),
                float(lon[j]),
                start[3],
                REASONS[cause],
            )
        )
    last = int(kept[-1])
    carry.t, carry.lat, carry.lon, carry.mmsi = (
        float(t[last]),
        float(lat[last]),
        float(lon[last]),
        int(mmsi[last]),
    )
    carry.lost = np.bincount(reason[last + 1 :], minlength=5)
    return rows


def _with_noise(
    st: State, t: np.ndarray, a: float, b: float, rc: Reception, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """(lat, lon, sog, cog, heading, noise_m) as measured: GPS noise correlated over ~1 min (as GNSS
    errors are), speed, course and heading noise; draws in a fixed order so windows are reproducible."""
    n = len(t)
    moving = st.nav == NAV_UNDERWAY
    knots = np.arange(a - NOISE_KNOT_S, b + 2 * NOISE_KNOT_S, NOISE_KNOT_S)
    walk = rng.standard_normal((2, len(knots))) * rc.gps_noise_m
    noise_m = np.stack([np.interp(t, knots, walk[0]), np.interp(t, knots, walk[1])])
    lat = st.lat + noise_m[0] / M_PER_DEG
    lon = st.lon + noise_m[1] / (M_PER_DEG * np.maximum(np.cos(np.radians(st.lat)), 1e-6))
    sog = np.where(
        moving, np.maximum(st.sog + 0.1 * rng.standard_normal(n), 0.0), np.abs(0.03 * rng.standard_normal(n))
    )
    cog = np.mod(np.where(moving, st.cog + 1.0 * rng.standard_normal(n), rng.uniform(0, 360, n)), 360.0)
    heading = np.mod(np.rint(st.heading + np.where(moving, 2.0, 0.5) * rng.standard_normal(n)), 360.0)
    return lat, lon, sog, cog, heading, noise_m


def _spoofed(
    plan: ShipPlan, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, noise_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inside spoofed windows the transponder reports a false position (with the same GPS noise)."""
    i = np.maximum(np.searchsorted(plan.spoof[:, 0], t, side="right") - 1, 0)
    sp = (t >= plan.spoof[i, 0]) & (t < plan.spoof[i, 1])
    s_lat, s_lon = plan.spoof[i, 2], plan.spoof[i, 3]
    lat = np.where(sp, s_lat + noise_m[0] / M_PER_DEG, lat)
    lon = np.where(sp, s_lon + noise_m[1] / (M_PER_DEG * np.maximum(np.cos(np.radians(s_lat)), 1e-6)), lon)
    return lat, lon


def ship_window(
    plan: ShipPlan,
    a: float,
    b: float,
    rc: Reception,
    rng: np.random.Generator,
    carry: GapCarry,
    dark_min_s: float,
) -> tuple[
    dict[str, np.ndarray],
    dict[str, np.ndarray],
    list[tuple[float, float, float, float, float, float, int, str]],
]:
    """Received position reports, static reports and silences of one ship in [a, b)."""
    ship = plan.ship
    t = report_times(plan, a, b, rc.min_interval_s, rng)
    st = true_state(plan, t)
    n = len(t)
    lat, lon, sog, cog, heading, noise_m = _with_noise(st, t, a, b, rc, rng)
    if ship.ais_class == "B":  # class B units seldom have a heading sensor: "not available"
        heading = np.full(n, np.nan)
    reason = reception(plan, t, st.lat, st.lon, rc, rng)  # reception depends on where the ship really is
    if len(plan.spoof):
        lat, lon = _spoofed(plan, t, lat, lon, noise_m)
    # AIS resolution: 1/10000 minute, 0.1 kn, 0.1 deg, whole-degree heading
    lat = np.round(np.clip(lat, -90, 90) * 600_000) / 600_000
    lon = np.round((np.mod(lon + 180.0, 360.0) - 180.0) * 600_000) / 600_000
    sog = np.minimum(np.round(sog * 10) / 10, 102.2)
    cog = np.mod(np.round(cog * 10) / 10, 360.0)
    ids = np.maximum(np.searchsorted(plan.id_at, t, side="right") - 1, 0)
    mmsi = np.asarray([i.mmsi for i in ship.identities], dtype=np.int64)[ids]
    gaps = gaps_from(t, lat, lon, mmsi, reason, carry, dark_min_s)
    k = reason == KEPT
    if ship.ais_class == "B":
        msg_type = np.full(n, 18, dtype=np.int8)
    else:  # a few class A reports answer a base station's interrogation: type 3 instead of 1
        msg_type = np.where(rng.random(n) < TYPE3_SHARE, 3, 1).astype(np.int8)
    pos = {
        "mmsi": mmsi[k],
        "ts": t[k].astype(np.int64),
        "lat": lat[k],
        "lon": lon[k],
        "sog_kn": sog[k].astype(np.float32),
        "cog_deg": cog[k].astype(np.float32),
        "heading_deg": heading[k].astype(np.float32),
        "nav_status": st.nav[k],
        "msg_type": msg_type[k],
    }
    return pos, statics_window(plan, a, b, rc, rng), gaps


def statics_window(
    plan: ShipPlan, a: float, b: float, rc: Reception, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Static/voyage reports (type 5, or 24 A+B for class B) every ``statics_interval_s`` in [a, b)."""
    a2, b2 = max(a, plan.t_start), min(b, plan.t_end)
    every = max(rc.statics_interval_s, rc.min_interval_s)
    phase = (plan.index * 131.0) % every
    first = np.ceil((a2 - phase) / every) * every + phase
    t = np.arange(first, b2, every) if b2 > a2 else np.zeros(0)
    t = np.floor(t)
    st = true_state(plan, t)
    reason = reception(plan, t, st.lat, st.lon, rc, rng)
    t = t[reason == KEPT]
    ids = np.maximum(np.searchsorted(plan.id_at, t, side="right") - 1, 0)
    dr = plan.dr_val[np.maximum(np.searchsorted(plan.dr_at, t, side="right") - 1, 0)]
    nxt = np.searchsorted(plan.stop_arr, t, side="right")  # the next stop is the destination
    return {"t": t, "identity": ids, "draught": dr, "next_stop": nxt}
