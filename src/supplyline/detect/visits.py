"""Port visits (GFW's port-visit method), per track, fully vectorised, with an explicit class.

Rule, applied along each track in time order, over *ports* (gazetteer places grouped by
:mod:`supplyline.detect.ports`; a case's own places are each a port):
  * a visit to port P starts at a position whose nearest containing place within ``r_in`` belongs to P
    (``PlaceIndex.assign(..., "r_in")``; GFW: entry within 3 km of an anchorage) when the vessel is not
    already visiting P;
  * it continues while positions stay within ``r_out`` of the place last entered or inside ``r_in`` of any
    place of P (GFW: exit beyond 4 km), across silences up to ``max_gap_h``, and across longer ones that
    are port gaps (silent up to ``port_gap_max_h``, back within ``port_gap_max_km``: moored with AIS off);
  * it ends at the last position before the vessel leaves, or enters ``r_in`` of another port, or the
    segment ends (``open`` when that is the end of the data).
During a stop the place is pinned to where the stop began (:func:`supplyline.detect.stops.pin_stops`).
Events (GFW's entry / stop / gap / exit): ``entry`` the segment was seen before the visit, ``exit`` it was
seen after, ``stop`` the vessel stopped (speed hysteresis, :mod:`supplyline.detect.stops`), ``gap`` a port
gap (silent ``visit_gap_h`` or more, moving at most ``port_gap_max_km``). Confidence follows GFW's levels:
entry + (stop or gap) + exit = 1.0; stop or gap with entry or exit = 0.75; stop or gap alone, or entry and
exit only = 0.5; less = 0.25. Class: ``port_call`` when one continuous stop (port gaps included) lasts
``port_call_min_h`` or more (a ferry shuttling inside a port stops for minutes many times: no call),
``short_stop`` when it stopped for less, ``pass_through`` when it never stopped.
The visit names the port (``place_id``/``place_name``) and the anchorage or berth where it first stopped
(else where it entered): ``anchorage_id``/``anchorage_name``, as GFW labels a visit by its first stop.
Invariant: no two visits of one vessel at one port overlap in time; visits of overlapping tracks of one
MMSI that would are resolved in favour of the visit with more positions (:func:`drop_overlaps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect._arrays import (
    US_PER_H,
    BoolArray,
    FloatArray,
    IntArray,
    carry_forward,
    first_true_after,
    interval_sum,
    run_bounds,
    run_reduce,
    to_ts,
)
from supplyline.detect.ports import port_rows
from supplyline.detect.rests import has_rest
from supplyline.detect.segments import Tracks
from supplyline.detect.stops import pin_stops, port_gaps, stopped_state, visit_breaks
from supplyline.detect.thresholds import Thresholds
from supplyline.geo import haversine_km
from supplyline.ids import stable_ids


@dataclass
class PlaceArrays:
    """The columns of the places table the kernels need, as NumPy/Python arrays."""

    place_id: np.ndarray
    name: np.ndarray
    lat: FloatArray
    lon: FloatArray
    r_out_m: FloatArray
    watched: np.ndarray
    is_polygon: np.ndarray
    port: IntArray  # row of each place's port (itself when not grouped)

    @property
    def has_polygons(self) -> bool:
        return bool(self.is_polygon.any())

    @classmethod
    def from_table(cls, places: pa.Table, port_group_km: float = 0.0) -> PlaceArrays:
        watched = (
            np.asarray(places.column("watched").fill_null(False).to_numpy(zero_copy_only=False), bool)
            if "watched" in places.column_names
            else np.zeros(places.num_rows, dtype=bool)
        )
        poly = (
            np.asarray(places.column("geometry_wkb").is_valid().to_numpy(zero_copy_only=False), bool)
            if "geometry_wkb" in places.column_names
            else np.zeros(places.num_rows, dtype=bool)
        )
        return cls(
            np.asarray(places.column("place_id").to_pylist(), dtype=object),
            np.asarray(places.column("name").to_pylist(), dtype=object),
            np.asarray(places.column("lat").to_numpy(zero_copy_only=False), dtype=np.float64),
            np.asarray(places.column("lon").to_numpy(zero_copy_only=False), dtype=np.float64),
            np.asarray(places.column("r_out_m").to_numpy(zero_copy_only=False), dtype=np.float64),
            watched,
            poly,
            port_rows(places, port_group_km),
        )


@dataclass
class VisitRuns:
    """Visits as runs of track rows (``first``..``last`` inclusive) at port row ``place``, and the table."""

    first: IntArray
    last: IntArray
    place: IntArray
    table: pa.Table


@dataclass
class Runs:
    """Visit candidates: (first, last) track rows, the port row, and per track row the place entered there
    (``inner``, -1 none) and the place last entered since the last break (``candidate``, -1 none)."""

    first: IntArray
    last: IntArray
    port: IntArray
    inner: IntArray
    candidate: IntArray

    def place_at(self, rows: IntArray) -> IntArray:
        """The place each of ``rows`` is in: the one entered there, else the visit's candidate (-1 none)."""
        here = self.inner[rows]
        return np.where(here >= 0, here, self.candidate[rows])


def visit_runs(
    tr: Tracks,
    inner: IntArray,
    pl: PlaceArrays,
    outer: IntArray | None = None,
    maybe_out: np.ndarray | None = None,
    breaks: BoolArray | None = None,
) -> Runs:
    """Runs of every visit; ``inner``/``outer`` are the r_in/r_out place rows of each track row (-1 none;
    ``outer`` is only needed for polygon places, circles use the distance to the centre); ``maybe_out``
    (optional) is False for rows proven farther than r_out from every place (skips their distances);
    ``breaks`` marks rows a visit cannot continue into (:func:`~supplyline.detect.stops.visit_breaks`;
    default: segment starts)."""
    n = len(tr)
    brk_rows = tr.seg_start if breaks is None else breaks
    if n == 0:
        e = np.empty(0, np.int64)
        return Runs(e, e, e, e, e)
    port_of = np.append(pl.port, -1)  # port of each place row; index -1 (no place) gives -1
    entered = inner >= 0
    in_port = port_of[inner]
    # Candidate: the latest place entered since the last break, and its port.
    cand = carry_forward(inner, entered | brk_rows, -1)
    cport = port_of[cand]
    has = cand >= 0
    same = in_port == cport  # inside r_in of the candidate port: stays without measuring
    todo = has & ~same
    if maybe_out is not None:
        todo &= maybe_out
    stay = has & same
    h = np.flatnonzero(todo)
    c = cand[h]
    d_m = haversine_km(tr.lat[h], tr.lon[h], pl.lat[c], pl.lon[c]) * 1000.0
    stay[h] = (d_m <= pl.r_out_m[c]) & ~pl.is_polygon[c]
    if outer is not None:
        stay |= has & (outer >= 0) & (port_of[outer] == cport)
    # Inside when the latest entry into the candidate port is later than the latest exit from it.
    entry = has & same
    leave = has & ~stay
    inside = has & carry_forward(entry, entry | leave, False)
    # A new visit also starts where the candidate port changes between two inside rows.
    change = np.zeros(n, dtype=bool)
    change[1:] = cport[1:] != cport[:-1]
    first, last = run_bounds(inside, brk_rows | change)
    return Runs(first, last, cport[first], inner, cand)


def runs_and_stops(
    tr: Tracks,
    inner: IntArray,
    pl: PlaceArrays,
    th: Thresholds,
    outer: IntArray | None = None,
    maybe_out: np.ndarray | None = None,
) -> tuple[Runs, BoolArray]:
    """Visit runs and the stopped state of every row, stops pinned to the place where they began. Stop
    speeds (the costly part without SOG) are worked out only for rows that may be in a place
    (``maybe_out``, else inside an entry radius)."""
    near = (inner >= 0) if maybe_out is None else (maybe_out | (inner >= 0))
    stopped = stopped_state(tr, th, near)
    pinned = pin_stops(inner, stopped, tr.track_start)
    runs = visit_runs(tr, pinned, pl, outer, maybe_out, visit_breaks(tr, th))
    return runs, stopped


def drop_overlaps(
    mmsi: IntArray, port: IntArray, start: IntArray, end: IntArray, n_pos: IntArray
) -> BoolArray:
    """Keep-mask over visits so that no two kept visits of one vessel at one port overlap in time: of two
    overlapping ones the visit with fewer positions goes (it comes from a shorter track of the same MMSI:
    a GPS-jump fragment or a second transmitter)."""
    keep = np.ones(len(mmsi), dtype=bool)
    if len(mmsi) < 2:
        return keep
    order = np.lexsort((start, port, mmsi))
    while True:
        o = order[keep[order]]
        a, b = o[:-1], o[1:]
        clash = (mmsi[a] == mmsi[b]) & (port[a] == port[b]) & (start[b] <= end[a])
        if not clash.any():
            return keep
        a, b = a[clash], b[clash]
        loser = np.where(n_pos[b] > n_pos[a], a, b)
        keep[loser] = False


VISIT_CLASSES = ("port_call", "short_stop", "pass_through")
"""Visit classes, strongest first (``visit_class``)."""


@dataclass
class Evidence:
    """Per-visit evidence of what happened (hours; events as flags)."""

    stopped_h: FloatArray
    longest_stop_h: FloatArray
    max_gap_h: FloatArray
    entry: BoolArray
    exit_: BoolArray
    stop: BoolArray
    gap: BoolArray
    first_stop: IntArray  # track row of the visit's first stopped fix (past ``last`` when none)

    def events(self) -> list[str]:
        """Comma-separated events in GFW's order: entry, stop, gap, exit."""
        flags = (("entry", self.entry), ("stop", self.stop), ("gap", self.gap), ("exit", self.exit_))
        names = np.full(len(self.entry), "", dtype=object)
        for name, hit in flags:
            names[hit] = names[hit] + "," + name
        return [s.lstrip(",") for s in names.tolist()]

    def confidence(self) -> FloatArray:
        """GFW's port-visit confidence level (1-4) / 4."""
        evidence = self.stop | self.gap
        level = np.where(
            evidence & self.entry & self.exit_,
            4,
            np.where(
                evidence & (self.entry | self.exit_), 3, np.where(evidence | (self.entry & self.exit_), 2, 1)
            ),
        )
        return np.asarray(level / 4.0, dtype=np.float32)

    def classes(self, th: Thresholds) -> IntArray:
        """Index into :data:`VISIT_CLASSES` of every visit."""
        call = self.longest_stop_h >= th.port_call_min_h - 1e-9
        return np.where(call, 0, np.where(self.stop | self.gap, 1, 2)).astype(np.int64)


def longest_stop_h(
    stop_iv: BoolArray, dt_next: FloatArray, seg_start: BoolArray, first: IntArray, last: IntArray
) -> FloatArray:
    """Longest continuous stop (hours) inside each visit: runs of stopped intervals (``stop_iv[i]``: the
    interval i -> i+1 is stopped or a port gap), cut at the visit's bounds. A ferry shuttling inside one
    port stops many times for minutes; the sum of those is not a call, the longest rest decides."""
    out = np.zeros(len(first))
    cut = seg_start.copy()
    cut[first] = True
    b, e = run_bounds(stop_iv, cut)
    if len(b) == 0:
        return out
    k = np.searchsorted(first, b, side="right") - 1  # the visit each run starts in
    ok = (k >= 0) & (b < last[np.maximum(k, 0)])
    b, e, k = b[ok], e[ok], k[ok]
    e = np.minimum(e, last[k] - 1)  # intervals inside the visit: first .. last-1
    dur = interval_sum(dt_next, b, e + 1) / US_PER_H
    np.maximum.at(out, k, dur)
    return out


def evidence(tr: Tracks, first: IntArray, last: IntArray, stopped: BoolArray, th: Thresholds) -> Evidence:
    """Stopped time (stopped intervals plus port gaps: total and longest), longest silence and the GFW
    events of each visit."""
    n = len(tr)
    breaks = visit_breaks(tr, th)
    cut = np.flatnonzero(breaks)  # few: track starts and real segment starts
    # Intervals i -> i+1 inside the visit: rows first..last-1.
    dt_next = np.zeros(n)
    dt_next[:-1] = tr.dt_us[1:]
    dt_next[cut[cut > 0] - 1] = 0.0
    gap_next = port_gaps(tr, th)
    # An interval is stopped time when the vessel was stopped at both ends (a stop runs from its first to
    # its last stopped fix, as a person reads a track); a silence of visit_gap_h or more only as a port gap.
    both = stopped.copy()
    both[:-1] &= stopped[1:]
    stop_iv = (both & (dt_next < th.visit_gap_h * US_PER_H)) | gap_next
    stopped_h = interval_sum(dt_next * stop_iv, first, last) / US_PER_H
    longest = longest_stop_h(stop_iv, dt_next, breaks, first, last)
    gap = first_true_after(gap_next, first) < last
    first_stop = first_true_after(stopped, first)
    stop = first_stop <= last
    quiet = np.flatnonzero(~stop & ~gap)  # no stop by speed: a short rest at a slip still is one
    stop[quiet] = has_rest(tr, first[quiet], last[quiet], th.short_stop_radius_m, th.short_stop_min_min)
    gap_in = tr.dt_us.copy()
    gap_in[cut] = 0
    inner_rows = np.minimum(first + 1, last)
    max_gap_h = np.where(last > first, run_reduce(np.maximum, gap_in, inner_rows, last), 0) / US_PER_H
    seg_end = (last == n - 1) | breaks[np.minimum(last + 1, n - 1)]
    return Evidence(stopped_h, longest, max_gap_h, ~breaks[first], ~seg_end, stop, gap, first_stop)


def visits_table(
    tr: Tracks,
    runs: Runs,
    pl: PlaceArrays,
    stopped: np.ndarray,
    draught_at: FloatArray,
    vessel_last: np.ndarray,
    th: Thresholds,
) -> VisitRuns:
    """Build the visits table; ``draught_at`` is the reported draught in force at each row (NaN unknown),
    ``vessel_last`` marks rows that are their vessel's last position in the data."""
    ts = tr.ts
    keep = drop_overlaps(
        tr.mmsi[runs.first], runs.port, ts[runs.first], ts[runs.last], runs.last - runs.first
    )
    first, last, place = runs.first[keep], runs.last[keep], runs.port[keep]
    if len(first) == 0:
        return VisitRuns(first, last, place, schema.empty(schema.VISITS))
    ev = evidence(tr, first, last, stopped, th)
    at = np.where(ev.first_stop <= last, ev.first_stop, first)  # a rest without a stopped fix: entry
    at_stop, at_entry = runs.place_at(at), runs.place_at(first)
    anchorage = np.where(at_stop >= 0, at_stop, at_entry)
    mmsi = tr.mmsi[first]
    pid = pl.place_id[place]
    cls = np.asarray(VISIT_CLASSES, dtype=object)[ev.classes(th)]
    table = pa.table(
        {
            "visit_id": stable_ids("visit", mmsi, ts[first], pid),
            "mmsi": pa.array(mmsi, pa.int64()),
            "place_id": pa.array(pid.tolist(), pa.string()),
            "place_name": pa.array(pl.name[place].tolist(), pa.string()),
            "anchorage_id": pa.array(pl.place_id[anchorage].tolist(), pa.string()),
            "anchorage_name": pa.array(pl.name[anchorage].tolist(), pa.string()),
            "visit_class": pa.array(cls.tolist(), pa.string()),
            "events": pa.array(ev.events(), pa.string()),
            "arrival_ts": to_ts(ts[first]),
            "departure_ts": to_ts(ts[last]),
            "dwell_h": pa.array((ts[last] - ts[first]) / US_PER_H, pa.float64()),
            "stopped_h": pa.array(ev.stopped_h, pa.float64()),
            "longest_stop_h": pa.array(ev.longest_stop_h, pa.float64()),
            "n_positions": pa.array(last - first + 1, pa.int64()),
            "max_gap_h": pa.array(ev.max_gap_h, pa.float64()),
            "draught_arrival_m": pa.array(draught_at[first].astype(np.float32), from_pandas=True),
            "draught_departure_m": pa.array(draught_at[last].astype(np.float32), from_pandas=True),
            "confidence": pa.array(ev.confidence(), pa.float32()),
            "open": pa.array(vessel_last[last], pa.bool_()),
        },
        schema=schema.VISITS,
    )
    return VisitRuns(first, last, place, table)
