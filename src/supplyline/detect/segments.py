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
    (0 at track starts); ``speed_kn`` is reported SOG where present (``reported``), else derived from
    positions.
    """

    orig: IntArray
    mmsi: IntArray
    ts: IntArray
    lat: FloatArray
    lon: FloatArray
    speed_kn: FloatArray
    reported: BoolArray  # speed_kn is reported SOG (else derived from positions)
    track_start: BoolArray
    seg_start: BoolArray
    step_km: FloatArray
    dt_us: IntArray
    noise: BoolArray  # per input row
    segments: pa.Table

    def __len__(self) -> int:
        return len(self.orig)


Limit = float | FloatArray
"""A speed limit: one for every row, or one array entry per row."""


def _at(limit: Limit, rows: IntArray | slice) -> Limit:
    """``limit`` at ``rows`` (a scalar limit is the same everywhere)."""
    return limit if isinstance(limit, float) else limit[rows]


def bad_steps(mmsi: IntArray, ts: IntArray, d1: FloatArray, limit_kn: Limit, th: Thresholds) -> BoolArray:
    """Per step i -> i+1: same vessel and farther than its speed limit allows (plus GPS jitter)."""
    km_per_us = limit_kn * (KM_PER_NM / US_PER_H)
    too_far = d1 > _at(km_per_us, slice(1, None)) * (ts[1:] - ts[:-1]) + th.noise_dist_km
    return np.asarray((mmsi[1:] == mmsi[:-1]) & too_far)


def _parents(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    d1: FloatArray,
    limit_kn: Limit,
    th: Thresholds,
    bad: BoolArray | None = None,
) -> IntArray:
    """For each position, the earlier position of the same vessel it continues from (-1: starts a track);
    ``d1`` is the distance in km from each row to the next, ``limit_kn`` each row's vessel speed limit,
    ``bad`` (optional, from :func:`bad_steps`) the steps already known to be too fast."""
    n = len(mmsi)
    parent = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return parent
    km_per_us = limit_kn * (KM_PER_NM / US_PER_H)
    bad = bad_steps(mmsi, ts, d1, limit_kn, th) if bad is None else bad
    ok1 = (mmsi[1:] == mmsi[:-1]) & ~bad
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
        ok = d <= _at(km_per_us, todo) * (ts[todo] - ts[j]) + th.noise_dist_km
        parent[todo[ok]] = j[ok]
        todo = todo[~ok]
    return parent


def _resolve_forks(parent: IntArray) -> IntArray:
    """Keep one child per parent so tracks are chains: prefer a child that continues, then the later one."""
    n = len(parent)
    child = np.flatnonzero(parent >= 0)
    if len(child) == 0:
        return parent
    par = parent[child]
    if np.all(par[1:] > par[:-1]):  # common case: no position has two children
        return parent
    # Only one child of a row can be the next row; a second child is a "far" one (a lag >= 2 or relinked
    # link), so only parents of far children can fork (few rows: no count over every row needed).
    far = par != child - 1
    far_child, far_par = child[far], par[far]
    cand, n_far = np.unique(far_par, return_counts=True)
    follows = _continues_from(parent, cand)
    forked = cand[n_far + follows > 1]
    if len(forked) == 0:
        return parent
    at = np.isin(far_par, forked)
    next_row = forked[_continues_from(parent, forked)] + 1
    rivals = np.concatenate((far_child[at], next_row))
    rival_par = np.concatenate((far_par[at], next_row - 1))
    has_child = _continues_from(parent, rivals) | np.isin(rivals, cand)
    score = has_child.astype(np.int64) * n + rivals
    order = np.lexsort((score, rival_par))
    par_sorted = rival_par[order]
    keep_sorted = np.ones(len(order), dtype=bool)
    keep_sorted[:-1] = par_sorted[1:] != par_sorted[:-1]  # last of each parent group wins
    out = parent.copy()
    out[rivals[order[~keep_sorted]]] = -1
    return out


def _continues_from(parent: IntArray, rows: IntArray) -> BoolArray:
    """Whether the row after each of ``rows`` continues from it (has it as parent)."""
    nxt = rows + 1
    ok = nxt < len(parent)
    ok[ok] = parent[nxt[ok]] == rows[ok]
    return ok


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
    limit_kn: Limit,
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
    km_per_us = limit_kn * (KM_PER_NM / US_PER_H)
    for k in range(th.segment_lookback):  # then the k-th latest, for those still unattached
        pos = first - k
        c = ends[np.maximum(pos, 0)]
        ok = (pos >= 0) & (mmsi[c] == mmsi[todo])
        o, c = todo[ok], c[ok]
        dt = ts[o] - ts[c]
        d = haversine_km(lat[c], lon[c], lat[o], lon[o])
        reach = (d <= _at(km_per_us, o) * dt + th.noise_dist_km) & (dt <= th.max_gap_h * US_PER_H)
        out[o[reach]] = c[reach]
        keep = out[todo] < 0
        todo, first = todo[keep], first[keep]
        if len(todo) == 0:
            break
    return out


def speed_limits(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    d1: FloatArray,
    fast: BoolArray | None,
    th: Thresholds,
    bad: BoolArray,
) -> Limit:
    """Each row's vessel speed limit (kn; one float when no vessel is fast): ``max_implied_speed_kn``, or
    ``fast_max_speed_kn`` for a vessel that is ``fast`` (high-speed craft by ship type) or shows it on its own track: ``fast_min_steps`` or more
    pairs of consecutive steps both between the two limits, in a straight line (a fast ferry's runs; a GPS
    jump out and back is not straight), each at least a minute long (jitter over seconds is not speed).
    ``bad`` are the steps too fast for ``max_implied_speed_kn`` (:func:`bad_steps`)."""
    n = len(mmsi)
    base = float(th.max_implied_speed_kn)
    if n < 3 or th.fast_max_speed_kn <= th.max_implied_speed_kn:
        return base
    pair = fast_pairs(ts, lat, lon, d1, th, bad)
    if len(pair) < th.fast_min_steps and fast is None:
        return base  # no vessel can have enough fast pairs (the usual case)
    vessel = np.cumsum(group_starts(mmsi)) - 1
    learned = np.bincount(vessel[pair], minlength=int(vessel[-1]) + 1) >= th.fast_min_steps
    is_fast = learned[vessel] if fast is None else (fast | learned[vessel])
    if not is_fast.any():
        return base
    return np.asarray(np.where(is_fast, th.fast_max_speed_kn, base), dtype=np.float64)


def fast_pairs(
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    d1: FloatArray,
    th: Thresholds,
    bad: BoolArray,
) -> IntArray:
    """Straight fast pairs: the first step k of each pair of consecutive steps k (rows k -> k+1) and k+1
    both between ``max_implied_speed_kn`` and ``fast_max_speed_kn``, at least a minute long, whose chord
    row k -> k+2 is at least 0.8 of the path (what :func:`speed_limits` counts per vessel; the
    time-incremental detect keeps the count per vessel). ``bad``: the too-fast steps at the base limit."""
    per_us = KM_PER_NM / US_PER_H
    step = np.flatnonzero(bad)  # steps above the base limit (few): which stay below the fast one?
    dt = ts[step + 1] - ts[step]
    keep = (d1[step] <= th.fast_max_speed_kn * per_us * dt) & (dt >= 60e6)
    fast_step = step[keep]
    pair = fast_step[np.isin(fast_step + 1, fast_step)]  # steps i-1 -> i -> i+1, both fast
    if len(pair):
        chord = haversine_km(lat[pair], lon[pair], lat[pair + 2], lon[pair + 2])
        pair = pair[chord >= 0.8 * (d1[pair] + d1[pair + 1])]
    return np.asarray(pair, dtype=np.int64)


def lone_outliers(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    d1: FloatArray,
    limit_kn: Limit,
    th: Thresholds,
    bad: BoolArray,
) -> BoolArray:
    """Rows whose fix is unreachable from both neighbours of the same vessel while the neighbours reach
    each other and their own neighbours: one bad fix (GPS jump, corrupt message), dropped before
    segmentation instead of being a track of its own. ``bad``: the too-fast steps (:func:`bad_steps`)."""
    n = len(mmsi)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    km_per_us = limit_kn * (KM_PER_NM / US_PER_H)
    step = np.flatnonzero(bad)  # too-fast steps (few); step k is the one from row k to row k+1
    if len(step) < 2:
        return out
    # Rows i with both steps bad (i-1 -> i and i -> i+1) whose outer steps i-2 -> i-1 and i+1 -> i+2 are
    # sound (or absent): two ships interleaved on one MMSI fail every step and are left to the tracks.
    mid = step[1:][step[1:] - step[:-1] == 1]
    sound_before = (mid < 2) | ~bad[np.maximum(mid - 2, 0)]
    sound_after = (mid + 1 >= len(bad)) | ~bad[np.minimum(mid + 1, len(bad) - 1)]
    mid = mid[sound_before & sound_after]
    skip = haversine_km(lat[mid - 1], lon[mid - 1], lat[mid + 1], lon[mid + 1])
    mid = mid[skip <= _at(km_per_us, mid) * (ts[mid + 1] - ts[mid - 1]) + th.noise_dist_km]
    # Candidates that reach each other are a second, sparse transmitter on the MMSI, not outliers.
    a, b = mid[:-1], mid[1:]
    hop = haversine_km(lat[a], lon[a], lat[b], lon[b])
    chained = (mmsi[a] == mmsi[b]) & (hop <= _at(km_per_us, b) * (ts[b] - ts[a]) + th.noise_dist_km)
    linked = np.zeros(len(mid), dtype=bool)
    linked[:-1] |= chained
    linked[1:] |= chained
    out[mid[~linked]] = True
    return out


def _without(rows: IntArray, d1: FloatArray, lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Row-to-next distances of the subset ``rows`` (reusing ``d1`` where the rows were adjacent)."""
    sub = np.empty(max(len(rows) - 1, 0))
    adjacent = rows[1:] - rows[:-1] == 1
    sub[adjacent] = d1[rows[:-1][adjacent]]
    far = np.flatnonzero(~adjacent)
    a, b = rows[far], rows[far + 1]
    sub[far] = haversine_km(lat[a], lon[a], lat[b], lon[b])
    return sub


def _tracks(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    d1: FloatArray,
    limit_kn: Limit,
    th: Thresholds,
    bad: BoolArray | None = None,
) -> tuple[IntArray, IntArray]:
    """(root, parent) of every row: the first row of its track and the row it continues from."""
    n = len(mmsi)
    parent = _resolve_forks(_parents(mmsi, ts, lat, lon, d1, limit_kn, th, bad))
    root = _roots(parent) if n else np.empty(0, np.int64)
    if n:
        linked = _link_orphans(parent, root, mmsi, ts, lat, lon, limit_kn, th)
        if not np.array_equal(linked, parent):
            parent = _resolve_forks(linked)
            root = _roots(parent)
    return root, parent


def segment(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    sog_kn: FloatArray,
    th: Thresholds,
    fast: BoolArray | None = None,
) -> Tracks:
    """Segment positions sorted by (mmsi, ts); see the module docstring for the rules. ``fast`` marks rows
    of vessels known to be high-speed craft (AIS ship type 40-49), which get ``fast_max_speed_kn``."""
    n = len(mmsi)
    rows, root, d1, outlier = _track_roots(mmsi, ts, lat, lon, th, fast)
    tracks = _TrackRows.of(root, mmsi[rows] if len(rows) < n else mmsi, th)
    kept = tracks.perm[~tracks.noise_rows]
    keep = kept if len(rows) == n else rows[kept]  # input rows of the kept positions, track by track
    k_mmsi, k_ts, k_lat, k_lon = mmsi[keep], ts[keep], lat[keep], lon[keep]
    track_start = np.zeros(len(keep), dtype=bool)
    kept_first = np.cumsum(np.append(0, tracks.length[~tracks.noise]))[:-1]
    track_start[kept_first] = True
    dt = prev_diff(k_ts, track_start, 0)
    step = _kept_steps(keep, d1, k_lat, k_lon, track_start)
    seg_start = track_start | (dt > th.max_gap_h * US_PER_H)
    sog = sog_kn[keep]
    spd = _speeds(step, dt, track_start, sog)
    noise = outlier.copy()
    noise[rows[tracks.perm[tracks.noise_rows]]] = True
    segs = _segments_table(
        mmsi, ts, noise, outlier, keep, k_mmsi, k_ts, k_lat, k_lon, step, track_start, seg_start, th
    )
    return Tracks(
        keep, k_mmsi, k_ts, k_lat, k_lon, spd, ~np.isnan(sog), track_start, seg_start, step, dt, noise, segs
    )


def _track_roots(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, th: Thresholds, fast: BoolArray | None
) -> tuple[IntArray, IntArray, FloatArray, BoolArray]:
    """(rows, root, d1, outlier): the input rows that are not lone outliers, each one's track (its root,
    as an index into ``rows``), every input row's distance to the next (km), and the outlier mask."""
    n = len(mmsi)
    d1 = step_km(lat, lon) if n > 1 else np.empty(0)  # lag 1: every row to the next
    bad = bad_steps(mmsi, ts, d1, float(th.max_implied_speed_kn), th) if n > 1 else np.zeros(0, bool)
    limit = speed_limits(mmsi, ts, lat, lon, d1, fast, th, bad)
    if not isinstance(limit, float):  # some vessels are fast: their steps are judged by their limit
        bad = bad_steps(mmsi, ts, d1, limit, th)
    outlier = lone_outliers(mmsi, ts, lat, lon, d1, limit, th, bad)
    if not outlier.any():
        root, _ = _tracks(mmsi, ts, lat, lon, d1, limit, th, bad)
        return np.arange(n, dtype=np.int64), root, d1, outlier
    rows = np.flatnonzero(~outlier)
    sub = (mmsi[rows], ts[rows], lat[rows], lon[rows], _without(rows, d1, lat, lon))
    root, _ = _tracks(*sub, _at(limit, rows), th)
    return rows, root, d1, outlier


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
    outlier: BoolArray,
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
    n_noise, n_outliers = _noise_per_segment(mmsi, noise, keep, seg_start, len(first), outlier)
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
            "n_outliers": pa.array(n_outliers, pa.int64()),
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
    mmsi: IntArray,
    noise: BoolArray,
    keep: IntArray,
    seg_start: BoolArray,
    n_segments: int,
    outlier: BoolArray,
) -> tuple[IntArray, IntArray]:
    """(noise rows, lone outliers) per segment: each noise row counts towards the segment of the latest
    kept row of the same vessel before it (or the first after it when the vessel starts with noise);
    ``outlier`` is the subset of ``noise`` that are lone outliers."""
    n_noise = np.zeros(n_segments, dtype=np.int64)
    n_outliers = np.zeros(n_segments, dtype=np.int64)
    nz = np.flatnonzero(noise)
    if len(nz):
        seg_at = np.full(len(mmsi), -1, dtype=np.int64)
        seg_at[keep] = np.cumsum(seg_start) - 1
        kept_sorted = np.flatnonzero(~noise)
        pos = np.searchsorted(kept_sorted, nz)
        prev = kept_sorted[np.maximum(pos - 1, 0)]
        nxt = kept_sorted[np.minimum(pos, len(kept_sorted) - 1)]
        use_prev = (pos > 0) & (mmsi[prev] == mmsi[nz])
        owner = seg_at[np.where(use_prev, prev, nxt)]
        np.add.at(n_noise, owner, 1)
        np.add.at(n_outliers, owner[outlier[nz]], 1)
    return n_noise, n_outliers


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
