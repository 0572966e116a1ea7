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


def identity(mmsi: int) -> Query:
    """Every identity the MMSI reported (names, IMO, call sign, type, size), oldest first."""
    return "SELECT * FROM vessel_identities WHERE mmsi = ? ORDER BY first_seen", [mmsi]


def same_imo(mmsi: int) -> Query:
    """Other MMSIs that reported an IMO this MMSI reported (an identity moving between MMSIs)."""
    sql = """SELECT DISTINCT mmsi, imo, name FROM vessel_identities
             WHERE imo IN (SELECT imo FROM vessel_identities WHERE mmsi = ? AND imo IS NOT NULL) AND mmsi <> ?
             ORDER BY mmsi"""
    return sql, [mmsi, mmsi]


def by_mmsi(table: str, order: str, mmsi: int) -> Query:
    """Rows of event table ``table`` (a constant) for one vessel in time order."""
    return f'SELECT * FROM "{table}" WHERE mmsi = ? ORDER BY "{order}"', [mmsi]


def encounters_of(mmsi: int) -> Query:
    return "SELECT * FROM encounters WHERE mmsi_a = ? OR mmsi_b = ? ORDER BY start_ts", [mmsi, mmsi]


def route_counts(mmsi: int) -> Query:
    """Voyages of one vessel per route (null route = not on a route of interest)."""
    sql = """SELECT route, count(*) AS trips, min(departure_ts) AS first_departure,
                    max(departure_ts) AS last_departure
             FROM voyages WHERE mmsi = ? GROUP BY route ORDER BY route NULLS LAST"""
    return sql, [mmsi]


def draught_series(mmsi: int) -> Query:
    """Reported draught over time (one row per static-report run)."""
    sql = DISK + "SELECT ts, draught_m FROM statics WHERE mmsi = ? AND draught_m IS NOT NULL ORDER BY ts"
    return sql, [mmsi]


def sanctions_of(mmsi: int) -> Query:
    return "SELECT * FROM alerts WHERE kind = 'sanctioned' AND mmsi = ? ORDER BY ts", [mmsi]


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


def layer(table: str, start: dt.datetime, end: dt.datetime, limit: int) -> Query:
    """Rows of layer ``table`` (a key of LAYERS) overlapping the window, with the vessel's latest name."""
    t0, t1 = LAYERS[table]
    key = "mmsi_a" if table == "encounters" else "mmsi"
    sql = f"""
        SELECT e.*, n.name AS vessel_name FROM "{table}" e
        LEFT JOIN vessel_names n ON n.mmsi = e.{key}
        WHERE coalesce(e."{t1}", e."{t0}") >= ? AND e."{t0}" <= ?
        ORDER BY e."{t0}" LIMIT ?"""
    return sql, [start, end, limit]


def detections(start: dt.datetime, end: dt.datetime, limit: int) -> Query:
    """Satellite detections in the window with their AIS match (matched: the vessel; dark: none)."""
    sql = """SELECT d.det_id, d.scene_id, d.sensor, d.ts, d.lon, d.lat, d.length_m, d.score, d.in_place,
                    d.synthetic, m.status, m.mmsi, m.dist_m, n.name AS vessel_name
             FROM detections d LEFT JOIN detection_matches m USING (det_id)
             LEFT JOIN vessel_names n ON n.mmsi = m.mmsi
             WHERE d.ts BETWEEN ? AND ? ORDER BY d.ts LIMIT ?"""
    return sql, [start, end, limit]


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


def places_of(mmsi: int) -> Query:
    """Places one vessel called at (for its map)."""
    sql = """SELECT place_id, name, kind, lat, lon, r_in_m, watched FROM places
             WHERE place_id IN (SELECT place_id FROM visits WHERE mmsi = ?) ORDER BY place_id"""
    return sql, [mmsi]


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
