"""Detections through the store and the CLI: import (GFW layout, --map, rejects), match, dark evidence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from supplyline import schema
from supplyline.cli import app
from supplyline.errors import UsageError
from supplyline.imagery.importer import import_detections, parse_map
from supplyline.ingest.pipeline import ingest
from supplyline.simulate.harbour import fleet_ais, fleet_at, random_fleet
from supplyline.simulate.passes import Area, PassConfig, PassResult, image_pass
from supplyline.store import Store

T0 = 1_700_000_000.0


def _place(place_id: str, lat: float, lon: float, r_m: float) -> dict[str, object]:
    return {
        "place_id": place_id,
        "name": "Test harbour <b>",
        "kind": "port",
        "lat": lat,
        "lon": lon,
        "r_in_m": r_m,
        "r_out_m": r_m * 1.5,
        "watched": True,
        "source": "test",
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A store with one harbour's AIS (6 h around a pass), its place, and the pass as a GFW-layout CSV."""
    tmp = tmp_path_factory.mktemp("imagery")
    rng = np.random.default_rng(3)
    fleet = random_fleet(60, 42.0, 130.0, 8000.0, T0, rng, dropout_share=0.0)
    positions, statics = fleet_ais(fleet, T0 - 3 * 3600, T0 + 3 * 3600, rng, 10.0)
    pq.write_table(positions, tmp / "pos.parquet")
    pq.write_table(statics, tmp / "statics.parquet")
    store = Store.create(tmp / "store")
    report = ingest(store, [tmp / "pos.parquet", tmp / "statics.parquet"])
    assert report.exit_code == 0
    store.write_table(
        "places", pa.Table.from_pylist([_place("case:harbour", 42.0, 130.0, 9000.0)], schema.PLACES)
    )
    out = PassResult()
    image_pass(fleet_at(fleet, T0), T0, Area("case:harbour", 42.0, 130.0, 8000.0), PassConfig(), rng, out)
    det, truth = out.tables()
    gfw = pa.table(
        {
            "scene_id": det["scene_id"],
            "timestamp": pc.strftime(det["ts"], "%Y-%m-%d %H:%M:%S UTC"),
            "lat": det["lat"],
            "lon": det["lon"],
            "length_m": det["length_m"],
            "presence_score": det["score"],
            "detect_id": det["det_id"],
        }
    )
    pacsv.write_csv(gfw, tmp / "gfw.csv")
    return {"tmp": tmp, "store": store, "det": det, "truth": truth}


def test_gfw_layout_is_recognised_and_read(world):
    res = import_detections(world["tmp"] / "gfw.csv")
    assert res.layout == "gfw" and res.rejected == []
    det = world["det"]
    assert res.detections.num_rows == det.num_rows
    assert res.detections["det_id"].to_pylist() == det["det_id"].to_pylist()
    assert res.detections["ts"].to_pylist() == det["ts"].to_pylist()
    assert np.allclose(res.detections["lat"].to_numpy(), det["lat"].to_numpy())
    assert res.detections["sensor"].to_pylist()[0] == "sar"


def test_mapped_layout_and_rejects_with_reasons(tmp_path: Path):
    (tmp_path / "d.csv").write_text(
        "image,acquired,x,y,len\n"
        "a,2024-03-01T01:02:03Z,130.1,42.1,120\n"
        "a,not a time,130.1,42.1,120\n"
        "a,2024-03-01T01:02:03Z,230.1,42.1,120\n"
        ",2024-03-01T01:02:03Z,130.1,42.1,120\n"
        "a,2024-03-01T01:02:03Z,130.2,42.2,\n"
    )
    res = import_detections(
        tmp_path / "d.csv", parse_map("scene_id=image,ts=acquired,lon=x,lat=y,length_m=len")
    )
    assert res.layout == "mapped"
    assert res.rejected == [(2, "no_time"), (3, "position_out_of_range"), (4, "no_scene_id")]
    assert res.detections.num_rows == 2
    assert res.detections["length_m"].to_pylist() == [120.0, None]
    assert str(res.detections["ts"][0].as_py()) == "2024-03-01 01:02:03+00:00"
    assert len(set(res.detections["det_id"].to_pylist())) == 2


def test_unusable_files_and_maps_say_what_to_do(tmp_path: Path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="--map"):
        import_detections(tmp_path / "d.csv")
    with pytest.raises(UsageError, match="not a detections column"):
        parse_map("speed=a")
    with pytest.raises(UsageError, match="OURS=THEIRS"):
        parse_map("ts")


def test_cli_import_match_dark_evidence(world):
    store: Store = world["store"]  # type: ignore[assignment]
    runner = CliRunner()
    res = runner.invoke(
        app, ["imagery", "import", str(world["tmp"] / "gfw.csv"), "--store", str(store.root), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["kept"] == world["det"].num_rows
    res = runner.invoke(app, ["imagery", "match", "--store", str(store.root), "--track-deg", "350", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    matches = store.read_table("detection_matches", schema.DETECTION_MATCHES)
    truth = world["truth"].filter(pc.is_valid(world["truth"]["det_id"]))
    # dark: transponder off, or a false alarm (no vessel, ais_on null)
    expected_dark = {
        d
        for d, on in zip(truth["det_id"].to_pylist(), truth["ais_on"].to_pylist(), strict=True)
        if on is not True
    }
    got_dark = set(matches.filter(pc.equal(matches["status"], "dark"))["det_id"].to_pylist())
    assert got_dark == expected_dark and summary["dark"] == len(expected_dark) > 0
    # every dark detection at the watched place is an alert, and the pass one observation counting them
    alerts = store.read_table("alerts", schema.ALERTS)
    assert alerts.num_rows == len(expected_dark)
    assert set(alerts["kind"].to_pylist()) == {"dark_vessel"}
    obs = store.read_table("observations", schema.OBSERVATIONS)
    assert obs.num_rows == 1 and obs["quantity"][0].as_py() == len(expected_dark)
    assert obs["unit"][0].as_py() == "ships" and "[SYNTHETIC]" not in obs["description"][0].as_py()
    # re-matching replaces, never duplicates
    runner.invoke(app, ["imagery", "match", "--store", str(store.root)])
    assert store.read_table("alerts", schema.ALERTS).num_rows == len(expected_dark)


def test_exports_and_report_carry_detections(world, tmp_path):
    """After import + match (the test above), GeoJSON/KML exports and the report payload hold the detections."""
    from supplyline.report.builder import build_report
    from supplyline.report.export import export_store

    store: Store = world["store"]  # type: ignore[assignment]
    if not store.has_table("detection_matches"):
        pytest.skip("runs after test_cli_import_match_dark_evidence")
    matches = store.read_table("detection_matches", schema.DETECTION_MATCHES)
    docs = {p.stem: json.loads(p.read_text()) for p in export_store(store, "geojson", tmp_path / "gj")}
    feats = docs["detections"]["features"]
    assert len(feats) == matches.num_rows
    assert (
        sum(f["properties"]["status"] == "dark" for f in feats)
        == pc.sum(pc.equal(matches["status"], "dark")).as_py()
    )
    kml = export_store(store, "kml", tmp_path / "kml")[0].read_text()
    assert "Satellite detections (matched / dark)" in kml and "dark detection" in kml
    html = build_report(store, tmp_path / "r.html").read_text()
    assert '"detection_matches"' in html
