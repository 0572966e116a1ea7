"""GeoParquet 1.1 writer: a WKB ``geometry`` column, a ``bbox`` covering struct and the ``geo`` metadata.

Spec: https://geoparquet.org/releases/v1.1.0/. Coordinates are lon/lat on WGS 84 (OGC:CRS84, written out as
PROJJSON so readers need not assume the default). The ``bbox`` column (xmin, ymin, xmax, ymax per row) lets
readers skip row groups by extent without decoding WKB.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

GEOPARQUET_VERSION = "1.1.0"
BBOX = pa.struct([(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")])

GeometryFn = Callable[[pa.Table], np.ndarray]
"""Builds one shapely geometry (or None) per row of a batch."""


def crs84() -> dict[str, object]:
    """The PROJJSON of OGC:CRS84 (WGS 84, lon/lat order)."""
    text = resources.files("supplyline.data").joinpath("crs84.projjson").read_text()
    return dict(json.loads(text))


def geo_metadata(geometry_types: list[str]) -> bytes:
    """The ``geo`` file metadata for one primary WKB column named ``geometry`` with a bbox covering."""
    covering = {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    column = {"encoding": "WKB", "geometry_types": geometry_types, "crs": crs84(), "covering": covering}
    meta = {"version": GEOPARQUET_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}
    return json.dumps(meta).encode()


def points(table: pa.Table, lat: str = "lat", lon: str = "lon") -> np.ndarray:
    """Point geometries from two columns (None where either is null)."""
    x = table.column(lon).to_numpy(zero_copy_only=False).astype(np.float64)
    y = table.column(lat).to_numpy(zero_copy_only=False).astype(np.float64)
    geoms = shapely.points(x, y)
    geoms[~(np.isfinite(x) & np.isfinite(y))] = None
    return np.asarray(geoms, dtype=object)


def with_geometry(table: pa.Table, geoms: np.ndarray) -> pa.Table:
    """``table`` plus its ``geometry`` (WKB) and ``bbox`` columns."""
    missing = shapely.is_missing(geoms)
    wkb = shapely.to_wkb(geoms)
    bounds = shapely.bounds(geoms)
    mask = pa.array(missing)
    bbox = pa.StructArray.from_arrays(
        [pa.array(bounds[:, i], pa.float64()) for i in range(4)], fields=list(BBOX), mask=mask
    )
    geometry = pa.array([None if m else bytes(w) for m, w in zip(missing, wkb, strict=True)], pa.binary())
    return table.append_column("geometry", geometry).append_column("bbox", bbox)


def write_geoparquet(
    batches: Iterable[pa.Table],
    schema: pa.Schema,
    geometry: GeometryFn,
    geometry_types: list[str],
    path: Path,
) -> Path:
    """Stream ``batches`` (each already of ``schema``) into one GeoParquet file at ``path``."""
    out_schema = schema.append(pa.field("geometry", pa.binary())).append(pa.field("bbox", BBOX))
    out_schema = out_schema.with_metadata({b"geo": geo_metadata(geometry_types)})
    with pq.ParquetWriter(path, out_schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_table(with_geometry(batch, geometry(batch)).cast(out_schema))
    return path
