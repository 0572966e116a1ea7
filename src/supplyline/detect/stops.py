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

from supplyline.detect._arrays import BoolArray, FloatArray, IntArray, last_true_index, speed_kn, start_index
from supplyline.detect.config import Thresholds
from supplyline.detect.segments import Tracks
from supplyline.geo import haversine_km


def window_speed_kn(tr: Tracks, window_min: float, max_span_h: float = np.inf) -> FloatArray:
    """Slower of the backward and forward displacement speeds over ``window_min`` minutes (NaN where the
    track is shorter than the window on both sides, or the nearest fix that far is ``max_span_h`` or more
    away: over a long silence the displacement says nothing about being at rest)."""
    n = len(tr)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    w = round(window_min * 60e6)
    track = np.cumsum(tr.track_start) - 1
    first = start_index(tr.track_start)
    rel = tr.ts - tr.ts[first]  # time since the track's first fix
    span = int(rel.max()) + 2 * w + 1
    # One sorted key (tracks never reach into each other's windows), in batches of tracks that fit int64.
    per = max((2**62) // span, 1)
    back, fwd = np.empty(n, np.int64), np.empty(n, np.int64)
    for lo in range(0, int(track[-1]) + 1, per):
        rows = np.flatnonzero((track >= lo) & (track < lo + per))
        key = rel[rows] + (track[rows] - lo) * span
        back[rows] = np.searchsorted(key, key - w, side="right") - 1 + rows[0]
        fwd[rows] = np.searchsorted(key, key + w, side="left") + rows[0]
    rows = np.arange(n)
    max_span_us = max_span_h * 3.6e9
    for other, ok in ((back, back >= first), (fwd, (fwd < n) & (track[np.minimum(fwd, n - 1)] == track))):
        o = np.where(ok, other, rows)
        ok &= np.abs(tr.ts - tr.ts[o]) < max_span_us
        o = np.where(ok, other, rows)
        d = haversine_km(tr.lat, tr.lon, tr.lat[o], tr.lon[o])
        v = speed_kn(d, np.abs(tr.ts - tr.ts[o]))
        v[~ok] = np.nan
        out = np.fmin(out, v)
    return out


def stop_speed_kn(tr: Tracks, th: Thresholds) -> FloatArray:
    """Speed used to decide stops: reported SOG where present, else :func:`window_speed_kn`."""
    if tr.reported.all():
        return tr.speed_kn
    win = window_speed_kn(tr, th.stop_window_min, th.visit_gap_h)
    return np.where(tr.reported, tr.speed_kn, np.where(np.isnan(win), tr.speed_kn, win))


def stopped_state(tr: Tracks, th: Thresholds) -> BoolArray:
    """Stopped (True) / moving per row with hysteresis; rows before any decisive speed count as moving."""
    spd = stop_speed_kn(tr, th)
    decisive = (spd < th.stop_speed_kn) | (spd > th.move_speed_kn)  # NaN compares False: undecided
    last = last_true_index(decisive)
    ok = last >= start_index(tr.track_start)
    return ok & (spd[np.maximum(last, 0)] < th.stop_speed_kn)


def pin_stops(inner: IntArray, stopped: BoolArray, track_start: BoolArray) -> IntArray:
    """``inner`` with every row of a stop set to the place of the stop's first row (when both are in a
    place), so GPS jitter at a berth between two overlapping places cannot flip the visit's place."""
    begin = stopped.copy()
    begin[1:] &= ~stopped[:-1] | track_start[1:]
    at = start_index(begin | ~stopped)
    pinned = inner[at]
    use = stopped & (pinned >= 0) & (inner >= 0)
    return np.where(use, pinned, inner)


def _still_there(tr: Tracks, th: Thresholds) -> BoolArray:
    """Per row: the silence before it (from the previous row of its track) lasted at most ``port_gap_max_h``
    and ended within ``port_gap_max_km`` of where it began."""
    return (tr.step_km <= th.port_gap_max_km) & (tr.dt_us <= th.port_gap_max_h * 3.6e9) & ~tr.track_start


def port_gaps(tr: Tracks, th: Thresholds) -> BoolArray:
    """True at rows i whose interval to row i+1 is a port gap: silent ``visit_gap_h`` or more (up to
    ``port_gap_max_h``) while moving at most ``port_gap_max_km`` (moored with AIS off, or out of
    reception, but still there)."""
    n = len(tr)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    out[:-1] = _still_there(tr, th)[1:] & (tr.dt_us[1:] >= th.visit_gap_h * 3.6e9)
    return out


def visit_breaks(tr: Tracks, th: Thresholds) -> BoolArray:
    """Rows where a visit cannot continue from the previous row: a track start, or a segment start (silence
    over ``max_gap_h``) that is not a port gap. Days at a berth with AIS off stay one visit; the same
    MMSI back at a berth after a longer silence, or somewhere else, is a new one."""
    return tr.track_start | (tr.seg_start & ~_still_there(tr, th))


__all__ = ["pin_stops", "port_gaps", "stop_speed_kn", "stopped_state", "visit_breaks", "window_speed_kn"]
