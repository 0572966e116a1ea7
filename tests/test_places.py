"""supplyline.places: gazetteer contents, user places, and PlaceIndex answers against hand-computed and
brute-force references (antimeridian, poles, polygons, 100k places x 1M points)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from supplyline import schema
from supplyline.errors import InputError, UsageError
from supplyline.geo import EARTH_RADIUS_KM, destination_point, haversine_km
from supplyline.places import (
    PlaceIndex,
    conform_places,
    load_gazetteer,
    normalise_name,
    places_from_geojson,
    places_from_records,
)

DEG_M = EARTH_RADIUS_KM * 1000 * math.pi / 180.0  # metres per degree of arc (111,195 m)


# --- the shipped gazetteer --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gazetteer() -> pa.Table:
    return load_gazetteer()


@pytest.fixture(scope="module")
def index(gazetteer: pa.Table) -> PlaceIndex:
    return PlaceIndex(gazetteer)


def test_gazetteer_contents(gazetteer: pa.Table) -> None:
    assert gazetteer.schema.equals(schema.PLACES.remove_metadata())
    counts = dict(
        zip(*np.unique(gazetteer["source"].to_numpy(zero_copy_only=False), return_counts=True), strict=True)
    )
    assert counts == {"wpi": 3766, "unlocode": 10011, "gfw": 56013}
    ids = gazetteer["place_id"].to_numpy(zero_copy_only=False)
    assert len(np.unique(ids)) == len(ids)
    assert (gazetteer["r_out_m"].to_numpy() > gazetteer["r_in_m"].to_numpy()).all()
    # no geocoded UN/LOCODE coordinates: Nampo must be the WPI harbour, not Geoapify's point 200 km away
    nampo = gazetteer.filter(pa.compute.equal(gazetteer["locode"], "KPNAM")).to_pylist()
    assert [(p["place_id"], p["lat"], p["lon"]) for p in nampo] == [("wpi:60280", 38.716667, 125.4)]
    assert load_gazetteer(("wpi",)).num_rows == 3766
    with pytest.raises(UsageError, match="unknown gazetteer source"):
        load_gazetteer(("wpi", "osm"))


@pytest.mark.slow
def test_shipped_files_rebuild_identically(shared_data: Path, tmp_path: Path) -> None:
    """scripts/build_gazetteer.py reproduces the shipped Parquet files from ../shared/data."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_gazetteer.py"
    spec = importlib.util.spec_from_file_location("build_gazetteer", script)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--data", str(shared_data), "--out", str(tmp_path)]) == 0
    shipped = Path(__file__).resolve().parents[1] / "src" / "supplyline" / "data"
    for source in ("wpi", "unlocode", "gfw"):
        assert pq.read_table(tmp_path / f"places_{source}.parquet").equals(
            pq.read_table(shipped / f"places_{source}.parquet")
        )


def test_near_new_york(index: PlaceIndex) -> None:
    got = index.near(40.70, -74.01, 5000.0)
    assert got["place_id"][0].as_py() == "wpi:7640"  # New York City, US NYC
    assert got["name"][0].as_py() == "New York City"
    # hand check: WPI New York City is at 40.7, -74.016667 -> 0.006667 deg of longitude at 40.7 N
    expected_km = (
        2 * EARTH_RADIUS_KM * math.asin(math.cos(math.radians(40.7)) * math.sin(math.radians(0.006667 / 2)))
    )
    assert got["dist_km"][0].as_py() == pytest.approx(expected_km, abs=1e-6)
    dist = got["dist_km"].to_numpy()
    assert (np.diff(dist) >= 0).all() and dist.max() <= 5.0


@pytest.mark.parametrize("query", ["Vostochny", "vostochnyy", "VOSTOCHNYY PORT"])
def test_search_vostochny(index: PlaceIndex, query: str) -> None:
    got = index.search(query, limit=5)
    assert got["place_id"][0].as_py() == "wpi:60725"
    assert (got["locode"][0].as_py(), got["country"][0].as_py()) == ("RUVYP", "RU")


@pytest.mark.parametrize("query", ["Rajin", "Najin", "Rashin", "rajin (najin)"])
def test_search_rajin_najin(index: PlaceIndex, query: str) -> None:
    got = index.search(query, limit=3)
    assert got["locode"][0].as_py() == "KPRJN"
    assert got["score"][0].as_py() == 100.0
    assert normalise_name(got["matched"][0].as_py()) == normalise_name(query)


def test_search_country_filter_and_collapsed_cells(index: PlaceIndex) -> None:
    got = index.search("Vostochny", country="ru", limit=5).to_pylist()
    assert {p["country"] for p in got} == {"RU"}
    gfw = [p for p in got if p["source"] == "gfw" and p["name"] == "Vostochnyy"]
    assert len(gfw) == 1 and gfw[0]["n_same"] == 64  # 64 GFW cells named VOSTOCHNYY shown once
    # ... as the cell nearest the cells' mean position
    cells = index.places.filter(
        pa.compute.and_(
            pa.compute.equal(index.places["name"], "Vostochnyy"),
            pa.compute.equal(index.places["source"], "gfw"),
        )
    )
    lat, lon = cells["lat"].to_numpy(), cells["lon"].to_numpy()
    xyz = np.column_stack(
        [
            np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
            np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
            np.sin(np.radians(lat)),
        ]
    )
    nearest_to_mean = np.argmin(((xyz - xyz.mean(axis=0)) ** 2).sum(axis=1))
    assert gfw[0]["place_id"] == cells["place_id"][int(nearest_to_mean)].as_py()
    assert index.search("Nampo", country="KP", limit=1)["place_id"].to_pylist() == ["wpi:60280"]
    with pytest.raises(UsageError, match="alpha-2"):
        index.search("Nampo", country="PRK")
    with pytest.raises(UsageError, match="place name"):
        index.search("  ")


def test_normalise_name() -> None:
    assert normalise_name("Ch'ŏngjin") == "chongjin"
    assert normalise_name("  Bahía  Blanca ") == "bahia blanca"


# --- user places ------------------------------------------------------------------------------------------


def _write(tmp_path: Path, features: list[dict], name: str = "p.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_geojson_points_and_polygons(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [132.3375, 42.88028]},
                "properties": {"name": "Dunai", "radius_m": 2500, "country": "RU"},
            },
            {
                "type": "Feature",
                "id": "pier",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[130.0, 42.0], [130.01, 42.0], [130.01, 42.01], [130.0, 42.01], [130.0, 42.0]]
                    ],
                },
                "properties": {"name": "Pier box", "exit_margin_m": 500},
            },
        ],
    )
    t = places_from_geojson(path)
    rows = t.to_pylist()
    assert [r["place_id"] for r in rows] == ["user:dunai", "user:pier"]
    assert (rows[0]["r_in_m"], rows[0]["r_out_m"]) == (2500.0, pytest.approx(2500 * 4 / 3))
    assert rows[0]["geometry_wkb"] is None and rows[0]["watched"] is True
    poly = rows[1]
    assert poly["geometry_wkb"] is not None and poly["kind"] == "area"
    assert (poly["lat"], poly["lon"]) == (pytest.approx(42.005, abs=1e-9), pytest.approx(130.005, abs=1e-9))
    # enclosing radius: the farthest corner from the centroid (a southern one, where a degree of
    # longitude is longest)
    corners = float(haversine_km(42.005, 130.005, np.array([42.0, 42.01]), np.array([130.0, 130.01])).max())
    assert poly["r_in_m"] == pytest.approx(corners * 1000, rel=1e-6)
    assert poly["r_out_m"] - poly["r_in_m"] == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable GeoJSON"),
        ('{"type": "Point", "coordinates": [0, 0]}', "FeatureCollection"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString",'
            ' "coordinates": [[0, 0], [1, 1]]}, "properties": {"name": "x"}}]}',
            "LineString",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
            ' "coordinates": [0, 0]}, "properties": {}}]}',
            "needs a 'name'",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
            ' "coordinates": [0, 0]}, "properties": {"name": "x", "radius_m": "big"}}]}',
            "number of metres",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
            ' "coordinates": [200, 0]}, "properties": {"name": "x"}}]}',
            "lon must be within",
        ),
    ],
)
def test_geojson_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        places_from_geojson(path)


def test_records_reject_duplicates_and_bad_radii() -> None:
    with pytest.raises(InputError, match="duplicate place ids"):
        places_from_records([{"name": "A", "lat": 0, "lon": 0}, {"name": "a", "lat": 1, "lon": 1}])
    with pytest.raises(InputError, match="r_out_m"):
        places_from_records([{"name": "A", "lat": 0, "lon": 0, "r_in_m": 3000, "r_out_m": 1000}])
    with pytest.raises(InputError, match="lacks the required column"):
        conform_places(pa.table({"place_id": ["x"], "name": ["x"]}))


# --- the index: hand-computed answers ---------------------------------------------------------------------


def test_assign_across_antimeridian_and_pole() -> None:
    places = places_from_records(
        [
            {"name": "east", "lat": 0.0, "lon": 179.99, "r_in_m": 3000, "r_out_m": 4000},
            {"name": "pole", "lat": 89.99, "lon": 0.0, "r_in_m": 3000, "r_out_m": 4000},
        ]
    )
    idx = PlaceIndex(places)
    # (0, -179.99) is 0.02 deg = 2,224 m from (0, 179.99); (89.99, 180) is 0.02 deg over the pole
    lat = np.array([0.0, 89.99, 0.0, 0.0])
    lon = np.array([-179.99, 180.0, -179.97, 179.96])  # 4,448 m and 3,336 m from "east"
    assert idx.assign(lat, lon, "r_in").tolist() == [0, 1, -1, -1]
    assert idx.assign(lat, lon, "r_out").tolist() == [0, 1, -1, 0]
    i, d = idx.nearest(lat, lon)
    assert i.tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(d, [0.02 * DEG_M, 0.02 * DEG_M, 0.04 * DEG_M, 0.03 * DEG_M], rtol=1e-9)
    i, d = idx.nearest(lat, lon, max_m=3000.0)
    assert i.tolist() == [0, 1, -1, -1] and np.isinf(d[2:]).all()


def test_assign_nearest_containing_not_just_nearest() -> None:
    """A big circle 6.7 km away holds the point although five small circles are nearer (exact fallback)."""
    recs = [{"name": "big", "lat": 0.0, "lon": 0.0, "r_in_m": 10_000, "r_out_m": 12_000}]
    recs += [{"name": f"s{i}", "lat": 0.0, "lon": 0.06 + 0.001 * i, "r_in_m": 50} for i in range(1, 6)]
    recs += [{"name": "mid", "lat": 0.0, "lon": 0.05, "r_in_m": 2_000}]  # 1.1 km away, holds the point
    idx = PlaceIndex(places_from_records(recs))
    lat, lon = np.array([0.0, 0.0, 0.0]), np.array([0.06, 0.061, 0.2])
    # point 0: "mid" (1,112 m, r 2 km) beats "big" (6,672 m); point 1 sits in s1; point 2 is in nothing
    assert idx.assign(lat, lon).tolist() == [6, 1, -1]
    idx2 = PlaceIndex(places_from_records(recs[:-1]))
    assert idx2.assign(lat, lon).tolist() == [0, 1, -1]


def test_polygon_assign_with_exit_margin_and_antimeridian(tmp_path: Path) -> None:
    square = [[[-0.01, -0.01], [0.01, -0.01], [0.01, 0.01], [-0.01, 0.01], [-0.01, -0.01]]]
    # a box across the antimeridian written the RFC 7946 way: two parts meeting at +-180
    split = [
        [[[179.99, -0.01], [180.0, -0.01], [180.0, 0.01], [179.99, 0.01], [179.99, -0.01]]],
        [[[-180.0, -0.01], [-179.99, -0.01], [-179.99, 0.01], [-180.0, 0.01], [-180.0, -0.01]]],
    ]
    path = _write(
        tmp_path,
        [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": square},
                "properties": {"name": "box", "exit_margin_m": 1000},
            },
            {
                "type": "Feature",
                "geometry": {"type": "MultiPolygon", "coordinates": split},
                "properties": {"name": "dateline box"},
            },
        ],
    )
    idx = PlaceIndex(places_from_geojson(path))
    off = 0.01 + 500 / DEG_M  # 500 m outside the box's east edge (at the equator)
    lat = np.array([0.0, 0.009, 0.0, 0.0, 0.0, 0.0, 0.011])
    lon = np.array([0.0, 0.009, off, 0.02, 179.995, -179.995, -179.995])
    assert idx.assign(lat, lon, "r_in").tolist() == [0, 0, -1, -1, 1, 1, -1]
    # exit test: the box grown by 1 km holds the point 500 m out but not the one 1.1 km out
    assert idx.assign(lat, lon, "r_out").tolist() == [0, 0, 0, -1, 1, 1, 1]
    lat_c, lon_c = idx.places["lat"][1].as_py(), idx.places["lon"][1].as_py()
    assert lat_c == pytest.approx(0.0, abs=1e-9) and abs(lon_c) == pytest.approx(180.0, abs=1e-9)


def test_polygon_and_circle_together_nearest_centre_wins() -> None:
    """Mixed places: a point in both a circle and a polygon goes to the nearer centre; the polygon's test
    does not depend on the lat/lon written in its row (here deliberately off its centroid)."""
    box = shapely.box(0.005, -0.005, 0.015, 0.005)  # centroid (0, 0.01), 1.1 km wide
    circle = places_from_records([{"name": "c", "lat": 0.0, "lon": 0.0, "r_in_m": 3000}])
    poly = places_from_records([{"name": "p", "geometry": box}])
    i = poly.column_names.index("lat")
    poly = poly.set_column(i, poly.schema.field("lat"), pa.array([0.004]))  # off-centre label
    idx = PlaceIndex(pa.concat_tables([circle, poly]))
    lat = np.array([0.0, 0.0, 0.0, 0.0])
    lon = np.array([0.001, 0.012, 0.0145, 0.03])
    # 0.001: in the circle only; 0.012 and 0.0145: in both, polygon centre (0.004, 0.01) is nearer; 0.03: none
    assert idx.assign(lat, lon).tolist() == [0, 1, 1, -1]


def test_bad_points_raise_usage_error() -> None:
    idx = PlaceIndex(places_from_records([{"name": "A", "lat": 0, "lon": 0}]))
    with pytest.raises(UsageError, match="not a valid lat/lon"):
        idx.assign(np.array([0.0, 91.0]), np.array([0.0, 0.0]))
    with pytest.raises(UsageError, match="equal length"):
        idx.nearest(np.zeros(2), np.zeros(3))
    with pytest.raises(UsageError, match="r_in"):
        idx.assign(np.zeros(1), np.zeros(1), "r_mid")  # type: ignore[arg-type]


def test_empty_index() -> None:
    idx = PlaceIndex(schema.PLACES.empty_table())
    assert idx.assign(np.zeros(3), np.zeros(3)).tolist() == [-1, -1, -1]
    i, d = idx.nearest(np.zeros(2), np.zeros(2))
    assert i.tolist() == [-1, -1] and np.isinf(d).all()
    assert idx.near(0.0, 0.0, 1e6).num_rows == 0


# --- the index at scale: 100k places, 1M points, against brute force ---------------------------------------


def _brute_assign(dist_m: np.ndarray, r_m: np.ndarray) -> np.ndarray:
    """Reference: row of the nearest place with dist <= radius for each row of a (points x places) matrix."""
    masked = np.where(dist_m <= r_m[None, :], dist_m, np.inf)
    best = masked.argmin(axis=1)
    return np.where(np.isfinite(masked[np.arange(len(dist_m)), best]), best, -1)


@pytest.mark.parametrize(
    ("n_places", "n_points"),
    [(10_000, 100_000), pytest.param(100_000, 1_000_000, marks=pytest.mark.slow)],
)
def test_many_places_many_points_match_brute_force(n_places: int, n_points: int) -> None:
    """100k synthetic places answering 1M points (slow) and a 10x smaller copy, checked on a sample."""
    rng = np.random.default_rng(42)
    n_centres = n_places // 50
    # clustered places (like anchorages around ports), including clusters on the antimeridian and near poles
    centres_lat = np.concatenate([rng.uniform(-70, 70, n_centres), [0.0, 88.0, -60.0]])
    centres_lon = np.concatenate([rng.uniform(-180, 180, n_centres), [180.0, 30.0, -179.9]])
    c = rng.integers(0, len(centres_lat), n_places)
    plat, plon = destination_point(
        centres_lat[c], centres_lon[c], rng.uniform(0, 360, n_places), rng.exponential(8.0, n_places)
    )
    r_in = rng.choice([500.0, 750.0, 2000.0, 3000.0, 5000.0, 8000.0], n_places) * rng.uniform(
        0.8, 1.2, n_places
    )
    places = pa.table(
        {
            "place_id": [f"p{i}" for i in range(n_places)],
            "name": ["x"] * n_places,
            "lat": plat,
            "lon": plon,
            "r_in_m": r_in,
            "r_out_m": r_in * 4 / 3,
        }
    )
    idx = PlaceIndex(places)
    # half the points near places, half anywhere
    near = rng.integers(0, n_places, n_points // 2)
    qlat1, qlon1 = destination_point(
        plat[near], plon[near], rng.uniform(0, 360, len(near)), rng.uniform(0, 12.0, len(near))
    )
    qlat = np.concatenate([qlat1, np.degrees(np.arcsin(rng.uniform(-1, 1, n_points // 2)))])
    qlon = np.concatenate([qlon1, rng.uniform(-180, 180, n_points // 2)])
    got_in = idx.assign(qlat, qlon, "r_in")
    got_near, got_d = idx.nearest(qlat, qlon)
    assert got_in.shape == (n_points,) and (got_in >= 0).sum() > n_points // 4
    sample = np.concatenate([rng.integers(0, n_points // 2, 150), rng.integers(n_points // 2, n_points, 50)])
    dist_m = haversine_km(qlat[sample, None], qlon[sample, None], plat[None, :], plon[None, :]) * 1000.0
    np.testing.assert_array_equal(got_in[sample], _brute_assign(dist_m, r_in))
    ref = dist_m.argmin(axis=1)
    np.testing.assert_array_equal(got_near[sample], ref)
    np.testing.assert_allclose(got_d[sample], dist_m[np.arange(len(sample)), ref], rtol=1e-12)
    # the exit radius on the points near places (the r_out code path is the same, with other radii)
    near_s = sample[:150]
    got_out = idx.assign(qlat[near_s], qlon[near_s], "r_out")
    np.testing.assert_array_equal(got_out, _brute_assign(dist_m[:150], r_in * 4 / 3))
