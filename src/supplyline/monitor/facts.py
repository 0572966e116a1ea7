"""What the monitor derives from positions, read from every position of the store (the reference pass).

The span, first sighting per vessel, shared-MMSI/spoofing events, reception of the routed vessels and the
context of each gap. :mod:`supplyline.monitor.kept` keeps the same facts in the store and updates them
from new positions only; this pass is what `supplyline monitor --full` runs and what the tests compare
the kept facts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.monitor.dark import DarkConfig, gap_context

SEEN = pa.schema([pa.field("mmsi", pa.int64()), pa.field("first_seen", schema.TS)])
RECEIVED = pa.schema([pa.field("mmsi", pa.int64()), pa.field("ts", schema.TS)])
ROWS_PER_PASS = 5_000_000
"""Positions judged for identity events at once (~32 bytes each), a share of the MMSIs at a time."""


def reception_sql(source: str, where: str = "") -> str:
    """The last position per vessel and 10 minutes of ``source`` (mmsi, ts): enough for the cadence's
    ``reception_gap_h`` (1 h) and small however dense the positions are. Applied to its own output it
    gives the same rows, which is how kept buckets merge with new ones."""
    return f"SELECT mmsi, max(ts) AS ts FROM {source} {where} GROUP BY mmsi, time_bucket(INTERVAL 10 minutes, ts)"


@dataclass
class PositionFacts:
    """What the monitor derives from positions (times in UTC; ``received`` None when no routed vessel has
    positions)."""

    span: tuple[Any, Any]  # (first, last) position time, (None, None) without positions
    seen: pa.Table  # SEEN
    identity_events: pa.Table  # detect.identity.EVENTS
    received: pa.Table | None  # RECEIVED, sorted by (ts, mmsi)
    gap_context: pa.Table  # monitor.dark.CONTEXT


def routed(voyages: pa.Table) -> pa.Table:
    """The vessels with a routed voyage (mmsi), whose reception the cadence rules look at."""
    if voyages.num_rows == 0:
        return pa.table({"mmsi": pa.array([], pa.int64())})
    return pa.table({"mmsi": voyages.filter(voyages["route"].is_valid())["mmsi"].unique()})


def received_of(con: duckdb.DuckDBPyConnection, source: str, voyages: pa.Table) -> pa.Table | None:
    """Reception rows (RECEIVED) of the routed vessels in ``source`` (already bucketed or raw positions)."""
    con.register("_routed", routed(voyages))
    try:
        rows = con.sql(
            f"SELECT * FROM ({reception_sql(source, 'WHERE mmsi IN (SELECT mmsi FROM _routed)')}) ORDER BY ts, mmsi"
        ).to_arrow_table()
    finally:
        con.unregister("_routed")
    return rows.cast(RECEIVED) if rows.num_rows else None  # voyages without positions: no reception data


def whole_store_facts(
    con: duckdb.DuckDBPyConnection,
    voyages: pa.Table,
    gaps: pa.Table,
    dark: DarkConfig,
    places: pa.Table | None,
) -> PositionFacts:
    """Every fact from every position of the store (``con``: a connection with the store's views)."""
    span = con.sql("SELECT min(ts), max(ts) FROM positions").fetchall()[0]
    seen = con.sql("SELECT mmsi, min(ts) AS first_seen FROM positions GROUP BY mmsi ORDER BY mmsi")
    return PositionFacts(
        span=(span[0], span[1]),
        seen=seen.to_arrow_table().cast(SEEN),
        identity_events=identity_events(con),
        received=received_of(con, "positions", voyages),
        gap_context=gap_context(con, gaps, dark, places),
    )


def identity_events(con: duckdb.DuckDBPyConnection, rows_per_pass: int = ROWS_PER_PASS) -> pa.Table:
    """Shared-MMSI and spoofing events over every position of the store (detect.identity), a share of the
    MMSIs at a time (each MMSI whole) so memory stays ~32 bytes x ``rows_per_pass``."""
    from supplyline.detect.identity import EVENTS, find_identities

    n = int(con.sql("SELECT count(*) FROM positions").fetchall()[0][0])
    passes = max(1, -(-n // rows_per_pass))
    parts = [EVENTS.empty_table()]
    for k in range(passes):
        p = con.sql(
            "SELECT mmsi, epoch_us(ts) AS ts, lat, lon FROM positions "
            f"WHERE mmsi % {passes} = {k} ORDER BY mmsi, ts, lat, lon"
        ).fetchnumpy()
        mmsi, ts = np.asarray(p["mmsi"], np.int64), np.asarray(p["ts"], np.int64)
        parts.append(find_identities(mmsi, ts, np.asarray(p["lat"]), np.asarray(p["lon"])).events)
    return sort_identity(pa.concat_tables(parts))


def sort_identity(events: pa.Table) -> pa.Table:
    """Identity events in one order (mmsi, start, kind), whoever computed them."""
    return events.sort_by([("mmsi", "ascending"), ("start_ts", "ascending"), ("kind", "ascending")])


__all__ = [
    "RECEIVED",
    "SEEN",
    "PositionFacts",
    "identity_events",
    "received_of",
    "reception_sql",
    "routed",
    "sort_identity",
    "whole_store_facts",
]  # fmt: skip
