"""A PMTiles archive of one vector tile (a pier polygon and a street line), built with the same libraries the
server reads it with (and a named point), for the basemap tests (default: a z12 tile of Upper New York Bay)."""

from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile as mvt
from pmtiles import writer as pmtiles_writer
from pmtiles.tile import Compression, TileType, zxy_to_tileid

from supplyline.serve.basemap import _lat, _lon

Z, X, Y = 12, 1205, 1540  # a z12 tile of Upper New York Bay, west of Whitehall
LABEL = 'Pier <img src=x onerror="window.__x=1"> & "A"'


def build(path: Path, compressed: bool = True, z: int = Z, x: int = X, y: int = Y) -> Path:
    pier = {
        "name": "Whitehall pier",
        "geometry": "POLYGON ((1000 1000, 3000 1000, 3000 3000, 1000 3000, 1000 1000))",
    }
    street = {"name": "South St", "geometry": "LINESTRING (0 2048, 4096 2048)"}
    town = {"name": LABEL, "geometry": "POINT (2048 1024)"}  # a label from data: must stay text
    tile = mvt.encode(
        [{"name": "landuse", "features": [{**pier, "properties": {"kind": "pier", "name": pier["name"]}}]},
         {"name": "roads", "features": [{**street, "properties": {"name": street["name"]}}]},
         {"name": "places", "features": [{**town, "properties": {"name": town["name"]}}]}],
        default_options={"y_coord_down": True},
    )  # fmt: skip
    data = gzip.compress(tile) if compressed else tile
    with pmtiles_writer.write(str(path)) as w:
        w.write_tile(zxy_to_tileid(z, x, y), data)
        header = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP if compressed else Compression.NONE,
            "min_zoom": z, "max_zoom": z,
            "min_lon_e7": int(_lon(x, 2**z) * 1e7), "max_lon_e7": int(_lon(x + 1, 2**z) * 1e7),
            "min_lat_e7": int(_lat(y + 1, 2**z) * 1e7), "max_lat_e7": int(_lat(y, 2**z) * 1e7),
            "center_zoom": z, "center_lon_e7": 0, "center_lat_e7": 0,
        }  # fmt: skip
        w.finalize(header, {"name": "test"})
    return path
