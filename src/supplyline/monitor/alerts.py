"""Alerts from event tables, evaluated "as of" a data time: halts, resumptions, new vessels, dark gaps near
watched places, sanctions hits and identity changes.

Every alert carries the data time when its condition became true (``ts``) and a stable id, so a re-run or
a day-by-day replay never raises the same alert twice. All rules are causal: the alerts as of day D use
only data up to D, so evaluating as of every day gives the same alerts as one run over all the data
(tested).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.ids import stable_id
from supplyline.monitor.cadence import CadenceConfig, find_halts
from supplyline.monitor.identity import CLEAN_NAME_SQL, identity_changes
from supplyline.monitor.sanctions import DPRK_FLAG, OFAC_DATE, screen_vessels

ALL_ROUTES = "any watched route"


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of every alert rule (units in names); defaults documented in docs/monitor.md."""

    cadence: CadenceConfig = field(default_factory=CadenceConfig)
    new_vessel_learn_days: float = 14.0  # vessels on a route in its first days are the baseline, not "new"
    dark_min_h: float = 6.0  # a dark gap near a watched place is alerted once it has lasted this long
    name_cutoff: float = 90.0  # rapidfuzz ratio for a fuzzy name hit
    low_confidence_names: bool = False  # also alert name-only hits under another flag (see sanctions.MATCHES)
    watched_flags: tuple[str, ...] = (DPRK_FLAG,)
    combine_routes: bool = True  # also watch the cadence of all watched routes together


@dataclass
class MonitorInputs:
    """What the monitor reads (plain Arrow tables with the schema.py schemas)."""

    voyages: pa.Table
    start: datetime  # data start / end (first and last position)
    end: datetime
    routes: Sequence[str] = ()  # watched route names; empty = every route named in voyages
    gaps: pa.Table = field(default_factory=schema.GAPS.empty_table)
    statics: pa.Table = field(default_factory=schema.STATICS.empty_table)
    seen: pa.Table | None = None  # mmsi, first_seen of every vessel with positions (None: from voyages)
    # (mmsi, ts) position times (at least of the routes' vessels): silences count only while a route's fleet
    # was received (None: always received)
    received: pa.Table | None = None


def _alert_rows(rows: list[dict[str, Any]]) -> pa.Table:
    for r in rows:
        r["details"] = json.dumps(r.get("details") or {}, default=str, sort_keys=True)
    if not rows:
        return schema.ALERTS.empty_table()
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema.ALERTS}
    return pa.table(
        {k: pa.array(v, schema.ALERTS.field(k).type) for k, v in cols.items()}, schema=schema.ALERTS
    )


def _us(ts: Any) -> int:
    return int(pa.scalar(ts, schema.TS).cast(pa.int64()).as_py())


def _duration(hours: float) -> str:
    """Hours below two days, days above ("3.5 h", "26.1 days")."""
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _watched_routes(inputs: MonitorInputs) -> list[str]:
    if inputs.routes:
        return list(inputs.routes)
    names = pc.unique(inputs.voyages["route"].drop_null()).to_pylist()
    return sorted(str(n) for n in names)


def _route_voyages(voyages: pa.Table, routes: list[str], as_of: datetime) -> dict[str, pa.Table]:
    v = voyages.filter(
        pc.and_(
            pc.is_valid(voyages["departure_ts"]),
            pc.less_equal(voyages["departure_ts"], pa.scalar(as_of, schema.TS)),
        )
    )
    out = {r: v.filter(pc.equal(v["route"], r)) for r in routes}
    return out


def _fleet_received(inputs: MonitorInputs, v: pa.Table, window_days: float) -> pa.Array | None:
    """Position times of the route's fleet: a vessel counts from a departure on the route until
    ``window_days`` after its latest one (causal: whether time t was received depends only on data up to t,
    so a vessel joining the route later does not rewrite an earlier silence)."""
    if inputs.received is None:
        return None
    if not pc.any(pc.is_in(inputs.received["mmsi"], pc.unique(v["mmsi"]))).as_py():
        return None  # no position of the route's vessels at all (imported events): no reception evidence
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("rx", inputs.received.select(["mmsi", "ts"]))
    con.register("dep", v.select(["mmsi", "departure_ts"]))
    out = con.sql(
        f"""SELECT p.ts FROM rx p ASOF JOIN dep d ON p.mmsi = d.mmsi AND p.ts >= d.departure_ts
            WHERE epoch_us(p.ts) - epoch_us(d.departure_ts) <= {window_days * 86_400e6} ORDER BY p.ts"""
    ).to_arrow_table()["ts"]
    return out.combine_chunks().cast(schema.TS)


def halt_alerts(inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """Halt when a route's silence becomes improbable under its cadence; resumption at the next departure."""
    routes = _watched_routes(inputs)
    per_route = _route_voyages(inputs.voyages, routes, as_of)
    if cfg.combine_routes and len(routes) > 1:
        per_route[ALL_ROUTES] = pa.concat_tables(list(per_route.values()))
    rows: list[dict[str, Any]] = []
    for route, v in per_route.items():
        if v.num_rows == 0:
            continue
        v = v.sort_by([("departure_ts", "ascending"), ("mmsi", "ascending")])
        halts = find_halts(
            v["departure_ts"],
            as_of,
            cfg.cadence,
            start=inputs.start,
            received=_fleet_received(inputs, v, cfg.cadence.window_days),
        )
        for h in halts.to_pylist():
            last = v.filter(pc.equal(v["departure_ts"], pa.scalar(h["last_departure_ts"], schema.TS))).slice(
                0, 1
            )
            halt_id = stable_id("alert", "halt", route, _us(h["last_departure_ts"]))
            silence = _duration((h["halt_ts"] - h["last_departure_ts"]).total_seconds() / 3600)
            rows.append(
                {
                    "alert_id": halt_id,
                    "kind": "halt",
                    "ts": h["halt_ts"],
                    "route": route,
                    "probability": h["p_at_halt"],
                    "message": (
                        f"{route}: no departure for {silence} since {h['last_departure_ts']:%Y-%m-%d %H:%M} "
                        f"({h['expected_at_halt']:.1f} expected); P(silence this long | {h['model']} cadence, "
                        f"{h['rate_per_day']:.2f} departures/day) = {h['p_at_halt']:.3g}"
                    ),
                    "details": {
                        "last_departure_ts": h["last_departure_ts"],
                        "last_voyage_id": last["voyage_id"][0].as_py() if last.num_rows else None,
                        "last_mmsi": last["mmsi"][0].as_py() if last.num_rows else None,
                        "rate_per_day": h["rate_per_day"],
                        "n_window": h["n_window"],
                        "expected_departures": h["expected_at_halt"],
                        "window_days": cfg.cadence.window_days,
                        "daily_cycle": cfg.cadence.daily_cycle,
                        "model": h["model"],
                        "shape": h["shape"],
                        "operational_h": h["operational_h_at_halt"],
                        "reception_aware": inputs.received is not None,
                        "as_of_day": h["halt_ts"].date().isoformat(),
                    },
                }
            )
            if h["resume_index"] is None:
                continue
            nxt = v.slice(int(h["resume_index"]), 1).to_pylist()[0]
            rows.append(
                {
                    "alert_id": stable_id("alert", "resumption", route, _us(h["resume_ts"])),
                    "kind": "resumption",
                    "ts": h["resume_ts"],
                    "mmsi": nxt["mmsi"],
                    "route": route,
                    "place_id": nxt.get("origin_id"),
                    "probability": h["p_at_resume"],
                    "message": (
                        f"{route}: departures resumed {h['resume_ts']:%Y-%m-%d %H:%M} (MMSI {nxt['mmsi']}) after "
                        f"{_duration(h['silence_h'])}; P(whole silence | cadence) = {h['p_at_resume']:.3g}"
                    ),
                    "details": {
                        "halt_alert_id": halt_id,
                        "voyage_id": nxt["voyage_id"],
                        "silence_h": h["silence_h"],
                    },
                }
            )
    return _alert_rows(rows)


def new_vessel_alerts(inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """First voyage of an MMSI on a watched route, after the route's baseline (its first departure plus
    ``new_vessel_learn_days``: the vessels already serving it then are its regulars)."""
    routes = _watched_routes(inputs)
    rows: list[dict[str, Any]] = []
    for route, v in _route_voyages(inputs.voyages, routes, as_of).items():
        if v.num_rows == 0:
            continue
        baseline_end = pc.min(v["departure_ts"]).as_py() + timedelta(days=cfg.new_vessel_learn_days)
        first = v.group_by("mmsi").aggregate([("departure_ts", "min")]).to_pylist()
        for f in first:
            ts = f["departure_ts_min"]
            if ts < baseline_end:
                continue
            voyage = v.filter(
                pc.and_(pc.equal(v["mmsi"], f["mmsi"]), pc.equal(v["departure_ts"], pa.scalar(ts, schema.TS)))
            ).to_pylist()[0]
            rows.append(
                {
                    "alert_id": stable_id("alert", "new_vessel", route, f["mmsi"]),
                    "kind": "new_vessel",
                    "ts": ts,
                    "mmsi": f["mmsi"],
                    "route": route,
                    "place_id": voyage.get("origin_id"),
                    "message": f"{route}: first voyage by MMSI {f['mmsi']} departing {ts:%Y-%m-%d %H:%M}",
                    "details": {"voyage_id": voyage["voyage_id"], "baseline_end": baseline_end},
                }
            )
    return _alert_rows(rows)


def dark_alerts(inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """A dark gap that starts or ends near a watched place, alerted ``dark_min_h`` into the silence."""
    g = inputs.gaps
    if g.num_rows == 0:
        return schema.ALERTS.empty_table()
    near = pc.or_(pc.is_valid(g["near_start_place"]), pc.is_valid(g["near_end_place"]))
    moored = pc.fill_null(
        pc.equal(g["likely"], "in_port_silence"), False
    )  # a moored ship's silence is no alert
    g = g.filter(pc.and_(pc.and_(near, pc.invert(moored)), pc.greater_equal(g["duration_h"], cfg.dark_min_h)))
    rows: list[dict[str, Any]] = []
    for r in g.to_pylist():
        ts = min(r["start_ts"] + timedelta(hours=cfg.dark_min_h), r["end_ts"] or r["start_ts"])
        if ts > as_of:
            continue
        place = r["near_start_place"] or r["near_end_place"]
        where = "starts" if r["near_start_place"] else "ends"
        ended = r["end_ts"] is not None and r["end_ts"] <= as_of
        rows.append(
            {
                "alert_id": stable_id("alert", "dark_near_place", r["gap_id"]),
                "kind": "dark_near_place",
                "ts": ts,
                "mmsi": r["mmsi"],
                "place_id": place,
                "message": (
                    f"MMSI {r['mmsi']} dark for {r['duration_h']:.1f} h from {r['start_ts']:%Y-%m-%d %H:%M}; "
                    f"the gap {where} near {place}" + ("" if ended else " (still dark as of this evaluation)")
                ),
                "details": {
                    k: r[k]
                    for k in (
                        "gap_id",
                        "start_ts",
                        "end_ts",
                        "duration_h",
                        "near_start_place",
                        "near_end_place",
                        "likely",
                        "dist_km",
                    )
                },
            }
        )
    return _alert_rows(rows)


def seen_vessels(inputs: MonitorInputs) -> pa.Table:
    """Every identity seen: (mmsi, imo, name, first_seen), from statics joined to the MMSIs with positions."""
    import duckdb

    seen = inputs.seen
    if seen is None:
        v = inputs.voyages
        seen = v.group_by("mmsi").aggregate([("departure_ts", "min")]).rename_columns(["mmsi", "first_seen"])
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("seen", seen)
    con.register("st", inputs.statics.select(["mmsi", "ts", "imo", "name"]))
    return con.sql(
        f"""
        WITH ids AS (SELECT mmsi, imo, {CLEAN_NAME_SQL} AS name,
                            min(ts) AS first_seen
                     FROM st GROUP BY ALL)
        SELECT mmsi, imo, name, first_seen FROM ids
        UNION ALL
        SELECT s.mmsi, NULL::BIGINT, NULL::VARCHAR, s.first_seen FROM seen s
        WHERE s.mmsi NOT IN (SELECT mmsi FROM ids)
        ORDER BY mmsi, first_seen
        """
    ).to_arrow_table()


def sanction_alerts(vessels: pa.Table, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """Sanctions-list hits (IMO, MMSI, fuzzy name) and watched-flag MMSIs, at the vessel's first sighting."""
    hits = screen_vessels(vessels, name_cutoff=cfg.name_cutoff, watched_flags=cfg.watched_flags)
    hits = hits.filter(pc.less_equal(hits["first_seen"], pa.scalar(as_of, schema.TS)))
    if not cfg.low_confidence_names:
        hits = hits.filter(pc.not_equal(hits["confidence"], "low"))
    best: dict[str, dict[str, Any]] = {}
    for h in hits.sort_by([("first_seen", "ascending")]).to_pylist():
        key = h["ent_num"] if h["match"] != "flag" else h["flag"]
        aid = stable_id("alert", "sanctioned", h["mmsi"], h["match"], key)
        if aid in best:
            continue
        if h["match"] == "flag":
            msg = f"MMSI {h['mmsi']} ({h['name'] or 'no name'}) flies the flag of {h['flag']} (MID {str(h['mmsi'])[:3]})"
        else:
            msg = (
                f"MMSI {h['mmsi']} ({h['name'] or 'no name'}) matches OFAC SDN {h['listed_name']!r} "
                f"(IMO {h['listed_imo']}, {h['program']}) by {h['match']}, score {h['score']:.0f}; list of {OFAC_DATE}"
            )
        best[aid] = {
            "alert_id": aid,
            "kind": "sanctioned",
            "ts": h["first_seen"],
            "mmsi": h["mmsi"],
            "probability": None,
            "message": msg,
            "details": {
                **{
                    k: h[k]
                    for k in (
                        "match",
                        "score",
                        "ent_num",
                        "listed_name",
                        "program",
                        "listed_imo",
                        "imo",
                        "flag",
                    )
                },
                "list_date": OFAC_DATE,
            },
        }
    return _alert_rows(list(best.values()))


def identity_alerts(inputs: MonitorInputs, as_of: datetime) -> pa.Table:
    """A new name or IMO on one MMSI, or one IMO under another MMSI (with both flags)."""
    st = inputs.statics.filter(pc.less_equal(inputs.statics["ts"], pa.scalar(as_of, schema.TS)))
    rows: list[dict[str, Any]] = []
    for c in identity_changes(st).to_pylist():
        if c["field"] == "mmsi":
            msg = f"IMO {c['imo']} now on MMSI {c['new']} ({c['new_flag']}), earlier on {c['old']} ({c['old_flag']})"
        else:
            msg = f"MMSI {c['mmsi']} changed {c['field']} from {c['old']} to {c['new']}"
        rows.append(
            {
                "alert_id": stable_id("alert", "identity_change", c["mmsi"], c["field"], c["old"], c["new"]),
                "kind": "identity_change",
                "ts": c["ts"],
                "mmsi": c["mmsi"],
                "message": msg,
                "details": c,
            }
        )
    return _alert_rows(rows)


def _all_rules(inputs: MonitorInputs, vessels: pa.Table, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    parts = [
        halt_alerts(inputs, as_of, cfg),
        new_vessel_alerts(inputs, as_of, cfg),
        dark_alerts(inputs, as_of, cfg),
        sanction_alerts(vessels, as_of, cfg),
        identity_alerts(inputs, as_of),
    ]
    return pa.concat_tables(parts).sort_by(
        [("ts", "ascending"), ("kind", "ascending"), ("alert_id", "ascending")]
    )


def evaluate(
    inputs: MonitorInputs,
    as_of: datetime | None = None,
    cfg: MonitorConfig | None = None,
    since: datetime | None = None,
) -> pa.Table:
    """Every alert whose condition is true as of ``as_of`` (default: the end of the data), sorted by ts."""
    cfg = cfg or MonitorConfig()
    out = _all_rules(inputs, seen_vessels(inputs), as_of or inputs.end, cfg)
    if since is not None:
        out = out.filter(pc.greater_equal(out["ts"], pa.scalar(since, schema.TS)))
    return out


def replay(
    inputs: MonitorInputs,
    cfg: MonitorConfig | None = None,
    since: datetime | None = None,
    step: timedelta = timedelta(days=1),
) -> pa.Table:
    """The alerts a run at the end of every day (``step``) would have raised, in the order raised.

    Every rule is causal (an alert with time ts depends only on data up to ts; the tests check this by
    evaluating as of many days), so one evaluation over all the data, stamped with the first evaluation time
    at or after each alert's ts (``details.raised_as_of``), is the day-by-day replay without re-running it.
    """
    alerts = evaluate(inputs, cfg=cfg, since=since)
    day0 = datetime.combine(inputs.start.date(), datetime.min.time(), tzinfo=inputs.start.tzinfo)
    raised = []
    for t in alerts["ts"].to_pylist():
        k = -((day0 - t) // step)  # ceil((t - day0) / step)
        raised.append(min(day0 + k * step, inputs.end))
    details = [
        json.dumps({**json.loads(d), "raised_as_of": r.isoformat()}, sort_keys=True)
        for d, r in zip(alerts["details"].to_pylist(), raised, strict=True)
    ]
    return alerts.set_column(
        alerts.schema.get_field_index("details"), "details", pa.array(details, pa.string())
    )
