"""Shipments and volumes per route and period, as Monte Carlo distributions over the case's priors.

Per voyage on an outbound (laden) route:
  * tonnes by the displacement method when the ship's draught was reported before and after loading at the
    origin call (or unloading at the destination call) and its length and beam are known, with the block
    coefficient drawn from its prior; containers = tonnes / tonnes_per_container;
  * otherwise containers drawn from ``containers_per_voyage`` (independently per voyage), tonnes =
    containers x tonnes_per_container.
Every prior whose unit is ``<X>/container`` (e.g. ``shells_152mm/container``) turns containers into unit X.
Conversion factors are drawn once per Monte Carlo draw (a systematic unknown shared by all voyages); loads
per voyage vary independently. Percentiles 5/50/95 of the summed draws are the estimate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.errors import UsageError
from supplyline.estimate.cargo import cargo_moved_t
from supplyline.estimate.priors import PriorRange, prior_ranges
from supplyline.ids import stable_id

if TYPE_CHECKING:
    from supplyline.detect import Route

METHOD_DRAUGHT = "displacement (Arslanalp et al. 2021) where draught known, else containers_per_voyage prior"
MAX_DRAW_CELLS = 20_000_000  # draws x voyages per matrix; draws are reduced (and reported) beyond it
MIN_DRAWS = 1000
# an imaged ship call at a route origin within this many days of a detected departure is that voyage
OBS_MATCH_DAYS = 3.0
# tonnes/container converts between these; it is not a product unit like shells_152mm/container
_BASE_UNITS = ("voyages", "containers", "tonnes")


def outbound_routes(routes: Sequence[Route]) -> list[str]:
    """Route names that carry cargo out: every route except the reverse of one listed before it.

    The case lists each laden route before its return leg (rajin-dunai, then dunai-rajin), so the return
    legs are recognised by geometry, not by name.
    """
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    out = []
    for r in routes:
        o, d = tuple(sorted(r.origins)), tuple(sorted(r.destinations))
        if (d, o) in seen:
            continue
        seen.add((o, d))
        out.append(r.name)
    return out


def _short(place: str | None) -> str | None:
    return place.split(":", 1)[1] if place and place.startswith("case:") else place


@dataclass
class VoyageDraws:
    """Monte Carlo draws per voyage (rows = draws, columns = voyages) and per conversion factor."""

    voyages: pa.Table
    containers: np.ndarray | None  # (n_draws, n_voyages)
    tonnes: np.ndarray | None
    factors: dict[str, np.ndarray]  # unit -> (n_draws,) per-container factor
    factor_priors: dict[str, PriorRange]
    used_priors: dict[str, PriorRange]
    basis: list[str]  # per voyage: "draught" | "prior"
    n_draws: int
    seed: int
    tonnes_per_container: np.ndarray | None = None  # (n_draws,): the shared draw, for other modes' loads

    @property
    def units(self) -> list[str]:
        base = ["voyages"] + (["containers", "tonnes"] if self.containers is not None else [])
        return base + sorted(self.factors)

    def mask(self, start: date, end: date, routes: Sequence[str] | None = None) -> np.ndarray:
        """Voyages departing on days start..end inclusive (UTC), on ``routes`` if given."""
        dep = self.voyages["departure_ts"]
        lo = pa.scalar(datetime(start.year, start.month, start.day), pa.timestamp("us")).cast(schema.TS)
        end_day = end + timedelta(days=1)
        hi = pa.scalar(datetime(end_day.year, end_day.month, end_day.day), pa.timestamp("us")).cast(schema.TS)
        m = pc.and_(pc.greater_equal(dep, lo), pc.less(dep, hi))
        if routes is not None:
            m = pc.and_(m, pc.is_in(self.voyages["route"], pa.array(list(routes), pa.string())))
        return np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool)

    def draws(self, mask: np.ndarray, unit: str) -> np.ndarray:
        """Summed draws of ``unit`` over the voyages in ``mask`` (shape (n_draws,))."""
        n = int(mask.sum())
        if unit == "voyages":
            return np.full(self.n_draws, float(n))
        if self.containers is None or self.tonnes is None:
            raise KeyError(unit)
        w = mask.astype(np.float64)  # a mat-vec product sums the selected columns without copying them
        if unit == "containers":
            return self.containers @ w
        if unit == "tonnes":
            return self.tonnes @ w
        return (self.containers @ w) * self.factors[unit]

    def priors_for(self, unit: str) -> list[dict[str, Any]]:
        if unit == "voyages":
            return []
        used = dict(self.used_priors)
        if unit in self.factor_priors:
            used[self.factor_priors[unit].name] = self.factor_priors[unit]
        return [p.as_dict() for p in used.values()]


def _draught_tonnes(
    voyages: pa.Table, visits: pa.Table | None, particulars: pa.Table | None, cb: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(tonnes draws (n_draws, n_voyages) with NaN where unknown, measured mask) from port-call draughts."""
    n = voyages.num_rows
    if visits is None or particulars is None or visits.num_rows == 0 or particulars.num_rows == 0 or n == 0:
        return np.empty((cb.shape[0], 0)), np.zeros(n, dtype=bool)
    out = np.full((cb.shape[0], n), np.nan)
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register(
        "v",
        voyages.select(["voyage_id", "mmsi", "origin_id", "destination_id", "departure_ts", "arrival_ts"]),
    )
    con.register(
        "s",
        visits.select(
            ["mmsi", "place_id", "arrival_ts", "departure_ts", "draught_arrival_m", "draught_departure_m"]
        ),
    )
    con.register("p", particulars.select(["mmsi", "length_m", "beam_m"]))
    # loaded at the origin call (departure - arrival draught), else unloaded at the destination call
    delta = con.sql(
        """
        SELECT v.voyage_id,
               coalesce(o.draught_departure_m - o.draught_arrival_m, d.draught_arrival_m - d.draught_departure_m) AS dd,
               p.length_m, p.beam_m
        FROM v
        LEFT JOIN s o ON o.mmsi = v.mmsi AND o.place_id = v.origin_id AND o.departure_ts = v.departure_ts
        LEFT JOIN s d ON d.mmsi = v.mmsi AND d.place_id = v.destination_id AND d.arrival_ts = v.arrival_ts
        LEFT JOIN p ON p.mmsi = v.mmsi
        """
    ).fetchnumpy()
    order = {vid: i for i, vid in enumerate(voyages["voyage_id"].to_pylist())}
    idx = np.array([order[v] for v in delta["voyage_id"]], dtype=np.int64)
    dd = np.asarray(delta["dd"], dtype=np.float64)
    length = np.asarray(delta["length_m"], dtype=np.float64)
    beam = np.asarray(delta["beam_m"], dtype=np.float64)
    ok = np.isfinite(dd) & np.isfinite(length) & np.isfinite(beam) & (dd > 0)
    measured = np.zeros(n, dtype=bool)
    measured[idx[ok]] = True
    # cargo moved at the origin call = load at departure - load at arrival (dd > 0: loaded)
    out[:, idx[ok]] = cargo_moved_t(
        0.0, dd[ok][None, :], length[ok][None, :], beam[ok][None, :], cb[:, None], rho[:, None]
    )
    return out, measured


def voyage_draws(
    voyages: pa.Table,
    priors: Mapping[str, Any] | None,
    *,
    visits: pa.Table | None = None,
    particulars: pa.Table | None = None,
    n_draws: int = 10_000,
    seed: int = 0,
) -> VoyageDraws:
    """Draw cargo for every voyage in ``voyages`` (already restricted to the laden routes)."""
    pr = prior_ranges(priors)
    rng = np.random.default_rng(seed)
    n = voyages.num_rows
    if n * n_draws > MAX_DRAW_CELLS:  # (draws x voyages) float64 matrices: keep each under ~160 MB
        n_draws = MAX_DRAW_CELLS // n
        if n_draws < MIN_DRAWS:
            raise UsageError(
                f"{n:,} voyages are too many to draw at once; estimate fewer routes or a shorter period"
            )
    cb = pr["block_coefficient"].sample(rng, n_draws)
    rho = pr["seawater_density"].sample(rng, n_draws)
    tonnes_d, measured = _draught_tonnes(voyages, visits, particulars, cb, rho)
    containers, tonnes, used, tpc = _cargo_draws(pr, rng, n_draws, tonnes_d, measured)
    factors, factor_priors = _factor_draws(pr, rng, n_draws, containers is not None)
    return VoyageDraws(
        voyages=voyages,
        containers=containers,
        tonnes=tonnes,
        factors=factors,
        factor_priors=factor_priors,
        used_priors=used,
        basis=["draught" if m else "prior" for m in measured],
        n_draws=n_draws,
        seed=seed,
        tonnes_per_container=tpc,
    )


def _cargo_draws(
    pr: dict[str, PriorRange],
    rng: np.random.Generator,
    n_draws: int,
    tonnes_d: np.ndarray,
    measured: np.ndarray,
) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, PriorRange], np.ndarray | None]:
    """(containers, tonnes, priors used, tonnes per container), draws x voyages: from the draught where measured, else from the
    containers-per-voyage prior; None when the priors cannot give containers."""
    n = len(measured)
    used: dict[str, PriorRange] = {}
    containers = tonnes = tpc = None
    tpc_p, cpv_p = pr.get("tonnes_per_container"), pr.get("containers_per_voyage")
    if tpc_p is not None and (cpv_p is not None or measured.all()):
        tpc = tpc_p.sample(rng, n_draws)
        used["tonnes_per_container"] = tpc_p
        if cpv_p is not None and not measured.any():  # the common case on dark routes: no copies
            containers = cpv_p.sample(rng, (n_draws, n))
            used["containers_per_voyage"] = cpv_p
        else:
            containers = np.empty((n_draws, n))
        if cpv_p is not None and measured.any() and (~measured).any():
            containers[:, ~measured] = cpv_p.sample(rng, (n_draws, int((~measured).sum())))
            used["containers_per_voyage"] = cpv_p
        if measured.any():
            used["block_coefficient"] = pr["block_coefficient"]
            used["seawater_density"] = pr["seawater_density"]
            containers[:, measured] = tonnes_d[:, measured] / tpc[:, None]
        tonnes = containers * tpc[:, None]
        if measured.any():
            tonnes[:, measured] = tonnes_d[:, measured]
    return containers, tonnes, used, tpc


def _factor_draws(
    pr: dict[str, PriorRange], rng: np.random.Generator, n_draws: int, have_containers: bool
) -> tuple[dict[str, np.ndarray], dict[str, PriorRange]]:
    """Draws of every per-container product factor (e.g. shells_152mm/container), by product unit."""
    factors: dict[str, np.ndarray] = {}
    factor_priors: dict[str, PriorRange] = {}
    for name in sorted(pr):
        p = pr[name]
        unit = p.unit.replace(" ", "")
        out_unit = unit[: -len("/container")]
        if unit.endswith("/container") and have_containers and out_unit not in _BASE_UNITS:
            factors[out_unit] = p.sample(rng, n_draws)
            factor_priors[out_unit] = p
    return factors, factor_priors


def _months(start: date, end: date) -> list[tuple[date, date]]:
    out = []
    cur = date(start.year, start.month, 1)
    while cur <= end:
        nxt = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
        out.append((cur, nxt - timedelta(days=1)))
        cur = nxt
    return out


def _observations_at(
    observations: pa.Table | None, places: set[str | None], start: date, end: date, units: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Observations in ``units`` at ``places`` (short case ids) dated within start..end."""
    if observations is None or observations.num_rows == 0:
        return []
    return [
        o
        for o in observations.to_pylist()
        if o["unit"] in units and _short(o["place_id"]) in places and o["date"] and start <= o["date"] <= end
    ]


def estimate(
    voyages: pa.Table,
    priors: Mapping[str, Any] | None,
    *,
    routes: Sequence[str] | None = None,
    observations: pa.Table | None = None,
    visits: pa.Table | None = None,
    particulars: pa.Table | None = None,
    period: str = "month",
    n_draws: int = 10_000,
    seed: int = 0,
    combined_name: str = "all laden routes",
) -> tuple[pa.Table, VoyageDraws]:
    """Estimates (schema.ESTIMATES) per route and period (``month`` or ``all``) and for all routes together.

    ``routes``: the laden route names (default: every route named in ``voyages``). Returns the table and the
    draws, which claim tests reuse so claims and estimates share one set of Monte Carlo draws.
    """
    route_names = (
        list(routes) if routes is not None else sorted(set(voyages["route"].drop_null().to_pylist()))
    )
    v = voyages.filter(pc.is_in(voyages["route"], pa.array(route_names, pa.string())))
    v = v.sort_by([("departure_ts", "ascending"), ("mmsi", "ascending")])
    d = voyage_draws(v, priors, visits=visits, particulars=particulars, n_draws=n_draws, seed=seed)
    if v.num_rows == 0:
        return schema.ESTIMATES.empty_table(), d
    deps = v["departure_ts"].to_pylist()
    first, last = deps[0].date(), deps[-1].date()
    groups: list[tuple[str, list[str]]] = [(r, [r]) for r in route_names]
    if len(route_names) > 1:
        groups.append((combined_name, route_names))
    origins_of, ports_of = _route_places(v, route_names)
    all_origins: set[str | None] = set().union(*origins_of.values())
    calls = assign_imaged_calls(_observations_at(observations, all_origins, first, last, ("ships",)), v)
    voyage_ids = v["voyage_id"].to_pylist()
    rows: list[dict[str, Any]] = []
    for label, members in groups:
        origins: set[str | None] = set().union(*(origins_of[m] for m in members))
        ports: set[str | None] = set().union(*(ports_of[m] for m in members))
        for p0, p1 in _periods(first, last, period):
            mask = d.mask(p0, p1, members)
            ids = [x for x, m in zip(voyage_ids, mask, strict=True) if m]
            if not ids and (p0, p1) != (first, last):
                continue
            # imaged ships and containers at the route's ports in the period, listed beside the estimate
            context = _observations_at(observations, ports, p0, p1, ("ships", "containers"))
            rows += _draw_rows(label, members, p0, p1, d, mask, ids, [o["obs_id"] for o in context])
            obs = _observations_at(observations, origins, p0, p1, ("ships",))
            if obs:
                unmatched = [o for o, r in calls if r in members and p0 <= o["date"] <= p1]
                rows.append(_imaged_row(label, members, p0, p1, ids, obs, unmatched))
    return pa.Table.from_pylist(rows, schema=schema.ESTIMATES), d


def _periods(first: date, last: date, period: str) -> list[tuple[date, date]]:
    """``month``: each calendar month, then the whole span; ``all``: the whole span only."""
    if period != "month":
        return [(first, last)]
    return [*_months(first, last), (first, last)]


def _route_places(
    v: pa.Table, route_names: list[str]
) -> tuple[dict[str, set[str | None]], dict[str, set[str | None]]]:
    """Per route: its origin places, and all its places (origins and destinations), as short case ids."""
    origins_of: dict[str, set[str | None]] = {r: set() for r in route_names}
    ports_of: dict[str, set[str | None]] = {r: set() for r in route_names}
    for o, dst, r in zip(
        v["origin_id"].to_pylist(), v["destination_id"].to_pylist(), v["route"].to_pylist(), strict=True
    ):
        origins_of[r].add(_short(o))
        ports_of[r].update((_short(o), _short(dst)))
    return origins_of, ports_of


def _draw_rows(
    label: str,
    members: list[str],
    p0: date,
    p1: date,
    d: VoyageDraws,
    mask: np.ndarray,
    ids: list[str],
    context: list[str],
) -> list[dict[str, Any]]:
    """One ESTIMATES row per unit: the 5/50/95 % of the Monte Carlo draws of the voyages in ``mask``."""
    rows = []
    n_draught = sum(1 for b, m in zip(d.basis, mask, strict=True) if m and b == "draught")
    for unit in d.units:
        p05, p50, p95 = (float(x) for x in np.percentile(d.draws(mask, unit), [5, 50, 95]))
        inputs = {
            "voyage_ids": ids,
            "basis": {"draught": n_draught},
            "observation_ids": context,
            "priors": d.priors_for(unit),
            "n_draws": d.n_draws,
            "seed": d.seed,
            "routes": members,
        }
        method = "count of detected voyages" if unit == "voyages" else f"monte carlo: {METHOD_DRAUGHT}"
        rows.append(_row(label, p0, p1, unit, p05, p50, p95, method, inputs))
    return rows


def _imaged_row(
    label: str,
    members: list[str],
    p0: date,
    p1: date,
    ids: list[str],
    obs: list[dict[str, Any]],
    unmatched: list[dict[str, Any]],
) -> dict[str, Any]:
    """Voyages as detected (low) and plus the imaged origin calls no detected voyage explains and that
    belong to these routes (mid, high; see :func:`assign_imaged_calls`)."""
    n = float(len(ids))
    inputs = {
        "voyage_ids": ids,
        "observation_ids": [o["obs_id"] for o in obs],
        "unmatched_observation_ids": [o["obs_id"] for o in unmatched],
        "match_days": OBS_MATCH_DAYS,
        "routes": members,
    }
    method = "detected voyages + imaged calls at the origin without a detected voyage"
    return _row(label, p0, p1, "voyages", n, n + len(unmatched), n + len(unmatched), method, inputs)


def whole_span(estimates: pa.Table) -> pa.Table:
    """The rows covering each route's whole span (the longest period of that route)."""
    days = pc.cast(pc.days_between(estimates["period_start"], estimates["period_end"]), pa.int64())
    t = estimates.append_column("_days", days)
    longest = t.group_by("route").aggregate([("_days", "max")])
    keep = t.join(longest, "route").filter(pc.equal(pc.field("_days"), pc.field("_days_max")))
    return keep.drop_columns(["_days", "_days_max"]).sort_by([("route", "ascending"), ("unit", "ascending")])


def assign_imaged_calls(obs: list[dict[str, Any]], v: pa.Table) -> list[tuple[dict[str, Any], str | None]]:
    """The imaged ship calls at route origins that no detected voyage explains, each with the route it
    belongs to: the route of the nearest detected departure from the same place, whatever route that is.

    A call within ``OBS_MATCH_DAYS`` of a departure from its place (on any laden route) is that voyage and is
    left out; so a 2024 Rajin call beside Vostochny runs is never added to rajin-dunai (no double count).
    Calls at a place with no detected departure get route None (counted on no route).
    """
    deps = np.array([t.timestamp() for t in v["departure_ts"].to_pylist()]) / 86400.0
    origin = np.array([_short(o) or "" for o in v["origin_id"].to_pylist()], dtype=object)
    routes = v["route"].to_pylist()
    out: list[tuple[dict[str, Any], str | None]] = []
    for o in obs:
        day = datetime(o["date"].year, o["date"].month, o["date"].day, tzinfo=UTC).timestamp() / 86400.0 + 0.5
        here = np.flatnonzero(origin == _short(o["place_id"]))
        if here.size == 0:
            out.append((o, None))
            continue
        dist = np.abs(deps[here] - day)
        if dist.min() > OBS_MATCH_DAYS:
            out.append((o, routes[int(here[np.argmin(dist)])]))
    return out


def _row(
    route: str,
    p0: date,
    p1: date,
    unit: str,
    p05: float,
    p50: float,
    p95: float,
    method: str,
    inputs: dict[str, Any],
) -> dict[str, Any]:
    return {
        "estimate_id": stable_id("estimate", route, p0, p1, unit, method),
        "route": route,
        "period_start": p0,
        "period_end": p1,
        "unit": unit,
        "p05": p05,
        "p50": p50,
        "p95": p95,
        "method": method,
        "inputs": json.dumps(inputs, default=str, sort_keys=True),
    }
