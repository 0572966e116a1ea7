"""The monitor over a store: read the event tables, evaluate the alert rules, emit each alert once.

Incremental: every alert ever emitted is kept in the store table ``alerts`` (one part per run), and a run
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

from supplyline import schema
from supplyline.errors import StoreError
from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, evaluate, replay
from supplyline.monitor.dark import gap_context
from supplyline.monitor.opensanctions import load_case_sanctions
from supplyline.store import Store

if TYPE_CHECKING:
    from supplyline.case import Case


def inputs_from_store(
    store: Store, case: Case | None = None, cfg: MonitorConfig | None = None
) -> MonitorInputs:
    """Read voyages, gaps (with their context), statics and the vessels seen; watched routes from the case."""
    voyages = store.read_table("voyages")
    gaps = store.read_table("gaps")
    con = store.connect()
    try:
        places = case.places if case is not None else None
        context = gap_context(con, gaps, (cfg or MonitorConfig()).dark, places)
        span = con.sql("SELECT min(ts), max(ts) FROM positions").fetchall()[0]
        seen = con.sql("SELECT mmsi, min(ts) AS first_seen FROM positions GROUP BY mmsi").to_arrow_table()
        statics = con.sql("SELECT mmsi, ts, imo, name FROM statics").to_arrow_table()
        identity_events = _identity_events(con)
        # reception of the route fleets (vessels with a routed voyage), the last position per vessel and 10 min:
        # enough for the cadence's reception_gap_h (1 h) and small however dense the positions are
        received = None
        if voyages.num_rows:
            con.register("v_routed", voyages.select(["mmsi", "route"]))
            received = con.sql(
                "SELECT mmsi, max(ts) AS ts FROM positions "
                "WHERE mmsi IN (SELECT mmsi FROM v_routed WHERE route IS NOT NULL) "
                "GROUP BY mmsi, time_bucket(INTERVAL 10 minutes, ts) ORDER BY ts"
            ).to_arrow_table()
            if received.num_rows == 0:  # voyages without positions (imported events): no reception data
                received = None
    finally:
        con.close()
    start, end = span if span else (None, None)
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
        identity_events=identity_events,
        sanctions=load_case_sanctions(case.watchlist.sanctions) if case is not None else None,
        gap_context=context,
        statics=statics,
        seen=seen.cast(pa.schema([pa.field("mmsi", pa.int64()), pa.field("first_seen", schema.TS)])),
        received=None
        if received is None
        else received.cast(pa.schema([pa.field("mmsi", pa.int64()), pa.field("ts", schema.TS)])),
    )


def _identity_events(con: Any, rows_per_pass: int = 5_000_000) -> pa.Table:
    """Shared-MMSI and spoofing events over every position of the store (detect.identity), a share of the
    MMSIs at a time (each MMSI whole) so memory stays ~32 bytes x ``rows_per_pass``."""
    from supplyline.detect.identity import EVENTS, find_identities

    n = int(con.sql("SELECT count(*) FROM positions").fetchall()[0][0])
    passes = max(1, -(-n // rows_per_pass))
    parts = [EVENTS.empty_table()]
    for k in range(passes):
        p = con.sql(
            f"SELECT mmsi, epoch_us(ts) AS ts, lat, lon FROM positions WHERE mmsi % {passes} = {k} ORDER BY mmsi, ts"
        ).fetchnumpy()
        mmsi, ts = np.asarray(p["mmsi"], np.int64), np.asarray(p["ts"], np.int64)
        parts.append(find_identities(mmsi, ts, np.asarray(p["lat"]), np.asarray(p["lon"])).events)
    return pa.concat_tables(parts)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def config_for_case(case: Case | None, cfg: MonitorConfig | None = None) -> MonitorConfig:
    """Monitor settings with the case's dark-gap threshold (``thresholds.dark_gap_h``) applied."""
    cfg = cfg or MonitorConfig()
    if case is not None:
        cfg = replace(cfg, dark_min_h=float(case.thresholds.dark_gap_h))
    return cfg


def emitted_ids(store: Store) -> set[str]:
    """Ids of every alert already emitted into this store."""
    table = store.read_table("alerts", schema.ALERTS)
    return set(table["alert_id"].to_pylist())


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
) -> pa.Table:
    """Alerts not emitted before (schema.ALERTS), recorded in the store's ``alerts`` table when ``record``.

    ``as_new``: answer "when would each alert have been raised" — every alert, whether emitted before or not,
    with nothing read from or written to the stored alerts (``record`` is ignored).
    """
    cfg = config_for_case(case, cfg)
    inputs = inputs_from_store(store, case, cfg)
    if as_of is not None:
        inputs.end = min(inputs.end, _utc(as_of))
    alerts = replay(inputs, cfg, since=since) if daily_replay else evaluate(inputs, cfg=cfg, since=since)
    if as_new:
        return alerts
    done = emitted_ids(store)
    if done:
        keep = np.array([a not in done for a in alerts["alert_id"].to_pylist()], dtype=bool)
        alerts = alerts.filter(pa.array(keep))
    if record and alerts.num_rows:
        with store.lock():
            part = f"run-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            store.write_table("alerts", alerts, part=part)
    return alerts
