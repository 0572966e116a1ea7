"""The optional local basemap: a PMTiles archive of vector tiles read offline and served as lon/lat GeoJSON.

The archive is built here with the same libraries (a pier polygon and a street line in one z12 tile over
Whitehall, Manhattan), so the known answer is where those features must land in degrees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pmtiles.writer", reason="pmtiles (serve extra) reads PMTiles archives")
pytest.importorskip("mapbox_vector_tile", reason="mapbox-vector-tile (serve extra) decodes vector tiles")

from supplyline.errors import UsageError
from supplyline.serve.basemap import Basemap, _lat, _lon, tile_range
from tests.serve.basemap_file import LABEL, X, Y, Z, build


@pytest.mark.parametrize("compressed", [True, False])
def test_features_land_where_the_tile_puts_them(tmp_path: Path, compressed: bool) -> None:
    bm = Basemap(build(tmp_path / "ny.pmtiles", compressed))
    n = 2**Z
    west, east = _lon(X, n), _lon(X + 1, n)
    north, south = _lat(Y, n), _lat(Y + 1, n)
    doc = bm.features((west + 0.001, south + 0.001, east - 0.001, north - 0.001))
    assert doc["zoom"] == Z
    by_layer = {f["properties"]["layer"]: f for f in doc["features"]}
    assert set(by_layer) == {"landuse", "places", "roads"}
    pier = by_layer["landuse"]
    assert pier["properties"]["name"] == "Whitehall pier" and pier["geometry"]["type"] == "Polygon"
    lons = [p[0] for p in pier["geometry"]["coordinates"][0]]
    lats = [p[1] for p in pier["geometry"]["coordinates"][0]]
    assert min(lons) == pytest.approx(_lon(X + 1000 / 4096, n), abs=1e-6)
    assert max(lons) == pytest.approx(_lon(X + 3000 / 4096, n), abs=1e-6)
    assert max(lats) == pytest.approx(_lat(Y + 1000 / 4096, n), abs=1e-6)  # y runs down: 1000 is north
    road = by_layer["roads"]["geometry"]
    assert road["type"] == "LineString" and road["coordinates"][0][1] == pytest.approx(
        _lat(Y + 0.5, n), abs=1e-6
    )
    assert west < min(lons) < max(lons) < east and south < min(lats) < max(lats) < north
    town = by_layer["places"]
    assert town["geometry"]["type"] == "Point" and town["properties"]["name"] == LABEL
    assert town["geometry"]["coordinates"] == pytest.approx([_lon(X + 0.5, n), _lat(Y + 0.25, n)], abs=1e-6)
    bm.close()


def test_a_view_outside_the_archive_is_empty_and_tiles_are_bounded(tmp_path: Path) -> None:
    bm = Basemap(build(tmp_path / "ny.pmtiles"))
    assert bm.features((10.0, 50.0, 10.1, 50.1))["features"] == []
    assert bm.zoom_for((-180.0, -85.0, 180.0, 85.0)) == Z  # the archive's only zoom, even for the world
    xs, ys = tile_range((-180.0, -85.0, 180.0, 85.0), Z)
    assert len(xs) * len(ys) > 16  # the world at z12: features() still reads at most a 4 x 4 block
    bm.close()


def test_not_a_pmtiles_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.pmtiles"
    bad.write_bytes(b"not a pmtiles archive" * 10)
    with pytest.raises(UsageError, match="not a readable PMTiles file"):
        Basemap(bad)


def test_doctests() -> None:
    import doctest

    import supplyline.serve.basemap

    result = doctest.testmod(supplyline.serve.basemap)
    assert result.attempted > 0 and result.failed == 0
