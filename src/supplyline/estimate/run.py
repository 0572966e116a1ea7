"""`supplyline estimate` over a store: estimates and claim tests from the stored events and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from supplyline import schema
from supplyline.errors import StoreError
from supplyline.estimate.claims import ClaimTestConfig, assess_claims
from supplyline.estimate.destinations import DepotFigure, depot_figure
from supplyline.estimate.joint import JointDraws, joint_draws, joint_rows
from supplyline.estimate.scope import ship_key
from supplyline.estimate.shipments import VoyageDraws, assign_imaged_calls, estimate, outbound_routes
from supplyline.store import WHOLE, Store

if TYPE_CHECKING:
    from supplyline.case import Case


@dataclass
class EstimateResult:
    estimates: pa.Table  # schema.ESTIMATES
    claim_tests: pa.Table  # schema.CLAIM_TESTS
    routes: list[str]
    data_start: date
    data_end: date
    depots: DepotFigure | None = None  # "N of M sites within X km of a depot" (a case with depots)


def _evidence(store: Store, name: str, fallback: pa.Table | None, schema_: pa.Schema) -> pa.Table:
    table = store.read_table(name, schema_)
    if table.num_rows == 0 and fallback is not None:
        return fallback
    return table


def particulars_from_statics(store: Store) -> pa.Table:
    """Length and beam per MMSI (the most frequently reported non-null value, in metres)."""
    con = store.connect()
    try:
        return con.sql(
            """
            SELECT mmsi, mode(length_m)::DOUBLE AS length_m, mode(width_m)::DOUBLE AS beam_m
            FROM statics WHERE length_m > 0 AND width_m > 0 GROUP BY mmsi
            """
        ).to_arrow_table()
    finally:
        con.close()


def ship_identities(store: Store, case: Case | None = None) -> dict[str, list[int]]:
    """Ship key (:func:`ship_key`: name or ``IMO<n>``) -> the MMSIs that reported it in static messages, with
    the case watchlist's names and aliases added for ships known by IMO or name."""
    rows: list[tuple[int, str | None, int | None]] = []
    if store.has_files("statics"):
        con = store.connect()
        try:
            rows = con.sql(
                "SELECT DISTINCT mmsi, name, imo FROM statics WHERE name IS NOT NULL OR imo IS NOT NULL"
            ).fetchall()
        finally:
            con.close()
    out: dict[str, set[int]] = {}
    for mmsi, name, imo in rows:
        for key in (name, imo):
            if key:
                out.setdefault(ship_key(key), set()).add(int(mmsi))
    for v in case.watchlist.vessels if case is not None else ():
        known: set[int] = set()
        for key in (v.imo, v.name, *v.aliases, v.mmsi):
            if key:
                known |= out.get(ship_key(key), set())
        if v.mmsi:
            known.add(int(v.mmsi))
        for key in (v.imo, v.name, *v.aliases):
            if key and known:
                out.setdefault(ship_key(key), set()).update(known)
    return {k: sorted(v) for k, v in out.items()}


def _joint(
    draws: VoyageDraws, case: Case | None, observations: pa.Table | None, seed: int
) -> JointDraws | None:
    """The joint model over the laden voyages, the case's rail counts and trade records (None without a case)."""
    if case is None:
        return None
    places = case.places.to_pylist()
    kinds = {p["place_id"].removeprefix("case:"): p["kind"] or "" for p in places}
    v = draws.voyages
    ports = {
        p.removeprefix("case:") for p in v["origin_id"].to_pylist() + v["destination_id"].to_pylist() if p
    }
    origins = {p.removeprefix("case:") for p in v["origin_id"].to_pylist() if p}
    ships_seen = [
        o
        for o in (observations.to_pylist() if observations is not None else [])
        if o["unit"] == "ships"
        and o["date"] is not None
        and (o["place_id"] or "").removeprefix("case:") in origins
    ]
    return joint_draws(
        draws,
        case.priors,
        observations=observations,
        place_kinds=kinds,
        route_ports=ports,
        imaged=assign_imaged_calls(ships_seen, v),
        seed=seed,
    )


def run_estimate(
    store: Store,
    case: Case | None = None,
    *,
    period: str = "month",
    n_draws: int = 10_000,
    seed: int = 0,
    claims_cfg: ClaimTestConfig | None = None,
    record: bool = True,
    depot_km: float = 20.0,
) -> EstimateResult:
    """Estimate every laden route of the case (or every route in the voyages) and test every claim."""
    voyages = store.read_table("voyages")
    if voyages.num_rows == 0:
        raise StoreError(f"the store {store.root} has no voyages; run `supplyline detect` first")
    routes = outbound_routes(case.routes) if case is not None else None
    con = store.connect()
    try:
        span = con.sql("SELECT min(ts)::DATE, max(ts)::DATE FROM positions").fetchall()[0]
    finally:
        con.close()
    if span[0] is None:
        span = (voyages["departure_ts"][0].as_py().date(), datetime.now(UTC).date())
    observations = _evidence(
        store, "observations", None if case is None else case.observations, schema.OBSERVATIONS
    )
    claims = _evidence(store, "claims", None if case is None else case.claims, schema.CLAIMS)
    priors = case.priors if case is not None else None
    visits = store.read_table("visits")
    est, draws = estimate(
        voyages,
        priors,
        routes=routes,
        observations=observations,
        visits=visits,
        particulars=particulars_from_statics(store),
        period=period,
        n_draws=n_draws,
        seed=seed,
    )
    used_routes = routes if routes is not None else sorted(set(voyages["route"].drop_null().to_pylist()))
    joint = _joint(draws, case, observations, seed)
    if joint is not None and draws.voyages.num_rows:
        est = pa.concat_tables(
            [est, pa.Table.from_pylist(joint_rows(joint, span[0], span[1]), schema=schema.ESTIMATES)]
        )
    tests = assess_claims(
        claims,
        draws,
        priors,
        data_start=span[0],
        data_end=span[1],
        cfg=claims_cfg,
        ships=ship_identities(store, case),
        joint=joint,
    )
    if record:  # one transaction: a kill leaves both tables new or both as they were
        with store.lock(), store.transaction() as txn:
            txn.replace_parts("estimates", {WHOLE: est})
            txn.replace_parts("claim_tests", {WHOLE: tests})
    depots = (
        depot_figure(observations, case.places, depot_km)
        if case is not None and observations is not None
        else None
    )
    return EstimateResult(est, tests, used_routes, span[0], span[1], depots)
