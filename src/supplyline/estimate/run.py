"""`supplyline estimate` over a store: estimates and claim tests from the stored events and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from supplyline import schema
from supplyline.errors import StoreError
from supplyline.estimate.claims import ClaimTestConfig, assess_claims
from supplyline.estimate.shipments import estimate, outbound_routes
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


def run_estimate(
    store: Store,
    case: Case | None = None,
    *,
    period: str = "month",
    n_draws: int = 10_000,
    seed: int = 0,
    claims_cfg: ClaimTestConfig | None = None,
    record: bool = True,
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
    tests = assess_claims(claims, draws, priors, data_start=span[0], data_end=span[1], cfg=claims_cfg)
    if record:  # one transaction: a kill leaves both tables new or both as they were
        with store.lock(), store.transaction() as txn:
            txn.replace_parts("estimates", {WHOLE: est})
            txn.replace_parts("claim_tests", {WHOLE: tests})
    return EstimateResult(est, tests, used_routes, span[0], span[1])
