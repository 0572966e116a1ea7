"""run_vessel_kernels: every per-vessel detector over one shard of positions, in one pass.

Pure function of Arrow tables (positions sorted by mmsi, ts; many vessels per call), so the local engine's
process pool and Spark's ``mapInArrow`` run it unchanged. Output tables are sorted deterministically
(mmsi, start time, id), so both engines produce identical files.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect._arrays import FloatArray, IntArray, floats, ts_us
from supplyline.detect.draught import DraughtReports, draught_changes_table
from supplyline.detect.gaps import NearWatched, Where, gaps_table
from supplyline.detect.loitering import loitering_table
from supplyline.detect.near import Prefiltered
from supplyline.detect.segments import Tracks, segment
from supplyline.detect.shore import shore_distance_km
from supplyline.detect.stations import is_vessel
from supplyline.detect.thresholds import Route, Thresholds
from supplyline.detect.visits import PlaceArrays, runs_and_stops, visits_table
from supplyline.detect.voyages import voyages_table
from supplyline.errors import EngineError

KERNEL_TABLES = ("segments", "visits", "voyages", "gaps", "loitering", "draught_changes")
"""Tables produced per vessel shard (encounters need all vessels: see detect.encounters)."""

_SORT_KEYS = {
    "encounters": ("mmsi_a", "mmsi_b", "start_ts", "encounter_id"),
    "segments": ("mmsi", "start_ts", "segment_id"),
    "visits": ("mmsi", "arrival_ts", "visit_id"),
    "voyages": ("mmsi", "departure_ts", "voyage_id"),
    "gaps": ("mmsi", "start_ts", "gap_id"),
    "loitering": ("mmsi", "start_ts", "loiter_id"),
    "draught_changes": ("mmsi", "ts", "change_id"),
}


class PlaceLookup(Protocol):
    """What the kernels need of :class:`supplyline.places.PlaceIndex`."""

    places: pa.Table

    def assign(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, radius: Literal["r_in", "r_out"] = "r_in"
    ) -> IntArray: ...

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_m: float = np.inf
    ) -> tuple[IntArray, FloatArray]: ...


class _NoPlaces:
    """Lookup over an empty places table (no visits, every point is "away")."""

    def __init__(self, places: pa.Table) -> None:
        self.places = places

    def assign(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, radius: Literal["r_in", "r_out"] = "r_in"
    ) -> IntArray:
        return np.full(np.size(lat), -1, dtype=np.int64)

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_m: float = np.inf
    ) -> tuple[IntArray, FloatArray]:
        n = np.size(lat)
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)


_CACHE: list[tuple[pa.Table, PlaceLookup, PlaceLookup, Prefiltered]] = []


def _build(t: pa.Table) -> PlaceLookup:
    from supplyline.places import PlaceIndex

    return PlaceIndex(t) if t.num_rows else _NoPlaces(t)


def _indexes(places: pa.Table) -> tuple[PlaceLookup, PlaceLookup, Prefiltered]:
    """(visit places, watched places, every place incl. ``exclusion_only``), cached for the last places
    table seen, so a worker that runs many shards builds them once."""
    for table, idx, watched, zones in _CACHE:
        if table is places:
            return idx, watched, zones
    zones = Prefiltered(_build(places))
    conformed = zones.places
    has = set(conformed.column_names)
    only = conformed.column("exclusion_only").fill_null(False) if "exclusion_only" in has else None
    idx = (
        Prefiltered(_build(conformed.filter(pc.invert(only))))
        if only is not None and pc.any(only).as_py()
        else zones
    )
    visit_places = idx.places
    w = visit_places.column("watched").fill_null(False) if "watched" in has else None
    watched = _build(visit_places.filter(w)) if w is not None else _NoPlaces(visit_places.slice(0, 0))
    _CACHE[:] = [(places, idx, watched, zones)]
    return idx, watched, zones


def place_indexes(places: pa.Table) -> tuple[PlaceLookup, PlaceLookup]:
    """(index over the places visits are detected at, index over watched places); cached."""
    idx, watched, _ = _indexes(places)
    return idx, watched


def zone_index(places: pa.Table) -> Prefiltered:
    """Index over every place, ``exclusion_only`` ones included: the ">= N km from any place" exclusions of
    encounters and loitering use it, so giving a case does not shrink them; cached."""
    return _indexes(places)[2]


def sorted_positions(positions: pa.Table) -> pa.Table:
    """Positions sorted by (mmsi, ts) with ties broken by (lat, lon) so every engine sees the same order."""
    m = positions.column("mmsi").to_numpy()
    t = ts_us(positions.column("ts"))
    if len(m) < 2:
        return positions
    dm, dt = np.diff(m), np.diff(t)
    ordered = (dm > 0) | ((dm == 0) & (dt > 0))
    if ordered.all():
        return positions
    tie = (dm == 0) & (dt == 0)
    if np.all(ordered | tie):  # sorted by (mmsi, ts); check the tie-break on the tied rows only
        i = np.flatnonzero(tie)
        la = np.asarray(positions.column("lat").take(pa.array(np.concatenate([i, i + 1]))).to_numpy())
        lo = np.asarray(positions.column("lon").take(pa.array(np.concatenate([i, i + 1]))).to_numpy())
        k = len(i)
        if np.all((la[k:] > la[:k]) | ((la[k:] == la[:k]) & (lo[k:] >= lo[:k]))):
            return positions
    return positions.sort_by(
        [("mmsi", "ascending"), ("ts", "ascending"), ("lat", "ascending"), ("lon", "ascending")]
    )


def _check_columns(positions: pa.Table) -> None:
    missing = {"mmsi", "ts", "lat", "lon"} - set(positions.column_names)
    if missing:
        raise EngineError(f"positions lack column(s) {sorted(missing)}; pass a table with schema.POSITIONS")


def run_vessel_kernels(
    positions: pa.Table,
    places: pa.Table,
    thresholds: Thresholds,
    routes: Sequence[Route] = (),
    *,
    statics: pa.Table | None = None,
    index: tuple[PlaceLookup, PlaceLookup] | None = None,
    tables: Collection[str] = KERNEL_TABLES,
) -> dict[str, pa.Table]:
    """Segments, visits, voyages, gaps, loitering and draught changes of every vessel in ``positions``.

    ``positions`` holds whole vessels (all of a vessel's rows in this call), ideally sorted by (mmsi, ts);
    ``statics`` (optional, same vessels) gives draught; ``index`` overrides the place indexes
    (all places, watched places) built from ``places``; ``tables`` limits the work to some tables
    (segmentation always runs: the others depend on it). Gaps come without coverage: the engines add it
    over all positions afterwards (``coverage_sql``, then :func:`supplyline.detect.gaps.apply_coverage`).
    """
    _check_columns(positions)
    _check_tables(tables)
    th = thresholds
    pts = _VesselPoints.of(_vessels_only(sorted_positions(positions), th))
    idx, watched_idx = index if index is not None else place_indexes(places)
    if not isinstance(idx, Prefiltered):
        idx = Prefiltered(idx)
    tr = segment(pts.mmsi, pts.ts, pts.lat, pts.lon, pts.sog, th, fast=_high_speed_craft(pts.mmsi, statics))

    out = {"segments": tr.segments}
    if {"visits", "voyages", "draught_changes"} & set(tables):
        out |= _visit_tables(tr, pts.mmsi, idx, DraughtReports(statics), th, routes, tables)
    if "gaps" in tables:
        near = _near_watched(watched_idx, th.watch_radius_km * 1000.0)
        where = _where(idx, th.gap_shore_km)
        out["gaps"] = gaps_table(pts.mmsi, pts.ts, pts.lat, pts.lon, tr.noise, th, near, where)
    if "loitering" in tables:
        out["loitering"] = loitering_table(tr, th, zone_index(places).nearest)
    out = {name: out[name] for name in KERNEL_TABLES if name in tables or name == "segments"}
    return {name: sort_events(name, t) for name, t in out.items()}


def _check_tables(tables: Collection[str]) -> None:
    unknown = set(tables) - set(KERNEL_TABLES)
    if unknown:
        raise EngineError(
            f"unknown kernel table(s) {sorted(unknown)}; choose from {', '.join(KERNEL_TABLES)}"
        )


@dataclass
class _VesselPoints:
    """The position columns the kernels read, as NumPy arrays (ts in microseconds, SOG NaN when absent)."""

    mmsi: IntArray
    ts: IntArray
    lat: FloatArray
    lon: FloatArray
    sog: FloatArray

    @classmethod
    def of(cls, pos: pa.Table) -> _VesselPoints:
        mmsi = np.asarray(pos.column("mmsi").to_numpy(), dtype=np.int64)
        lat, lon = floats(pos.column("lat")), floats(pos.column("lon"))
        if np.isnan(lat).any() or np.isnan(lon).any():
            raise EngineError(
                "positions with missing lat/lon reached the kernels; ingest quarantines them: re-ingest"
            )
        has_sog = "sog_kn" in pos.column_names
        sog = floats(pos.column("sog_kn")) if has_sog else np.full(len(mmsi), np.nan)
        return cls(mmsi, ts_us(pos.column("ts")), lat, lon, sog)


def _visit_tables(
    tr: Tracks,
    mmsi: IntArray,
    idx: Prefiltered,
    reports: DraughtReports,
    th: Thresholds,
    routes: Sequence[Route],
    tables: Collection[str],
) -> dict[str, pa.Table]:
    """Visits, and from them the voyages and draught changes asked for in ``tables``."""
    pl = PlaceArrays.from_table(idx.places, th.port_group_km)
    inner = idx.assign(tr.lat, tr.lon, "r_in")
    outer = idx.assign(tr.lat, tr.lon, "r_out") if pl.has_polygons else None
    draught_at = reports.asof(tr.mmsi, tr.ts)
    nxt = np.minimum(tr.orig + 1, len(mmsi) - 1)
    vessel_last = (tr.orig == len(mmsi) - 1) | (mmsi[nxt] != mmsi[tr.orig])
    runs, stopped = runs_and_stops(tr, inner, pl, th, outer, idx.maybe_within(tr.lat, tr.lon, "r_out"))
    visits = visits_table(tr, runs, pl, stopped, draught_at, vessel_last, th)
    out = {"visits": visits.table}
    if "voyages" in tables:
        out["voyages"] = voyages_table(tr, visits, pl, routes, th.voyage_min_confidence)
    if "draught_changes" in tables:
        out["draught_changes"] = draught_changes_table(reports, th, _change_places(reports, th, visits.table))
    return out


def _near_watched(watched_idx: PlaceLookup, radius_m: float) -> NearWatched:
    """For the gap kernel: the watched place within ``radius_m`` of each point, or None."""

    def near_watched(la: FloatArray, lo: FloatArray) -> list[str | None]:
        j, _ = watched_idx.nearest(la, lo, radius_m)
        ids = watched_idx.places.column("place_id").to_pylist() if len(watched_idx.places) else []
        return [ids[k] if k >= 0 else None for k in j.tolist()]

    return near_watched


def _where(idx: PlaceLookup, shore_km: float) -> Where:
    """For the gap kernel: "in_port" (inside any place's exit radius), "near_shore" (within ``shore_km``
    of the coastline) or "at_sea", per point."""

    def where(la: FloatArray, lo: FloatArray) -> npt.NDArray[np.str_]:
        in_port = idx.assign(la, lo, "r_out") >= 0
        near = shore_distance_km(la, lo) <= shore_km
        return np.where(in_port, "in_port", np.where(near, "near_shore", "at_sea"))

    return where


def _vessels_only(positions: pa.Table, th: Thresholds) -> pa.Table:
    """``positions`` without the rows of stations that are not vessels (ITU-R M.585 number patterns: AtoN,
    SART, coast stations, gear buoys ...) unless ``include_non_vessels``."""
    if th.include_non_vessels or positions.num_rows == 0:
        return positions
    keep = is_vessel(positions.column("mmsi").to_numpy())
    return positions if keep.all() else positions.filter(pa.array(keep))


def _high_speed_craft(mmsi: IntArray, statics: pa.Table | None) -> npt.NDArray[np.bool_] | None:
    """Rows of vessels that reported AIS ship type 40-49 (high-speed craft), or None when none did."""
    if statics is None or statics.num_rows == 0 or "ship_type" not in statics.column_names:
        return None
    st = statics.column("ship_type").fill_null(0).to_numpy()
    hsc = np.unique(np.asarray(statics.column("mmsi").to_numpy(), np.int64)[(st >= 40) & (st <= 49)])
    return np.isin(mmsi, hsc) if len(hsc) else None


def _change_places(reports: DraughtReports, th: Thresholds, visits: pa.Table) -> list[str | None]:
    """Place id of the visit each draught change was reported in (None when at sea or unknown)."""
    mmsi, ts, _, _ = reports.changes(th)
    if len(mmsi) == 0 or visits.num_rows == 0:
        return [None] * len(mmsi)
    v = visits.sort_by([("mmsi", "ascending"), ("arrival_ts", "ascending")])
    vm = np.asarray(v.column("mmsi").to_numpy(), dtype=np.int64)
    va, vd = ts_us(v.column("arrival_ts")), ts_us(v.column("departure_ts"))
    pid = v.column("place_id").to_pylist()
    # Index of the latest visit of the same vessel that arrived at or before the change.
    order = np.lexsort((va, vm))
    keys = np.rec.fromarrays([vm[order], va[order]])
    q = np.rec.fromarrays([mmsi, ts])
    k = np.searchsorted(keys, q, side="right") - 1
    out: list[str | None] = []
    for kk, m, t in zip(k.tolist(), mmsi.tolist(), ts.tolist(), strict=True):  # per event, not per point
        j = int(order[kk]) if kk >= 0 else -1
        out.append(pid[j] if j >= 0 and vm[j] == m and va[j] <= t <= vd[j] else None)
    return out


def sort_events(name: str, table: pa.Table) -> pa.Table:
    """An event table in the canonical order (mmsi, start time, id) and schema, as both engines write it."""
    keys = _SORT_KEYS[name]
    table = table.sort_by([(k, "ascending") for k in keys]) if table.num_rows > 1 else table
    return table.cast(schema.EVENT_TABLES[name])


__all__ = [
    "KERNEL_TABLES",
    "PlaceLookup",
    "place_indexes",
    "run_vessel_kernels",
    "sort_events",
    "sorted_positions",
    "zone_index",
]
