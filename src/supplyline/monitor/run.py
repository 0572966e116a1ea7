"""The monitor over a store: read the event tables, evaluate the alert rules, emit each alert once.

Incremental: every alert ever emitted is kept in the store table ``alerts`` (a part per run, merged into
one once there are more than :data:`COMPACT_PARTS`, so a watch's runs do not add a file each), and a run
emits only alerts whose stable id is not there yet. ``replay=True`` walks the data day by day (as a daily
operator would have) and records the day each alert was first raised.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.errors import StoreError
from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, evaluate, replay
from supplyline.monitor.dark import DarkConfig
from supplyline.monitor.facts import PositionFacts, whole_store_facts
from supplyline.monitor.kept_update import refresh
from supplyline.monitor.opensanctions import load_case_sanctions
from supplyline.store import Store

if TYPE_CHECKING:
    from supplyline.case import Case


def inputs_from_store(
    store: Store,
    case: Case | None = None,
    cfg: MonitorConfig | None = None,
    *,
    full: bool = False,
    stats: dict[str, Any] | None = None,
) -> MonitorInputs:
    """Read voyages, gaps, statics and what the monitor derives from positions (kept in the store and updated
    from new positions, :mod:`supplyline.monitor.kept`; ``full``: read from every position instead, the
    state untouched); watched routes from the case. ``stats`` receives what the update did."""
    voyages = store.read_table("voyages")
    gaps = store.read_table("gaps")
    facts = position_facts(store, voyages, gaps, (cfg or MonitorConfig()).dark, case, full=full, stats=stats)
    # not through store.connect(): its views read every position file's schema when they are made
    statics = store.read_table("statics").select(["mmsi", "ts", "imo", "name"])
    start, end = facts.span
    if start is None:
        if voyages.num_rows == 0:
            raise StoreError(
                f"the store {store.root} has no positions and no voyages; run `supplyline ingest` and "
                "`supplyline detect` first"
            )
        start = pc.min(voyages["departure_ts"]).as_py()
        end = pc.max(pc.max_element_wise(voyages["departure_ts"], voyages["arrival_ts"])).as_py()
    routes = [r.name for r in case.routes] if case is not None else []
    return MonitorInputs(
        voyages=voyages,
        start=_utc(start),
        end=_utc(end),
        routes=routes,
        gaps=gaps,
        identity_events=facts.identity_events,
        sanctions=load_case_sanctions(case.watchlist.sanctions) if case is not None else None,
        gap_context=facts.gap_context,
        statics=statics,
        seen=facts.seen,
        received=facts.received,
    )


def position_facts(
    store: Store,
    voyages: pa.Table,
    gaps: pa.Table,
    dark: DarkConfig,
    case: Case | None,
    *,
    full: bool = False,
    stats: dict[str, Any] | None = None,
) -> PositionFacts:
    """The facts from positions: kept and updated (default), or from every position (``full``, and a store
    whose positions have no manifest rows: written by hand or another tool, not by ingest)."""
    places = case.places if case is not None else None
    if not (full or (store.has_files("positions") and not store.manifest_ids())):
        facts, run = refresh(store, voyages, gaps, dark, places)
        if stats is not None:
            stats.update(run.to_dict())
        return facts
    con = store.connect()
    try:
        return whole_store_facts(con, voyages, gaps, dark, places)
    finally:
        con.close()


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def config_for_case(case: Case | None, cfg: MonitorConfig | None = None) -> MonitorConfig:
    """Monitor settings with the case's dark-gap threshold (``thresholds.dark_gap_h``) applied."""
    cfg = cfg or MonitorConfig()
    if case is not None:
        cfg = replace(cfg, dark_min_h=float(case.thresholds.dark_gap_h))
    return cfg


COMPACT_PARTS = 8
"""Parts of monitor runs the ``alerts`` table holds before a run merges them with its own into one."""
RUN_PART = "run-"
"""Name prefix of the parts monitor runs write (other writers' parts, e.g. imagery's, are left alone)."""


READ_TRIES = 5
"""Times a reader lists and reads the ``alerts`` files when a merge deleted one it listed meanwhile."""


def _read_listed(store: Store, columns: list[str] | None) -> list[pa.Table]:
    """Every ``alerts`` file as listed now; listed again if a concurrent merge removed one first."""
    for _ in range(READ_TRIES - 1):
        try:
            return [pq.read_table(f, columns=columns) for f in store.files("alerts")]
        except FileNotFoundError:
            continue
    return [pq.read_table(f, columns=columns) for f in store.files("alerts")]


def emitted_ids(store: Store) -> set[str]:
    """Ids of every alert already emitted into this store (the id column only)."""
    return {i for t in _read_listed(store, ["alert_id"]) for i in t["alert_id"].to_pylist()}


def read_alerts(store: Store) -> pa.Table:
    """Every alert emitted into this store (schema.ALERTS), each once, in the order recorded.

    For a reader in another thread or process while a run merges the parts (:func:`record_alerts`): between
    the merged part's rename and the older parts' removal both are listed (the same rows twice: the later
    copies are dropped), and a part listed before the merge may be gone when opened (listed again)."""
    tables = _read_listed(store, None)
    if not tables:
        return schema.ALERTS.empty_table()
    table = pa.concat_tables(tables, promote_options="default")
    ids = table["alert_id"]
    if pc.count_distinct(ids).as_py() == table.num_rows:
        return table
    _, first = np.unique(np.asarray(ids.to_pylist(), dtype=object), return_index=True)
    return table.take(pa.array(np.sort(first)))


def record_alerts(store: Store, alerts: pa.Table) -> None:
    """Add ``alerts`` to the store's ``alerts`` table as a new run part, under the store's lock.

    With more than :data:`COMPACT_PARTS` run parts, they and the new rows are written as one part named
    like the new one in the same transaction (the older parts deleted on commit): readers see the same rows
    in the same order (parts sort by name, and names are run times), and a watch's table stays a handful of
    files instead of one per run that raised an alert (162 after a year of weekly thirds, bench/RESULTS.md).
    Merging rewrites the emitted alerts once per :data:`COMPACT_PARTS` runs (~60 bytes per alert in Parquet:
    1,429 alerts in 87 KB there).
    """
    part = f"{RUN_PART}{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    with store.lock():
        runs = [p for p in store.parts("alerts") if p.startswith(RUN_PART) and p < part]
        if len(runs) < COMPACT_PARTS:
            store.write_table("alerts", alerts, part=part)
            return
        old = [t for p in runs if (t := store.read_part("alerts", p)) is not None]
        merged = pa.concat_tables([*old, alerts], promote_options="default")
        with store.transaction() as txn:
            txn.put_part("alerts", part, merged)
            for p in runs:
                txn.delete_part("alerts", p)


def run_monitor(
    store: Store,
    case: Case | None = None,
    cfg: MonitorConfig | None = None,
    *,
    since: datetime | None = None,
    as_of: datetime | None = None,
    daily_replay: bool = False,
    record: bool = True,
    as_new: bool = False,
    full: bool = False,
    stats: dict[str, Any] | None = None,
) -> pa.Table:
    """Alerts not emitted before (schema.ALERTS), recorded in the store's ``alerts`` table when ``record``.

    ``as_new``: answer "when would each alert have been raised" — every alert, whether emitted before or not,
    with nothing read from or written to the stored alerts (``record`` is ignored). ``full``: the facts from
    every position, not the kept ones (:func:`inputs_from_store`); ``stats`` receives what updating them did.
    """
    cfg = config_for_case(case, cfg)
    inputs = inputs_from_store(store, case, cfg, full=full, stats=stats)
    if as_of is not None:
        inputs.end = min(inputs.end, _utc(as_of))
    done = set() if as_new else emitted_ids(store)
    if daily_replay:
        alerts = replay(inputs, cfg, since=since, known=done)
    else:
        alerts = evaluate(inputs, cfg=cfg, since=since, known=done)
    if as_new:
        return alerts
    if done:
        keep = np.array([a not in done for a in alerts["alert_id"].to_pylist()], dtype=bool)
        alerts = alerts.filter(pa.array(keep))
    if record and alerts.num_rows:
        record_alerts(store, alerts)
    return alerts
