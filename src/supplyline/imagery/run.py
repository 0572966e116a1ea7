"""The store edge of imagery: add detections, match them to the store's AIS, record the evidence.

Tables (schemas in schema.py): ``detections`` (one part per scene or imported file), ``detection_matches``
(rebuilt whole by every match run), and the parts ``imagery`` of ``observations`` and ``alerts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from supplyline import schema
from supplyline.geo import haversine_km
from supplyline.imagery.evidence import dark_alerts, dark_observations
from supplyline.imagery.match import MatchConfig, match_scene
from supplyline.store import Store

PART = "imagery"


def assign_places(det: pa.Table, places: pa.Table | None) -> pa.Table:
    """Fill ``in_place`` (where null) with the place whose polygon holds the detection, else the nearest
    place within its ``r_in_m``."""
    if places is None or places.num_rows == 0 or det.num_rows == 0:
        return det
    lat, lon = det["lat"].to_numpy(), det["lon"].to_numpy()
    best = np.full(det.num_rows, np.inf)
    found = np.full(det.num_rows, None, object)
    points = shapely.points(lon, lat)
    for p in places.to_pylist():
        if p.get("geometry_wkb"):
            inside = shapely.contains(shapely.from_wkb(p["geometry_wkb"]), points)
            d = np.where(inside, 0.0, np.inf)
        else:
            d = haversine_km(lat, lon, p["lat"], p["lon"]) * 1000.0
            d = np.where(d <= p["r_in_m"], d, np.inf)
        closer = d < best
        best[closer], found[closer] = d[closer], p["place_id"]
    have = det["in_place"].to_numpy(zero_copy_only=False)
    filled = np.where(det["in_place"].is_null().to_numpy(zero_copy_only=False), found, have)
    return det.set_column(det.schema.get_field_index("in_place"), "in_place", pa.array(filled, pa.string()))


def part_name(text: str) -> str:
    """A safe file stem for a detections part (scene id or imported file name)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:80] or "detections"


def store_detections(store: Store, det: pa.Table, part: str, places: pa.Table | None = None) -> pa.Table:
    """Write ``det`` (schema.DETECTIONS) as part ``part`` of ``detections`` with places assigned."""
    if places is None:
        places = store_places(store)
    det = assign_places(det.cast(schema.DETECTIONS), places)
    with store.lock():
        store.write_table("detections", det, part=part_name(part))
    return det


def store_places(store: Store) -> pa.Table | None:
    """The places the last `detect` used (case places included), or None before any detect run."""
    if not store.table_dir("places").is_dir():
        return None
    return store.read_table("places", schema.PLACES)


def _positions(
    con: duckdb.DuckDBPyConnection, t_us: int, half_s: float, box: tuple[float, ...]
) -> dict[str, np.ndarray]:
    """AIS fixes within ``half_s`` of the acquisition and inside the (padded) box, sorted by (mmsi, ts)."""
    lo, hi = t_us - int(half_s * 1e6), t_us + int(half_s * 1e6)
    got = con.execute(
        """SELECT mmsi, epoch_us(ts) / 1e6 AS ts, lat, lon, coalesce(sog_kn::DOUBLE, 'NaN') AS sog_kn,
                  coalesce(cog_deg::DOUBLE, 'NaN') AS cog_deg
           FROM positions WHERE ts BETWEEN make_timestamptz(?) AND make_timestamptz(?)
             AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? ORDER BY mmsi, ts""",
        [lo, hi, *box],
    ).fetchnumpy()
    return {c: np.asarray(v) for c, v in got.items()}


def _lengths(con: duckdb.DuckDBPyConnection) -> dict[int, float]:
    rows = con.execute(
        "SELECT mmsi, arg_max(length_m, last_seen) FROM vessels WHERE length_m > 0 GROUP BY mmsi"
    ).fetchall()
    return {int(m): float(v) for m, v in rows if v is not None}


@dataclass
class MatchRun:
    """What a match run produced (also written to the store)."""

    matches: pa.Table
    observations: pa.Table
    alerts: pa.Table


def match_store(
    store: Store, cfg: MatchConfig | None = None, on_scene: Callable[[int, int], None] | None = None
) -> MatchRun:
    """Match every stored detection to the store's AIS; record matches, dark observations and alerts."""
    cfg = cfg or MatchConfig()
    det = store.read_table("detections", schema.DETECTIONS).cast(schema.DETECTIONS)
    con = store.connect()
    lengths = _lengths(con)
    pad = 0.5  # degrees around the scene's detections (~50 km): vessels that may have sailed in
    parts = []
    scenes = det.group_by(["scene_id", "ts"]).aggregate([]).to_pylist() if det.num_rows else []
    for i, sc in enumerate(scenes):
        mask = pc.and_(pc.equal(det["scene_id"], sc["scene_id"]), pc.equal(det["ts"], sc["ts"]))
        d = det.filter(mask)
        lat, lon = d["lat"].to_numpy(), d["lon"].to_numpy()
        box = (lat.min() - pad, lat.max() + pad, lon.min() - pad, lon.max() + pad)
        t_us = int(pc.min(d["ts"]).cast(pa.int64()).as_py())
        parts.append(match_scene(d, _positions(con, t_us, cfg.max_dt_s, box), lengths, cfg))
        if on_scene:
            on_scene(i + 1, len(scenes))
    matches = pa.concat_tables(parts) if parts else schema.DETECTION_MATCHES.empty_table()
    return _record(store, matches, det)


def _record(store: Store, matches: pa.Table, det: pa.Table) -> MatchRun:
    places = store_places(store)
    names = (
        dict(zip(places["place_id"].to_pylist(), places["name"].to_pylist(), strict=True)) if places else {}
    )
    watched = None
    if places is not None and places.num_rows:
        watched = set(places.filter(pc.fill_null(places["watched"], False))["place_id"].to_pylist())
    obs = dark_observations(matches, det, names, watched)
    alerts = dark_alerts(matches, det, names, watched)
    with store.lock(), store.transaction() as txn:
        txn.put("tables/detection_matches/all.parquet", matches)
        txn.put(f"tables/observations/{PART}.parquet", obs)
        txn.put(f"tables/alerts/{PART}.parquet", alerts)
    return MatchRun(matches, obs, alerts)
