"""The store edge of imagery: add detections, match them to the store's AIS, record the evidence.

Tables (schemas in schema.py): ``detections`` (one part per scene or imported file), ``scenes`` (the
footprints searched, when known), ``detection_matches`` and ``berth_passes`` (rebuilt whole by every match
run), and the parts ``imagery`` of ``observations`` and ``alerts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from supplyline import schema
from supplyline.geo import haversine_km
from supplyline.imagery.berths import berth_alerts, berth_passes
from supplyline.imagery.evidence import dark_alerts, dark_observations
from supplyline.imagery.match import MatchConfig, match_scene
from supplyline.store import WHOLE, Store

PART = "imagery"


MARITIME = ("port", "anchorage", "berth", "terminal", "area", None)  # places a vessel can be near
WATCH_KM = 60.0  # a vessel without AIS this close to a watched place is reported (3 h at 11 kn)


def assign_places(det: pa.Table, places: pa.Table | None, watch_km: float = WATCH_KM) -> pa.Table:
    """Fill ``in_place`` (where null: the place whose polygon holds the detection, else the nearest place
    within its ``r_in_m``) and ``near_place`` (the nearest watched place within ``watch_km``, or in_place)."""
    if places is None or places.num_rows == 0 or det.num_rows == 0:
        return det
    lat, lon = det["lat"].to_numpy(), det["lon"].to_numpy()
    points = shapely.points(lon, lat)
    best_in, best_near = np.full(det.num_rows, np.inf), np.full(det.num_rows, np.inf)
    found_in, found_near = np.full(det.num_rows, None, object), np.full(det.num_rows, None, object)
    for p in places.to_pylist():
        d = haversine_km(lat, lon, p["lat"], p["lon"]) * 1000.0
        if p.get("geometry_wkb"):
            inside = np.where(shapely.contains(shapely.from_wkb(p["geometry_wkb"]), points), 0.0, np.inf)
        else:
            inside = np.where(d <= p["r_in_m"], d, np.inf)
        closer = inside < best_in
        best_in[closer], found_in[closer] = inside[closer], p["place_id"]
        if p.get("watched") and p.get("kind") in MARITIME:
            near = np.where(d <= watch_km * 1000.0, d, np.inf)
            closer = near < best_near
            best_near[closer], found_near[closer] = near[closer], p["place_id"]
    det = _fill(det, "in_place", found_in)
    # a detection inside a watched place is near it, whatever the watch radius
    watched = places.filter(pc.fill_null(places["watched"], False))["place_id"]
    at_watched = pc.fill_null(pc.is_in(det["in_place"], watched), False).to_numpy(zero_copy_only=False)
    return _fill(
        det, "near_place", np.where(at_watched, det["in_place"].to_numpy(zero_copy_only=False), found_near)
    )


def _fill(det: pa.Table, column: str, values: np.ndarray) -> pa.Table:
    """Set ``column`` where it is null."""
    have = det[column].to_numpy(zero_copy_only=False)
    filled = np.where(det[column].is_null().to_numpy(zero_copy_only=False), values, have)
    return det.set_column(det.schema.get_field_index(column), column, pa.array(filled, pa.string()))


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


def store_scenes(store: Store, scenes: pa.Table, part: str) -> None:
    """Write the footprints searched (schema.SCENES) as part ``part`` of ``scenes``."""
    with store.lock():
        store.write_table("scenes", scenes.cast(schema.SCENES), part=part_name(part))


def store_places(store: Store) -> pa.Table | None:
    """The places the last `detect` used (case places included), or None before any detect run."""
    if not store.has_table("places"):
        return None
    return store.read_table("places", schema.PLACES)


def _scene_windows(det: pa.Table, half_s: float, pad_deg: float) -> pa.Table:
    """One row per scene (scene_id, ts): its index, time window (us) and padded lat/lon box."""
    g = det.group_by(["scene_id", "ts"]).aggregate(
        [("lat", "min"), ("lat", "max"), ("lon", "min"), ("lon", "max")]
    )
    t = g["ts"].cast(pa.int64()).to_numpy()
    return pa.table(
        {
            "scene": np.arange(g.num_rows),
            "scene_id": g["scene_id"],
            "ts": g["ts"],
            "lo": t - int(half_s * 1e6),
            "hi": t + int(half_s * 1e6),
            "lat0": pc.subtract(g["lat_min"], pad_deg),
            "lat1": pc.add(g["lat_max"], pad_deg),
            "lon0": pc.subtract(g["lon_min"], pad_deg),
            "lon1": pc.add(g["lon_max"], pad_deg),
        }
    )


def _positions(con: duckdb.DuckDBPyConnection, windows: pa.Table) -> dict[str, np.ndarray]:
    """Each vessel's last AIS fix before and first after each scene's acquisition (inside the scene's time
    window and box), in one scan of the positions; sorted by (scene, mmsi, ts). Only these two fixes enter
    the matcher, so only they leave DuckDB."""
    con.register("_scene_windows", windows)
    side = """SELECT scene, mmsi, {agg}(us) AS us, {arg}(lat, us) AS lat, {arg}(lon, us) AS lon,
                     {arg}(sog_kn, us) AS sog_kn, {arg}(cog_deg, us) AS cog_deg
              FROM j WHERE us {op} t GROUP BY scene, mmsi"""
    got = con.execute(
        f"""WITH j AS (
              SELECT w.scene, (w.lo + w.hi) // 2 AS t, p.mmsi, epoch_us(p.ts) AS us, p.lat, p.lon,
                     coalesce(p.sog_kn::DOUBLE, 'NaN') AS sog_kn, coalesce(p.cog_deg::DOUBLE, 'NaN') AS cog_deg
              FROM positions p JOIN _scene_windows w
                ON epoch_us(p.ts) BETWEEN w.lo AND w.hi
               AND p.lat BETWEEN w.lat0 AND w.lat1 AND p.lon BETWEEN w.lon0 AND w.lon1)
            SELECT scene, mmsi, us / 1e6 AS ts, lat, lon, sog_kn, cog_deg FROM (
              {side.format(agg="max", arg="arg_max", op="<=")}
              UNION ALL
              {side.format(agg="min", arg="arg_min", op=">")})
            ORDER BY scene, mmsi, ts"""
    ).fetchnumpy()
    con.unregister("_scene_windows")
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
    berth_passes: pa.Table


def match_store(
    store: Store, cfg: MatchConfig | None = None, on_scene: Callable[[int, int], None] | None = None
) -> MatchRun:
    """Match every stored detection to the store's AIS; record matches, dark observations and alerts."""
    cfg = cfg or MatchConfig()
    det = store.read_table("detections", schema.DETECTIONS).cast(schema.DETECTIONS)
    con = store.connect()
    lengths = _lengths(con)
    windows = _scene_windows(det, cfg.max_dt_s, pad_deg=0.5)  # ~50 km: vessels that may have sailed in
    pos = _positions(con, windows) if det.num_rows else {"scene": np.zeros(0, np.int64)}
    bounds = np.searchsorted(pos["scene"], np.arange(windows.num_rows + 1))
    parts = []
    for i, sc in enumerate(windows.select(["scene_id", "ts"]).to_pylist()):
        d = det.filter(pc.and_(pc.equal(det["scene_id"], sc["scene_id"]), pc.equal(det["ts"], sc["ts"])))
        part = {k: v[bounds[i] : bounds[i + 1]] for k, v in pos.items() if k != "scene"}
        optical = d.num_rows > 0 and d["sensor"][0].as_py() == "optical"  # no azimuth shift
        parts.append(match_scene(d, part, lengths, replace(cfg, shift_s=0.0) if optical else cfg))
        if on_scene:
            on_scene(i + 1, windows.num_rows)
    matches = pa.concat_tables(parts) if parts else schema.DETECTION_MATCHES.empty_table()
    return _record(store, matches, det)


def _record(store: Store, matches: pa.Table, det: pa.Table) -> MatchRun:
    places = store_places(store)
    where = {p["place_id"]: (p["name"], p["lat"], p["lon"]) for p in places.to_pylist()} if places else {}
    obs = dark_observations(matches, det, where)
    scenes = (
        store.read_table("scenes", schema.SCENES)
        if store.has_table("scenes")
        else schema.SCENES.empty_table()
    )
    series = berth_passes(scenes, matches, places)
    names = {k: v[0] for k, v in where.items()}
    alerts = pa.concat_tables([dark_alerts(matches, det, where), berth_alerts(series, names)])
    with store.lock(), store.transaction() as txn:
        txn.put_part("detection_matches", WHOLE, matches)
        txn.put_part("berth_passes", WHOLE, series)
        txn.put_part("observations", PART, obs)
        txn.put_part("alerts", PART, alerts)
    return MatchRun(matches, obs, alerts, series)
