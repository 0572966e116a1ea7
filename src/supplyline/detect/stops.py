"""Stopped or moving, per track row: GFW's speed hysteresis on a speed that means something at a berth.

Reported SOG is used as is (GFW: stop below ``stop_speed_kn``, move above ``move_speed_kn``, in between
unchanged). Without SOG the speed comes from positions, and point-to-point speeds of a moored vessel are GPS
jitter: on the NOAA New York week a ferry at its slip shows 10-60 m jumps a minute apart, 0.3-2 kn. So the
speed of a row is its displacement over a window of at least ``stop_window_min`` minutes, backwards or
forwards, whichever is slower: a vessel at rest for the window before the row (it has not left yet) or
after it (it has just arrived) is stopped, so a stop runs from arrival to departure rather than lagging
by the window; a vessel moving slowly throughout never is. Stops shorter than the window are not seen.
"""

from __future__ import annotations

import numpy as np

from supplyline.detect._arrays import BoolArray, FloatArray, IntArray, carry_forward, speed_kn, wrapped_dlon
from supplyline.detect.segments import Tracks
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import EARTH_RADIUS_KM


def window_speed_kn(
    tr: Tracks, window_min: float, max_span_h: float = np.inf, rows: IntArray | None = None
) -> FloatArray:
    """Slower of the backward and forward displacement speeds over ``window_min`` minutes (NaN where the
    track is shorter than the window on both sides, or the nearest fix that far is ``max_span_h`` or more
    away: over a long silence the displacement says nothing about being at rest). Only ``rows`` (default
    all) are computed; the others are NaN."""
    out = np.full(len(tr), np.nan)
    rows = np.arange(len(tr)) if rows is None else rows
    out[rows] = _window_speeds(tr, window_min, max_span_h, rows)
    return out


def _window_speeds(tr: Tracks, window_min: float, max_span_h: float, rows: IntArray) -> FloatArray:
    """:func:`window_speed_kn` at ``rows`` only (one value per entry of ``rows``)."""
    speed = np.full(len(rows), np.nan)
    if len(rows) == 0:
        return speed
    track = np.cumsum(tr.track_start) - 1
    back, fwd = _window_ends(tr.ts, track, round(window_min * 60e6), rows)
    mine = track[rows]
    back_ok = back >= 0
    back_ok[back_ok] = track[back[back_ok]] == mine[back_ok]
    fwd_ok = fwd < len(tr)
    fwd_ok[fwd_ok] = track[fwd[fwd_ok]] == mine[fwd_ok]
    t, la, lo = tr.ts[rows], tr.lat[rows], tr.lon[rows]
    for other, ok in ((back, back_ok), (fwd, fwd_ok)):
        o = other[ok]
        dt = np.abs(t[ok] - tr.ts[o])
        v = speed_kn(_flat_km(la[ok], lo[ok], tr.lat[o], tr.lon[o]), dt)
        v[dt >= max_span_h * 3.6e9] = np.nan
        speed[ok] = np.fmin(speed[ok], v)
    return speed


def _window_ends(ts: IntArray, track: IntArray, w_us: int, rows: IntArray) -> tuple[IntArray, IntArray]:
    """For ``rows`` (ascending): the latest fix at least ``w_us`` before and the earliest at least ``w_us``
    after (which may lie in another track: the caller checks), by binary search over one sorted key of
    (track, time); each track's key range is wider than the data's time span plus both windows, so tracks
    never reach into each other's windows. Tracks go in batches that keep the key inside int64 (one batch
    unless the data span centuries); each batch is a contiguous slice, as tracks are."""
    t0 = int(ts.min())
    span = int(ts.max()) - t0 + 2 * w_us + 1
    per = max((2**62) // span, 1)
    row_track = track[rows]
    back, fwd = np.empty(len(rows), np.int64), np.empty(len(rows), np.int64)
    for lo in range(0, int(track[-1]) + 1, per):
        a, b = np.searchsorted(track, [lo, lo + per])
        ra, rb = np.searchsorted(row_track, [lo, lo + per])
        if ra == rb:
            continue
        key = track[a:b] - lo
        key *= span
        key += ts[a:b] - t0
        q = key[rows[ra:rb] - a]
        back[ra:rb] = np.searchsorted(key, q - w_us, side="right") - 1 + a
        fwd[ra:rb] = np.searchsorted(key, q + w_us, side="left") + a
    return back, fwd


def _flat_km(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Equirectangular distance (km): within 0.1 % of the great circle over the few km a stop window spans,
    and a third of the cost."""
    dlon = wrapped_dlon(lon2 - lon1)
    x = np.radians(dlon) * np.cos(np.radians((lat1 + lat2) * 0.5))
    y = np.radians(lat2 - lat1)
    return np.asarray(np.hypot(x, y) * EARTH_RADIUS_KM, dtype=np.float64)


def stop_speed_kn(tr: Tracks, th: Thresholds, near: BoolArray | None = None) -> FloatArray:
    """Speed used to decide stops: reported SOG where present, else :func:`window_speed_kn` (only for the
    rows ``near`` a place, if given, and not clearly under way; the others keep the point speed)."""
    need = ~tr.reported if near is None else (~tr.reported & near)
    # Clearly under way: faster than 10x move_speed_kn into and out of the fix (GPS jitter of a moored
    # vessel stays far below; outlier fixes are gone). These keep the point speed, the window is skipped.
    fast = tr.speed_kn > 10 * th.move_speed_kn
    fast[:-1] &= fast[1:] & ~tr.track_start[1:]
    rows = np.flatnonzero(need & ~fast)
    if len(rows) == 0:
        return tr.speed_kn
    win = _window_speeds(tr, th.stop_window_min, th.visit_gap_h, rows)
    known = ~np.isnan(win)
    spd = tr.speed_kn.copy()
    spd[rows[known]] = win[known]
    return spd


def stopped_state(tr: Tracks, th: Thresholds, near: BoolArray | None = None) -> BoolArray:
    """Stopped (True) / moving per row with hysteresis; rows before any decisive speed count as moving.
    ``near`` (optional) limits the window speeds to rows that may be in a place (see stop_speed_kn)."""
    spd = stop_speed_kn(tr, th, near)
    slow = spd < th.stop_speed_kn
    decisive = slow | (spd > th.move_speed_kn)  # NaN compares False: undecided
    # A track start that is not decisive is not slow either: it carries "moving" until the first decision.
    return carry_forward(slow, decisive | tr.track_start, False)


def pin_stops(inner: IntArray, stopped: BoolArray, track_start: BoolArray) -> IntArray:
    """``inner`` with every row of a stop set to the place of the stop's first row (when both are in a
    place), so GPS jitter at a berth between two overlapping places cannot flip the visit's place."""
    begin = stopped.copy()
    begin[1:] &= ~stopped[:-1] | track_start[1:]
    rows = np.flatnonzero(stopped)
    pinned = inner[np.flatnonzero(begin)][np.cumsum(begin[rows]) - 1]  # place where each row's stop began
    use = (pinned >= 0) & (inner[rows] >= 0)
    out = inner.copy()
    out[rows[use]] = pinned[use]
    return out


def _still_there(tr: Tracks, th: Thresholds, rows: IntArray) -> BoolArray:
    """Per row of ``rows``: the silence before it (from the previous row of its track) lasted at most
    ``port_gap_max_h`` and ended within ``port_gap_max_km`` of where it began."""
    return (
        (tr.step_km[rows] <= th.port_gap_max_km)
        & (tr.dt_us[rows] <= th.port_gap_max_h * 3.6e9)
        & ~tr.track_start[rows]
    )


def port_gaps(tr: Tracks, th: Thresholds) -> BoolArray:
    """True at rows i whose interval to row i+1 is a port gap: silent ``visit_gap_h`` or more (up to
    ``port_gap_max_h``) while moving at most ``port_gap_max_km`` (moored with AIS off, or out of
    reception, but still there)."""
    n = len(tr)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    silent = np.flatnonzero(tr.dt_us[1:] >= th.visit_gap_h * 3.6e9)  # intervals i -> i+1 (few)
    out[silent] = _still_there(tr, th, silent + 1)
    return out


def visit_breaks(tr: Tracks, th: Thresholds) -> BoolArray:
    """Rows where a visit cannot continue from the previous row: a track start, or a segment start (silence
    over ``max_gap_h``) that is not a port gap. Days at a berth with AIS off stay one visit; the same
    MMSI back at a berth after a longer silence, or somewhere else, is a new one."""
    out = tr.track_start.copy()
    seg = np.flatnonzero(tr.seg_start)  # few
    out[seg] |= ~_still_there(tr, th, seg)
    return out


__all__ = ["pin_stops", "port_gaps", "stop_speed_kn", "stopped_state", "visit_breaks", "window_speed_kn"]
