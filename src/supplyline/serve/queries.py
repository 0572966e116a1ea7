"""The SQL the server runs: constant text with ``?`` parameters, never values pasted into the text.

Each function returns ``(sql, params)``; table and column names are constants of this module. Times go in
as timezone-aware datetimes. Windows filter ``ts`` only (not the ``day`` partition): Parquet statistics
already skip the row groups outside the window, and a store whose files are not split by day stays right.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

Query = tuple[str, list[Any]]
DISK = "/* disk */ "
"""Prefix of the queries that read positions or static reports: they run on the store's read-only
connection; every other query runs on the in-memory copies of the derived tables."""

MAX_SEARCH = 50
MIN_BUCKET_S = 60  # never more than one track point per vessel per minute


def span() -> Query:
    """First and last position time (the data period)."""
    return DISK + "SELECT min(ts) AS start, max(ts) AS end, count(*) AS n FROM positions", []


def day_histogram() -> Query:
    """Positions per UTC day (the time brush's background)."""
    return (
        DISK + "SELECT date_trunc('day', ts) AS day, count(*) AS n FROM positions GROUP BY 1 ORDER BY 1",
        [],
    )


def search(q: str, limit: int = MAX_SEARCH) -> Query:
    """Vessels whose name, call sign, MMSI or IMO contains ``q`` (any identity they ever had)."""
    like = f"%{_escape_like(q.strip())}%"
    sql = """
        SELECT mmsi, arg_max(name, last_seen) AS name, arg_max(imo, last_seen) AS imo,
               arg_max(callsign, last_seen) AS callsign, min(first_seen) AS first_seen,
               max(last_seen) AS last_seen, string_agg(DISTINCT name, ' | ') AS names,
               max(CASE WHEN upper(name) = upper(?) THEN 1 ELSE 0 END) AS exact
        FROM vessel_identities
        WHERE name ILIKE ? ESCAPE '\\' OR callsign ILIKE ? ESCAPE '\\'
           OR CAST(mmsi AS VARCHAR) LIKE ? ESCAPE '\\' OR CAST(imo AS VARCHAR) LIKE ? ESCAPE '\\'
        GROUP BY mmsi ORDER BY exact DESC, name, mmsi LIMIT ?"""
    return sql, [q.strip(), like, like, like, like, limit]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


KEY = "_key"
"""The column the all-vessel queries group by (an MMSI; dropped from the rows answered)."""

# Each event table's id: the tie-break after its time order, so rows tied in time keep one order.
ID = {
    "visits": "visit_id",
    "voyages": "voyage_id",
    "gaps": "gap_id",
    "encounters": "encounter_id",
    "loitering": "loiter_id",
    "draught_changes": "change_id",
    "alerts": "alert_id",
}

# The vessel page's tables: answer key -> (table, time order). Each runs once per store version for all
# vessels, sorted by (mmsi, time) (:mod:`supplyline.serve.snapshot` slices one vessel's rows out).
BY_VESSEL = {
    "visits": ("visits", "arrival_ts"),
    "voyages": ("voyages", "departure_ts"),
    "gaps": ("gaps", "start_ts"),
    "loitering": ("loitering", "start_ts"),
    "draught_changes": ("draught_changes", "ts"),
    "alerts": ("alerts", "ts"),
}


def vessel_tables() -> dict[str, Query]:
    """Every vessel's rows of each vessel-page table, sorted by the grouping column :data:`KEY` first."""
    out: dict[str, Query] = {
        name: (
            f'SELECT mmsi AS {KEY}, * FROM "{table}" WHERE mmsi IS NOT NULL ORDER BY mmsi, "{order}", {ID[table]}',
            [],
        )
        for name, (table, order) in BY_VESSEL.items()
    }
    return {
        **out,
        "identities": identities_all(),
        "same_imo": same_imo_all(),
        "sanctions": (
            f"SELECT mmsi AS {KEY}, * FROM alerts WHERE kind = 'sanctioned' AND mmsi IS NOT NULL "
            "ORDER BY mmsi, ts, alert_id",
            [],
        ),
        "route_counts": route_counts_all(),
        "places": places_of_all(),
        "encounters": encounters_all(),
    }


def identities_all() -> Query:
    """Every identity each MMSI reported (names, IMO, call sign, type, size), oldest first."""
    sql = f"SELECT mmsi AS {KEY}, * FROM vessel_identities WHERE mmsi IS NOT NULL ORDER BY mmsi, first_seen"
    return sql, []


def same_imo_all() -> Query:
    """Per MMSI, the other MMSIs that reported an IMO it reported (an identity moving between MMSIs)."""
    sql = f"""SELECT DISTINCT o.mmsi AS {KEY}, v.mmsi, v.imo, v.name
              FROM (SELECT DISTINCT mmsi, imo FROM vessel_identities
                    WHERE imo IS NOT NULL AND mmsi IS NOT NULL) o
              JOIN vessel_identities v ON v.imo = o.imo AND v.mmsi <> o.mmsi
              ORDER BY {KEY}, v.mmsi"""
    return sql, []


def encounters_all() -> Query:
    """Every encounter under each of its two vessels, in time order."""
    sql = f"""SELECT * FROM (
                  SELECT mmsi_a AS {KEY}, * FROM encounters WHERE mmsi_a IS NOT NULL
                  UNION ALL
                  SELECT mmsi_b AS {KEY}, * FROM encounters
                  WHERE mmsi_b IS NOT NULL AND mmsi_b IS DISTINCT FROM mmsi_a)
              ORDER BY {KEY}, start_ts, encounter_id"""
    return sql, []


def route_counts_all() -> Query:
    """Voyages of each vessel per route (null route = not on a route of interest)."""
    sql = f"""SELECT mmsi AS {KEY}, route, count(*) AS trips, min(departure_ts) AS first_departure,
                     max(departure_ts) AS last_departure
              FROM voyages WHERE mmsi IS NOT NULL GROUP BY mmsi, route ORDER BY mmsi, route NULLS LAST"""
    return sql, []


def draught_all() -> Query:
    """Reported draught over time of every vessel (one row per static-report run)."""
    sql = (
        DISK
        + f"""SELECT mmsi AS {KEY}, ts, draught_m FROM statics
              WHERE mmsi IS NOT NULL AND draught_m IS NOT NULL ORDER BY mmsi, ts"""
    )
    return sql, []


def places_of_all() -> Query:
    """Places each vessel called at (for its map)."""
    sql = f"""SELECT v.mmsi AS {KEY}, p.place_id, p.name, p.kind, p.lat, p.lon, p.r_in_m, p.watched
              FROM places p
              JOIN (SELECT DISTINCT mmsi, place_id FROM visits WHERE mmsi IS NOT NULL) v
                ON v.place_id = p.place_id
              ORDER BY {KEY}, p.place_id"""
    return sql, []


def all_positions() -> Query:
    """Every position (MMSI, epoch µs, lat, lon) in (mmsi, ts) order, for the in-memory track index."""
    return DISK + "SELECT mmsi, epoch_us(ts) AS t, lat, lon FROM positions ORDER BY mmsi, ts", []


def track(mmsi: int | None, start: dt.datetime, end: dt.datetime, bucket_s: int) -> Query:
    """The first position of each vessel in each ``bucket_s`` bucket of the window (decimated tracks)."""
    vessel = "AND mmsi = ?" if mmsi is not None else ""
    sql = (
        DISK
        + f"""
        SELECT mmsi, min(epoch_us(ts)) AS t, arg_min(lat, ts) AS lat, arg_min(lon, ts) AS lon
        FROM positions
        WHERE ts BETWEEN ? AND ? {vessel}
        GROUP BY mmsi, epoch_us(ts) // CAST(? AS BIGINT)
        ORDER BY mmsi, t"""
    )
    params: list[Any] = [start, end]
    params += [mmsi] if mmsi is not None else []
    return sql, [*params, max(bucket_s, MIN_BUCKET_S) * 1_000_000]


def window_count(mmsi: int | None, start: dt.datetime, end: dt.datetime) -> Query:
    """Positions and vessels in the window, of one vessel or all (to size the decimation buckets)."""
    vessel = "AND mmsi = ?" if mmsi is not None else ""
    sql = (
        DISK
        + f"""SELECT count(*) AS n, count(DISTINCT mmsi) AS vessels FROM positions
              WHERE ts BETWEEN ? AND ? {vessel}"""
    )
    return sql, [start, end, *([mmsi] if mmsi is not None else [])]


# Event layers: table -> (start column, end column). A row is in a window when its interval overlaps it.
LAYERS = {
    "visits": ("arrival_ts", "departure_ts"),
    "voyages": ("departure_ts", "arrival_ts"),
    "gaps": ("start_ts", "end_ts"),
    "encounters": ("start_ts", "end_ts"),
    "loitering": ("start_ts", "end_ts"),
    "alerts": ("ts", "ts"),
}


def layer_all(table: str) -> Query:
    """Rows of layer ``table`` (a key of LAYERS) with the vessel's latest name, by start time, with their
    interval in epoch µs (``_t0``, ``_t1``: a row is in a window when the interval overlaps it)."""
    t0, t1 = LAYERS[table]
    key = "mmsi_a" if table == "encounters" else "mmsi"
    sql = f"""
        SELECT e.*, n.name AS vessel_name, epoch_us(e."{t0}") AS _t0,
               epoch_us(coalesce(e."{t1}", e."{t0}")) AS _t1
        FROM "{table}" e
        LEFT JOIN vessel_names n ON n.mmsi = e.{key}
        WHERE e."{t0}" IS NOT NULL
        ORDER BY e."{t0}", e.{ID[table]}"""
    return sql, []


def detections_all() -> Query:
    """Satellite detections with their AIS match (matched: the vessel; dark: none), by time."""
    sql = """SELECT d.det_id, d.scene_id, d.sensor, d.ts, d.lon, d.lat, d.length_m, d.score, d.in_place,
                    d.synthetic, m.status, m.mmsi, m.dist_m, n.name AS vessel_name,
                    epoch_us(d.ts) AS _t0, epoch_us(d.ts) AS _t1
             FROM detections d LEFT JOIN detection_matches m USING (det_id)
             LEFT JOIN vessel_names n ON n.mmsi = m.mmsi
             WHERE d.ts IS NOT NULL ORDER BY d.ts, d.det_id"""
    return sql, []


def names() -> Query:
    """Latest reported name of every MMSI (materialised by the reader per store version)."""
    return "SELECT mmsi, name FROM vessel_names", []


def places_used() -> Query:
    """Watched places and places some visit, voyage or alert names (not the whole gazetteer)."""
    sql = """
        SELECT place_id, name, kind, country, locode, lat, lon, r_in_m, r_out_m, watched, source, aliases
        FROM places
        WHERE coalesce(watched, false)
           OR place_id IN (SELECT place_id FROM visits UNION SELECT origin_id FROM voyages
                           UNION SELECT destination_id FROM voyages UNION SELECT place_id FROM alerts)
        ORDER BY place_id"""
    return sql, []


def place(place_id: str) -> Query:
    sql = """SELECT place_id, name, kind, country, locode, lat, lon, r_in_m, r_out_m, watched, source, aliases
             FROM places WHERE place_id = ?"""
    return sql, [place_id]


def place_visits(place_id: str) -> Query:
    sql = """SELECT v.*, n.name AS vessel_name FROM visits v
             LEFT JOIN vessel_names n USING (mmsi)
             WHERE place_id = ? ORDER BY arrival_ts"""
    return sql, [place_id]


def place_monthly(place_id: str) -> Query:
    """Calls per month with their median dwell (hours)."""
    sql = """SELECT date_trunc('month', arrival_ts) AS month, count(*) AS calls,
                    count(DISTINCT mmsi) AS vessels, median(dwell_h) AS median_dwell_h
             FROM visits WHERE place_id = ? GROUP BY month ORDER BY month"""
    return sql, [place_id]


def place_vessels(place_id: str) -> Query:
    sql = """SELECT v.mmsi, n.name, count(*) AS calls, sum(dwell_h) AS total_dwell_h,
                    median(dwell_h) AS median_dwell_h, min(arrival_ts) AS first_call, max(arrival_ts) AS last_call
             FROM visits v
             LEFT JOIN vessel_names n USING (mmsi)
             WHERE place_id = ? GROUP BY v.mmsi, n.name ORDER BY calls DESC, v.mmsi"""
    return sql, [place_id]


def routes() -> Query:
    """Every route with its trips, vessels and first/last departure."""
    sql = """SELECT route, count(*) AS trips, count(DISTINCT mmsi) AS vessels,
                    min(departure_ts) AS first_departure, max(departure_ts) AS last_departure
             FROM voyages WHERE route IS NOT NULL GROUP BY route ORDER BY route"""
    return sql, []


def route_voyages(route: str) -> Query:
    """Departures on a route with the interval since the previous one (hours): the cadence."""
    sql = """SELECT y.*, n.name AS vessel_name,
                    (epoch(departure_ts) - epoch(lag(departure_ts) OVER (ORDER BY departure_ts))) / 3600
                        AS since_previous_h
             FROM voyages y
             LEFT JOIN vessel_names n USING (mmsi)
             WHERE route = ? ORDER BY departure_ts"""
    return sql, [route]


def route_alerts(route: str) -> Query:
    """Halts, resumptions and other alerts raised on a route."""
    return "SELECT * FROM alerts WHERE route = ? ORDER BY ts", [route]


def alerts_after(after: dt.datetime | None, limit: int) -> Query:
    """Alerts in data-time order (only those after ``after`` when given)."""
    sql = """SELECT a.*, n.name AS vessel_name FROM alerts a
             LEFT JOIN vessel_names n USING (mmsi)
             WHERE ? IS NULL OR a.ts > ? ORDER BY a.ts, a.alert_id LIMIT ?"""
    return sql, [after, after, limit]


def alerts_by_id(ids: list[str]) -> Query:
    sql = """SELECT a.*, n.name AS vessel_name FROM alerts a
             LEFT JOIN vessel_names n USING (mmsi)
             WHERE list_contains(?, a.alert_id) ORDER BY a.ts, a.alert_id"""
    return sql, [ids]


def alert_ids() -> Query:
    return "SELECT alert_id FROM alerts", []


def claims() -> Query:
    """Every claim with the result of testing it (when it was tested)."""
    sql = """SELECT c.*, t.verdict, t.estimate_unit, t.claim_low, t.claim_high, t.est_p05, t.est_p50,
                    t.est_p95, t.coverage, t.ratio, t.implied_factor, t.implied_factor_unit,
                    t.implied_factor_basis, t.factor_verdict, t.timeline_note, t.message, t.details
             FROM claims c LEFT JOIN claim_tests t USING (claim_id)
             ORDER BY c.published, c.claim_id"""
    return sql, []


def estimates() -> Query:
    return "SELECT * FROM estimates ORDER BY route, unit, period_start", []


def voyages_by_id(ids: list[str]) -> Query:
    sql = """SELECT voyage_id, mmsi, n.name AS vessel_name, origin_name, destination_name, departure_ts,
                    arrival_ts, route, draught_departure_m, draught_arrival_m
             FROM voyages LEFT JOIN vessel_names n USING (mmsi)
             WHERE list_contains(?, voyage_id) ORDER BY departure_ts"""
    return sql, [ids]


def observations() -> Query:
    return "SELECT * FROM observations ORDER BY date, obs_id", []
