"""The contract both detection engines implement, and the steps they share.

An engine (``engine.local.detect``: DuckDB + a process pool; ``engine.spark.detect_spark``: ``mapInArrow``)
takes a store, the places, :class:`~supplyline.detect.Thresholds` and routes, and

1. resolves the places it uses (:func:`places_in_use`: the conformed table the kernels index);
2. runs :func:`supplyline.detect.run_vessel_kernels` over whole vessels, in mmsi, ts, lat, lon order, and
   puts each kernel table in the canonical order (:func:`supplyline.detect.kernels.sort_events`);
3. runs the two cross-vessel steps over all positions with the SQL text of :mod:`supplyline.detect._sql`
   in its dialect, finishing them with the shared steps here (:func:`finish_coverage`,
   :func:`finish_encounters`), so both engines give the same ids, values and order;
4. writes every event table and the places used in one store transaction through the store's part API
   (:meth:`supplyline.store.Transaction.replace_parts`; :func:`stage_cross_tables` for the whole tables),
   never by path; and returns a :class:`DetectResult`.

The phases a run times (:data:`PHASES`) are named here so ``--json`` and the benchmarks agree on them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa

from supplyline import schema
from supplyline.detect import Thresholds
from supplyline.detect.encounters import encounters_table
from supplyline.detect.gaps import apply_coverage
from supplyline.detect.kernels import PlaceLookup, sort_events, zone_index
from supplyline.detect.stations import vessel_pairs_only
from supplyline.store import WHOLE, Transaction

STATE_TABLE = "detect_state"
"""The local engine's per-shard input signatures (schema :data:`supplyline.schema.DETECT_STATE`); an
engine that rewrites the event tables another way drops it, so the next local run recomputes every shard."""
PLACES_TABLE = "places"
"""The places a run used (conformed), written beside the event tables."""
PHASES = ("signatures", "split", "kernels", "coverage", "encounters", "write")
"""Phases of a run, in order, as keys of :attr:`DetectResult.seconds` (an engine may skip some)."""
GAP_COVERAGE_COLUMNS = [
    "gap_id",
    "mmsi",
    "start_ts",
    "end_ts",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
]
"""The gap columns :func:`supplyline.detect._sql.coverage_sql` reads."""


@dataclass
class DetectResult:
    """What a run did: row counts per event table, how many shards were recomputed, seconds per phase."""

    counts: dict[str, int] = field(default_factory=dict)
    shards_total: int = 0
    shards_run: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock per phase, in run order
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU per phase, worker processes included

    def to_dict(self) -> dict[str, object]:
        return {
            "counts": self.counts,
            "shards_total": self.shards_total,
            "shards_run": self.shards_run,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "cpu_seconds": {k: round(v, 3) for k, v in self.cpu_seconds.items()},
        }


class Phases:
    """Wall-clock and CPU seconds of a run's phases, so a slow step shows in ``--json`` and in
    bench/scale.py. CPU is this process's (every thread, DuckDB's included) plus what the caller adds for
    its worker processes; on a shared machine it is the steadier figure."""

    def __init__(self, into: dict[str, float], cpu_into: dict[str, float] | None = None) -> None:
        self.into, self.t = into, time.perf_counter()
        self.cpu_into, self.cpu = ({} if cpu_into is None else cpu_into), time.process_time()

    def done(self, phase: str, worker_cpu: float = 0.0) -> None:
        """Charge the time since the previous call (or the start) to ``phase`` (one of :data:`PHASES`),
        plus ``worker_cpu`` CPU seconds spent by other processes for it."""
        now, cpu = time.perf_counter(), time.process_time()
        self.into[phase] = self.into.get(phase, 0.0) + now - self.t
        self.cpu_into[phase] = self.cpu_into.get(phase, 0.0) + cpu - self.cpu + worker_cpu
        self.t, self.cpu = now, cpu


def places_in_use(places: pa.Table) -> tuple[PlaceLookup, pa.Table]:
    """The index of every place (the encounters' exclusion zones; ``exclusion_only`` ones included) and the
    conformed places table the kernels read (what a run writes as ``places``)."""
    zones = zone_index(places)
    return zones, zones.places


def empty_event_tables() -> dict[str, pa.Table]:
    """Every event table, empty (a store without positions)."""
    return {name: schema.empty(schema.EVENT_TABLES[name]) for name in schema.EVENT_TABLES}


def coverage_input(gaps: pa.Table) -> pa.Table:
    """The gap columns the coverage SQL reads (:data:`GAP_COVERAGE_COLUMNS`)."""
    return gaps.select(GAP_COVERAGE_COLUMNS)


def finish_coverage(gaps: pa.Table, counts: pa.Table, th: Thresholds) -> pa.Table:
    """Gaps with ``others_received`` and ``likely`` set from the coverage SQL's rows (gap_id, others)."""
    return apply_coverage(gaps, counts, th)


def finish_encounters(raw: pa.Table, th: Thresholds, index: PlaceLookup) -> pa.Table:
    """The encounters table from the encounter SQL's rows: away from every place, between two vessels
    (not a ship and its own gear buoy, unless ``include_non_vessels``), ids, canonical order."""
    found = vessel_pairs_only(encounters_table(raw, th, index), th.include_non_vessels)
    return sort_events("encounters", found)


def stage_cross_tables(txn: Transaction, encounters: pa.Table, places_used: pa.Table) -> None:
    """Stage the tables every run writes whole: encounters (cross-vessel) and the places used."""
    txn.replace_parts("encounters", {WHOLE: encounters})
    txn.put_part(PLACES_TABLE, WHOLE, places_used)


__all__ = [
    "GAP_COVERAGE_COLUMNS",
    "PHASES",
    "PLACES_TABLE",
    "STATE_TABLE",
    "DetectResult",
    "Phases",
    "coverage_input",
    "empty_event_tables",
    "finish_coverage",
    "finish_encounters",
    "places_in_use",
    "stage_cross_tables",
]
