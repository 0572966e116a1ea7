"""Short rests: a stop in port that speeds cannot show, read from where the fixes bunch.

A ferry docks for 5-15 minutes with fixes minutes apart, often silent while berthed: no window of
``stop_window_min`` (10 min) of derived speed falls below ``stop_speed_kn``, so the speed hysteresis never
says "stopped" and the visit would be a pass-through, which ends no voyage (GFW). Yet a person reading the
track sees it come to rest (tests/data/visit_labels/README.md: fixes bunch at one spot and make no
progress). So a visit also has a stop when a run of its consecutive fixes stays within
``short_stop_radius_m`` of the run's first fix for ``short_stop_min_min`` or more: 300 m in 10 minutes is
under 1 kn on average, slower than any vessel passing through a harbour, and a ferry at its slip (berth
jitter 10-60 m, in and out of the slip within a few minutes) shows it. Such a rest never makes a port call
(that still takes one continuous stop of ``port_call_min_h``); it makes the visit a ``short_stop``.
"""

from __future__ import annotations

import numpy as np

from supplyline.detect._arrays import BoolArray, IntArray, wrapped_dlon
from supplyline.detect.segments import Tracks
from supplyline.geo import EARTH_RADIUS_KM


def has_rest(tr: Tracks, first: IntArray, last: IntArray, radius_m: float, min_min: float) -> BoolArray:
    """Per visit (rows ``first``..``last``): some run of its fixes stays within ``radius_m`` of the run's
    first fix and spans ``min_min`` minutes or more. Offsets are walked one at a time over the runs still
    alive (a run dies at its first fix beyond the radius), so the cost is the total length of the runs."""
    out = np.zeros(len(first), dtype=bool)
    if len(first) == 0 or radius_m <= 0:
        return out
    lengths = last - first  # a run may start at any row of the visit but its last
    visit = np.repeat(np.arange(len(first)), lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    start = first[visit] + offset
    end = last[visit]
    lim_km, min_us = radius_m / 1000.0, min_min * 60e6
    cos_lat = np.cos(np.radians(tr.lat[start]))
    k = 1
    while len(start):
        j = start + k
        alive = j <= end
        start, end, visit, cos_lat, j = start[alive], end[alive], visit[alive], cos_lat[alive], j[alive]
        dlon = wrapped_dlon(tr.lon[j] - tr.lon[start])
        d_km = np.hypot(np.radians(dlon) * cos_lat, np.radians(tr.lat[j] - tr.lat[start])) * EARTH_RADIUS_KM
        inside = d_km <= lim_km
        out[visit[inside & (tr.ts[j] - tr.ts[start] >= min_us)]] = True
        keep = inside & ~out[visit]
        start, end, visit, cos_lat = start[keep], end[keep], visit[keep], cos_lat[keep]
        k += 1
    return out


__all__ = ["has_rest"]
