"""What the report and the exports read from the store: decimated tracks and event tables as JSON.

Everything here is a DuckDB query or a vectorised Arrow/NumPy step; the only Python loop is per vessel when
the track arrays are cut into per-vessel lists (vessels are few compared with positions).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.schema import TS
from supplyline.sqlquote import ident

# Tables the report shows, in display order. Any may be absent or empty.
REPORT_TABLES = (
    "places",
    "visits",
    "voyages",
    "gaps",
    "encounters",
    "loitering",  # slow movement far from any place (docs/detect.md)
    "detection_matches",  # satellite vessel detections, matched to AIS or dark (docs/imagery.md)
    "alerts",
    "claims",
    "observations",
    "estimates",
    "claim_tests",
    "vessels",  # the store's identity view: one row per distinct name/IMO/callsign of an MMSI
)
COORD_SCALE = 10_000  # track coordinates shipped as integer 1e-4 degrees (~11 m), delta-encoded
DEFAULT_MAX_POINTS = 60_000  # display budget: a 1M-position store draws ~60k points (a few MB of HTML)
MIN_BUCKET_S = 60  # never keep more than one point per vessel per minute
BREAK_H = 6.0  # hours: a longer silence breaks a drawn/exported track line (GFW dark-gap threshold)
MAX_TABLE_ROWS = 20_000  # rows embedded per table (about 4 MB of JSON); the rest are in `supplyline export`


@dataclass(frozen=True)
class Tracks:
    """Decimated positions sorted by (mmsi, ts): parallel NumPy arrays plus per-vessel offsets."""

    mmsi: np.ndarray  # int64, one per point
    ts_us: np.ndarray  # int64 microseconds since the epoch
    lat: np.ndarray  # float64 degrees
    lon: np.ndarray  # float64 degrees
    starts: np.ndarray  # index of each vessel's first point (len = n_vessels + 1, last = n_points)
    n_positions: int  # positions in the store before decimation

    @property
    def vessels(self) -> np.ndarray:
        return self.mmsi[self.starts[:-1]]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when the store connection has a view or table called ``name``."""
    q = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    return bool(con.execute(q, [name]).fetchall()[0][0])


def table_arrow(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table | None:
    """The whole table, or None when the store does not have it."""
    if not has_table(con, name):
        return None
    return con.sql(f"SELECT * FROM {ident(name)}").to_arrow_table()


# The time column each report table is ordered by (rows are shown in data-time order).
ORDER_BY = {
    "visits": "arrival_ts",
    "voyages": "departure_ts",
    "gaps": "start_ts",
    "encounters": "start_ts",
    "loitering": "start_ts",
    "alerts": "ts",
    "claims": "published",
    "observations": "date",
    "estimates": "period_start",
    "vessels": "first_seen",
}


def _order_clause(name: str, columns: list[str]) -> str:
    """Time order, ties broken by the row's id columns, so the same store gives the same report bytes."""
    ties = [c for c in columns if c.endswith("_id")] or columns[:1]
    keys = ([ORDER_BY[name]] if ORDER_BY.get(name) in columns else []) + ties
    return "ORDER BY " + ", ".join(f"{ident(k)} NULLS LAST" for k in keys) if keys else ""


def report_table(con: duckdb.DuckDBPyConnection, name: str, max_rows: int = 0) -> dict[str, Any]:
    """One table as report JSON: the first ``max_rows`` rows (default MAX_TABLE_ROWS) in time order, and
    the total row count; only the rows shown are read from the store."""
    max_rows = max_rows or MAX_TABLE_ROWS
    if name == "places":
        return table_json(used_places(con), max_rows)
    if not has_table(con, name):
        return table_json(None)
    total = int(con.execute(f"SELECT count(*) FROM {ident(name)}").fetchall()[0][0])
    described = [r[0] for r in con.execute(f"DESCRIBE {ident(name)}").fetchall()]
    cols = set(described)
    order = _order_clause(name, described)
    table = con.sql(f"SELECT * FROM {ident(name)} {order} LIMIT {int(max_rows)}").to_arrow_table()
    out = table_json(table, max_rows)
    out["total"] = total
    if name == "visits" and "visit_class" in cols:  # the headline card counts port calls
        from supplyline.engine.summary import visit_class_counts

        out["classes"] = visit_class_counts(con)
    return out


def used_places(con: duckdb.DuckDBPyConnection) -> pa.Table | None:
    """Places worth showing: watched ones and those some visit, voyage, gap, alert or observation names.

    A store's ``places`` table can hold the whole gazetteer (~70,000 rows); drawing or embedding all of it
    would bury the few that matter. Binary geometry columns are dropped (the map draws circles).
    """
    if not has_table(con, "places"):
        return None
    cols = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ).fetchall()
    present = set(cols)
    used = " UNION ".join(
        f"SELECT {ident(c)} AS id FROM {ident(t)}" for t, c in _PLACE_REFS if (t, c) in present
    )
    watched = "coalesce(watched, false)" if ("places", "watched") in present else "false"
    where = f"{watched} OR place_id IN ({used})" if used else watched
    keep = ", ".join(ident(c) for t, c in cols if t == "places" and c != "geometry_wkb")  # store's columns
    return con.sql(f"SELECT {keep} FROM places WHERE {where} ORDER BY place_id").to_arrow_table()


_PLACE_REFS = (
    ("visits", "place_id"),
    ("voyages", "origin_id"),
    ("voyages", "destination_id"),
    ("gaps", "near_start_place"),
    ("gaps", "near_end_place"),
    ("alerts", "place_id"),
    ("observations", "place_id"),
)


def fair_shares(counts: np.ndarray, budget: int) -> float:
    """The per-vessel cap ``s`` with ``sum(min(counts, s)) == budget`` (water-filling); inf if all fit.

    Vessels with fewer positions than the cap keep them all and their unused share goes to the others,
    so a few long tracks cannot starve the many short ones, nor the reverse.

    >>> fair_shares(np.array([10, 100, 1000]), 310)
    200.0
    """
    c = np.sort(counts.astype(np.float64))
    n = len(c)
    if c.sum() <= budget:
        return float("inf")
    room = (budget - np.r_[0.0, np.cumsum(c)[:-1]]) / (n - np.arange(n))  # equal split of what is left
    k = int(np.argmax(c >= room))  # first vessel too big for an equal split of the remainder
    return float(room[k])


def decimate_tracks(con: duckdb.DuckDBPyConnection, max_points: int = DEFAULT_MAX_POINTS) -> Tracks:
    """Keep about ``max_points`` positions in all: the first of each per-vessel time bucket.

    Each vessel's share of the budget comes from :func:`fair_shares`; its bucket width is its time span
    divided by that share, never under ``MIN_BUCKET_S``. One pass of DuckDB over the positions.
    """
    empty = np.empty(0, np.int64)
    none = Tracks(empty, empty, empty.astype(float), empty.astype(float), np.zeros(1, np.int64), 0)
    if not has_table(con, "positions"):
        return none
    stats = con.sql(
        "SELECT mmsi, count(*) AS n, epoch_us(min(ts)) AS t0, epoch_us(max(ts)) - epoch_us(min(ts)) AS span "
        "FROM positions GROUP BY mmsi"
    ).to_arrow_table()
    if stats.num_rows == 0:
        return none
    n = stats["n"].to_numpy()
    share = fair_shares(n, max(max_points, 2 * len(n)))
    span = stats["span"].to_numpy().astype(np.float64)
    bucket = np.maximum(MIN_BUCKET_S * 1_000_000, span / max(share - 1, 1)).astype(np.int64)
    buckets = pa.table({"mmsi": stats["mmsi"], "t0": stats["t0"], "bucket": bucket})  # noqa: F841 - used in SQL
    tbl = con.sql(
        """
        WITH p AS (SELECT mmsi, epoch_us(ts) AS t, lat, lon FROM positions)
        SELECT p.mmsi, min(p.t) AS t, arg_min(p.lat, p.t) AS lat, arg_min(p.lon, p.t) AS lon
        FROM p JOIN buckets b USING (mmsi)
        GROUP BY p.mmsi, (p.t - b.t0) // b.bucket
        ORDER BY p.mmsi, t
        """
    ).to_arrow_table()
    mmsi = tbl["mmsi"].to_numpy()
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]]) if len(mmsi) else empty
    return Tracks(
        mmsi=mmsi,
        ts_us=tbl["t"].to_numpy(),
        lat=tbl["lat"].to_numpy(),
        lon=tbl["lon"].to_numpy(),
        starts=np.r_[starts, len(mmsi)].astype(np.int64),
        n_positions=int(n.sum()),
    )


def encode_tracks(tracks: Tracks, names: dict[int, str]) -> list[dict[str, Any]]:
    """Per-vessel delta-encoded integer arrays: ``t`` seconds, ``y``/``x`` in 1e-4 degrees.

    The first value of each array is absolute, the rest are differences; small integers keep the JSON
    compact (a 60k-point payload is about 1 MB).
    """
    if len(tracks.mmsi) == 0:
        return []
    t = tracks.ts_us // 1_000_000
    y = np.rint(tracks.lat * COORD_SCALE).astype(np.int64)
    x = np.rint(tracks.lon * COORD_SCALE).astype(np.int64)
    first = np.zeros(len(t), dtype=bool)
    first[tracks.starts[:-1]] = True
    dt, dy, dx = (np.where(first, a, np.diff(a, prepend=0)) for a in (t, y, x))
    cuts = tracks.starts[1:-1]
    out = []
    for m, ts_, ys, xs in zip(
        tracks.vessels.tolist(),
        np.split(dt, cuts),
        np.split(dy, cuts),
        np.split(dx, cuts),
        strict=True,
    ):
        out.append({"mmsi": m, "name": names.get(m), "t": ts_.tolist(), "y": ys.tolist(), "x": xs.tolist()})
    return out


def _json_column(col: pa.ChunkedArray) -> tuple[str, list[Any]]:
    """A column as (type tag, JSON-ready values): times -> epoch ms, floats rounded, NaN -> null."""
    typ = col.type
    if pa.types.is_timestamp(typ):
        ms = pc.divide(pc.cast(pc.cast(col, TS), pa.int64()), 1000)
        return "ts", ms.to_pylist()
    if pa.types.is_date(typ):
        days = pc.cast(pc.cast(col, pa.date32()), pa.int32())
        return "date", [None if d is None else d * 86_400_000 for d in days.to_pylist()]
    if pa.types.is_floating(typ):
        vals = pc.round(pc.cast(col, pa.float64()), 4).to_pylist()
        return "num", [v if v is not None and math.isfinite(v) else None for v in vals]  # JSON has no NaN/inf
    if pa.types.is_integer(typ):
        return "int", col.to_pylist()
    if pa.types.is_boolean(typ):
        return "bool", col.to_pylist()
    return "str", pc.cast(col, pa.string()).to_pylist()


def table_json(table: pa.Table | None, max_rows: int = MAX_TABLE_ROWS) -> dict[str, Any]:
    """Column-oriented JSON for one table: names, type tags, the first ``max_rows`` rows and the total."""
    if table is None:
        return {"columns": [], "types": [], "rows": [], "present": False, "total": 0}
    total = table.num_rows
    table = table.slice(0, max_rows)
    cols = [_json_column(table[name]) for name in table.column_names]
    rows = [list(r) for r in zip(*(v for _, v in cols), strict=True)] if cols else []
    return {
        "columns": table.column_names,
        "types": [t for t, _ in cols],
        "rows": rows,
        "present": True,
        "total": total,
    }


def vessel_names(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """The latest reported name of every MMSI with static reports (empty when there are none)."""
    if not has_table(con, "statics"):
        return {}
    rows = con.execute(
        "SELECT mmsi, arg_max(name, ts) FROM statics WHERE name IS NOT NULL AND name <> '' GROUP BY mmsi"
    ).fetchall()
    return {int(m): str(n) for m, n in rows}


def sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Manifest rows with the data-time range each input covers (for the "data sources" panel)."""
    if not has_table(con, "manifest"):
        return []
    ranges = ""
    if has_table(con, "positions"):
        ranges = (
            "LEFT JOIN (SELECT input_id, epoch_ms(min(ts)) AS first_ms, epoch_ms(max(ts)) AS last_ms "
            "FROM positions GROUP BY input_id) r USING (input_id)"
        )
    cols = "m.input_id, m.path, m.format, m.positions, m.synthetic, epoch_ms(m.ingested_at) AS ingested_ms"
    cols += ", r.first_ms, r.last_ms" if ranges else ", NULL AS first_ms, NULL AS last_ms"
    cur = con.execute(f"SELECT {cols} FROM manifest m {ranges} ORDER BY m.path")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def is_synthetic(con: duckdb.DuckDBPyConnection, srcs: list[dict[str, Any]]) -> bool:
    """Whether any input is synthetic: a manifest flag, "synthetic" in a file name, or imported truth."""
    if any(bool(s.get("synthetic")) or "synthetic" in str(s.get("path", "")).lower() for s in srcs):
        return True
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return any(str(r[0]).startswith("truth_") for r in rows)


def dumps(payload: Any) -> str:
    """Compact JSON that is safe inside a ``<script>`` element: every ``<`` is escaped as ``\\u003c``."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c")


def track_breaks(tracks: Tracks, break_h: float) -> np.ndarray:
    """Indices where a drawn line must restart: a new vessel, a silence over ``break_h``, or the antimeridian.

    Silences are drawn separately (dashed, from the ``gaps`` table); joining the points across them would
    invent a straight-line path the vessel was never seen on.
    """
    n = len(tracks.mmsi)
    brk = np.zeros(n, dtype=bool)
    brk[tracks.starts[:-1]] = True
    if n > 1:
        dt_h = np.diff(tracks.ts_us) / 3.6e9
        brk[1:] |= (dt_h > break_h) | (np.abs(np.diff(tracks.lon)) > 180.0)
    return np.r_[np.flatnonzero(brk), n].astype(np.int64)
