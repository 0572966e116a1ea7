"""Alerts from event tables, evaluated "as of" a data time: halts, resumptions, new vessels, dark gaps near
watched places, sanctions hits and identity changes.

Every alert carries the data time when its condition became true (``ts``) and a stable id, so a re-run or
a day-by-day replay never raises the same alert twice. All rules are causal: the alerts as of day D use
only data up to D, so evaluating as of every day gives the same alerts as one run over all the data
(tested).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.geo import haversine_km
from supplyline.ids import stable_id
from supplyline.isotime import iso_utc, json_default
from supplyline.monitor.cadence import CadenceConfig, find_halts
from supplyline.monitor.dark import DarkConfig, classify
from supplyline.monitor.identity import CLEAN_NAME_SQL, alternating_names, identity_changes
from supplyline.monitor.sanctions import ALERT_SCORE, DPRK_FLAG, screen_vessels
from supplyline.monitor.shifts import Shift, find_shift, place_names

ALL_ROUTES = "any watched route"


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of every alert rule (units in names); defaults documented in docs/monitor.md."""

    cadence: CadenceConfig = field(default_factory=CadenceConfig)
    new_vessel_learn_days: float = 14.0  # vessels on a route in its first days are the baseline, not "new"
    dark_min_h: float = 6.0  # a dark gap near a watched place is alerted once it has lasted this long
    dark: DarkConfig = field(default_factory=DarkConfig)  # which silences are dark (monitor.dark)
    name_cutoff: float = 90.0  # rapidfuzz ratio for a fuzzy name hit
    low_confidence_names: bool = False  # also alert name-only hits under another flag (see sanctions.MATCHES)
    sanctions_min_score: float = ALERT_SCORE  # a sanctions hit alerts from this score (sanctions.score_hits)
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
    # per gap: the vessel's own sampling and motion before it (monitor.dark.gap_context); None: every gap near
    # a watched place that is not a reception hole counts as dark
    gap_context: pa.Table | None = None
    # shared-MMSI and spoofing events from positions (detect.identity.find_identities); None: not looked for
    identity_events: pa.Table | None = None
    # the case's sanctions lists (monitor.opensanctions.load_case_sanctions); None: the shipped OFAC extract
    sanctions: pa.Table | None = None


def _alert_rows(rows: list[dict[str, Any]]) -> pa.Table:
    for r in rows:
        r["details"] = json.dumps(r.get("details") or {}, default=json_default, sort_keys=True)
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


def _fleet_received(inputs: MonitorInputs, v: pa.Table, window_days: float) -> pa.Table | None:
    """Positions (mmsi, ts) of the route's fleet: a vessel counts from a departure on the route until
    ``window_days`` after its latest one (causal: whether time t was received depends only on data up to t,
    so a vessel joining the route later does not rewrite an earlier silence). A vessel on a voyage of the
    route is present until it arrives even when its AIS is off (dark laden legs): the voyage's span is added
    as one point every 30 minutes (within the cadence's 1 h ``reception_gap_h``)."""
    if inputs.received is None:
        return None
    if not pc.any(pc.is_in(inputs.received["mmsi"], pc.unique(v["mmsi"]))).as_py():
        return None  # no position of the route's vessels at all (imported events): no reception evidence
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("rx", inputs.received.select(["mmsi", "ts"]))
    con.register("dep", v.select(["mmsi", "departure_ts", "arrival_ts"]))
    out = con.sql(
        f"""WITH pts AS (
                SELECT mmsi, ts FROM rx
                UNION ALL
                SELECT mmsi, unnest(generate_series(departure_ts, arrival_ts, INTERVAL 30 minutes)) AS ts
                FROM dep WHERE arrival_ts > departure_ts)
            SELECT p.mmsi, p.ts FROM pts p ASOF JOIN dep d ON p.mmsi = d.mmsi AND p.ts >= d.departure_ts
            WHERE epoch_us(p.ts) - epoch_us(d.departure_ts) <= {window_days * 86_400e6} ORDER BY p.ts"""
    ).to_arrow_table()
    return out.cast(pa.schema([pa.field("mmsi", pa.int64()), pa.field("ts", schema.TS)]))


def _route_halts(
    inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig
) -> dict[str, tuple[pa.Table, list[dict[str, Any]]]]:
    """Per watched route (and all together): its voyages sorted by departure and its halts (HALTS rows)."""
    routes = _watched_routes(inputs)
    per_route = _route_voyages(inputs.voyages, routes, as_of)
    if cfg.combine_routes and len(routes) > 1:
        per_route[ALL_ROUTES] = pa.concat_tables(list(per_route.values()))
    out: dict[str, tuple[pa.Table, list[dict[str, Any]]]] = {}
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
            vessels=v["mmsi"],
        )
        out[route] = (v, halts.to_pylist())
    return out


def _halt_row(
    route: str, v: pa.Table, h: dict[str, Any], inputs: MonitorInputs, cfg: MonitorConfig
) -> dict[str, Any]:
    last = v.filter(pc.equal(v["departure_ts"], pa.scalar(h["last_departure_ts"], schema.TS))).slice(0, 1)
    silence = _duration((h["halt_ts"] - h["last_departure_ts"]).total_seconds() / 3600)
    return {
        "alert_id": stable_id("alert", "halt", route, _us(h["last_departure_ts"])),
        "kind": "halt",
        "ts": h["halt_ts"],
        "route": route,
        "probability": h["p_at_halt"],
        "message": (
            f"{route}: no departure for {silence} since {h['last_departure_ts']:%Y-%m-%d %H:%M} "
            f"({h['expected_at_halt']:.1f} expected); P(silence this long | {h['model']} cadence, "
            f"{h['rate_per_day']:.2f} departures/day) = {h['p_at_halt']:.3g} (alert below {h['threshold']:.2g})"
        ),
        "details": {
            "last_departure_ts": h["last_departure_ts"],
            "last_voyage_id": last["voyage_id"][0].as_py() if last.num_rows else None,
            "last_mmsi": last["mmsi"][0].as_py() if last.num_rows else None,
            "rate_per_day": h["rate_per_day"],
            "n_window": h["n_window"],
            "expected_departures": h["expected_at_halt"],
            "threshold": h["threshold"],
            "window_days": cfg.cadence.window_days,
            "daily_cycle": cfg.cadence.daily_cycle,
            "model": h["model"],
            "shape": h["shape"],
            "operational_h": h["operational_h_at_halt"],
            "reception_aware": inputs.received is not None,
            "as_of_day": h["halt_ts"].date().isoformat(),
        },
    }


def _shift_row(halt: dict[str, Any], sh: Shift, names: dict[str, str]) -> dict[str, Any]:
    """A halt re-worded as a route shift (same time and probability; its own id and kind)."""
    d = dict(halt["details"])
    old, new = names.get(sh.old_place, sh.old_place), names.get(sh.new_place, sh.new_place)
    return {
        **halt,
        "alert_id": stable_id(
            "alert", "route_shift", sh.old_place, sh.new_place, _us(d["last_departure_ts"])
        ),
        "kind": "route_shift",
        "place_id": sh.new_place,
        "message": (
            f"{sh.route} -> {sh.to_route}: traffic moved from {old} to {new}. "
            + halt["message"]
            + f"; meanwhile {sh.to_route} had {sh.n_taken} departures ({sh.expected_taken:.1f} at its earlier rate)"
        ),
        "details": {
            **d,
            "halt_alert_id": halt["alert_id"],
            "to_route": sh.to_route,
            "old_place": sh.old_place,
            "new_place": sh.new_place,
            "n_taken": sh.n_taken,
            "expected_taken": sh.expected_taken,
        },
    }


def _resumption_row(route: str, v: pa.Table, h: dict[str, Any], halt_id: str) -> dict[str, Any]:
    nxt = v.slice(int(h["resume_index"]), 1).to_pylist()[0]
    return {
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
        "details": {"halt_alert_id": halt_id, "voyage_id": nxt["voyage_id"], "silence_h": h["silence_h"]},
    }


def halt_alerts(inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """Halt when a route's silence becomes improbable under its cadence; resumption at the next departure.

    A halt whose traffic a sibling route took up is a ``route_shift`` instead (see ``monitor.shifts``); the
    halts of its return leg between the same two places join that shift without a second alert.
    """
    per = _route_halts(inputs, as_of, cfg)
    voyages = {r: v for r, (v, _) in per.items() if r != ALL_ROUTES}
    events = sorted(
        ((h["halt_ts"], r, h) for r, (_, hs) in per.items() for h in hs), key=lambda e: (e[0], e[1])
    )
    rows: list[dict[str, Any]] = []
    shifted: set[tuple[str, str]] = set()
    ends: dict[str, tuple[str | None, str | None]] = {}  # each route's usual ends, counted once
    names: dict[str, str] | None = None
    for _, route, h in events:
        v = per[route][0]
        row = _halt_row(route, v, h, inputs, cfg)
        sh = (
            None
            if route == ALL_ROUTES
            else find_shift(
                route,
                h["last_departure_ts"],
                h["halt_ts"],
                h["expected_at_halt"],
                voyages,
                cfg.cadence.window_days,
                ends=ends,
            )
        )
        if sh is not None and (sh.old_place, sh.new_place) in shifted:
            continue  # the return leg of a shift already raised
        if sh is not None:
            shifted.add((sh.old_place, sh.new_place))
            names = place_names(inputs.voyages) if names is None else names
            row = _shift_row(row, sh, names)
        rows.append(row)
        if h["resume_index"] is not None:
            rows.append(_resumption_row(route, v, h, row["alert_id"]))
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


def _dark_row(r: dict[str, Any], ts: datetime, cls: str, ended: bool) -> dict[str, Any]:
    place = r["near_start_place"] or r["near_end_place"]
    where = "starts" if r["near_start_place"] else "ends"
    if cls == "moored":
        what = (
            f"MMSI {r['mmsi']} silent {r['duration_h']:.1f} h from {r['start_ts']:%Y-%m-%d %H:%M} while moored "
            f"near {place}, and reappeared {r['dist_km']:.1f} km away: it left while dark"
        )
    else:
        what = (
            f"MMSI {r['mmsi']} dark for {r['duration_h']:.1f} h from {r['start_ts']:%Y-%m-%d %H:%M}; "
            f"the gap {where} near {place}" + ("" if ended else " (still dark as of this evaluation)")
        )
    keys = (
        "gap_id",
        "start_ts",
        "end_ts",
        "duration_h",
        "near_start_place",
        "near_end_place",
        "likely",
        "dist_km",
    )
    return {
        "alert_id": stable_id("alert", "dark_near_place", r["gap_id"]),
        "kind": "dark_near_place",
        "ts": ts,
        "mmsi": r["mmsi"],
        "place_id": place,
        "message": what,
        "details": {**{k: r[k] for k in keys}, "gap_class": cls},
    }


def dark_alerts(
    inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig, known: Collection[str] = frozenset()
) -> pa.Table:
    """A gap near a watched place that is dark by its context (``monitor.dark``): alerted ``dark_min_h``
    into the silence; a moored vessel's silence only if it reappears ``left_km`` away (at that time);
    reception holes and sparse sampling never.

    Each gap's alert depends on that gap (and its context) alone, so the gaps that raise one are chosen on
    whole columns (:func:`_dark_raising`) and the rows built only for them, less the ids in ``known``
    (alerts emitted before, which the caller drops anyway): a watch's run builds rows for its new alerts,
    not for every dark gap of the history."""
    g = inputs.gaps
    if g.num_rows == 0:
        return schema.ALERTS.empty_table()
    near = pc.or_(pc.is_valid(g["near_start_place"]), pc.is_valid(g["near_end_place"]))
    g = g.filter(pc.and_(near, pc.greater_equal(g["duration_h"], cfg.dark_min_h)))
    classes = classify(g, inputs.gap_context, cfg.dark_min_h, cfg.dark)
    # detect's own class: stationary with both ends in port is a moored silence (no alert unless it moved)
    classes[np.asarray(g["likely"].to_pylist(), dtype=object) == "in_port_silence"] = "moored"
    raising = _dark_raising(g, classes, as_of, cfg)
    ids = [stable_id("alert", "dark_near_place", gid) for gid in g["gap_id"].filter(raising).to_pylist()]
    pick = np.flatnonzero(raising)[np.array([i not in known for i in ids], dtype=bool)]
    rows: list[dict[str, Any]] = []
    for r, cls in zip(g.take(pick).to_pylist(), classes[pick], strict=True):
        ended = r["end_ts"] is not None and r["end_ts"] <= as_of
        if cls in ("dark", "coverage"):
            ts = min(r["start_ts"] + timedelta(hours=cfg.dark_min_h), r["end_ts"] or r["start_ts"])
        else:  # moored, ended, and reappeared left_km away (_dark_raising)
            ts = r["end_ts"]
        rows.append(_dark_row(r, ts, str(cls), ended))
    return _alert_rows(rows)


def _dark_raising(g: pa.Table, classes: np.ndarray, as_of: datetime, cfg: MonitorConfig) -> np.ndarray:
    """Which gaps raise a dark alert by ``as_of`` (bool per row of ``g``), on whole columns: a dark or
    coverage gap at ``min(start + dark_min_h, end or start)``, a moored one that ended ``left_km`` or more
    from where it started at its end; microseconds, as the rows' times."""
    start = pc.cast(g["start_ts"], pa.int64()).to_numpy(zero_copy_only=False)
    end = pc.cast(g["end_ts"], pa.int64()).fill_null(-(2**62)).to_numpy(zero_copy_only=False)
    has_end = pc.is_valid(g["end_ts"]).to_numpy(zero_copy_only=False)
    limit = _us(as_of)
    ended = has_end & (end <= limit)
    into = start + timedelta(hours=cfg.dark_min_h) // timedelta(microseconds=1)
    dark_ts = np.minimum(into, np.where(has_end, end, start))
    dist = pc.fill_null(g["dist_km"], 0.0).to_numpy(zero_copy_only=False)
    dark = np.isin(classes, ["dark", "coverage"]) & (dark_ts <= limit)
    moored = (classes == "moored") & ended & (dist >= cfg.dark.left_km)
    return np.asarray(dark | moored, dtype=bool)


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


def sanction_alerts(
    vessels: pa.Table, as_of: datetime, cfg: MonitorConfig, sanctions: pa.Table | None = None
) -> pa.Table:
    """Sanctions-list hits (IMO, MMSI, name scored by rarity) and watched-flag MMSIs, stamped at the later of
    the vessel's first sighting and the designation date: no alert before the vessel was listed."""
    hits = screen_vessels(
        vessels, sanctions, name_cutoff=cfg.name_cutoff, watched_flags=cfg.watched_flags, as_of=as_of.date()
    )
    # the later of first sighting and designation (midnight UTC of that day), as int64 microseconds
    seen_us = pc.cast(hits["first_seen"], pa.int64())
    listed_us = pc.multiply(pc.cast(pc.cast(hits["designated"], pa.int32()), pa.int64()), 86_400_000_000)
    ts = pc.cast(pc.max_element_wise(seen_us, listed_us, skip_nulls=True), schema.TS)
    hits = hits.set_column(hits.schema.get_field_index("first_seen"), "first_seen", ts)
    hits = hits.filter(pc.less_equal(hits["first_seen"], pa.scalar(as_of, schema.TS)))
    if not cfg.low_confidence_names:
        hits = hits.filter(pc.greater_equal(hits["score"], cfg.sanctions_min_score))
    best: dict[str, dict[str, Any]] = {}
    for h in hits.sort_by([("first_seen", "ascending")]).to_pylist():
        key = h["ent_num"] if h["match"] != "flag" else h["flag"]
        aid = stable_id(
            "alert", "sanctioned", h["mmsi"], h["match"], key if key is not None else h["entity_id"]
        )
        if aid in best:
            continue
        best[aid] = {
            "alert_id": aid,
            "kind": "sanctioned",
            "ts": h["first_seen"],
            "mmsi": h["mmsi"],
            "probability": None,
            "message": _sanction_message(h),
            "details": {
                k: h[k]
                for k in (
                    "match",
                    "basis",
                    "score",
                    "name_ratio",
                    "ent_num",
                    "entity_id",
                    "list_name",
                    "designated",
                    "listed_name",
                    "program",
                    "listed_imo",
                    "imo",
                    "flag",
                    "flag_iso",
                    "listed_flag_iso",
                )
            },
        }
    return _alert_rows(list(best.values()))


def _sanction_message(h: dict[str, Any]) -> str:
    """One line: the vessel, the listing, the basis of the match and its score."""
    who = (
        f"MMSI {h['mmsi']} ({h['name'] or 'no name'}, flag {h['flag'] or 'unknown'} / {h['flag_iso'] or '-'})"
    )
    if h["match"] == "flag":
        return f"{who} flies the flag of {h['flag']} (MID {str(h['mmsi'])[:3]})"
    since = f", designated {h['designated']}" if h["designated"] else ""
    return (
        f"{who} matches {h['list_name'] or 'the sanctions list'}: {h['listed_name']!r} (IMO {h['listed_imo']}, "
        f"{h['program']}{since}) on {h['basis']}, score {h['score']:.0f}"
    )


def _shared_rows(inputs: MonitorInputs, as_of: datetime) -> dict[int, dict[str, Any]]:
    """One ``shared_mmsi`` alert per MMSI, from positions (two tracks at once) and/or alternating names."""
    out: dict[int, dict[str, Any]] = {}
    events = inputs.identity_events
    for e in [] if events is None else events.to_pylist():
        if e["kind"] != "shared_mmsi" or e["detected_ts"] > as_of:
            continue
        out[e["mmsi"]] = {
            "ts": e["detected_ts"],
            "evidence": (
                f"two consistent tracks transmit at once from {e['start_ts']:%Y-%m-%d %H:%M} to "
                f"{e['end_ts']:%Y-%m-%d %H:%M} ({e['n_jumps']} jumps between them at up to {e['max_speed_kn']:.0f} kn; "
                f"near {e['other_lat']:.3f},{e['other_lon']:.3f} and {e['lat']:.3f},{e['lon']:.3f})"
            ),
            "details": {k: e[k] for k in ("start_ts", "end_ts", "n_jumps", "max_speed_kn", "n_positions")},
        }
    st = inputs.statics.filter(pc.less_equal(inputs.statics["ts"], pa.scalar(as_of, schema.TS)))
    for a in alternating_names(st).to_pylist():
        if a["detected_ts"] > as_of:
            continue
        prev = out.get(a["mmsi"])
        text = f"its static name alternates between {a['names'].replace(';', ' and ')} ({a['n_flips']} flips back)"
        if prev is None or a["detected_ts"] < prev["ts"]:
            out[a["mmsi"]] = {"ts": a["detected_ts"], "evidence": text, "details": {"names": a["names"]}}
        if prev is not None:
            out[a["mmsi"]]["evidence"] = prev["evidence"] + "; " + text
            out[a["mmsi"]]["details"] = {**prev["details"], "names": a["names"]}
    return out


def identity_alerts(inputs: MonitorInputs, as_of: datetime) -> pa.Table:
    """Shared MMSIs and spoofed windows; a new name or IMO on one MMSI, or one IMO under another MMSI (with
    both flags). A shared MMSI's name changes after it was found shared are its two ships, not renames."""
    shared = _shared_rows(inputs, as_of)
    rows: list[dict[str, Any]] = [
        {
            "alert_id": stable_id("alert", "shared_mmsi", m),
            "kind": "shared_mmsi",
            "ts": x["ts"],
            "mmsi": m,
            "message": f"MMSI {m} is used by two ships: {x['evidence']}",
            "details": x["details"],
        }
        for m, x in shared.items()
    ]
    rows += _spoofing_rows(inputs, as_of, set(shared))
    st = inputs.statics.filter(pc.less_equal(inputs.statics["ts"], pa.scalar(as_of, schema.TS)))
    for c in identity_changes(st).to_pylist():
        if c["mmsi"] in shared and c["field"] in ("name", "imo") and c["ts"] >= shared[c["mmsi"]]["ts"]:
            continue
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


def _spoofing_rows(inputs: MonitorInputs, as_of: datetime, shared: set[int]) -> list[dict[str, Any]]:
    """One ``spoofing`` alert per spoofed window, raised when the track came back (``detected_ts``)."""
    events = inputs.identity_events
    rows: list[dict[str, Any]] = []
    for e in [] if events is None else events.to_pylist():
        if e["kind"] != "spoofing" or e["detected_ts"] > as_of or e["mmsi"] in shared:
            continue
        hours = (e["end_ts"] - e["start_ts"]).total_seconds() / 3600
        km = float(
            haversine_km(
                np.array([e["lat"]]),
                np.array([e["lon"]]),
                np.array([e["other_lat"]]),
                np.array([e["other_lon"]]),
            )[0]
        )
        rows.append(
            {
                "alert_id": stable_id("alert", "spoofing", e["mmsi"], _us(e["start_ts"])),
                "kind": "spoofing",
                "ts": e["detected_ts"],
                "mmsi": e["mmsi"],
                "message": (
                    f"MMSI {e['mmsi']}: {e['n_positions']} positions from {e['start_ts']:%Y-%m-%d %H:%M} to "
                    f"{e['end_ts']:%Y-%m-%d %H:%M} ({_duration(hours)}) lie ~{km:.0f} km from its track before "
                    f"and after (jumps at {e['max_speed_kn']:.0f} kn): a spoofed window"
                ),
                "details": {
                    k: e[k] for k in ("start_ts", "end_ts", "n_positions", "max_speed_kn", "lat", "lon")
                }
                | {"track_lat": e["other_lat"], "track_lon": e["other_lon"], "offset_km": km},
            }
        )
    return rows


def _all_rules(
    inputs: MonitorInputs, vessels: pa.Table, as_of: datetime, cfg: MonitorConfig, known: Collection[str]
) -> pa.Table:
    parts = [
        halt_alerts(inputs, as_of, cfg),
        new_vessel_alerts(inputs, as_of, cfg),
        dark_alerts(inputs, as_of, cfg, known),
        sanction_alerts(vessels, as_of, cfg, inputs.sanctions),
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
    *,
    known: Collection[str] = frozenset(),
) -> pa.Table:
    """Every alert whose condition is true as of ``as_of`` (default: the end of the data), sorted by ts.

    ``known``: ids of alerts emitted before; a rule may leave them out (the caller drops them anyway) where
    that saves building their rows, so the alerts not in ``known`` are the same either way (tested)."""
    cfg = cfg or MonitorConfig()
    out = _all_rules(inputs, seen_vessels(inputs), as_of or inputs.end, cfg, known)
    if since is not None:
        out = out.filter(pc.greater_equal(out["ts"], pa.scalar(since, schema.TS)))
    return out


def replay(
    inputs: MonitorInputs,
    cfg: MonitorConfig | None = None,
    since: datetime | None = None,
    step: timedelta = timedelta(days=1),
    *,
    known: Collection[str] = frozenset(),
) -> pa.Table:
    """The alerts a run at the end of every day (``step``) would have raised, in the order raised.

    Every rule is causal (an alert with time ts depends only on data up to ts; the tests check this by
    evaluating as of many days), so one evaluation over all the data, stamped with the first evaluation time
    at or after each alert's ts (``details.raised_as_of``), is the day-by-day replay without re-running it.
    """
    alerts = evaluate(inputs, cfg=cfg, since=since, known=known)
    day0 = datetime.combine(inputs.start.date(), datetime.min.time(), tzinfo=inputs.start.tzinfo)
    raised = []
    for t in alerts["ts"].to_pylist():
        k = -((day0 - t) // step)  # ceil((t - day0) / step)
        raised.append(min(day0 + k * step, inputs.end))
    details = [
        json.dumps({**json.loads(d), "raised_as_of": iso_utc(r)}, sort_keys=True)
        for d, r in zip(alerts["details"].to_pylist(), raised, strict=True)
    ]
    return alerts.set_column(
        alerts.schema.get_field_index("details"), "details", pa.array(details, pa.string())
    )
