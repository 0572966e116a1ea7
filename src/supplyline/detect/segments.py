"""Segmentation: split each vessel's positions into physically possible tracks (gpsdio-segment idea).

A position joins the open segment it can be reached from: the nearest earlier position of the same MMSI,
among the previous ``segment_lookback``, from which it is reachable at ``max_implied_speed_kn`` (plus
``noise_dist_km`` of GPS jitter). Positions reachable from nothing open a new *track*. This vectorised
approximation of gpsdio-segment's "best-fitting open segment" handles two ships sharing one MMSI
(interleaved positions form two tracks), GPS jumps and spoofed positions (a short track beside a longer
one is *noise*: flagged, counted, never deleted). Tracks are then cut into *segments* where the vessel was
silent longer than ``max_gap_h``. Downstream detectors (visits, voyages, loitering) run per track on the
non-noise positions. A track start gets a second chance to join the latest track of its vessel that ended
before it (within ``max_gap_h``), which keeps a sparse transmitter sharing an MMSI with a chatty one whole.

Limitation (vs gpsdio-segment's course/speed extrapolation): the nearest reachable earlier position wins, so
two ships sharing an MMSI within a few km of each other and reporting minutes apart can merge into one
zig-zag track; ships far apart, GPS jumps and spoofed positions are separated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from supplyline import schema
from supplyline.detect._arrays import (
    US_PER_H,
    BoolArray,
    FloatArray,
    IntArray,
    group_starts,
    prev_diff,
    run_reduce,
    speed_kn,
    step_km,
    to_ts,
)
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import KM_PER_NM, haversine_km
from supplyline.ids import stable_ids


@dataclass
class Tracks:
    """Non-noise positions reordered by track (vessel, then track, then time), plus per-point helpers.

    ``orig`` maps every row back to the input row; ``track_start``/``seg_start`` mark where a track or
    segment begins; ``step_km``/``dt_us`` are the distance/time from the previous row of the same track
    (0 at track starts); ``speed_kn`` is reported SOG where present, else derived from positions.
    """

    orig: IntArray
    mmsi: IntArray
    ts: IntArray
    lat: FloatArray
    lon: FloatArray
    speed_kn: FloatArray
    track_start: BoolArray
    seg_start: BoolArray
    step_km: FloatArray
    dt_us: IntArray
    noise: BoolArray  # per input row
    segments: pa.Table

    def __len__(self) -> int:
        return len(self.orig)


def _parents(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, th: Thresholds
) -> tuple[IntArray, FloatArray]:
    """For each position, the earlier position of the same vessel it continues from (-1: starts a track),
    and the distance in km from each row to the next (reused for step lengths)."""
    n = len(mmsi)
    parent = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return parent, np.empty(0)
    km_per_us = th.max_implied_speed_kn * KM_PER_NM / US_PER_H
    d1 = step_km(lat, lon)  # lag 1: every row to the next
    ok1 = (mmsi[1:] == mmsi[:-1]) & (d1 <= km_per_us * (ts[1:] - ts[:-1]) + th.noise_dist_km)
    parent[1:][ok1] = np.flatnonzero(ok1)
    todo = np.flatnonzero(~ok1) + 1
    for lag in range(2, th.segment_lookback + 1):  # few lags, each vectorised over the rows still open
        todo = todo[todo >= lag]
        if len(todo) == 0:
            break
        j = todo - lag
        same = mmsi[j] == mmsi[todo]
        todo, j = todo[same], j[same]
        d = haversine_km(lat[j], lon[j], lat[todo], lon[todo])
        ok = d <= km_per_us * (ts[todo] - ts[j]) + th.noise_dist_km
        parent[todo[ok]] = j[ok]
        todo = todo[~ok]
    return parent, d1


def _resolve_forks(parent: IntArray) -> IntArray:
    """Keep one child per parent so tracks are chains: prefer a child that continues, then the later one."""
    child = np.flatnonzero(parent >= 0)
    if len(child) == 0:
        return parent
    par = parent[child]
    if np.all(par[1:] > par[:-1]):  # common case: no position has two children
        return parent
    n_children = np.bincount(par, minlength=len(parent))
    forked = n_children[par] > 1  # only children of a shared parent compete
    child, par = child[forked], par[forked]
    score = (n_children[child] > 0).astype(np.int64) * len(parent) + child
    order = np.lexsort((score, par))
    par_sorted = par[order]
    keep_sorted = np.ones(len(order), dtype=bool)
    keep_sorted[:-1] = par_sorted[1:] != par_sorted[:-1]  # last of each parent group wins
    out = parent.copy()
    out[child[order[~keep_sorted]]] = -1
    return out


def _roots(parent: IntArray) -> IntArray:
    """The first position of each position's track (pointer jumping over runs of lag-1 links)."""
    n = len(parent)
    idx = np.arange(n, dtype=np.int64)
    head = (parent != idx - 1) | (parent < 0)  # a run of consecutive lag-1 links starts here
    run_id = np.cumsum(head) - 1
    heads = np.flatnonzero(head)
    hp = parent[heads]
    run_parent = np.where(hp >= 0, run_id[np.maximum(hp, 0)], np.arange(len(heads)))
    while True:  # converges in log2(chain of runs) steps; runs are few
        nxt = run_parent[run_parent]
        if np.array_equal(nxt, run_parent):
            break
        run_parent = nxt
    return np.asarray(heads[run_parent[run_id]], dtype=np.int64)


def _link_orphans(
    parent: IntArray,
    root: IntArray,
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    th: Thresholds,
) -> IntArray:
    """Second chance for track starts: attach each to the latest track of its vessel that ended before it,
    when reachable within ``max_gap_h``. This joins a sparse transmitter sharing an MMSI with a chatty one
    (its fixes are more than ``segment_lookback`` rows apart) into its own track instead of noise."""
    n = len(parent)
    starts = np.flatnonzero(parent < 0)
    if len(starts) <= 1:
        return parent
    v_first = np.zeros(n, dtype=bool)
    v_first[0] = True
    v_first[1:] = mmsi[1:] != mmsi[:-1]
    orphans = starts[~v_first[starts]]
    if len(orphans) == 0:
        return parent
    # Track ends, only for the vessels that have orphans (few): the last row carrying each root.
    rows = np.flatnonzero(np.isin(mmsi, np.unique(mmsi[orphans])))
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, root[rows], rows)
    ends = np.sort(last[starts][last[starts] >= 0])
    out = parent.copy()
    todo = orphans
    first = np.searchsorted(ends, orphans) - 1  # the latest track end before each orphan
    km_per_us = th.max_implied_speed_kn * KM_PER_NM / US_PER_H
    for k in range(th.segment_lookback):  # then the k-th latest, for those still unattached
        pos = first - k
        c = ends[np.maximum(pos, 0)]
        ok = (pos >= 0) & (mmsi[c] == mmsi[todo])
        o, c = todo[ok], c[ok]
        dt = ts[o] - ts[c]
        d = haversine_km(lat[c], lon[c], lat[o], lon[o])
        reach = (d <= km_per_us * dt + th.noise_dist_km) & (dt <= th.max_gap_h * US_PER_H)
        out[o[reach]] = c[reach]
        keep = out[todo] < 0
        todo, first = todo[keep], first[keep]
        if len(todo) == 0:
            break
    return out


def segment(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    sog_kn: FloatArray,
    th: Thresholds,
) -> Tracks:
    """Segment positions sorted by (mmsi, ts); see the module docstring for the rules."""
    root, d1 = _track_roots(mmsi, ts, lat, lon, th)
    tracks = _TrackRows.of(root, mmsi, th)
    keep = tracks.perm[~tracks.noise_rows]
    k_mmsi, k_ts, k_lat, k_lon = mmsi[keep], ts[keep], lat[keep], lon[keep]
    track_start = np.zeros(len(keep), dtype=bool)
    kept_first = np.cumsum(np.append(0, tracks.length[~tracks.noise]))[:-1]
    track_start[kept_first] = True
    dt = prev_diff(k_ts, track_start, 0)
    step = _kept_steps(keep, d1, k_lat, k_lon, track_start)
    seg_start = track_start | (dt > th.max_gap_h * US_PER_H)
    spd = _speeds(step, dt, track_start, sog_kn[keep])
    noise = np.zeros(len(mmsi), dtype=bool)
    noise[tracks.perm] = tracks.noise_rows
    segs = _segments_table(
        mmsi, ts, noise, keep, k_mmsi, k_ts, k_lat, k_lon, step, track_start, seg_start, th
    )
    return Tracks(keep, k_mmsi, k_ts, k_lat, k_lon, spd, track_start, seg_start, step, dt, noise, segs)


def _track_roots(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, th: Thresholds
) -> tuple[IntArray, FloatArray]:
    """Each row's track (its root row) after fork resolution and orphan linking, and each row's distance
    to the next row (km)."""
    n = len(mmsi)
    parent, d1 = _parents(mmsi, ts, lat, lon, th)
    parent = _resolve_forks(parent)
    root = _roots(parent) if n else np.empty(0, np.int64)
    if n:
        linked = _link_orphans(parent, root, mmsi, ts, lat, lon, th)
        if not np.array_equal(linked, parent):
            root = _roots(_resolve_forks(linked))
    return root, d1


@dataclass
class _TrackRows:
    """Rows grouped by track: ``perm`` orders rows track by track; per track its length and whether it is
    noise (shorter than ``min_segment_positions`` while its vessel has a track that long); ``noise_rows``
    is that flag per row, in ``perm`` order."""

    perm: IntArray
    length: IntArray
    noise: BoolArray
    noise_rows: BoolArray

    @classmethod
    def of(cls, root: IntArray, mmsi: IntArray, th: Thresholds) -> _TrackRows:
        n = len(root)
        if n and np.any(root[1:] < root[:-1]):
            perm = np.argsort(root, kind="stable")  # interleaved tracks: group each track's rows together
        else:
            perm = np.arange(n, dtype=np.int64)
        t_first = np.flatnonzero(group_starts(root[perm]))
        t_len = np.diff(np.append(t_first, n))
        t_mmsi = mmsi[perm[t_first]] if n else np.empty(0, np.int64)
        v_first = np.flatnonzero(group_starts(t_mmsi))
        v_max = np.maximum.reduceat(t_len, v_first) if len(v_first) else np.empty(0, np.int64)
        t_vmax = np.repeat(v_max, np.diff(np.append(v_first, len(t_first))))
        t_noise = (t_len < th.min_segment_positions) & (t_vmax >= th.min_segment_positions)
        return cls(perm, t_len, t_noise, np.repeat(t_noise, t_len))


def _kept_steps(
    keep: IntArray, d1: FloatArray, k_lat: FloatArray, k_lon: FloatArray, track_start: BoolArray
) -> FloatArray:
    """Distance (km) from the previous kept row of the track to each kept row (0 at track starts)."""
    step = np.zeros(len(keep))
    if len(keep) > 1:
        # Reuse row-to-next distances where the previous kept row is the previous input row (nearly all).
        adjacent = keep[1:] - keep[:-1] == 1
        step[1:][adjacent] = d1[keep[1:][adjacent] - 1]
        far = np.flatnonzero(~adjacent) + 1
        if len(far):
            step[far] = haversine_km(k_lat[far - 1], k_lon[far - 1], k_lat[far], k_lon[far])
        step[track_start] = 0.0
    return step


def _speeds(step: FloatArray, dt: IntArray, track_start: BoolArray, sog: FloatArray) -> FloatArray:
    """Speed (kn): reported SOG, else the implied speed of the step into the point (out of it at track
    starts)."""
    derived = speed_kn(step, dt)
    derived[track_start] = np.nan
    if len(step) > 1:
        nxt = np.append(derived[1:], np.nan)
        nxt[np.append(track_start[1:], True)] = np.nan
        derived = np.where(track_start, nxt, derived)
    return np.where(np.isnan(sog), derived, sog)


def _segments_table(
    mmsi: IntArray,
    ts: IntArray,
    noise: BoolArray,
    keep: IntArray,
    k_mmsi: IntArray,
    k_ts: IntArray,
    k_lat: FloatArray,
    k_lon: FloatArray,
    step: FloatArray,
    track_start: BoolArray,
    seg_start: BoolArray,
    th: Thresholds,
) -> pa.Table:
    m = len(keep)
    if m == 0:
        return schema.empty(schema.SEGMENTS)
    first = np.flatnonzero(seg_start)
    last = np.append(first[1:] - 1, m - 1)
    n_noise = _noise_per_segment(mmsi, noise, keep, seg_start, len(first))
    reason = _split_reasons(mmsi, ts, keep[first], track_start[first], th)
    step_in = np.where(seg_start, 0.0, step)
    dist = run_reduce(np.add, step_in, first, last)
    n_pos = last - first + 1
    seg_mmsi = k_mmsi[first]
    start_us = k_ts[first]
    return pa.table(
        {
            "segment_id": stable_ids("segment", seg_mmsi, start_us),
            "mmsi": pa.array(seg_mmsi, pa.int64()),
            "start_ts": to_ts(start_us),
            "end_ts": to_ts(k_ts[last]),
            "n_positions": pa.array(n_pos, pa.int64()),
            "n_noise": pa.array(n_noise, pa.int64()),
            "start_lat": pa.array(k_lat[first]),
            "start_lon": pa.array(k_lon[first]),
            "end_lat": pa.array(k_lat[last]),
            "end_lon": pa.array(k_lon[last]),
            "dist_km": pa.array(dist, pa.float64()),
            "split_reason": pa.array(reason.tolist(), pa.string()),
        },
        schema=schema.SEGMENTS,
    )


def _noise_per_segment(
    mmsi: IntArray, noise: BoolArray, keep: IntArray, seg_start: BoolArray, n_segments: int
) -> IntArray:
    """Noise rows per segment: each counts towards the segment of the latest kept row of the same vessel
    before it (or the first after it when the vessel starts with noise)."""
    seg_at = np.full(len(mmsi), -1, dtype=np.int64)
    seg_at[keep] = np.cumsum(seg_start) - 1
    n_noise = np.zeros(n_segments, dtype=np.int64)
    nz = np.flatnonzero(noise)
    if len(nz):
        kept_sorted = np.flatnonzero(~noise)
        pos = np.searchsorted(kept_sorted, nz)
        prev = kept_sorted[np.maximum(pos - 1, 0)]
        nxt = kept_sorted[np.minimum(pos, len(kept_sorted) - 1)]
        use_prev = (pos > 0) & (mmsi[prev] == mmsi[nz])
        owner = np.where(use_prev, prev, nxt)
        np.add.at(n_noise, seg_at[owner], 1)
    return n_noise


def _split_reasons(
    mmsi: IntArray, ts: IntArray, f_orig: IntArray, starts_track: BoolArray, th: Thresholds
) -> npt.NDArray[np.object_]:
    """Why each segment (first row ``f_orig``) began: the vessel's first, a silence over max_gap_h, or an
    impossible jump ("speed"); a track start after a long silence is reported as a gap (the silence is
    what users look for)."""
    vessel_first = np.ones(len(f_orig), dtype=bool)
    has_prev = f_orig > 0
    vessel_first[has_prev] = mmsi[f_orig[has_prev] - 1] != mmsi[f_orig[has_prev]]
    reason = np.where(starts_track, "speed", "gap").astype(object)
    prev_gap = np.zeros(len(f_orig), dtype=bool)
    prev_gap[has_prev] = (ts[f_orig[has_prev]] - ts[f_orig[has_prev] - 1]) > th.max_gap_h * US_PER_H
    reason[starts_track & prev_gap] = "gap"
    reason[vessel_first] = "first"
    return reason
