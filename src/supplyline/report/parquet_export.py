"""Parquet exports with each table's declared Arrow schema, as GeoParquet where the table has a geometry.

The schema comes from :data:`supplyline.schema.TABLE_SCHEMAS`, not from the data, so two exports of a
table always have the same columns, types and nullability. Geometry per table:

- ``places``: its polygon (``geometry_wkb``) or its point;
- ``gaps``, ``segments``: the straight line from start to end, cut at the antimeridian;
- ``voyages``: the voyage's (thinned) track; ``tracks`` (one row per vessel): the vessel's track;
- any other table with ``lat``/``lon`` (positions, encounters, loitering, detections, ...): points.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from supplyline import schema
from supplyline.report.data import BREAK_H, Tracks, vessel_names
from supplyline.report.geometry import line_geometry, multi_line_geometry, to_wkb
from supplyline.report.geoparquet import GeometryFn, points, write_geoparquet
from supplyline.report.lines import track_lines, voyage_lines
from supplyline.sqlquote import ident

BATCH_ROWS = 65_536
TRACKS_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("start_ts", schema.TS),
        pa.field("end_ts", schema.TS),
        pa.field("n_points", pa.int64()),
    ]
)
"""The ``tracks`` export: one row per vessel, its (thinned) track as a MultiLineString."""


def conform(table: pa.Table, declared: pa.Schema) -> pa.Table:
    """``table`` with exactly the declared columns, types and order (missing columns as nulls)."""
    cols = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in declared
    ]
    return pa.Table.from_arrays(cols, schema=declared)


def _batches(con: duckdb.DuckDBPyConnection, name: str, declared: pa.Schema) -> Iterator[pa.Table]:
    rel = con.sql(f"SELECT * FROM {ident(name)}")
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch  # renamed in DuckDB 1.4
    for batch in reader(BATCH_ROWS):
        yield conform(pa.Table.from_batches([batch]), declared)


def _wkb_geoms(wkbs: list[bytes | None]) -> np.ndarray:
    return np.asarray([None if w is None else shapely.from_wkb(w) for w in wkbs], dtype=object)


def _places(batch: pa.Table) -> np.ndarray:
    geoms = points(batch)
    polys = batch.column("geometry_wkb").to_pylist()
    for i, w in enumerate(polys):
        if w:
            geoms[i] = shapely.from_wkb(w)
    return geoms


def _start_end(batch: pa.Table) -> np.ndarray:
    rows = zip(
        *(batch.column(c).to_pylist() for c in ("start_lon", "start_lat", "end_lon", "end_lat")), strict=True
    )
    return _wkb_geoms(
        [None if None in r else to_wkb(line_geometry([[r[0], r[1]], [r[2], r[3]]])) for r in rows]
    )


def _geometry_fn(name: str, columns: list[str], voyages: dict[str, list[list[float]]]) -> GeometryFn | None:
    if name == "places":
        return _places
    if name == "voyages":
        return lambda b: _wkb_geoms(
            [to_wkb(line_geometry(voyages.get(v, []))) for v in b["voyage_id"].to_pylist()]
        )
    if {"start_lat", "start_lon", "end_lat", "end_lon"} <= set(columns):
        return _start_end
    if {"lat", "lon"} <= set(columns):
        return points
    return None


GEOMETRY_TYPES = {
    "places": ["Point", "Polygon", "MultiPolygon"],
    "voyages": ["LineString", "MultiLineString"],
}


def export_parquet(
    con: duckdb.DuckDBPyConnection, names: list[str], out_dir: Path, tracks: Tracks | None
) -> list[Path]:
    """One Parquet file per table (GeoParquet where it has a geometry); ``tracks`` is the vessel-track layer."""
    voyages = voyage_lines(con, tracks) if tracks is not None and "voyages" in names else {}
    paths = []
    for name in names:
        path = out_dir / f"{name}.parquet"
        if name == "tracks":
            paths.append(_write_tracks(con, tracks, path))
            continue
        declared = (
            schema.TABLE_SCHEMAS.get(name)
            or con.sql(f"SELECT * FROM {ident(name)} LIMIT 0").to_arrow_table().schema
        )
        fn = _geometry_fn(name, declared.names, voyages)
        if fn is None:
            with pq.ParquetWriter(path, declared, compression="zstd") as writer:
                for batch in _batches(con, name, declared):
                    writer.write_table(batch)
        else:
            types = GEOMETRY_TYPES.get(
                name, ["LineString", "MultiLineString"] if fn is _start_end else ["Point"]
            )
            write_geoparquet(_batches(con, name, declared), declared, fn, types, path)
        paths.append(path)
    return paths


def _write_tracks(con: duckdb.DuckDBPyConnection, tracks: Tracks | None, path: Path) -> Path:
    lines = track_lines(tracks, BREAK_H) if tracks is not None else {}
    names = vessel_names(con)
    mmsis = sorted(lines)
    table = pa.table(
        {
            "mmsi": pa.array(mmsis, pa.int64()),
            "name": pa.array([names.get(m) for m in mmsis], pa.string()),
            "start_ts": pa.array([lines[m][0][0][3] * 1_000_000 for m in mmsis], pa.int64()).cast(schema.TS),
            "end_ts": pa.array([lines[m][-1][-1][3] * 1_000_000 for m in mmsis], pa.int64()).cast(schema.TS),
            "n_points": pa.array([sum(len(x) for x in lines[m]) for m in mmsis], pa.int64()),
        },
        schema=TRACKS_SCHEMA,
    )
    geoms = _wkb_geoms([to_wkb(multi_line_geometry(lines[m])) for m in mmsis])
    return write_geoparquet([table], TRACKS_SCHEMA, lambda _b: geoms, ["MultiLineString"], path)
