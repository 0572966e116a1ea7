"""Exports: GeoJSON feature counts, KML 2.2 Placemarks, CSV/Parquet row counts, CLI errors."""

from __future__ import annotations

import csv
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from supplyline.errors import UsageError
from supplyline.report.export import KML_NS, export_store
from supplyline.store import Store
from tests.browser import fixture_store as fx

K = f"{{{KML_NS}}}"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fx.build_fixture_store(tmp_path_factory.mktemp("export") / "store")


def test_geojson_layers(store: Store, tmp_path: Path) -> None:
    paths = export_store(store, "geojson", tmp_path)
    docs = {p.stem: json.loads(p.read_text()) for p in paths}
    assert set(docs) == {"places", "tracks", "voyages", "gaps", "encounters", "detections"}
    counts = {k: len(d["features"]) for k, d in docs.items()}
    assert counts == {
        "places": fx.N_PLACES,
        "tracks": fx.N_VESSELS,
        "voyages": fx.N_VOYAGES,
        "gaps": fx.N_GAPS,
        "encounters": fx.N_ENCOUNTERS,
        "detections": 0,  # no satellite detections in this store
    }
    assert all(d["type"] == "FeatureCollection" for d in docs.values())
    tracks = {f["properties"]["mmsi"]: f for f in docs["tracks"]["features"]}
    # Vessel A is silent twice for 8 h (> 6 h): its track is drawn in three pieces; the others in one.
    assert len(tracks[fx.MMSI_A]["geometry"]["coordinates"]) == 3
    assert len(tracks[fx.MMSI_B]["geometry"]["coordinates"]) == 1
    assert tracks[fx.MMSI_B]["properties"]["name"] == "LADY R"
    rajin = next(f for f in docs["places"]["features"] if f["properties"]["place_id"] == "case:rajin")
    # Rajin has no polygon: it is drawn as its 3 km entry circle (a counter-clockwise 64-gon) around lon, lat.
    assert rajin["geometry"]["type"] == "Polygon"
    ring = rajin["geometry"]["coordinates"][0]
    assert len(ring) == 65 and ring[0] == ring[-1]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert (max(lats) + min(lats)) / 2 == pytest.approx(fx.RAJIN[0], abs=1e-4)
    assert (max(lons) + min(lons)) / 2 == pytest.approx(fx.RAJIN[1], abs=1e-4)
    assert (max(lats) - min(lats)) / 2 * 111.195 == pytest.approx(3.0, rel=2e-3)  # 3 km radius
    # Voyage y1 (A, 72 h -> 96 h) minus the 8 h silence: 24 h at 10 min = 145 points, 47 missing = 98
    y1 = next(f for f in docs["voyages"]["features"] if f["properties"]["voyage_id"] == "y1")
    assert len(y1["geometry"]["coordinates"]) == 145 - 47
    assert y1["properties"]["departure_ts"] == "2024-01-23T00:00:00Z"
    assert y1["properties"]["name"] == "ANGARA"  # vessel names on every feature
    # positions are [lon, lat, 0, unix seconds] (kepler.gl Trip layer): the first is the departure itself
    assert y1["geometry"]["coordinates"][0][2:] == [0.0, 1705968000]
    assert {f["properties"]["name"] for f in docs["gaps"]["features"]} == {"ANGARA"}
    enc = docs["encounters"]["features"][0]["properties"]
    assert enc["name_a"] and enc["name_b"]


def test_kml_is_valid_and_counts_placemarks(store: Store, tmp_path: Path) -> None:
    (path,) = export_store(store, "kml", tmp_path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{K}kml"
    folders = root.findall(f"{K}Document/{K}Folder")
    names = [f.findtext(f"{K}name") for f in folders]
    assert names == [
        "Places",
        "Tracks (by vessel)",
        "Voyages",
        "Dark gaps (AIS silent)",
        "Encounters",
        "Satellite detections (matched / dark)",
    ]
    per_folder = [len(f.findall(f"{K}Placemark")) for f in folders]
    assert per_folder == [fx.N_PLACES, fx.N_VESSELS, fx.N_VOYAGES, fx.N_GAPS, fx.N_ENCOUNTERS, 0]
    assert len(root.findall(f".//{K}Placemark")) == 12
    gaps = folders[3].findall(f"{K}Placemark")
    assert {g.findtext(f"{K}styleUrl") for g in gaps} == {"#dark-gap"}
    styles = {s.get("id") for s in root.findall(f"{K}Document/{K}Style")}
    assert {"dark-gap", "place", "voyage", "encounter"} <= styles
    # Vessel A's track: a gx:MultiTrack of 3 timed gx:Tracks; gx:coord is "lon lat alt".
    gx = "{http://www.google.com/kml/ext/2.2}"
    track_a = next(p for p in folders[1].findall(f"{K}Placemark") if str(fx.MMSI_A) in p.findtext(f"{K}name"))
    lines = track_a.findall(f"{gx}MultiTrack/{gx}Track")
    assert len(lines) == 3
    lon, lat, _ = map(float, lines[0].findtext(f"{gx}coord").split())
    assert (lat, lon) == fx.RAJIN
    assert len(lines[0].findall(f"{K}when")) == len(lines[0].findall(f"{gx}coord"))
    assert len(folders[0].findall(f".//{K}Polygon/{K}outerBoundaryIs/{K}LinearRing")) == fx.N_PLACES
    # time spans for Google Earth's slider: the voyage y1 departs 72 h after T0 (2024-01-23 00:00 UTC)
    y1 = next(
        p
        for p in folders[2].findall(f"{K}Placemark")
        if p.find(f".//{K}Data[@name='voyage_id']/{K}value").text == "y1"
    )
    assert y1.findtext(f"{K}TimeSpan/{K}begin") == "2024-01-23T00:00:00Z"
    assert folders[0].find(f"{K}Placemark/{K}TimeSpan") is None  # places are timeless


def test_csv_and_parquet_of_every_table(store: Store, tmp_path: Path) -> None:
    csvs = {p.stem: p for p in export_store(store, "csv", tmp_path / "csv")}
    assert {"positions", "manifest", "places", "visits", "voyages", "gaps", "alerts", "claims"} <= set(csvs)
    with csvs["visits"].open() as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == fx.N_VISITS
    with csvs["places"].open() as fh:  # tabular exports keep every place, map layers only the used ones
        assert sum(1 for _ in csv.DictReader(fh)) == fx.N_PLACES_STORE
    with csvs["positions"].open() as fh:
        assert sum(1 for _ in fh) - 1 == fx.positions().num_rows
    with csvs["voyages"].open() as fh:  # one time spelling everywhere: ISO 8601 UTC with Z
        assert next(csv.DictReader(fh))["departure_ts"] == "2024-01-23T00:00:00Z"
    pqs = export_store(store, "parquet", tmp_path / "pq", ["voyages", "claims"])
    assert [p.name for p in pqs] == ["voyages.parquet", "claims.parquet"]
    assert pq.read_table(pqs[0]).num_rows == fx.N_VOYAGES
    assert pq.read_table(pqs[1]).column("claim_id").to_pylist() == ["c1", "c2"]


def test_bad_requests_are_usage_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="choose one of"):
        export_store(store, "shp", tmp_path)
    with pytest.raises(UsageError, match="no table"):
        export_store(store, "csv", tmp_path, ["nope"])
    with pytest.raises(UsageError, match="map layers only"):
        export_store(store, "kml", tmp_path, ["claims"])
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UsageError, match="export folder"):
        export_store(store, "csv", tmp_path / "a-file", ["claims"])


def test_cli_export_and_report(store: Store, tmp_path: Path) -> None:
    ok = subprocess.run(
        [
            "supplyline",
            "export",
            "--store",
            str(store.root),
            "-f",
            "kml",
            "-t",
            "places",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(ET.parse(tmp_path / "supplyline.kml").getroot().findall(f".//{K}Placemark")) == fx.N_PLACES
    bad = subprocess.run(
        [
            "supplyline",
            "export",
            "--store",
            str(store.root),
            "-f",
            "csv",
            "-t",
            "nope",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no table 'nope'" not in bad.stderr and "nope" in bad.stderr
    assert "Traceback" not in bad.stderr
    rep = subprocess.run(
        ["supplyline", "report", "--store", str(store.root), "--out", str(tmp_path / "r.html"), "--json"],
        capture_output=True,
        text=True,
    )
    assert rep.returncode == 0, rep.stderr
    assert json.loads(rep.stdout)["bytes"] == (tmp_path / "r.html").stat().st_size
