"""The JSON endpoints behind every page (documented in :mod:`supplyline.serve.openapi`).

Handlers parse and check parameters, run the parameterised queries of :mod:`supplyline.serve.queries` on a
worker thread (DuckDB releases the GIL), and answer JSON. Times are epoch milliseconds (UTC) in answers
and ISO 8601 in parameters. Bad parameters get a 400 with a message saying what is accepted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import Response

# imported here, not on the first vessel page: it takes ~1 s on a busy machine, and 50 first requests waited
from supplyline.monitor.sanctions import flag_from_mmsi
from supplyline.report.data import (
    COORD_SCALE,
    Tracks,
    dumps,
    encode_tracks,
    is_synthetic,
)
from supplyline.serve import queries as Q
from supplyline.serve.db import Reader
from supplyline.serve.positions import bucket_s, epoch_us
from supplyline.serve.snapshot import records

try:
    import orjson
except ModuleNotFoundError:  # pragma: no cover - the serve extra installs it
    orjson = None  # type: ignore[assignment]
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson else 0

MAX_POINTS = 20_000  # track points per map answer (thinned per vessel in time buckets)
MAX_VESSEL_POINTS = 5_000
MAX_LAYER_ROWS = 5_000


class BadRequest(Exception):
    """A parameter the API cannot use; answered as 400 with this message."""


WORKERS = 4
"""Worker threads for endpoint bodies: enough to overlap DuckDB (which releases the GIL) with Python, few
enough that 50 concurrent misses do not thrash on the GIL (Starlette's default pool is 40 threads)."""
_POOL = anyio.CapacityLimiter(WORKERS)


def encode(payload: Any) -> bytes:
    """Compact JSON with every ``<`` escaped (safe even if a client drops it into HTML by mistake).

    orjson when installed (the ``serve`` extra; ~5x faster than :func:`json.dumps` on a map answer, UTF-8
    instead of ``\\u`` escapes), else the report's :func:`dumps`. Both give the same JSON values."""
    if orjson is not None:
        with contextlib.suppress(TypeError):  # e.g. an integer beyond 64 bits: the standard encoder takes it
            return orjson.dumps(payload, default=str, option=_ORJSON_OPTIONS).replace(b"<", b"\\u003c")
    return dumps(payload).encode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(encode(payload), status_code=status, media_type="application/json")


def fetch(reader: Reader, query: Q.Query) -> pa.Table:
    """Run a query on the in-memory tables, or on the store's read-only connection when it reads
    positions or static reports (the queries marked ``Q.DISK``)."""
    sql, params = query
    if sql.startswith(Q.DISK):
        disk = reader.disk_cursor()
        try:
            table: pa.Table = disk.execute(sql, params).to_arrow_table()
            return table
        finally:
            disk.close()
    cur = reader.cursor()
    try:
        return cur.sql(sql, params=params).to_arrow_table()
    finally:
        cur.close()


def rows(reader: Reader, query: Q.Query) -> list[dict[str, Any]]:
    return records(fetch(reader, query))


# --- parameters ---------------------------------------------------------------------------------------------
def parse_time(text: str | None, name: str) -> dt.datetime | None:
    """ISO 8601 date or date-time (UTC when no offset is given); None when absent."""
    if text is None or text == "":
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}={text!r} is not an ISO 8601 date or time (e.g. 2024-02-01)") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_int(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name}={text!r} is not an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def parse_bbox(text: str | None) -> tuple[float, float, float, float]:
    """``bbox=west,south,east,north`` in degrees (west < east: a view across 180 deg asks twice)."""
    try:
        west, south, east, north = (float(v) for v in (text or "").split(","))
    except ValueError:
        raise BadRequest(f"bbox={text!r} is not west,south,east,north in degrees") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadRequest("bbox needs -180 <= west < east <= 180 and -90 <= south < north <= 90")
    return west, south, east, north


def window(reader: Reader, request: Request) -> tuple[dt.datetime, dt.datetime]:
    """The ``start``/``end`` parameters, defaulting to the data period."""
    start = parse_time(request.query_params.get("start"), "start")
    end = parse_time(request.query_params.get("end"), "end")
    if start is None or end is None:
        span = reader.current().span
        now = dt.datetime.now(dt.UTC)
        start = start or (span.first or now)
        end = end or (span.last or now)
    if end < start:
        raise BadRequest("end is before start")
    return start, end


# --- tracks -------------------------------------------------------------------------------------------------
def tracks_json(
    reader: Reader, mmsi: int | None, start: dt.datetime, end: dt.datetime, budget: int
) -> tuple[list[dict[str, Any]], int]:
    """Decimated, delta-encoded tracks in the window (the report's encoding) and the positions they stand for."""
    snap = reader.current()
    if snap.positions is not None:
        tracks = snap.positions.tracks(mmsi, start, end, budget)
    else:
        tracks = _tracks_on_disk(reader, mmsi, start, end, budget)
    return encode_tracks(tracks, snap.names), tracks.n_positions


def _tracks_on_disk(
    reader: Reader, mmsi: int | None, start: dt.datetime, end: dt.datetime, budget: int
) -> Tracks:
    """The same decimation as :meth:`Positions.tracks`, by two scans of the store's files (large stores)."""
    counted = fetch(reader, Q.window_count(mmsi, start, end)).to_pylist()[0]
    n, vessels = int(counted["n"] or 0), int(counted["vessels"] or 0)
    tbl = fetch(reader, Q.track(mmsi, start, end, bucket_s(n, vessels, start, end, budget)))
    ids = tbl["mmsi"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.empty(0, np.int64)
    return Tracks(
        mmsi=ids,
        ts_us=tbl["t"].to_numpy(),
        lat=tbl["lat"].to_numpy(),
        lon=tbl["lon"].to_numpy(),
        starts=np.r_[starts, len(ids)].astype(np.int64),
        n_positions=n,
    )


# --- endpoint bodies (run on worker threads) ----------------------------------------------------------------
def meta(
    reader: Reader, case: dict[str, Any] | None, allow_sql: bool, basemap: bool = False
) -> dict[str, Any]:
    """The page header: data period, counts, positions per day, routes (the scans are the snapshot's)."""
    span = reader.current().span
    counts = {
        name: int(fetch(reader, (f'SELECT count(*) AS n FROM "{name}"', [])).to_pylist()[0]["n"])
        for name in ("visits", "voyages", "gaps", "encounters", "loitering", "alerts", "claims", "estimates")
    }
    disk = reader.disk_cursor()
    try:  # only looks for imported truth tables: the inputs were read with the positions
        synthetic = is_synthetic(disk, span.sources)  # type: ignore[arg-type]  # queries only
    finally:
        disk.close()
    return {
        "store": str(reader.store.root),
        "synthetic": synthetic,
        "start": _ms(span.first),
        "end": _ms(span.last),
        "n_positions": span.n,
        "counts": counts,
        "days": span.days,
        "routes": rows(reader, Q.routes()),
        "case": case,
        "allow_sql": allow_sql,
        "basemap": basemap,
        "coord_scale": COORD_SCALE,
    }


def _ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def search(reader: Reader, q: str, limit: int) -> list[dict[str, Any]]:
    if not q.strip():
        raise BadRequest("q is empty: give part of a name, MMSI, IMO or call sign")
    return rows(reader, Q.search(q, limit))


def vessel(reader: Reader, mmsi: int) -> dict[str, Any] | None:
    """Everything the vessel page shows; None when the store has never seen the MMSI.

    Each table's rows are a slice of the snapshot's per-vessel index (no query per table)."""
    snap = reader.current()
    of = {name: grouped.rows(mmsi) for name, grouped in snap.vessel.items()}
    first, last = snap.span.first, snap.span.last
    track, n = tracks_json(reader, mmsi, first, last, MAX_VESSEL_POINTS) if first and last else ([], 0)
    if not of["identities"] and not n:
        return None
    return {
        "mmsi": mmsi,
        "flag": _flag(mmsi),
        "identities": of["identities"],
        "same_imo": of["same_imo"],
        "sanctions": [_with_details(r) for r in of["sanctions"]],
        "n_positions": n,
        "track": track,
        "route_counts": of["route_counts"],
        "visits": of["visits"],
        "places": of["places"],
        "voyages": of["voyages"],
        "gaps": of["gaps"],
        "encounters": of["encounters"],
        "loitering": of["loitering"],
        "draught": of["draught"],
        "draught_changes": of["draught_changes"],
        "alerts": of["alerts"],
    }


def _flag(mmsi: int) -> str | None:
    flag = flag_from_mmsi(np.array([mmsi], dtype=np.int64))[0].as_py()
    return None if flag is None else str(flag)


def _with_details(row: dict[str, Any]) -> dict[str, Any]:
    """An alert row with its ``details`` JSON decoded (the basis of a sanctions match, a halt's cadence...)."""
    return _decode(row, "details")


def map_data(reader: Reader, start: dt.datetime, end: dt.datetime, budget: int) -> dict[str, Any]:
    """Tracks and event layers of the window, and the places they name."""
    snap = reader.current()
    tracks, n = tracks_json(reader, None, start, end, budget)
    a, b = epoch_us(start), epoch_us(end)
    layers = {name: timed.rows(a, b, MAX_LAYER_ROWS + 1) for name, timed in snap.layers.items()}
    truncated = [name for name, lst in layers.items() if len(lst) > MAX_LAYER_ROWS]
    return {
        "start": _ms(start),
        "end": _ms(end),
        "n_positions": n,
        "coord_scale": COORD_SCALE,
        "tracks": tracks,
        "layers": {name: lst[:MAX_LAYER_ROWS] for name, lst in layers.items()},
        "truncated": truncated,
        "places": snap.places_used,
    }


def place(reader: Reader, place_id: str) -> dict[str, Any] | None:
    found = rows(reader, Q.place(place_id))
    if not found:
        return None
    return {
        "place": found[0],
        "monthly": rows(reader, Q.place_monthly(place_id)),
        "vessels": rows(reader, Q.place_vessels(place_id)),
        "visits": rows(reader, Q.place_visits(place_id)),
    }


def route(reader: Reader, name: str) -> dict[str, Any] | None:
    voyages = rows(reader, Q.route_voyages(name))
    alerts = [_with_details(r) for r in rows(reader, Q.route_alerts(name))]
    if not voyages and not alerts:
        return None
    gaps = [r["since_previous_h"] for r in voyages if r["since_previous_h"] is not None]
    per_vessel: dict[str, int] = {}
    for r in voyages:
        key = r["vessel_name"] or str(r["mmsi"])
        per_vessel[key] = per_vessel.get(key, 0) + 1
    return {
        "route": name,
        "departures": voyages,
        "per_vessel": [
            {"vessel": k, "trips": v} for k, v in sorted(per_vessel.items(), key=lambda kv: -kv[1])
        ],
        "cadence": {
            "trips": len(voyages),
            "median_interval_h": float(np.median(gaps)) if gaps else None,
            "max_interval_h": float(np.max(gaps)) if gaps else None,
        },
        "halts": [a for a in alerts if a["kind"] in ("halt", "resumption")],
        "alerts": alerts,
    }


def alerts(reader: Reader, after: dt.datetime | None, limit: int) -> list[dict[str, Any]]:
    return [_with_details(r) for r in rows(reader, Q.alerts_after(after, limit))]


def claims(reader: Reader) -> dict[str, Any]:
    """Claims with their test, and estimates with their working: the voyages and observations behind each."""
    claim_rows = [_decode(r, "details") for r in rows(reader, Q.claims())]
    est_rows = [_decode(r, "inputs") for r in rows(reader, Q.estimates())]
    voyage_ids = sorted(
        {v for r in [*claim_rows, *est_rows] for v in (_get(r, "details", "inputs").get("voyage_ids") or [])}
    )
    return {
        "claims": claim_rows,
        "estimates": est_rows,
        "voyages": rows(reader, Q.voyages_by_id(voyage_ids)) if voyage_ids else [],
        "observations": rows(reader, Q.observations()),
    }


def _decode(row: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy of ``row`` with ``key`` decoded from JSON (left as text when it is not JSON); rows may be
    shared with other answers (:class:`supplyline.serve.snapshot.Rows`), so they are never changed."""
    with contextlib.suppress(ValueError):
        return {**row, key: json.loads(row.get(key) or "null")}
    return dict(row)


def _get(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if isinstance(row.get(key), dict):
            return dict(row[key])
    return {}


async def threaded(fn: Any, *args: Any) -> Any:
    """Run a blocking endpoint body on one of the :data:`WORKERS` threads."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_POOL)
