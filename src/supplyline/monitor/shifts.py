"""Route shifts: a halted route whose traffic was taken up by a sibling route (same origin and another
destination, or same destination and another origin).

A shuttle that moves its deliveries from one port to another halts the old route (and, later, its return
leg) while the new one carries on. Two halts would tell an analyst the service stopped; the truth is that
it moved. A halt of route A is a **shift to B** when B shares A's origin (or destination) and, during A's
silence (from A's last departure to the halt), B made at least ``min_share`` of the departures A was
expected to make beyond B's own earlier rate. Halts of A's return leg that move between the same two
places (the old port -> the new port) belong to the same shift and raise no second alert. Causal: the test
uses departures up to the halt time only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema


@dataclass(frozen=True)
class Shift:
    """Route ``route`` halted and its traffic moved to ``to_route``: place ``old_place`` -> ``new_place``."""

    route: str
    to_route: str
    old_place: str
    new_place: str
    n_taken: int  # departures on to_route during the silence
    expected_taken: float  # to_route's departures expected in the silence at its earlier rate


def _ends(v: pa.Table) -> tuple[str | None, str | None]:
    """The most common origin and destination place of a route's voyages."""
    out: list[str | None] = []
    for col in ("origin_id", "destination_id"):
        ids = [x for x in v[col].to_pylist() if x is not None]
        out.append(max(sorted(set(ids)), key=ids.count) if ids else None)
    return out[0], out[1]


def place_names(voyages: pa.Table) -> dict[str, str]:
    """Place id -> name, from the voyages' origin and destination columns."""
    names: dict[str, str] = {}
    for a, b in (("origin_id", "origin_name"), ("destination_id", "destination_name")):
        for pid, name in zip(voyages[a].to_pylist(), voyages[b].to_pylist(), strict=True):
            if pid is not None and name:
                names.setdefault(pid, name)
    return names


def _count(v: pa.Table, lo: datetime, hi: datetime) -> int:
    t = v["departure_ts"]
    inside = pc.and_(pc.greater(t, pa.scalar(lo, schema.TS)), pc.less_equal(t, pa.scalar(hi, schema.TS)))
    return int(pc.sum(inside).as_py() or 0)


def find_shift(
    route: str,
    last_ts: datetime,
    halt_ts: datetime,
    expected: float,
    per_route: dict[str, pa.Table],
    window_days: float,
    min_share: float = 0.5,
    *,
    ends: dict[str, tuple[str | None, str | None]] | None = None,
) -> Shift | None:
    """The sibling route that took up ``route``'s traffic between ``last_ts`` and ``halt_ts``, if any.

    ``expected`` is the number of departures the halted route's cadence expected in that silence. ``ends``:
    each route's most common origin and destination, filled as they are found (pass one dict for every halt
    of the same ``per_route``: they are counted over all of a route's voyages, once, not once per halt).
    """
    ends = {} if ends is None else ends
    for name in per_route:
        if name not in ends:
            ends[name] = _ends(per_route[name])
    a0, a1 = ends[route]
    best: Shift | None = None
    silence_days = (halt_ts - last_ts).total_seconds() / 86_400
    for other, v in per_route.items():
        if other == route or v.num_rows == 0:
            continue
        b0, b1 = ends[other]
        if a0 is not None and a0 == b0 and a1 != b1 and a1 is not None and b1 is not None:
            old, new = a1, b1  # same origin, new destination
        elif a1 is not None and a1 == b1 and a0 != b0 and a0 is not None and b0 is not None:
            old, new = a0, b0  # same destination, new origin
        else:
            continue
        taken = _count(v, last_ts, halt_ts)
        before = _count(v, last_ts - timedelta(days=window_days), last_ts)
        baseline = before / window_days * silence_days
        if taken >= 1 and taken - baseline >= min_share * expected:
            cand = Shift(route, other, old, new, taken, baseline)
            if best is None or cand.n_taken > best.n_taken:
                best = cand
    return best
