"""Match satellite vessel detections to AIS: who was this ship, or was it dark?

Per scene (one acquisition time ``t``):

1. **AIS at t.** Each vessel's last fix before ``t`` and first fix after it are interpolated linearly in time;
   with a fix on one side only, the position is dead-reckoned from speed and course. Each estimate carries a
   1-sigma uncertainty (m) that grows with the time to the fixes and the vessel's speed:
   ``sigma^2 = sigma_ais^2 + sigma_det^2 + (k * v * tau)^2 + (shift_s * v / 2)^2`` where ``tau`` is the
   interpolation (``dt_b*dt_a/(dt_b+dt_a)``, k = ``interp_factor``) or extrapolation (``dt``, k =
   ``extrap_factor``) horizon and the last term is the azimuth shift of a moving target in SAR.
   Vessels whose nearest fix is more than ``max_dt_s`` away take no part.
2. **Gate.** A (detection, vessel) pair is a candidate when the distance is under ``gate_sigma`` sigmas
   (and ``max_dist_m``) and, when both lengths are known, ``|ln(L_det / L_ais)| < length_gate * length_sigma_log``.
3. **Assign.** One-to-one, optimal: the candidate graph is split into connected components and each is
   solved with ``scipy.optimize.linear_sum_assignment`` on the negative log-likelihood (position and
   length residuals); leaving a detection unmatched costs what its worst candidate would cost at the gate
   boundary, so a dark vessel beside an AIS vessel does not steal its match. Unassigned detections are ``dark``.

``match_score = exp(-chi2 / 2)``: 1 for a detection exactly where and as long as the AIS says, ~0.01 at
the gate. Kernels are pure (arrays in, Arrow out); the store edge is :mod:`supplyline.imagery.run`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from supplyline import schema
from supplyline.geo import EARTH_RADIUS_M
from supplyline.imagery.sar import azimuth_shift_m

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
KN_TO_MS = 1852.0 / 3600.0
_INFEASIBLE = 1e12


@dataclass(frozen=True)
class MatchConfig:
    """Gating and uncertainty settings (defaults in docs/imagery.md, with why)."""

    max_dt_s: float = 3 * 3600.0  # the nearest AIS fix must be this close in time
    sigma_ais_m: float = 50.0  # AIS GNSS position + time-stamp error
    sigma_det_m: float = 50.0  # detection geolocation (GRD pixel 10-20 m, object centroid, terrain)
    interp_factor: float = 0.1  # course/speed changes between two fixes, as a share of v * tau
    extrap_factor: float = 0.3  # dead reckoning from one fix, as a share of v * dt
    shift_s: float = 60.0  # SAR azimuth shift of a moving target ~ (R/V) * radial speed; 0 for optical
    track_deg: float | None = None  # satellite heading when known: the shift is predicted, not just allowed
    min_speed_kn: float = 0.5  # speed assumed for uncertainty when the vessel reports less
    gate_sigma: float = 4.0
    max_dist_m: float = 10_000.0
    length_sigma_log: float = 0.35  # SAR/optical length vs AIS length, log scale (~ +-35 %)
    length_gate: float = 3.0


@dataclass(frozen=True)
class AisAt:
    """AIS vessels' estimated positions at one time (arrays aligned by vessel)."""

    mmsi: I64
    lat: F64
    lon: F64
    sigma_m: F64  # AIS-side uncertainty (without the detection's)
    dt_s: F64  # t minus the nearest fix (signed)


def _ends(mmsi: I64, ts: F64, t: float) -> tuple[I64, I64, I64]:
    """The vessels, and the index of each one's last fix at or before ``t`` and first fix after it (-1 if
    none). ``mmsi``/``ts`` sorted by (mmsi, ts), so no sort is needed."""
    vessels = mmsi[np.r_[True, mmsi[1:] != mmsi[:-1]]] if len(mmsi) else mmsi
    before = np.flatnonzero(ts <= t)
    after = np.flatnonzero(ts > t)
    last_b = before[np.r_[mmsi[before][1:] != mmsi[before][:-1], True]] if len(before) else before
    first_a = after[np.r_[True, mmsi[after][1:] != mmsi[after][:-1]]] if len(after) else after
    ib = np.full(len(vessels), -1, np.int64)
    ia = np.full(len(vessels), -1, np.int64)
    ib[np.searchsorted(vessels, mmsi[last_b])] = last_b
    ia[np.searchsorted(vessels, mmsi[first_a])] = first_a
    return vessels, ib, ia


def _dead_reckon(lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, dt_s: F64) -> tuple[F64, F64]:
    """Move (lat, lon) by speed x time along the course (flat Earth: fine for the minutes-to-hours used)."""
    dist = np.nan_to_num(sog_kn) * KN_TO_MS * dt_s
    cog = np.radians(np.nan_to_num(cog_deg))
    dlat = np.degrees(dist * np.cos(cog) / EARTH_RADIUS_M)
    dlon = np.degrees(dist * np.sin(cog) / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return lat + dlat, lon + dlon


def ais_at(pos: dict[str, np.ndarray], t: float, cfg: MatchConfig) -> AisAt:
    """Every vessel's position at ``t`` (unix s) from fixes sorted by (mmsi, ts); see the module doc.

    Only fixes within ``max_dt_s`` of ``t`` are used (a vessel silent longer takes no part anyway).
    """
    near = np.abs(np.asarray(pos["ts"], np.float64) - t) <= cfg.max_dt_s
    pos = {k: np.asarray(v)[near] for k, v in pos.items()}
    mmsi, ts = pos["mmsi"].astype(np.int64), pos["ts"].astype(np.float64)
    if len(mmsi) == 0:
        e = np.zeros(0)
        return AisAt(np.zeros(0, np.int64), e, e, e, e)
    vessels, ib, ia = _ends(mmsi, ts, t)
    has_b, has_a = ib >= 0, ia >= 0
    jb, ja = np.where(has_b, ib, ia), np.where(has_a, ia, ib)  # the other side when one is missing
    dt_b, dt_a = t - ts[jb], ts[ja] - t
    lat_b, lon_b, lat_a, lon_a = pos["lat"][jb], pos["lon"][jb], pos["lat"][ja], pos["lon"][ja]
    both = has_b & has_a
    span = np.where(both, dt_b + dt_a, 1.0)
    w = np.where(both, dt_b / np.maximum(span, 1e-9), 0.0)
    lat = lat_b + w * (lat_a - lat_b)
    lon = lon_b + w * (lon_a - lon_b)
    # one side only: dead-reckon from that fix (backwards when it is after t)
    dr_dt = np.where(has_b, dt_b, -dt_a)
    rlat, rlon = _dead_reckon(lat_b, lon_b, pos["sog_kn"][jb], pos["cog_deg"][jb], dr_dt)
    lat, lon = np.where(both, lat, rlat), np.where(both, lon, rlon)
    speed = np.maximum(np.nan_to_num(np.where(has_b, pos["sog_kn"][jb], pos["sog_kn"][ja])), cfg.min_speed_kn)
    v = speed * KN_TO_MS
    tau = np.where(both, dt_b * dt_a / np.maximum(span, 1e-9), np.abs(dr_dt))
    k = np.where(both, cfg.interp_factor, cfg.extrap_factor)
    shift_sigma = cfg.shift_s * v / 2
    if cfg.track_deg is not None:  # move the estimate to where the SAR images it; a quarter stays uncertain
        cog = np.nan_to_num(np.where(has_b, pos["cog_deg"][jb], pos["cog_deg"][ja]))
        ahead = azimuth_shift_m(v, cog, cfg.track_deg, cfg.shift_s)
        lat, lon = _dead_reckon(
            lat, lon, ahead / KN_TO_MS, np.full(len(lat), cfg.track_deg), np.ones(len(lat))
        )
        shift_sigma = shift_sigma / 2
    sigma = np.sqrt(cfg.sigma_ais_m**2 + (k * v * tau) ** 2 + shift_sigma**2)
    nearest = np.where(has_b & (~has_a | (dt_b <= dt_a)), dt_b, -dt_a)
    keep = np.abs(nearest) <= cfg.max_dt_s
    return AisAt(vessels[keep], lat[keep], lon[keep], sigma[keep], nearest[keep])


def _local_xy(lat: F64, lon: F64, lat0: float, lon0: float) -> F64:
    """Equirectangular metres around (lat0, lon0): accurate to < 0.1 % over a scene (< 250 km)."""
    x = np.radians(((lon - lon0 + 180.0) % 360.0) - 180.0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    return np.column_stack([x, y])


@dataclass(frozen=True)
class Pairs:
    """Gated candidate pairs: detection index, vessel index, distance, sigma, chi2 and cost."""

    det: I64
    ves: I64
    dist_m: F64
    sigma_m: F64
    chi2: F64
    cost: F64
    dark: F64  # cost of leaving the pair's detection unmatched: this pair's cost at the gate boundary


def gate(det_xy: F64, det_len: F64, ais: AisAt, ais_xy: F64, ais_len: F64, cfg: MatchConfig) -> Pairs:
    """Candidate pairs inside the position and length gates, with their costs (see the module doc)."""
    empty = np.zeros(0)
    if len(det_xy) == 0 or len(ais_xy) == 0:
        return Pairs(empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty, empty, empty)
    sigma_v = np.sqrt(ais.sigma_m**2 + cfg.sigma_det_m**2)
    radius = min(cfg.max_dist_m, cfg.gate_sigma * float(sigma_v.max()))
    hits = cKDTree(det_xy).query_ball_point(ais_xy, radius, return_sorted=False)
    counts = np.fromiter((len(h) for h in hits), np.int64, len(hits))
    ves = np.repeat(np.arange(len(ais_xy), dtype=np.int64), counts)
    det = np.fromiter((j for h in hits for j in h), np.int64, int(counts.sum()))
    dist = np.hypot(*(det_xy[det] - ais_xy[ves]).T)
    sigma = sigma_v[ves]
    chi2 = (dist / sigma) ** 2
    z = np.log(np.maximum(det_len[det], 1.0) / np.maximum(ais_len[ves], 1.0)) / cfg.length_sigma_log
    z = np.where(np.isfinite(det_len[det]) & np.isfinite(ais_len[ves]), z, 0.0)
    ok = (dist <= cfg.gate_sigma * sigma) & (dist <= cfg.max_dist_m) & (np.abs(z) <= cfg.length_gate)
    chi2 = chi2 + z**2
    # negative log-likelihood relative to the sharpest possible estimate; a detection stays dark when every
    # candidate costs more than it would at the gate boundary
    widen = 2.0 * np.log(sigma / np.hypot(cfg.sigma_ais_m, cfg.sigma_det_m))
    cost = 0.5 * chi2 + widen
    dark = 0.5 * cfg.gate_sigma**2 + widen
    return Pairs(det[ok], ves[ok], dist[ok], sigma[ok], chi2[ok], cost[ok], dark[ok])


def assign(pairs: Pairs, n_det: int, n_ves: int) -> npt.NDArray[np.int64]:
    """Index into ``pairs`` of the one-to-one assignment of least total cost (dark included)."""
    if len(pairs.det) == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(pairs.det)), (pairs.det, n_det + pairs.ves)), shape=(n_det + n_ves,) * 2)
    _, label = connected_components(graph, directed=False)
    comp = label[pairs.det]
    order = np.argsort(comp, kind="stable")
    starts = np.flatnonzero(np.r_[True, comp[order][1:] != comp[order][:-1]])
    bounds = np.r_[starts, len(order)]
    chosen: list[np.ndarray] = []
    for a, b in itertools.pairwise(bounds):
        idx = order[a:b]
        chosen.append(idx[pairs.cost[idx] <= pairs.dark[idx]] if len(idx) == 1 else _solve(pairs, idx))
    return np.concatenate(chosen)


def _solve(pairs: Pairs, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Optimal assignment inside one component; the extra 'dark' columns let any detection stay unmatched."""
    dets, di = np.unique(pairs.det[idx], return_inverse=True)
    vess, vi = np.unique(pairs.ves[idx], return_inverse=True)
    nd, nv = len(dets), len(vess)
    cost = np.full((nd, nv + nd), _INFEASIBLE)
    cost[di, vi] = pairs.cost[idx]
    dark = np.zeros(nd)
    np.maximum.at(dark, di, pairs.dark[idx])
    cost[np.arange(nd), nv + np.arange(nd)] = dark
    rows, cols = linear_sum_assignment(cost)
    lookup = {(int(d), int(v)): int(i) for d, v, i in zip(di, vi, idx, strict=True)}
    return np.array([lookup[(int(r), int(c))] for r, c in zip(rows, cols, strict=True) if c < nv], np.int64)


def match_scene(
    dets: pa.Table, pos: dict[str, np.ndarray], lengths: dict[int, float], cfg: MatchConfig
) -> pa.Table:
    """Match one scene's detections (schema.DETECTIONS, one acquisition time) to AIS fixes around it.

    ``pos``: arrays mmsi, ts (unix s), lat, lon, sog_kn, cog_deg sorted by (mmsi, ts); ``lengths``: AIS
    length (m) by MMSI. Returns schema.DETECTION_MATCHES rows, one per detection.
    """
    t = float(pc.min(dets["ts"]).cast(pa.int64()).as_py()) / 1e6
    lat_d, lon_d = dets["lat"].to_numpy(), dets["lon"].to_numpy()
    det_len = dets["length_m"].to_numpy(zero_copy_only=False).astype(np.float64)
    ais = ais_at(pos, t, cfg)
    lat0, lon0 = float(np.mean(lat_d)), float(np.mean(lon_d))
    det_xy, ais_xy = _local_xy(lat_d, lon_d, lat0, lon0), _local_xy(ais.lat, ais.lon, lat0, lon0)
    ais_len = np.array([lengths.get(int(m), np.nan) for m in ais.mmsi], np.float64)
    pairs = gate(det_xy, det_len, ais, ais_xy, ais_len, cfg)
    chosen = assign(pairs, len(det_xy), len(ais_xy))
    return _result(dets, ais, ais_len, pairs, chosen)


def _result(
    dets: pa.Table, ais: AisAt, ais_len: F64, pairs: Pairs, chosen: npt.NDArray[np.int64]
) -> pa.Table:
    n = dets.num_rows
    ves = np.full(n, -1, np.int64)
    ves[pairs.det[chosen]] = pairs.ves[chosen]
    pick = np.full(n, -1, np.int64)
    pick[pairs.det[chosen]] = chosen
    m = ves >= 0
    n_cand = np.bincount(pairs.det, minlength=n).astype(np.int32)

    def by_pair(values: F64) -> pa.Array:
        return pa.array(np.where(m, values[np.maximum(pick, 0)] if len(values) else 0.0, np.nan), mask=~m)

    def by_vessel(values: np.ndarray, typ: pa.DataType) -> pa.Array:
        got = values[np.maximum(ves, 0)] if len(values) else np.zeros(n, values.dtype)
        return pa.array(got, typ, mask=~m | (np.isnan(got) if got.dtype.kind == "f" else False))

    cols = {
        "det_id": dets["det_id"],
        "scene_id": dets["scene_id"],
        "ts": dets["ts"],
        "lon": dets["lon"],
        "lat": dets["lat"],
        "status": pa.array(np.where(m, "matched", "dark")),
        "mmsi": by_vessel(ais.mmsi, pa.int64()),
        "match_score": by_pair(np.exp(-0.5 * pairs.chi2)),
        "dist_m": by_pair(pairs.dist_m),
        "sigma_m": by_pair(pairs.sigma_m),
        "dt_s": by_vessel(ais.dt_s, pa.float64()),
        "length_m": dets["length_m"],
        "ais_length_m": by_vessel(ais_len, pa.float32()),
        "n_candidates": pa.array(n_cand, pa.int32()),
        "in_place": dets["in_place"],
        "near_place": dets["near_place"],
    }
    return pa.table(cols, schema=schema.DETECTION_MATCHES)
