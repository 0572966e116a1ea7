"""Port visits, encounters, loitering and gaps in the JSON layout of Global Fishing Watch's Events API (v3).

For side-by-side checks with GFW: :func:`to_gfw_events` writes our event tables as GFW event objects
(``id``, ``type``, ``start``, ``end``, ``position``, ``vessel`` and one type-specific object), and
:func:`from_gfw_events` reads such objects (ours or GFW's) back into our table schemas. Fields GFW has and
we do not are left out; ours that GFW lacks are null after a round trip.

Port-visit confidence: GFW uses levels 2, 3, 4 (4 = entry, stop and exit all seen). Ours is 0..1; we write
``>= 0.8 -> 4``, ``>= 0.5 -> 3``, else 2, and read a level back as 0.9, 0.65 and 0.3 (the middle of each band).
A gap is ``intentionalDisabling`` when our coverage check calls it ``disabled``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.errors import FormatError
from supplyline.isotime import iso_utc

Event = dict[str, Any]
_LEVELS = ((0.8, 4), (0.5, 3))
_LEVEL_CONFIDENCE = {4: 0.9, 3: 0.65, 2: 0.3}


def _level(confidence: float | None) -> int:
    return next((lvl for lo, lvl in _LEVELS if confidence is not None and confidence >= lo), 2)


def _t(value: Any) -> str | None:
    return iso_utc(value) if value is not None else None


def _vessel(mmsi: int) -> dict[str, Any]:
    return {"ssvid": str(mmsi)}


def _visit(r: dict[str, Any], where: dict[str, tuple[float, float]]) -> Event:
    lat, lon = where.get(r["place_id"], (None, None))
    anchorage = {"id": r["place_id"], "name": r["place_name"]}
    return {
        "id": r["visit_id"], "type": "port_visit", "start": _t(r["arrival_ts"]), "end": _t(r["departure_ts"]),
        "position": {"lat": lat, "lon": lon}, "vessel": _vessel(r["mmsi"]),
        "port_visit": {"visitId": r["visit_id"], "confidence": str(_level(r["confidence"])),
                       "durationHrs": r["dwell_h"], "startAnchorage": anchorage, "endAnchorage": anchorage},
    }  # fmt: skip


def _gap(r: dict[str, Any]) -> Event:
    off = {"lat": r["start_lat"], "lon": r["start_lon"]}
    return {
        "id": r["gap_id"], "type": "gap", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]), "position": off,
        "vessel": _vessel(r["mmsi"]),
        "gap": {"intentionalDisabling": r["likely"] == "disabled", "distanceKm": r["dist_km"],
                "durationHours": r["duration_h"], "impliedSpeedKnots": r["implied_speed_kn"],
                "offPosition": off, "onPosition": {"lat": r["end_lat"], "lon": r["end_lon"]}},
    }  # fmt: skip


def _encounter(r: dict[str, Any]) -> Event:
    return {
        "id": r["encounter_id"], "type": "encounter", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]),
        "position": {"lat": r["lat"], "lon": r["lon"]}, "vessel": _vessel(r["mmsi_a"]),
        "encounter": {"vessel": _vessel(r["mmsi_b"]), "medianDistanceKilometers": r["median_dist_km"],
                      "medianSpeedKnots": r["median_speed_kn"], "durationHours": r["duration_h"]},
    }  # fmt: skip


def _loitering(r: dict[str, Any]) -> Event:
    return {
        "id": r["loiter_id"], "type": "loitering", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]),
        "position": {"lat": r["lat"], "lon": r["lon"]}, "vessel": _vessel(r["mmsi"]),
        "loitering": {"totalTimeHours": r["duration_h"], "averageSpeedKnots": r["mean_speed_kn"]},
    }  # fmt: skip


def to_gfw_events(tables: dict[str, pa.Table], places: pa.Table | None = None) -> list[Event]:
    """GFW event objects for the ``visits``, ``gaps``, ``encounters`` and ``loitering`` tables given."""
    where = {}
    if places is not None:
        where = {
            p["place_id"]: (p["lat"], p["lon"]) for p in places.select(["place_id", "lat", "lon"]).to_pylist()
        }
    out: list[Event] = []
    for r in tables.get("visits", schema.VISITS.empty_table()).to_pylist():
        out.append(_visit(r, where))
    out += [_gap(r) for r in tables.get("gaps", schema.GAPS.empty_table()).to_pylist()]
    out += [_encounter(r) for r in tables.get("encounters", schema.ENCOUNTERS.empty_table()).to_pylist()]
    out += [_loitering(r) for r in tables.get("loitering", schema.LOITERING.empty_table()).to_pylist()]
    return out


def _ts(text: str | None) -> Any:
    import datetime as dt

    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _row(e: Event) -> tuple[str, dict[str, Any]]:
    kind, v, pos = e["type"], e.get(e["type"]) or {}, e.get("position") or {}
    base = {"mmsi": int(e["vessel"]["ssvid"]), "start_ts": _ts(e.get("start")), "end_ts": _ts(e.get("end"))}
    if kind == "port_visit":
        anchorage = v.get("startAnchorage") or {}
        return "visits", {"visit_id": e["id"], "mmsi": base["mmsi"], "place_id": anchorage.get("id"),
                          "place_name": anchorage.get("name"), "arrival_ts": base["start_ts"],
                          "departure_ts": base["end_ts"], "dwell_h": v.get("durationHrs"),
                          "confidence": _LEVEL_CONFIDENCE.get(int(v.get("confidence") or 2), 0.3)}  # fmt: skip
    if kind == "gap":
        off, on = v.get("offPosition") or pos, v.get("onPosition") or {}
        return "gaps", {**base, "gap_id": e["id"], "duration_h": v.get("durationHours"),
                        "start_lat": off.get("lat"), "start_lon": off.get("lon"), "end_lat": on.get("lat"),
                        "end_lon": on.get("lon"), "dist_km": v.get("distanceKm"),
                        "implied_speed_kn": v.get("impliedSpeedKnots"),
                        "likely": "disabled" if v.get("intentionalDisabling") else "unknown"}  # fmt: skip
    if kind == "encounter":
        del base["mmsi"]
        return "encounters", {**base, "encounter_id": e["id"], "mmsi_a": int(e["vessel"]["ssvid"]),
                              "mmsi_b": int(v["vessel"]["ssvid"]), "duration_h": v.get("durationHours"),
                              "median_dist_km": v.get("medianDistanceKilometers"),
                              "median_speed_kn": v.get("medianSpeedKnots"), "lat": pos.get("lat"),
                              "lon": pos.get("lon")}  # fmt: skip
    if kind == "loitering":
        return "loitering", {**base, "loiter_id": e["id"], "duration_h": v.get("totalTimeHours"),
                             "mean_speed_kn": v.get("averageSpeedKnots"), "lat": pos.get("lat"),
                             "lon": pos.get("lon")}  # fmt: skip
    raise FormatError(f"unknown GFW event type {kind!r}; expected port_visit, gap, encounter or loitering")


def from_gfw_events(events: list[Event]) -> dict[str, pa.Table]:
    """Our ``visits``, ``gaps``, ``encounters`` and ``loitering`` tables from GFW event objects."""
    rows: dict[str, list[dict[str, Any]]] = {"visits": [], "gaps": [], "encounters": [], "loitering": []}
    for e in events:
        table, row = _row(e)
        rows[table].append(row)
    return {name: pa.Table.from_pylist(rs, schema=schema.EVENT_TABLES[name]) for name, rs in rows.items()}
