"""Dark detections at watched places become evidence: one observation per (pass, place) counting the ships
seen without AIS, and one ``dark_vessel`` alert per dark detection.

Ids are stable (hash of the scene and place, or of the detection), so re-matching replaces rather than
duplicates them. Synthetic detections say so in every text they produce.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.ids import stable_id

SOURCE = "supplyline imagery match"


def _dark_at(matches: pa.Table, watched: set[str] | None) -> list[dict[str, Any]]:
    dark = matches.filter(pc.and_(pc.equal(matches["status"], "dark"), pc.is_valid(matches["in_place"])))
    rows = dark.to_pylist()
    return [r for r in rows if watched is None or r["in_place"] in watched]


def dark_observations(
    matches: pa.Table, detections: pa.Table, names: dict[str, str], watched: set[str] | None = None
) -> pa.Table:
    """schema.OBSERVATIONS: ships seen without AIS per (scene, watched place)."""
    synthetic = _synthetic_scenes(detections)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _dark_at(matches, watched):
        groups[(r["scene_id"], r["in_place"])].append(r)
    rows = []
    for (scene, place), dets in sorted(groups.items()):
        ts = dets[0]["ts"]
        lengths = sorted(round(d["length_m"]) for d in dets if d["length_m"] is not None)
        tag = " [SYNTHETIC]" if scene in synthetic else ""
        rows.append(
            {
                "obs_id": stable_id("obs-imagery", scene, place),
                "date": ts.date(),
                "place_id": place,
                "kind": "imagery",
                "quantity": float(len(dets)),
                "unit": "ships",
                "description": (
                    f"{len(dets)} vessel(s) seen without AIS at {names.get(place, place)} in scene {scene} "
                    f"({ts:%Y-%m-%d %H:%M} UTC); lengths {lengths} m{tag}"
                ),
                "source": SOURCE,
                "url": None,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.OBSERVATIONS)


def dark_alerts(
    matches: pa.Table, detections: pa.Table, names: dict[str, str], watched: set[str] | None = None
) -> pa.Table:
    """schema.ALERTS of kind ``dark_vessel``: one per dark detection at a watched place."""
    synthetic = _synthetic_scenes(detections)
    score = dict(zip(detections["det_id"].to_pylist(), detections["score"].to_pylist(), strict=True))
    rows = []
    for r in _dark_at(matches, watched):
        tag = " [SYNTHETIC]" if r["scene_id"] in synthetic else ""
        length = f"{r['length_m']:.0f} m " if r["length_m"] is not None else ""
        details = {k: r[k] for k in ("det_id", "scene_id", "lon", "lat", "length_m", "n_candidates")}
        rows.append(
            {
                "alert_id": stable_id("alert", "dark_vessel", r["det_id"]),
                "kind": "dark_vessel",
                "ts": r["ts"],
                "mmsi": None,
                "route": None,
                "place_id": r["in_place"],
                "probability": score.get(r["det_id"]),
                "message": (
                    f"{length}vessel seen at {names.get(r['in_place'], r['in_place'])} in scene {r['scene_id']} "
                    f"with no AIS vessel within the gate{tag}"
                ),
                "details": json.dumps(details, sort_keys=True, default=str),
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.ALERTS)


def _synthetic_scenes(detections: pa.Table) -> set[str]:
    syn = detections.filter(pc.fill_null(detections["synthetic"], False))
    return set(syn["scene_id"].to_pylist())
