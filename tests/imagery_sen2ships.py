"""Sentinel-2 port scenes with 75 boxed ships (sen2ships, MIT; Copernicus Sentinel data 2023), shared by the
test and docs/imagery.md. A detection is a hit when its centroid lies in a box (1 px margin); precision = hits /
detections, recall = boxes hit / boxes; geocoding: every hit's lon/lat lies within one box diagonal of the
box centre's lon/lat given in boxes_lonlat.csv (computed by the data's curator from the GeoTIFF tags)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from supplyline.geo import haversine_km
from supplyline.imagery.optical import OpticalConfig, band_of, detect_optical
from supplyline.imagery.read import open_scene

S2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sen2ships_s2_us_ports"
if not S2.exists():
    S2 = Path("/work/shared/data/sen2ships_s2_us_ports")
PORTS = {"honolulu": "2023-01-08", "san_francisco": "2023-04-14", "los_angeles": "2023-07-12"}


def boxes() -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = defaultdict(list)
    with (S2 / "boxes_lonlat.csv").open() as fh:
        for r in csv.DictReader(fh):
            out[r["port"]].append({k: float(v) for k, v in r.items() if k not in ("port", "date")})
    return out


def evaluate(cfg: OpticalConfig | None = None) -> dict[str, dict[str, float]]:
    out = {}
    for port, date in PORTS.items():
        files = sorted(S2.glob(f"{port}_{date}_B*.tiff"))
        bands = {}
        for f in files:
            scene = open_scene(f)
            bands[band_of(f)] = scene.read((0, 0, *scene.shape)).astype(np.float64)
        ob, rule = detect_optical(bands, cfg)
        lon, lat = scene.lonlat(ob.row + 0.5, ob.col + 0.5)
        bx = boxes()[port]
        hits, boxes_hit, geo_ok = 0, set(), []
        for r, c, lo, la in zip(ob.row + 0.5, ob.col + 0.5, lon, lat, strict=True):
            inside = [
                i for i, b in enumerate(bx)
                if b["bbox_x"] - 1 <= c <= b["bbox_x"] + b["bbox_w"] + 1 and b["bbox_y"] - 1 <= r <= b["bbox_y"] + b["bbox_h"] + 1
            ]  # fmt: skip
            hits += bool(inside)
            boxes_hit.update(inside)
            for i in inside:
                d = float(haversine_km(la, lo, bx[i]["lat"], bx[i]["lon"])) * 1000
                geo_ok.append(d <= np.hypot(bx[i]["bbox_w_m"], bx[i]["bbox_h_m"]))
        out[port] = {
            "rule": rule,
            "bands": "+".join(sorted(bands)),
            "boxes": len(bx),
            "detections": len(ob.row),
            "hits": hits,
            "boxes_hit": len(boxes_hit),
            "geocoded_within_one_box": float(np.mean(geo_ok)) if geo_ok else 1.0,
        }
    return out


def totals(res: dict[str, dict[str, float]]) -> dict[str, float]:
    d = sum(r["detections"] for r in res.values())
    h = sum(r["hits"] for r in res.values())
    b = sum(r["boxes"] for r in res.values())
    bh = sum(r["boxes_hit"] for r in res.values())
    return {"precision": h / max(d, 1), "recall": bh / b, "boxes": b, "detections": d}
