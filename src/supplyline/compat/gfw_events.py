"""Port visits, encounters, loitering and gaps in the JSON layout of Global Fishing Watch's Events API (v3).

For side-by-side checks with GFW: :func:`to_gfw_events` writes our event tables as GFW event objects
(``id``, ``type``, ``start``, ``end``, ``position``, ``vessel`` and one type-specific object), and
:func:`from_gfw_events` reads such objects (ours or GFW's) back into our table schemas. Fields GFW has and
we do not are left out; ours that GFW lacks are null after a round trip.

Port-visit confidence: GFW uses levels 2, 3, 4 (4 = entry, stop and exit all seen). Ours is 0..1; we write
``>= 0.8 -> 4``, ``>= 0.5 -> 3``, else 2, and read a level back as 0.9, 0.65 and 0.3 (the middle of each band).
A gap is ``intentionalDisabling`` when our coverage check calls it ``disabled``. Each event's ``vessel``
carries ``ssvid`` (the MMSI), ``flag`` as ISO 3166-1 alpha-3 from the MMSI's MID (as GFW gives it; null for
non-ship stations) and ``name`` when a ``vessels`` table is given.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.countries import alpha3
from supplyline.errors import FormatError
from supplyline.isotime import iso_utc

Event = dict[str, Any]
_LEVELS = ((0.8, 4), (0.5, 3))
_LEVEL_CONFIDENCE = {4: 0.9, 3: 0.65, 2: 0.3}


def _level(confidence: float | None) -> int:
    return next((lvl for lo, lvl in _LEVELS if confidence is not None and confidence >= lo), 2)


def _t(value: Any) -> str | None:
    return iso_utc(value) if value is not None else None


Vessels = dict[int, dict[str, Any]]
"""MMSI -> GFW vessel object (``ssvid``, ``flag``, ``name``), built once per export by :func:`_vessel_index`."""


def _vessel_index(tables: dict[str, pa.Table], vessels: pa.Table | None) -> Vessels:
    """The GFW vessel object of every MMSI in the event tables: flag from the MID, name from ``vessels``."""
    import numpy as np

    from supplyline.monitor.sanctions import iso_from_mmsi

    cols = {"visits": ["mmsi"], "gaps": ["mmsi"], "loitering": ["mmsi"], "encounters": ["mmsi_a", "mmsi_b"]}
    mmsis = sorted({int(m) for t, cs in cols.items() if t in tables for c in cs
                    for m in tables[t][c].to_pylist() if m is not None})  # fmt: skip
    iso2 = iso_from_mmsi(np.asarray(mmsis, dtype=np.int64)).to_pylist()
    names: dict[int, Any] = {}
    if vessels is not None and {"mmsi", "name"} <= set(vessels.column_names):
        names = {int(r["mmsi"]): r["name"] for r in vessels.select(["mmsi", "name"]).to_pylist() if r["mmsi"]}
    return {
        m: {"ssvid": str(m), "flag": alpha3(c), "name": names.get(m)}
        for m, c in zip(mmsis, iso2, strict=True)
    }


def _vessel(mmsi: int, index: Vessels | None = None) -> dict[str, Any]:
    return (index or {}).get(mmsi) or {"ssvid": str(mmsi)}


def _visit(r: dict[str, Any], where: dict[str, tuple[float, float]], ix: Vessels) -> Event:
    lat, lon = where.get(r["place_id"], (None, None))
    anchorage = {"id": r["place_id"], "name": r["place_name"]}
    return {
        "id": r["visit_id"], "type": "port_visit", "start": _t(r["arrival_ts"]), "end": _t(r["departure_ts"]),
        "position": {"lat": lat, "lon": lon}, "vessel": _vessel(r["mmsi"], ix),
        "port_visit": {"visitId": r["visit_id"], "confidence": str(_level(r["confidence"])),
                       "durationHrs": r["dwell_h"], "startAnchorage": anchorage, "endAnchorage": anchorage},
    }  # fmt: skip


def _gap(r: dict[str, Any], ix: Vessels) -> Event:
    off = {"lat": r["start_lat"], "lon": r["start_lon"]}
    return {
        "id": r["gap_id"], "type": "gap", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]), "position": off,
        "vessel": _vessel(r["mmsi"], ix),
        "gap": {"intentionalDisabling": r["likely"] == "disabled", "distanceKm": r["dist_km"],
                "durationHours": r["duration_h"], "impliedSpeedKnots": r["implied_speed_kn"],
                "offPosition": off, "onPosition": {"lat": r["end_lat"], "lon": r["end_lon"]}},
    }  # fmt: skip


def _encounter(r: dict[str, Any], ix: Vessels) -> Event:
    return {
        "id": r["encounter_id"], "type": "encounter", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]),
        "position": {"lat": r["lat"], "lon": r["lon"]}, "vessel": _vessel(r["mmsi_a"], ix),
        "encounter": {"vessel": _vessel(r["mmsi_b"], ix), "medianDistanceKilometers": r["median_dist_km"],
                      "medianSpeedKnots": r["median_speed_kn"], "durationHours": r["duration_h"]},
    }  # fmt: skip


def _loitering(r: dict[str, Any], ix: Vessels) -> Event:
    return {
        "id": r["loiter_id"], "type": "loitering", "start": _t(r["start_ts"]), "end": _t(r["end_ts"]),
        "position": {"lat": r["lat"], "lon": r["lon"]}, "vessel": _vessel(r["mmsi"], ix),
        "loitering": {"totalTimeHours": r["duration_h"], "averageSpeedKnots": r["mean_speed_kn"]},
    }  # fmt: skip


def to_gfw_events(
    tables: dict[str, pa.Table], places: pa.Table | None = None, vessels: pa.Table | None = None
) -> list[Event]:
    """GFW event objects for the ``visits``, ``gaps``, ``encounters`` and ``loitering`` tables given.

    ``places`` gives port visits their position; ``vessels`` (columns ``mmsi``, ``name``) their vessel names.
    """
    where = {}
    if places is not None:
        where = {
            p["place_id"]: (p["lat"], p["lon"]) for p in places.select(["place_id", "lat", "lon"]).to_pylist()
        }
    ix = _vessel_index(tables, vessels)
    out: list[Event] = []
    for r in tables.get("visits", schema.VISITS.empty_table()).to_pylist():
        out.append(_visit(r, where, ix))
    out += [_gap(r, ix) for r in tables.get("gaps", schema.GAPS.empty_table()).to_pylist()]
    out += [_encounter(r, ix) for r in tables.get("encounters", schema.ENCOUNTERS.empty_table()).to_pylist()]
    out += [_loitering(r, ix) for r in tables.get("loitering", schema.LOITERING.empty_table()).to_pylist()]
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


def from_gfw_events(events: list[Event] | dict[str, Any]) -> dict[str, pa.Table]:
    """Our ``visits``, ``gaps``, ``encounters`` and ``loitering`` tables from GFW event objects.

    ``events`` is a list of event objects or an Events API response page (a dict with ``entries``).
    """
    entries: list[Event] = events if isinstance(events, list) else events.get("entries")  # type: ignore[assignment]
    if not isinstance(entries, list):
        raise FormatError("a GFW events document is a list of events or an object with an 'entries' list")
    rows: dict[str, list[dict[str, Any]]] = {"visits": [], "gaps": [], "encounters": [], "loitering": []}
    for e in entries:
        table, row = _row(e)
        rows[table].append(row)
    return {name: pa.Table.from_pylist(rs, schema=schema.EVENT_TABLES[name]) for name, rs in rows.items()}
