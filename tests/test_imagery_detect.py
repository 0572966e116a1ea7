"""SAR detection: synthetic GRD-like scenes with known ships, tiling, AOI, GCP geolocation, land masks, SSDD."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely

rasterio = pytest.importorskip("rasterio", reason="the imagery extra (rasterio) is not installed")

from typer.testing import CliRunner  # noqa: E402

from supplyline import schema  # noqa: E402
from supplyline.cli import app  # noqa: E402
from supplyline.errors import InputError, UsageError  # noqa: E402
from supplyline.geo import haversine_km  # noqa: E402
from supplyline.imagery.cfar import CfarConfig, cfar_mask, global_threshold_mask  # noqa: E402
from supplyline.imagery.detect import DetectConfig, detect_scene  # noqa: E402
from supplyline.imagery.ghosts import GhostConfig, ghost_mask  # noqa: E402
from supplyline.imagery.landmask import land_mask, polygons  # noqa: E402
from supplyline.imagery.objects import ObjectConfig, find_objects  # noqa: E402
from supplyline.imagery.read import open_scene, parse_aoi  # noqa: E402
from supplyline.simulate.scenes import SceneSpec, random_ships, render_block, write_scene  # noqa: E402
from supplyline.store import Store  # noqa: E402

WHEN = dt.datetime(2024, 3, 1, 21, 19, tzinfo=dt.UTC)
HIT_M = 60.0  # a detection within 60 m (6 px) of a ship's centre is that ship


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[SceneSpec, Path, pa.Table]:
    """2000 x 2000 px at 10 m: coast (500 px of land with bright scatterers), 40 ships, ghosts 300 px away."""
    spec = SceneSpec(height=2000, width=2000, land_cols=500, ghost_offset_px=300, seed=1)
    spec = dataclasses.replace(spec, ships=random_ships(spec, 40, np.random.default_rng(1)))
    path = tmp_path_factory.mktemp("scene") / "syn.tif"
    return spec, path, write_scene(spec, path)


def _score(det: pa.Table, truth: pa.Table) -> dict[str, float]:
    lon, lat = det["lon"].to_numpy(), det["lat"].to_numpy()
    tl, ta = truth["lon"].to_numpy(), truth["lat"].to_numpy()
    if len(lon) == 0:
        return {"precision": 0.0, "recall": 0.0, "n": 0}
    d = haversine_km(lat[:, None], lon[:, None], ta[None], tl[None]) * 1000
    near = d.min(1) <= HIT_M
    j = d.argmin(1)
    ratio = det["length_m"].to_numpy()[near] / truth["length_m"].to_numpy()[j[near]]
    return {
        "precision": float(near.mean()),
        "recall": float((d.min(0) <= HIT_M).mean()),
        "n": len(lon),
        "length_ratio_median": float(np.median(ratio)),
        "length_ratio_p90_abs_log": float(np.percentile(np.abs(np.log(ratio)), 90)),
        "geo_err_m_median": float(np.median(d.min(1)[near])),
    }


def _detect(path: Path, spec: SceneSpec, **kw: object) -> pa.Table:
    land = kw.pop("land", True)
    cfg = kw.pop("cfg", DetectConfig(ghosts=GhostConfig(offset_px=300)))
    is_land = polygons([spec.land_polygon()]) if land else None
    return detect_scene(path, acquired=WHEN, is_land=is_land, cfg=cfg, synthetic=True, **kw)  # type: ignore[arg-type]


def test_synthetic_scene_precision_recall_length_and_geocoding(scene):
    spec, path, truth = scene
    s = _score(_detect(path, spec), truth)
    assert s["precision"] >= 0.95 and s["recall"] >= 0.95, s
    assert 0.9 <= s["length_ratio_median"] <= 1.1 and s["length_ratio_p90_abs_log"] < 0.3, s
    assert s["geo_err_m_median"] < 15, s  # the centroid lands within ~1 px of the hull centre


def test_ghost_suppression_and_land_mask_each_matter(scene):
    spec, path, truth = scene
    no_ghost = _score(_detect(path, spec, cfg=DetectConfig()), truth)
    assert no_ghost["precision"] < 0.6, no_ghost  # each ship leaves two ghosts 300 px up and down
    no_land = _score(_detect(path, spec, land=False), truth)
    assert no_land["precision"] < 0.8, no_land  # bright scatterers on land


def _f1_at_ships(
    spec: SceneSpec, mask: np.ndarray, contrast: np.ndarray, x: np.ndarray, ghosts: GhostConfig | None = None
) -> float:
    """F1 of the objects of ``mask`` against the ships' centres (a hit within 6 px); with ``ghosts`` the
    azimuth ghosts are suppressed first, as ``imagery detect --ghost-px`` does."""
    ob = find_objects(mask, x, contrast, ObjectConfig(min_pixels=3))
    row, col = ob.row, ob.col
    if ghosts is not None and len(row):
        assert ob.peak_value is not None
        real = ~ghost_mask(row, col, ob.peak_value, ob.length_px, ghosts)
        row, col = row[real], col[real]
    if len(row) == 0:
        return 0.0
    rows, cols = np.array([s.row for s in spec.ships]), np.array([s.col for s in spec.ships])
    d = np.hypot(row[:, None] + 0.5 - rows[None], col[:, None] + 0.5 - cols[None])
    p, r = (d.min(1) <= 6).mean(), (d.min(0) <= 6).mean()
    return float(2 * p * r / max(p + r, 1e-9))


def test_cfar_beats_a_global_threshold_across_the_swath():
    """Sea sigma0 falls 10 dB across the swath (S1 IW VV, 30-46 deg incidence) and the vessels are weak
    (-14 to -8 dB: small or wooden hulls): one threshold for the scene fires in near range and misses in far
    range; the ring adapts."""
    spec = SceneSpec(height=1500, width=2000, seed=5)
    ships = random_ships(spec, 40, np.random.default_rng(5))
    rng = np.random.default_rng(6)
    spec = dataclasses.replace(
        spec, ships=tuple(dataclasses.replace(s, rcs_db=float(rng.uniform(-14, -8))) for s in ships)
    )
    x = render_block(spec, 0, spec.height)
    cfar_f1 = _f1_at_ships(spec, *cfar_mask(x, None, CfarConfig(k=6.0, guard=20, train=40)), x)
    # the scene-wide threshold at its best k for this very scene (2-12.5 by 0.5; 0.756 at 6.5 measured)
    ks = np.arange(2.0, 13.0, 0.5)
    global_f1 = max(_f1_at_ships(spec, global_threshold_mask(x, None, k), x, x) for k in ks)
    assert cfar_f1 >= 0.95 and global_f1 < cfar_f1 - 0.2, (cfar_f1, global_f1)


def test_scene_wide_threshold_ties_cfar_on_bright_ships(scene):
    """The coastal scene of the table (land, the 10 dB swath gradient, ghosts; ships -5 to +10 dB): with
    the same land mask and ghost suppression a scene-wide ``mean + k std`` at its best k finds them as well
    as CFAR does: bright hulls clear any threshold across the swath. The gradient costs it on weak vessels
    (the test above)."""
    spec, _, _ = scene
    x = render_block(spec, 0, spec.height)
    land = np.zeros(x.shape, bool)
    land[:, : spec.land_cols] = True
    ghosts = GhostConfig(offset_px=300)
    cfar_f1 = _f1_at_ships(spec, *cfar_mask(x, land, CfarConfig(k=6.0, guard=20, train=40)), x, ghosts)
    by_k = {k: _f1_at_ships(spec, global_threshold_mask(x, land, k), x, x, ghosts) for k in (3.0, 5.0, 8.0)}
    assert cfar_f1 >= 0.98 and by_k[3.0] >= 0.98 and by_k[5.0] >= 0.98, (cfar_f1, by_k)
    assert by_k[8.0] < 0.95, by_k  # the threshold does matter: far-range ships drop out above k ~6


def test_merge_joins_the_fragments_of_one_hull():
    """A hull broken into two bright patches 4 px apart (a big ship at high resolution): with ``merge`` 3 it
    is one object spanning both, measured on the patches' own pixels; without, two."""
    mask = np.zeros((40, 60), bool)
    mask[18:23, 10:30] = mask[18:23, 34:54] = True  # two 5 x 20 px patches along one axis, a 4 px gap
    x = np.where(mask, 10.0, 1.0)
    x[20, 40] = 50.0
    apart = find_objects(mask, x, x, ObjectConfig(min_pixels=3, close=0))
    merged = find_objects(mask, x, x, ObjectConfig(min_pixels=3, close=0, merge=3))
    assert len(apart.row) == 2 and len(merged.row) == 1
    assert merged.n_pixels[0] == 200 and merged.bbox[0] == (18, 10, 23, 54)
    assert 40 <= merged.length_px[0] <= 48  # ~44 px end to end, not one 20 px patch
    assert merged.peak_value is not None and merged.peak_value[0] == pytest.approx(50.0)
    assert merged.mean_contrast is not None
    assert merged.mean_contrast[0] == pytest.approx((199 * 10 + 50) / 200)


def test_tiles_do_not_change_the_answer(scene):
    spec, path, _ = scene
    big = _detect(path, spec, cfg=DetectConfig(ghosts=GhostConfig(offset_px=300), tile=4096))
    small = _detect(path, spec, cfg=DetectConfig(ghosts=GhostConfig(offset_px=300), tile=300))
    assert sorted(big["det_id"].to_pylist()) == sorted(small["det_id"].to_pylist())


def test_aoi_crop_keeps_only_detections_inside(scene):
    spec, path, truth = scene
    lon0, lat1 = spec.lonlat(np.array(0.0), np.array(0.0))
    lon1, lat0 = spec.lonlat(np.array(1000.0), np.array(1000.0))
    aoi = parse_aoi(f"{float(lon0)},{float(lat0)},{float(lon1)},{float(lat1)}")
    det = _detect(path, spec, aoi=aoi)
    assert det.num_rows > 0 and shapely.contains_xy(aoi, det["lon"].to_numpy(), det["lat"].to_numpy()).all()
    inside = shapely.contains_xy(aoi, truth["lon"].to_numpy(), truth["lat"].to_numpy())
    assert det.num_rows == pytest.approx(int(inside.sum()), abs=1)
    with pytest.raises(UsageError, match="does not overlap"):
        _detect(path, spec, aoi=shapely.box(0, 0, 1, 1))
    with pytest.raises(UsageError, match="bbox"):
        parse_aoi("1,2,x,4")


def test_gcp_geolocated_scene_geocodes_like_its_affine_twin(scene, tmp_path):
    """A Sentinel-1 GRD is geolocated by ground control points, not a transform."""
    spec, path, truth = scene
    with rasterio.open(path) as src:
        data, tr = src.read(1), src.transform
    gcps = [
        rasterio.control.GroundControlPoint(row=r, col=c, x=(tr * (c, r))[0], y=(tr * (c, r))[1])
        for r in (0, 1000, 2000)
        for c in (0, 1000, 2000)
    ]
    gcp_path = tmp_path / "gcp.tif"
    with rasterio.open(
        gcp_path, "w", driver="GTiff", width=2000, height=2000, count=1, dtype="float32",
        gcps=gcps, crs="EPSG:4326",
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    assert open_scene(gcp_path).kind == "gcp"
    s = _score(_detect(gcp_path, spec), truth)
    assert s["precision"] >= 0.95 and s["recall"] >= 0.95 and s["geo_err_m_median"] < 15, s


def test_unreadable_or_ungeolocated_scenes_say_so(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputError, match="cannot read scene"):
        open_scene(tmp_path / "x.tif")
    with rasterio.open(
        tmp_path / "plain.tif", "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8"
    ) as d:
        d.write(np.zeros((4, 4), np.uint8), 1)
    with pytest.raises(InputError, match="no geolocation"):
        open_scene(tmp_path / "plain.tif")


def test_block_refined_land_mask_equals_pixel_by_pixel():
    poly = shapely.Polygon([(0.1, 0.1), (3.3, 0.7), (2.1, 3.9), (0.4, 2.2)])
    test = polygons([poly])

    def lonlat(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return c / 10.0, r / 10.0

    fast = land_mask((47, 53), lonlat, test, step=8)
    rr, cc = np.meshgrid(np.arange(47) + 0.5, np.arange(53) + 0.5, indexing="ij")
    brute = shapely.contains_xy(poly, cc / 10.0, rr / 10.0)
    assert fast.sum() > 100 and (fast == brute).all()


@pytest.mark.slow
def test_packaged_coastline_knows_rajin_harbour():
    pytest.importorskip("roaring_landmask")
    from supplyline.imagery.landmask import coastline

    is_land = coastline("osm")
    # harbour water inside the breakwater, open sea, the town, the hills behind
    got = is_land(np.array([130.300, 130.30, 130.290, 130.25]), np.array([42.235, 42.20, 42.255, 42.30]))
    assert got.tolist() == [False, False, True, True]


def test_cli_detect_into_the_store(scene, tmp_path):
    spec, path, truth = scene
    land = tmp_path / "land.geojson"
    land.write_text(
        json.dumps({"type": "Feature", "geometry": shapely.geometry.mapping(spec.land_polygon())})
    )
    store = Store.create(tmp_path / "store")
    args = [
        "imagery",
        "detect",
        str(path),
        "--store",
        str(store.root),
        "--land",
        str(land),
        "--coastline",
        "none",
    ]
    res = CliRunner().invoke(app, [*args, "--ghost-px", "300", "--synthetic", "--json"])
    # the synthetic GeoTIFF does not state its acquisition time (main() turns this into exit code 2)
    assert isinstance(res.exception, UsageError) and "--acquired" in str(res.exception)
    res = CliRunner().invoke(
        app, [*args, "--ghost-px", "300", "--acquired", "2024-03-01T21:19:00Z", "--json"]
    )
    assert res.exit_code == 0, res.output
    det = store.read_table("detections", schema.DETECTIONS)
    assert json.loads(res.output)[0]["detections"] == det.num_rows
    assert _score(det, truth)["recall"] >= 0.95
    assert det["ts"][0].as_py() == WHEN
    # the footprint searched is recorded (an empty pass still counts for the berths), and holds every detection
    (sc,) = store.read_table("scenes", schema.SCENES).to_pylist()
    assert sc["ts"] == WHEN and sc["sensor"] == "sar" and sc["scene_id"] == det["scene_id"][0].as_py()
    assert sc["lon_min"] <= pc.min(det["lon"]).as_py() and pc.max(det["lon"]).as_py() <= sc["lon_max"]
    assert sc["lat_min"] <= pc.min(det["lat"]).as_py() and pc.max(det["lat"]).as_py() <= sc["lat_max"]


def test_ssdd_chips_cfar_vs_global_threshold():
    """Real SAR chips (RadarSat-2, TerraSAR-X, Sentinel-1; test fixture, never shipped), both detectors with
    the parameters bench/ssdd_cv.py chooses on all chips (these are in-sample figures; the cross-validated
    ones, the claim, are in docs/imagery.md). On these contrast-stretched chips the tuned global threshold
    is ahead of two-parameter CFAR: the test pins that finding, so a change that reverses it must re-run
    the bench and rewrite the docs."""
    sys.path.insert(0, str(Path(__file__).parent))
    import imagery_ssdd as ssdd

    if not ssdd.SSDD.exists():
        pytest.skip(
            f"SSDD chips not found at {ssdd.SSDD} (shared/data/ssdd_sar_ship_chips): the test needs them"
        )
    res = ssdd.evaluate(("global", "fixed", "cfar"))
    print(json.dumps(res, indent=1))
    cfar, naive = res["cfar"], res["global"]
    assert (cfar["inshore"]["boxes"], cfar["offshore"]["boxes"]) == (47, 486)
    # the figures measured (docs/imagery.md, "Measured on the SSDD chips"), to within 0.01
    assert naive["offshore"]["precision"] >= 0.855 and naive["offshore"]["recall"] >= 0.75, naive
    assert naive["all"]["f1"] >= 0.783 and naive["all"]["strict_f1"] >= 0.782, naive
    assert cfar["offshore"]["precision"] >= 0.895 and cfar["offshore"]["recall"] >= 0.694, cfar
    assert cfar["all"]["f1"] >= 0.749, cfar
    # merging fragments within 6 px keeps the global threshold's split hulls from counting twice
    assert naive["offshore"]["strict_precision"] >= naive["offshore"]["precision"] - 0.01, naive
    # the documented finding: CFAR does not beat the tuned global threshold on these chips
    assert cfar["all"]["f1"] < naive["all"]["f1"], (
        "CFAR now beats the global threshold: update docs/imagery.md"
    )
    # ... but that threshold adapts to each chip; one fixed 8-bit level for every chip (level 180, merge 6,
    # >= 20 px) is the naive one, and CFAR beats it (F1 0.700 against 0.759 measured)
    fixed = res["fixed"]
    assert fixed["all"]["f1"] <= 0.71 and cfar["all"]["f1"] >= fixed["all"]["f1"] + 0.04, (fixed, cfar)


def test_ssdd_mosaics_cfar_vs_scene_wide_threshold():
    """The SSDD chips tiled into mosaics of ~9 chips of one fold (seed 1, the bench's), so one image holds
    several clutter regimes as a wide swath does: one ``mean + k std`` over the whole mosaic (the naive
    analyst's threshold) against two-parameter CFAR over the same mosaic, each object scored on the chip it
    falls in; parameters: bench/ssdd_cv.py's all-chip choices (in-sample; the held-out figures per seed
    are in docs/imagery.md)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import imagery_ssdd as ssdd

    if not ssdd.SSDD.exists():
        pytest.skip(
            f"SSDD chips not found at {ssdd.SSDD} (shared/data/ssdd_sar_ship_chips): the test needs them"
        )
    res = ssdd.evaluate_mosaics(seed=1, folds=(0, 1, 2, 3, 4))
    print(json.dumps(res, indent=1))
    cfar, scene_wide, fixed = res["cfar"], res["global"], res["fixed"]
    assert (cfar["inshore"]["boxes"], cfar["offshore"]["boxes"]) == (47, 486)
    # measured (in-sample): F1 all / offshore, scene-wide 0.701 / 0.730, fixed level 0.701 / 0.717, CFAR
    # 0.766 / 0.766; each margin less a 0.02 safety gap (held-out, the 3 seeds: +0.010 to +0.054 over all)
    assert scene_wide["all"]["f1"] <= 0.71 and fixed["all"]["f1"] <= 0.71, (scene_wide, fixed)
    assert cfar["all"]["f1"] >= scene_wide["all"]["f1"] + 0.045, (cfar, scene_wide)
    assert cfar["offshore"]["f1"] >= scene_wide["offshore"]["f1"] + 0.016, (cfar, scene_wide)
    assert cfar["all"]["f1"] >= fixed["all"]["f1"] + 0.045, (cfar, fixed)
    # inshore, the mosaic's one threshold sits above the dark sea next to bright land: 0.298 recall, CFAR 0.872
    assert cfar["inshore"]["recall"] >= scene_wide["inshore"]["recall"] + 0.4, (cfar, scene_wide)
