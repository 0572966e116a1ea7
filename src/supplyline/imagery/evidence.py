"""Dark detections at or near watched places become evidence: one observation per (pass, place) counting
the ships seen without AIS, and one ``dark_vessel`` alert per dark detection.

"Near" is the detection's ``near_place``: the watched place it lies in, else the nearest watched place within
the imagery watch radius (``imagery.run.WATCH_KM``). Detections measured shorter than ``MIN_LENGTH_M`` (small
craft and most false alarms) stay in the tables but raise nothing. Ids are stable (hash of the scene and place, or of the
detection), so re-matching replaces rather than duplicates them. Synthetic detections say so in every text
they produce.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.geo import haversine_km
from supplyline.ids import stable_id

SOURCE = "supplyline imagery match"
MIN_LENGTH_M = 40.0  # smaller detections (small craft, most false alarms) stay in the table, raise nothing
Places = dict[str, tuple[str, float, float]]  # place_id -> (name, lat, lon)


def _dark_near(matches: pa.Table) -> list[dict[str, Any]]:
    """Dark detections near a watched place, at least MIN_LENGTH_M long when measured."""
    dark = matches.filter(pc.and_(pc.equal(matches["status"], "dark"), pc.is_valid(matches["near_place"])))
    big = pc.fill_null(pc.greater_equal(dark["length_m"], MIN_LENGTH_M), True)
    return list(dark.filter(big).to_pylist())


def _where(r: dict[str, Any], places: Places) -> str:
    """ "at Rajin" for a detection in the place, "23 km from Rajin" near it."""
    if r["in_place"] == r["near_place"] or r["near_place"] not in places:
        return f"at {places.get(r['near_place'], (r['near_place'],))[0]}"
    name, lat, lon = places[r["near_place"]]
    return f"{float(haversine_km(r['lat'], r['lon'], lat, lon)):.0f} km from {name}"


def _synthetic_scenes(detections: pa.Table) -> set[str]:
    syn = detections.filter(pc.fill_null(detections["synthetic"], False))
    return set(syn["scene_id"].to_pylist())


def dark_observations(matches: pa.Table, detections: pa.Table, places: Places) -> pa.Table:
    """schema.OBSERVATIONS: ships seen without AIS per (scene, watched place)."""
    synthetic = _synthetic_scenes(detections)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _dark_near(matches):
        groups[(r["scene_id"], r["near_place"])].append(r)
    rows = []
    for (scene, place), dets in sorted(groups.items()):
        ts = dets[0]["ts"]
        lengths = sorted(round(d["length_m"]) for d in dets if d["length_m"] is not None)
        tag = " [SYNTHETIC]" if scene in synthetic else ""
        at = sum(d["in_place"] == place for d in dets)
        rows.append(
            {
                "obs_id": stable_id("obs-imagery", scene, place),
                "date": ts.date(),
                "place_id": place,
                "kind": "imagery",
                "quantity": float(len(dets)),
                "unit": "ships",
                "description": (
                    f"{len(dets)} vessel(s) seen without AIS near {places.get(place, (place,))[0]} ({at} in the "
                    f"place) in scene {scene} ({ts:%Y-%m-%d %H:%M} UTC); lengths {lengths} m{tag}"
                ),
                "source": SOURCE,
                "url": None,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.OBSERVATIONS)


def dark_alerts(matches: pa.Table, detections: pa.Table, places: Places) -> pa.Table:
    """schema.ALERTS of kind ``dark_vessel``: one per dark detection at or near a watched place."""
    synthetic = _synthetic_scenes(detections)
    score = dict(zip(detections["det_id"].to_pylist(), detections["score"].to_pylist(), strict=True))
    rows = []
    for r in _dark_near(matches):
        tag = " [SYNTHETIC]" if r["scene_id"] in synthetic else ""
        length = f"{r['length_m']:.0f} m " if r["length_m"] is not None else ""
        details = {
            k: r[k] for k in ("det_id", "scene_id", "lon", "lat", "length_m", "n_candidates", "in_place")
        }
        rows.append(
            {
                "alert_id": stable_id("alert", "dark_vessel", r["det_id"]),
                "kind": "dark_vessel",
                "ts": r["ts"],
                "mmsi": None,
                "route": None,
                "place_id": r["near_place"],
                "probability": score.get(r["det_id"]),
                "message": (
                    f"{length}vessel seen {_where(r, places)} in scene {r['scene_id']} with no AIS vessel "
                    f"within the gate{tag}"
                ),
                "details": json.dumps(details, sort_keys=True, default=str),
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.ALERTS)
