"""Headline counts of detected visits read from the store (DuckDB, so here and not in the pure detect/): port
calls first, the other classes beside them.

A number the tool prints is a number someone will quote, so every summary (``detect``, ``demo``, ``info``,
the report) counts port calls, the visits where the vessel stopped (see :mod:`supplyline.detect.visits`);
short stops and pass-throughs are counted apart and shown on request.
"""

from __future__ import annotations

import duckdb

from supplyline.detect.visits import VISIT_CLASSES

PLURAL = {"port_call": "port_calls", "short_stop": "short_stops", "pass_through": "pass_throughs"}
"""Count key of each visit class (``port_calls`` ...)."""


def visit_class_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Visits per class as ``{"port_calls": n, "short_stops": n, "pass_throughs": n}`` (zeros included);
    empty when the store has no classified visits table."""
    try:
        rows = con.execute("SELECT visit_class, count(*) FROM visits GROUP BY 1").fetchall()
    except duckdb.Error:  # no visits table yet, or one written before visits had a class
        return {}
    found = {str(k): int(n) for k, n in rows}
    return {PLURAL[c]: found.get(c, 0) for c in VISIT_CLASSES}


def call_to_call_voyages(con: duckdb.DuckDBPyConnection) -> int | None:
    """Voyages whose both ends are port calls (the others end at a short stop, e.g. a ferry's slip); None
    when the store has no voyages table with end classes."""
    try:
        row = con.execute(
            "SELECT count(*) FILTER (origin_class = 'port_call' AND destination_class = 'port_call') FROM voyages"
        ).fetchone()
    except duckdb.Error:  # no voyages table yet, or one written before voyages had end classes
        return None
    return int(row[0]) if row else 0


def visits_line(counts: dict[str, int]) -> str:
    """``"12 port calls (3 short stops, 40 pass-throughs)"`` for a human summary."""
    if not counts:
        return "no classified visits"
    return (
        f"{counts['port_calls']:,} port calls ({counts['short_stops']:,} short stops, "
        f"{counts['pass_throughs']:,} pass-throughs)"
    )


__all__ = ["PLURAL", "call_to_call_voyages", "visit_class_counts", "visits_line"]
