"""Track and voyage lines with a time on every point, shared by the GeoJSON, KML and GeoParquet exports.

Each position is ``[lon, lat, 0, unix_seconds]``: the layout kepler.gl's Trip layer animates (a LineString
whose 4th coordinate is a Unix time in seconds). Lines break where the vessel went silent for more than
``break_h`` hours (the silence is a dark gap, drawn separately) and are cut at the antimeridian by
:func:`supplyline.report.geometry.split_antimeridian` when they become geometries.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from supplyline.report.data import Tracks

Line = list[list[float]]


def _positions(tracks: Tracks, a: int, b: int) -> Line:
    lon = np.round(tracks.lon[a:b], 6)
    lat = np.round(tracks.lat[a:b], 6)
    t = tracks.ts_us[a:b] // 1_000_000
    return [[float(x), float(y), 0.0, int(s)] for x, y, s in zip(lon, lat, t, strict=True)]


def silence_breaks(tracks: Tracks, break_h: float) -> np.ndarray:
    """Indices where a line restarts: a new vessel or a silence over ``break_h`` hours (last = n)."""
    n = len(tracks.mmsi)
    brk = np.zeros(n, dtype=bool)
    brk[tracks.starts[:-1]] = True
    if n > 1:
        brk[1:] |= np.diff(tracks.ts_us) / 3.6e9 > break_h
    return np.r_[np.flatnonzero(brk), n].astype(np.int64)


def track_lines(tracks: Tracks, break_h: float) -> dict[int, list[Line]]:
    """Per MMSI, its track as lines of timed positions (pieces under two points dropped)."""
    cuts = silence_breaks(tracks, break_h)
    out: dict[int, list[Line]] = {}
    for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        lines = out.setdefault(int(tracks.mmsi[a]), [])
        if b - a >= 2:
            lines.append(_positions(tracks, a, b))
    return {m: lines for m, lines in out.items() if lines}


def voyage_lines(con: duckdb.DuckDBPyConnection, tracks: Tracks) -> dict[str, Line]:
    """Each voyage's timed positions between departure and arrival (voyages under two points absent)."""
    if len(tracks.mmsi) == 0:
        return {}
    pts = pa.table({"mmsi": tracks.mmsi, "t": tracks.ts_us, "lat": tracks.lat, "lon": tracks.lon})  # noqa: F841
    rows = con.execute(
        """
        SELECT v.voyage_id,
               list([round(p.lon, 6), round(p.lat, 6), 0.0, (p.t // 1000000)::DOUBLE] ORDER BY p.t) AS coords
        FROM voyages v JOIN pts p
          ON p.mmsi = v.mmsi AND p.t BETWEEN epoch_us(v.departure_ts) AND epoch_us(v.arrival_ts)
        GROUP BY v.voyage_id HAVING count(*) >= 2
        """
    ).fetchall()
    return {str(vid): [[c[0], c[1], c[2], int(c[3])] for c in coords] for vid, coords in rows}
