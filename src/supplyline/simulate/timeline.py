"""Ship schedules: calls -> a timeline of dwells and legs, and the ground truth that follows from it.

Scheduling a ship: from its current stop it leaves after the stop's minimum dwell, no earlier than the
stop's target departure, and late enough to arrive at the next stop by that stop's target arrival (so a
ship waits at the unloading port until it is time to sail for the next load). Everything the truth
tables need (port visits with draught, voyages, meetings, identity changes, switched-off windows) is
known from the timeline before a single position is generated.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.geo import haversine_km
from supplyline.simulate.lanes import Path, Profile, make_path, make_profile
from supplyline.simulate.scenario import Call, Identity, Scenario, Ship

NAV_UNDERWAY, NAV_ANCHOR, NAV_MOORED = 0, 1, 5
MEET_DRIFT_KN = 0.4  # ships alongside drift together at this speed
ANCHOR_SWING_M = 80.0  # radius a ship at anchor swings around its anchor
ANCHOR_SWING_H = 6.0  # one swing per tide-ish period


@dataclass(frozen=True)
class Dwell:
    """The ship stays at (lat, lon) from t0 to t1: moored at a berth, at anchor, or drifting at a meeting."""

    t0: float
    t1: float
    lat: float
    lon: float
    kind: str  # berth | anchor | meet
    heading: float
    call: Call


@dataclass(frozen=True)
class Leg:
    """The ship sails ``path`` from t0 to t1 following ``profile``."""

    t0: float
    t1: float
    path: Path
    cruise_kn: float  # rounded to 0.1 kn so legs share cached profiles (memory stays small)

    @property
    def profile(self) -> Profile:
        return make_profile(round(self.path.length_km, 6), self.cruise_kn)


@dataclass(frozen=True)
class Stop:
    """A port call (not a meeting) with its arrival/departure as a visit detector should see them."""

    place_id: str
    arrival: float  # crossing r_in inbound (ship start for the first stop)
    departure: float | None  # crossing r_out outbound (None: still there at the end)
    berth_arrival: float
    berth_departure: float | None
    draught_arrival: float
    draught_departure: float
    first: bool


@dataclass
class ShipPlan:
    """A ship's whole timeline in arrays the generator can look up by time."""

    ship: Ship
    index: int
    t_start: float
    t_end: float
    segs: list[Dwell | Leg]
    seg_start: np.ndarray
    off_a: np.ndarray
    off_b: np.ndarray
    spoof: np.ndarray  # (n, 4): start, end, lat, lon
    id_at: np.ndarray
    dr_at: np.ndarray
    dr_val: np.ndarray
    stops: list[Stop]
    stop_arr: np.ndarray  # berth arrival of each stop (for the statics destination/ETA)
    legs_dark: list[bool] = field(default_factory=list)
    leg_km: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # schedule targets that could not be met


def _merge(windows: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, non-overlapping (start, end) arrays of the union of ``windows``."""
    if not windows:
        return np.zeros(0), np.zeros(0)
    w = sorted(windows)
    out = [list(w[0])]
    for a, b in w[1:]:
        if a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    arr = np.asarray(out, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def _crossing(path: Path, lat: float, lon: float, radius_m: float, inbound: bool) -> float:
    """Distance along ``path`` (km) where it crosses the circle around (lat, lon): last entry or first exit."""
    d = haversine_km(path.lat, path.lon, lat, lon) * 1000.0
    inside = d <= radius_m
    if inbound:
        if not inside[-1]:
            return path.length_km
        out = np.flatnonzero(~inside)
        if len(out) == 0:
            return 0.0
        i = out[-1]  # last point outside; the crossing lies between i and i+1
    else:
        if not inside[0]:
            return 0.0
        out = np.flatnonzero(~inside)
        if len(out) == 0:
            return path.length_km
        i = out[0] - 1
    f = (d[i] - radius_m) / (d[i] - d[i + 1]) if d[i] != d[i + 1] else 0.0
    return float(path.km[i] + f * (path.km[i + 1] - path.km[i]))


def _same_spot(a: Call, b: Call) -> bool:
    return b.kind != "meet" and a.kind != "meet" and bool(haversine_km(a.lat, a.lon, b.lat, b.lon) < 0.05)


class _Planner:
    """Walks one ship's calls in order, sailing a leg to each new spot.

    State of the stay at the current spot (``cur``, arrived at ``arr``): the least dwell, the target
    departure, the draught after it, the dark window of the next leg and the leg that brought the ship here
    (with its r_in crossing, in km along the path). The plan built so far: segments, dark windows, draught
    changes, port stops, per-leg facts and warnings. Random draws (cruise speed per leg, then anchor swing
    phase per dwell) come from one generator in a fixed order, so a plan is reproducible from the seed.
    """

    def __init__(self, sc: Scenario, ship: Ship, index: int) -> None:
        self.sc, self.ship, self.index = sc, ship, index
        self.rng = np.random.default_rng([sc.seed, 11, index])
        self.segs: list[Dwell | Leg] = []
        self.off: list[tuple[float, float]] = list(ship.off)
        self.draught = ship.draught_laden_m if ship.initial_draught == "laden" else ship.draught_ballast_m
        self.dr_at, self.dr_val = [ship.start], [self.draught]
        self.stops: list[Stop] = []
        self.legs_dark: list[bool] = []
        self.leg_km: list[float] = []
        self.warnings: list[str] = []
        self.cur = ship.start_place
        self.arr = ship.start
        self.min_dwell = 0.0
        self.dep_target: float | None = None
        self.draught_here: str | None = None
        self.dark_out: tuple[float, float] | None = None
        self.inbound: tuple[Leg, float] | None = None

    def extend_stay(self, call: Call) -> None:
        """Another call at the same berth: the stay goes on."""
        self.min_dwell = max(self.min_dwell, (call.arrive_by or self.arr) - self.arr + call.dwell_s)
        self.dep_target = call.depart_at if call.depart_at is not None else self.dep_target
        self.draught_here = call.draught or self.draught_here
        self.dark_out = call.dark_out

    def _route(self, call: Call) -> tuple[Path, Profile, float]:
        """Path from the current spot to ``call``, its speed profile and the leg's cruise speed (kn)."""
        cur = self.cur
        via = self.sc.lanes.get((cur.place_id or "", call.place_id or ""))
        if via is None and "meet" in (cur.kind, call.kind):
            via = np.zeros(
                (0, 2)
            )  # to/from a meeting point at sea: straight (not along shared network lanes)
        path = make_path(
            (cur.lon, cur.lat),
            (call.lon, call.lat),
            tuple(map(tuple, via.tolist())) if via is not None else None,
        )
        cruise = round(self.ship.speed_kn * float(1.0 + 0.03 * self.rng.standard_normal()), 1)
        return path, make_profile(round(path.length_km, 6), cruise), cruise

    def _departure(self, call: Call, duration_s: float) -> float:
        """Leave after the least dwell, not before the target departure, in time to meet ``arrive_by``."""
        dep = self.arr + self.min_dwell
        if self.dep_target is not None:
            dep = max(dep, self.dep_target)
        if call.arrive_by is not None:
            dep = max(dep, call.arrive_by - duration_s)
        return dep

    def sail(self, call: Call) -> bool:
        """Dwell here, then sail to ``call``; False (with a warning) when departure falls after the end."""
        ship = self.ship
        path, prof, cruise = self._route(call)
        dep = self._departure(call, prof.duration_s)
        if dep >= self.sc.end:
            left = len(ship.calls) - ship.calls.index(call)
            self.warnings.append(
                f"ship {ship.key!r}: {left} call(s) fall after the scenario end and were not sailed"
            )
            return False
        arrive = dep + prof.duration_s
        if call.arrive_by is not None and arrive > call.arrive_by + 3600:
            late_h = (arrive - call.arrive_by) / 3600
            where = call.place_id or f"meeting {call.meet_id}"
            self.warnings.append(f"ship {ship.key!r} reaches {where} {late_h:.1f} h after its target arrival")
        leg = Leg(dep, arrive, path, cruise)
        self._dwell(dep)
        self._finish_stop(dep, leg)
        self.segs.append(leg)
        self._dark_window(dep, path, prof)
        self._arrive(call, leg, path)
        return True

    def _dwell(self, until: float) -> None:
        cur = self.cur
        self.segs.append(
            Dwell(self.arr, until, cur.lat, cur.lon, cur.kind, float(self.rng.uniform(0, 360)), cur)
        )

    def _dark_window(self, dep: float, path: Path, prof: Profile) -> None:
        """The transponder-off stretch of the leg just sailed (from the stay's ``dark_out``), if any."""
        is_dark = False
        if self.dark_out is not None:
            off_s = min(self.dark_out[0], path.length_km)
            on_s = max(path.length_km - self.dark_out[1], off_s)
            self.off.append((dep + float(prof.t_at(off_s)), dep + float(prof.t_at(on_s))))
            is_dark = on_s > off_s
        self.legs_dark.append(is_dark)
        self.leg_km.append(path.length_km)

    def _arrive(self, call: Call, leg: Leg, path: Path) -> None:
        """A new stay at ``call`` (a meeting ends at its set time, so it has no least dwell)."""
        place = self.sc.places.get(call.place_id or "")
        s_in = _crossing(path, place.lat, place.lon, place.r_in_m, inbound=True) if place else path.length_km
        self.inbound = (leg, s_in)
        self.arr = leg.t1
        self.cur = call
        self.min_dwell = 0.0 if call.kind == "meet" else call.dwell_s
        self.dep_target = call.depart_at
        self.draught_here = call.draught
        self.dark_out = call.dark_out

    def _change_draught(self, arr_t: float, dep_t: float | None) -> None:
        """The stay's draught change (laden/ballast), 60 % of the way through the stay."""
        if self.draught_here is None:
            return
        ship = self.ship
        new = ship.draught_laden_m if self.draught_here == "laden" else ship.draught_ballast_m
        if new != self.draught:
            end = dep_t if dep_t is not None else self.sc.end
            self.dr_at.append(arr_t + 0.6 * (end - arr_t))
            self.dr_val.append(new)
            self.draught = new

    def _finish_stop(self, dep_t: float | None, out_leg: Leg | None) -> None:
        """Close the stay at ``cur``: its draught change, and a port stop with circle crossing times."""
        arr_t = self.arr
        if dep_t is not None and dep_t <= arr_t:
            dep_t = arr_t
        d_arr = self.draught
        self._change_draught(arr_t, dep_t)
        cur, inbound = self.cur, self.inbound
        if cur.kind == "meet" or cur.place_id is None:
            return
        place = self.sc.places[cur.place_id]
        arrival = inbound[0].t0 + float(inbound[0].profile.t_at(inbound[1])) if inbound else self.ship.start
        departure = None
        if out_leg is not None:
            s_out = _crossing(out_leg.path, place.lat, place.lon, place.r_out_m, inbound=False)
            departure = out_leg.t0 + float(out_leg.profile.t_at(s_out))
        self.stops.append(
            Stop(cur.place_id, arrival, departure, arr_t, dep_t, d_arr, self.draught, first=inbound is None)
        )

    def finish(self) -> ShipPlan:
        """The last stay runs to the scenario's end; the plan as arrays."""
        ship, sc, stops = self.ship, self.sc, self.stops
        if self.arr < sc.end:
            self._dwell(sc.end)
            self._finish_stop(None, None)
        off_a, off_b = _merge(self.off)
        spoof = np.asarray(ship.spoofs, dtype=np.float64).reshape(-1, 4)
        return ShipPlan(
            ship=ship,
            index=self.index,
            t_start=ship.start,
            t_end=sc.end,
            segs=self.segs,
            seg_start=np.asarray([s.t0 for s in self.segs], dtype=np.float64),
            off_a=off_a,
            off_b=off_b,
            spoof=spoof[np.argsort(spoof[:, 0])] if len(spoof) else spoof,
            id_at=np.asarray([i.at for i in ship.identities], dtype=np.float64),
            dr_at=np.asarray(self.dr_at, dtype=np.float64),
            dr_val=np.asarray(self.dr_val, dtype=np.float64),
            stops=stops,
            stop_arr=np.asarray([s.berth_arrival for s in stops], dtype=np.float64),
            legs_dark=self.legs_dark,
            leg_km=self.leg_km,
            warnings=self.warnings,
        )


def plan_ship(sc: Scenario, ship: Ship, index: int) -> ShipPlan:
    """Schedule ``ship``'s calls into dwells and legs; derive draught, dark windows and port stops."""
    planner = _Planner(sc, ship, index)
    for call in ship.calls:
        if _same_spot(planner.cur, call):
            planner.extend_stay(call)
        elif not planner.sail(call):
            break
    return planner.finish()


# --- truth tables -------------------------------------------------------------------------------------------


def to_ts(values: list[float | None]) -> pa.Array:
    """Unix seconds -> timestamp[us, UTC] (None stays null)."""
    us = [None if v is None else round(v * 1e6) for v in values]
    return pa.array(us, pa.int64()).cast(schema.TS)


def identity_at(plan: ShipPlan, t: float) -> int:
    """Index of the identity broadcast at time ``t``."""
    return max(int(np.searchsorted(plan.id_at, t, side="right")) - 1, 0)


@lru_cache(maxsize=1)
def mid_flags() -> dict[int, str]:
    """ITU MID -> flag administration (shipped table)."""
    with resources.files("supplyline.data").joinpath("itu_mid.csv").open(encoding="utf-8") as f:
        return {int(r["mid"]): r["flag"] for r in csv.DictReader(f)}


def flag_of(mmsi: int) -> str | None:
    return mid_flags().get(int(str(mmsi)[:3]))


def route_name(sc: Scenario, origin: str, destination: str) -> str | None:
    for name, origins, dests in sc.routes:
        if origin in origins and destination in dests:
            return name
    return None


def _visit_row(sc: Scenario, plan: ShipPlan, st: Stop, ident: Identity) -> dict[str, object]:
    """A port stop as a true visit; open when it runs past the end or was under way at the start."""
    dep = st.departure if st.departure is not None and st.departure <= sc.end else None
    return {
        "ship": plan.ship.key,
        "mmsi": ident.mmsi,
        "name": ident.name,
        "place_id": st.place_id,
        "place_name": sc.places[st.place_id].name,
        "arrival_ts": st.arrival,
        "departure_ts": dep,
        "dwell_h": None if dep is None else (dep - st.arrival) / 3600,
        "draught_arrival_m": st.draught_arrival,
        "draught_departure_m": st.draught_departure,
        "open": dep is None or st.first,
    }


def _voyage_row(
    sc: Scenario, plan: ShipPlan, st: Stop, nxt: Stop, ident: Identity, departure: float
) -> dict[str, object]:
    """The voyage from stop ``st`` (left at ``departure``) to the next stop: the legs sailed in between."""
    ship = plan.ship
    legs = [
        (i, s)
        for i, s in enumerate(x for x in plan.segs if isinstance(x, Leg))
        if st.berth_departure is not None and st.berth_departure <= s.t0 < nxt.berth_arrival
    ]
    return {
        "ship": ship.key,
        "mmsi": ident.mmsi,
        "origin_id": st.place_id,
        "origin_name": sc.places[st.place_id].name,
        "destination_id": nxt.place_id,
        "destination_name": sc.places[nxt.place_id].name,
        "departure_ts": departure,
        "arrival_ts": nxt.arrival,
        "duration_h": (nxt.arrival - departure) / 3600,
        "dist_km": float(sum(plan.leg_km[i] for i, _ in legs)),
        "draught_departure_m": st.draught_departure,
        "draught_arrival_m": nxt.draught_arrival,
        "laden": st.draught_departure > ship.draught_ballast_m,
        "dark": any(plan.legs_dark[i] for i, _ in legs),
        "route": route_name(sc, st.place_id, nxt.place_id),
    }


_VISIT_TYPES: dict[str, pa.DataType | None] = {
    "ship": pa.string(), "mmsi": pa.int64(), "name": pa.string(), "place_id": pa.string(),
    "place_name": pa.string(), "arrival_ts": None, "departure_ts": None, "dwell_h": pa.float64(),
    "draught_arrival_m": pa.float32(), "draught_departure_m": pa.float32(), "open": pa.bool_(),
}  # fmt: skip
_VOYAGE_TYPES: dict[str, pa.DataType | None] = {
    "ship": pa.string(), "mmsi": pa.int64(), "origin_id": pa.string(), "origin_name": pa.string(),
    "destination_id": pa.string(), "destination_name": pa.string(), "departure_ts": None, "arrival_ts": None,
    "duration_h": pa.float64(), "dist_km": pa.float64(), "draught_departure_m": pa.float32(),
    "draught_arrival_m": pa.float32(), "laden": pa.bool_(), "dark": pa.bool_(), "route": pa.string(),
}  # fmt: skip


def _rows_table(rows: list[dict[str, object]], types: dict[str, pa.DataType | None]) -> pa.Table:
    """Rows as a table with columns in ``types`` order; a type None is a time in unix s (-> timestamp)."""
    return pa.table(
        {
            name: to_ts([r[name] for r in rows]) if typ is None else pa.array([r[name] for r in rows], typ)  # type: ignore[misc]
            for name, typ in types.items()
        }
    )


def truth_tables(sc: Scenario, plans: list[ShipPlan]) -> dict[str, pa.Table]:
    """visits, voyages, encounters, identity_changes, spoofing (dark gaps come from the generator)."""
    v_rows: list[dict[str, object]] = []
    y_rows: list[dict[str, object]] = []
    for plan in plans:
        for k, st in enumerate(plan.stops):
            ident = plan.ship.identities[identity_at(plan, st.arrival)]
            v_rows.append(_visit_row(sc, plan, st, ident))
            if k + 1 < len(plan.stops) and st.departure is not None:
                y_rows.append(_voyage_row(sc, plan, st, plan.stops[k + 1], ident, st.departure))
    return {
        "visits": _rows_table(v_rows, _VISIT_TYPES),
        "voyages": _rows_table(y_rows, _VOYAGE_TYPES),
        "encounters": _encounters(sc, plans),
        "identity_changes": _identity_changes(sc, plans),
        "spoofing": _spoofing(plans),
    }


def _encounters(sc: Scenario, plans: list[ShipPlan]) -> pa.Table:
    by_key = {p.ship.key: p for p in plans}
    rows = []
    for en in sc.encounters:
        spans = []
        for k in en.ships:
            d = [s for s in by_key[k].segs if isinstance(s, Dwell) and s.call.meet_id == en.key]
            spans.append((d[0].t0, d[0].t1) if d else None)
        if spans[0] is None or spans[1] is None:
            continue
        t0, t1 = max(spans[0][0], spans[1][0]), min(spans[0][1], spans[1][1])
        if t1 <= t0:
            continue
        m = sorted(by_key[k].ship.identities[identity_at(by_key[k], t0)].mmsi for k in en.ships)
        rows.append((en.key, m[0], m[1], t0, t1, en.lat, en.lon))
    return pa.table(
        {
            "encounter": pa.array([r[0] for r in rows], pa.string()),
            "mmsi_a": pa.array([r[1] for r in rows], pa.int64()),
            "mmsi_b": pa.array([r[2] for r in rows], pa.int64()),
            "start_ts": to_ts([r[3] for r in rows]),
            "end_ts": to_ts([r[4] for r in rows]),
            "duration_h": pa.array([(r[4] - r[3]) / 3600 for r in rows], pa.float64()),
            "lat": pa.array([r[5] for r in rows], pa.float64()),
            "lon": pa.array([r[6] for r in rows], pa.float64()),
        }
    )


def _identity_changes(sc: Scenario, plans: list[ShipPlan]) -> pa.Table:
    rows: list[tuple[object, ...]] = []
    for plan in plans:
        ids = plan.ship.identities
        for a, b in itertools.pairwise(ids):
            kinds = []
            if a.name != b.name:
                kinds.append("rename")
            if a.mmsi != b.mmsi:
                kinds.append("new_mmsi")
                if flag_of(a.mmsi) != flag_of(b.mmsi):
                    kinds.append("reflag")
            if a.callsign != b.callsign:
                kinds.append("new_callsign")
            rows.append(
                (b.at, plan.ship.key, "+".join(kinds) or "none", a.mmsi, b.mmsi, a.name, b.name,
                 flag_of(a.mmsi), flag_of(b.mmsi), None)
            )  # fmt: skip
    # one MMSI broadcast by two ships at once
    spans: dict[int, list[tuple[float, float, str]]] = {}
    for plan in plans:
        ids = plan.ship.identities
        for j, ident in enumerate(ids):
            end = ids[j + 1].at if j + 1 < len(ids) else plan.t_end
            spans.setdefault(ident.mmsi, []).append((max(ident.at, plan.t_start), end, plan.ship.key))
    for mmsi, sp in sorted(spans.items()):
        for i in range(len(sp)):
            for j in range(i + 1, len(sp)):
                if sp[i][2] != sp[j][2] and max(sp[i][0], sp[j][0]) < min(sp[i][1], sp[j][1]):
                    rows.append(
                        (max(sp[i][0], sp[j][0]), sp[i][2], "shared_mmsi", mmsi, mmsi, None, None,
                         flag_of(mmsi), flag_of(mmsi), sp[j][2])
                    )  # fmt: skip
    rows.sort(key=lambda r: (float(r[0]), str(r[1])))  # type: ignore[arg-type]
    return pa.table(
        {
            "ts": to_ts([r[0] for r in rows]),  # type: ignore[misc]
            "ship": pa.array([r[1] for r in rows], pa.string()),
            "kind": pa.array([r[2] for r in rows], pa.string()),
            "mmsi_before": pa.array([r[3] for r in rows], pa.int64()),
            "mmsi_after": pa.array([r[4] for r in rows], pa.int64()),
            "name_before": pa.array([r[5] for r in rows], pa.string()),
            "name_after": pa.array([r[6] for r in rows], pa.string()),
            "flag_before": pa.array([r[7] for r in rows], pa.string()),
            "flag_after": pa.array([r[8] for r in rows], pa.string()),
            "other_ship": pa.array([r[9] for r in rows], pa.string()),
        }
    )


def _spoofing(plans: list[ShipPlan]) -> pa.Table:
    rows = [
        (p.ship.key, p.ship.identities[identity_at(p, a)].mmsi, a, b, la, lo)
        for p in plans
        for a, b, la, lo in p.spoof.tolist()
    ]
    return pa.table(
        {
            "ship": pa.array([r[0] for r in rows], pa.string()),
            "mmsi": pa.array([r[1] for r in rows], pa.int64()),
            "start_ts": to_ts([r[2] for r in rows]),
            "end_ts": to_ts([r[3] for r in rows]),
            "reported_lat": pa.array([r[4] for r in rows], pa.float64()),
            "reported_lon": pa.array([r[5] for r in rows], pa.float64()),
        }
    )


def plan_all(sc: Scenario) -> list[ShipPlan]:
    return [plan_ship(sc, s, i) for i, s in enumerate(sc.ships)]
