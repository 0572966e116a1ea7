"""Sentinel-2 vessel detection on real port scenes (sen2ships: 3 US ports, 75 boxed ships)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio", reason="the imagery extra (rasterio) is not installed")
sys.path.insert(0, str(Path(__file__).parent))

from typer.testing import CliRunner

import imagery_sen2ships as s2
from supplyline import schema
from supplyline.cli import app
from supplyline.errors import UsageError
from supplyline.imagery.optical import band_of, otsu, sea_area, water_mask
from supplyline.store import Store

needs_data = pytest.mark.skipif(not s2.S2.exists(), reason=f"sen2ships scenes not found at {s2.S2}")


def test_band_names_and_water_rules():
    assert band_of("T11SLT_20230712_B08.jp2") == "B08" and band_of("x-b8a.tif") == "B8A"
    with pytest.raises(UsageError, match="band"):
        band_of("scene.tif")
    g, n = np.array([[900.0, 300.0]]), np.array([[200.0, 2000.0]])
    assert water_mask({"B03": g, "B08": n}) == (pytest.approx(np.array([[True, False]])), "ndwi")
    assert water_mask({"B03": g, "B11": n})[1] == "mndwi"
    assert 1.0 < otsu(np.r_[np.full(100, 1.0), np.full(100, 9.0)]) < 9.0  # any cut between the two classes


def test_sea_area_fills_vessel_sized_holes_only():
    water = np.ones((60, 60), bool)
    water[10:13, 10:20] = False  # a 30 x 100 m hull
    water[30:32, 5:55] = False  # a 500 m breakwater: not a vessel
    water[:, 58:] = False  # land along the edge
    sea = sea_area(water, max_ship_px=600, max_extent_px=45)
    assert sea[11, 15] and not sea[31, 30] and not sea[5, 59]


@needs_data
def test_sentinel2_ports_precision_recall_and_geocoding():
    res = s2.evaluate()
    tot = s2.totals(res)
    print(json.dumps({"ports": res, "total": tot}, indent=1))
    assert tot["boxes"] == 75
    assert tot["recall"] >= 0.45 and tot["precision"] >= 0.3, tot
    # every hit's lon/lat is within one box of the truth's: the geocoding (EPSG:3857 -> lon/lat) is right
    assert all(r["geocoded_within_one_box"] == 1.0 for r in res.values()), res


@needs_data
def test_cli_detect_optical(tmp_path):
    store = Store.create(tmp_path / "store")
    bands = [str(s2.S2 / f"honolulu_2023-01-08_{b}.tiff") for b in ("B03", "B08")]
    args = ["imagery", "detect", "--optical", *bands, "--store", str(store.root), "--json"]
    res = CliRunner().invoke(app, [*args, "--acquired", "2023-01-08T21:00:00Z"])
    assert res.exit_code == 0, res.output
    det = store.read_table("detections", schema.DETECTIONS)
    assert json.loads(res.output)[0]["detections"] == det.num_rows > 0
    assert set(det["sensor"].to_pylist()) == {"optical"} and set(det["scene_id"].to_pylist()) == {
        "honolulu_2023-01-08"
    }
    assert ((det["lon"].to_numpy() > -157.98) & (det["lon"].to_numpy() < -157.93)).all()
