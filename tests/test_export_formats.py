"""Exports faithful to their formats: RFC 7946 GeoJSON (schema-valid, cut at the antimeridian), KML read by
GDAL/OGR, GeoParquet 1.1 read back by GeoPandas with its CRS, declared Parquet schemas, internal tables kept in.

The store here is synthetic: one vessel sailing east across the antimeridian near Fiji (179.5 E -> 179.5 W,
10 min reports), a polygon place and a circle place straddling 180 deg.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from supplyline import schema
from supplyline.report.export import export_store
from supplyline.report.geometry import split_antimeridian
from supplyline.store import Store
from tests.browser import fixture_store as fx

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (dev extra) validates GeoJSON")
SCHEMA = json.loads((Path(__file__).parent / "data" / "geojson-rfc7946.schema.json").read_text())
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
MMSI = 512000001
N = 25  # 4 h at 10 min: lon 179.5 -> 180.5 (= -179.5), lat -17.0 -> -16.0
SQUARE = shapely.Polygon([(178.0, -18.0), (178.2, -18.0), (178.2, -17.8), (178.0, -17.8)])


def _ts(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store.create(tmp_path_factory.mktemp("antimeridian") / "store")
    lon = np.linspace(179.5, 180.5, N)
    lon = np.where(lon > 180, lon - 360, lon)
    pos = {
        "mmsi": [MMSI] * N,
        "ts": [_ts(i / 6) for i in range(N)],
        "lat": np.linspace(-17.0, -16.0, N).tolist(),
        "lon": lon.tolist(),
        "sog_kn": [12.0] * N,
        "msg_type": [1] * N,
        "source": ["synthetic"] * N,
        "input_id": ["am"] * N,
    }
    statics = [{"mmsi": MMSI, "ts": T0, "imo": 9000009, "name": "DATELINE", "ship_type": 70}]
    with st.transaction() as txn:
        txn.put(
            "positions/day=2024-05-01/part-am.parquet",
            pa.Table.from_pydict(pos).cast(_sub(schema.POSITIONS, pos)),
        )
        txn.put(
            "statics/day=2024-05-01/part-am.parquet", pa.Table.from_pylist(statics, schema=schema.STATICS)
        )

    def place(pid: str, lat: float, lon: float, wkb: bytes | None) -> dict:
        return {"place_id": pid, "name": pid, "lat": lat, "lon": lon, "r_in_m": 20_000.0, "r_out_m": 25_000.0,
                "watched": True, "geometry_wkb": wkb}  # fmt: skip

    places = [
        place("case:square", -17.9, 178.1, shapely.to_wkb(SQUARE)),
        place("case:dateline", -16.5, 179.95, None),
    ]
    st.write_table("places", pa.Table.from_pylist(places, schema=schema.PLACES))
    voyage = {"voyage_id": "v1", "mmsi": MMSI, "origin_name": "A", "destination_name": "B",
              "departure_ts": _ts(0), "arrival_ts": _ts(4)}  # fmt: skip
    st.write_table("voyages", pa.Table.from_pylist([voyage], schema=schema.VOYAGES))
    gap = {"gap_id": "g1", "mmsi": MMSI, "start_ts": _ts(1), "end_ts": _ts(9), "start_lat": -16.8,
           "start_lon": 179.8, "end_lat": -16.6, "end_lon": -179.8, "duration_h": 8.0}  # fmt: skip
    st.write_table("gaps", pa.Table.from_pylist([gap], schema=schema.GAPS))
    st.write_table("detect_state", pa.table({"shard": [0], "signature": ["x"]}))
    return st


def _sub(sch: pa.Schema, cols: dict) -> pa.Schema:
    return pa.schema([sch.field(n) for n in cols])


def test_split_antimeridian_interpolates_time_and_latitude() -> None:
    parts = split_antimeridian([[179.0, 10.0, 0.0, 100], [-179.0, 12.0, 0.0, 200]])
    assert parts == [
        [[179.0, 10.0, 0.0, 100], [180.0, 11.0, 0.0, 150.0]],
        [[-180.0, 11.0, 0.0, 150.0], [-179.0, 12.0, 0.0, 200]],
    ]
    west = split_antimeridian([[-179.0, 0.0], [179.0, 0.0]])  # westward: ends at -180, resumes at +180
    assert [west[0][-1][0], west[1][0][0]] == [-180.0, 180.0]


def test_geojson_is_rfc7946_and_cut_at_the_antimeridian(store: Store, tmp_path: Path) -> None:
    docs = {p.stem: json.loads(p.read_text()) for p in export_store(store, "geojson", tmp_path)}
    for doc in docs.values():
        jsonschema.validate(doc, SCHEMA)
    for layer in ("tracks", "voyages", "gaps"):
        (feat,) = docs[layer]["features"]
        assert feat["properties"]["name"] == "DATELINE"
        geom = feat["geometry"]
        assert geom["type"] == "MultiLineString", layer
        east, west = geom["coordinates"]
        assert east[-1][0] == 180.0 and west[0][0] == -180.0
        steps = [abs(b[0] - a[0]) for line in geom["coordinates"] for a, b in itertools.pairwise(line)]
        assert max(steps) < 1.0  # no 359-degree jump anywhere
    track = docs["tracks"]["features"][0]["geometry"]["coordinates"]
    times = [p[3] for line in track for p in line]
    assert times == sorted(times) and times[0] == T0.timestamp() and times[-1] == _ts(4).timestamp()
    assert docs["tracks"]["features"][0]["properties"]["end_ts"] == "2024-05-01T04:00:00Z"
    places = {f["properties"]["place_id"]: f["geometry"] for f in docs["places"]["features"]}
    assert shapely.geometry.shape(places["case:square"]).equals(SQUARE)
    dateline = places["case:dateline"]  # a 20 km circle around 179.95 E straddles 180: two pieces
    assert dateline["type"] == "MultiPolygon" and len(dateline["coordinates"]) == 2
    area = sum(shapely.Polygon(p[0]).area for p in dateline["coordinates"])
    assert area == pytest.approx(np.pi * (20 / 111.195) ** 2 / np.cos(np.radians(16.5)), rel=0.01)


def test_kml_is_read_by_gdal(store: Store, tmp_path: Path) -> None:
    pyogrio = pytest.importorskip("pyogrio", reason="pyogrio (geo extra) reads KML with GDAL")
    (path,) = export_store(store, "kml", tmp_path)
    layers = [name for name, _ in pyogrio.list_layers(path)]
    assert layers[:4] == ["Places", "Tracks (by vessel)", "Voyages", "Dark gaps (AIS silent)"]
    places = pyogrio.read_dataframe(path, layer="Places")
    assert sorted(places.geometry.geom_type) == ["MultiPolygon", "Polygon"]
    square = places[places["Name"] == "case:square"].geometry.iloc[0]
    assert square.equals(SQUARE)
    voyages = pyogrio.read_dataframe(path, layer="Voyages")
    assert voyages.geometry.iloc[0].geom_type == "MultiLineString"


def test_kml_tracks_are_timed_gx_tracks(store: Store, tmp_path: Path) -> None:
    """Tracks carry a time per position (gx:Track), split at the antimeridian, and GDAL still reads them."""
    import xml.etree.ElementTree as ET

    (path,) = export_store(store, "kml", tmp_path, ["tracks"])
    gx, kml = "{http://www.google.com/kml/ext/2.2}", "{http://www.opengis.net/kml/2.2}"
    tracks = list(ET.parse(path).getroot().iter(f"{gx}Track"))
    assert len(tracks) == 2  # the one vessel's track, cut at 180 deg
    whens = [w.text for t in tracks for w in t.iter(f"{kml}when")]
    coords = [c.text for t in tracks for c in t.iter(f"{gx}coord")]
    assert len(whens) == len(coords) >= N and whens == sorted(whens)
    assert whens[0] == "2024-05-01T00:00:00Z" and whens[-1] == "2024-05-01T04:00:00Z"
    lons = [float(str(c).split()[0]) for c in coords]
    assert lons[0] == pytest.approx(179.5) and lons[-1] == pytest.approx(-179.5)
    pyogrio = pytest.importorskip("pyogrio", reason="pyogrio (geo extra) reads KML with GDAL")
    read = pyogrio.read_dataframe(path, layer="Tracks (by vessel)")
    geom = read.geometry.iloc[0]
    assert geom.geom_type == "MultiLineString" and len(geom.geoms) == 2


def test_geoparquet_reads_back_with_crs(store: Store, tmp_path: Path) -> None:
    gpd = pytest.importorskip("geopandas", reason="geopandas (geo extra) reads GeoParquet")
    paths = {p.stem: p for p in export_store(store, "parquet", tmp_path)}
    assert "detect_state" not in paths  # engine bookkeeping is never exported
    assert {"places", "voyages", "gaps", "positions", "tracks"} <= set(paths)
    for name in ("places", "voyages", "gaps", "positions", "tracks"):
        gdf = gpd.read_parquet(paths[name])
        assert gdf.crs.to_string() == "OGC:CRS84", name
        geo = json.loads(pq.read_schema(paths[name]).metadata[b"geo"])
        assert geo["version"] == "1.1.0" and geo["columns"]["geometry"]["covering"]["bbox"]["xmin"] == [
            "bbox",
            "xmin",
        ]
    pos = gpd.read_parquet(paths["positions"])
    assert len(pos) == N and pos.geometry.x.iloc[0] == pytest.approx(179.5)
    assert pq.read_table(paths["positions"], columns=["bbox"])["bbox"][0]["xmin"].as_py() == pytest.approx(
        179.5
    )
    voy = gpd.read_parquet(paths["voyages"])
    assert voy.geometry.iloc[0].geom_type == "MultiLineString" and voy.total_bounds[[0, 2]].tolist() == [
        -180,
        180,
    ]
    places = gpd.read_parquet(paths["places"]).set_index("place_id")
    assert (
        places.geometry["case:square"].equals(SQUARE)
        and places.geometry["case:dateline"].geom_type == "Point"
    )
    tracks = gpd.read_parquet(paths["tracks"])
    assert tracks["name"].tolist() == ["DATELINE"] and tracks["n_points"].tolist() == [N]


def test_parquet_schema_is_declared_not_inferred(store: Store, tmp_path: Path) -> None:
    (path,) = export_store(store, "parquet", tmp_path, ["voyages"])
    got = pq.read_schema(path)
    want = schema.VOYAGES
    assert got.names[: len(want)] == want.names
    for field in want:  # nullability and types from schema.py, even for all-null columns such as route
        assert got.field(field.name).type == field.type and got.field(field.name).nullable == field.nullable
    (claims,) = export_store(fx_store_like(tmp_path), "parquet", tmp_path / "c", ["claims"])
    assert pq.read_schema(claims).remove_metadata() == schema.CLAIMS


def fx_store_like(tmp_path: Path) -> Store:
    return fx.build_fixture_store(tmp_path / "fx")


def test_csv_and_sql_json_spell_times_one_way(store: Store, tmp_path: Path) -> None:
    (path,) = export_store(store, "csv", tmp_path, ["gaps"])
    assert "2024-05-01T01:00:00Z,2024-05-01T09:00:00Z" in path.read_text()
    with pytest.raises(Exception, match="no table"):
        export_store(store, "csv", tmp_path, ["detect_state"])
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "supplyline",
            "sql",
            "SELECT start_ts FROM gaps",
            "--json",
            "--store",
            str(store.root),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [{"start_ts": "2024-05-01T01:00:00Z"}]
