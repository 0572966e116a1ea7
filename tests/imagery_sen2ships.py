"""Sentinel-2 port scenes with 75 boxed ships (sen2ships, MIT; Copernicus Sentinel data 2023), shared by the
test, ``bench/optical_sen2ships.py`` and docs/imagery.md.

Scoring: a detection is a hit when its centroid lies in a box (1 px margin); precision = hits / detections,
recall = boxes hit / boxes (strict: every detection counts, boxed or not). The length-cut view counts only
detections of at least ``LENGTH_CUT_M`` (the case's ships are 60-120 m; small craft the annotators did not
box are shorter). Geocoding: every hit's lon/lat lies within one box diagonal of the box centre's lon/lat
given in boxes_lonlat.csv (computed by the data's curator from the GeoTIFF tags).

Held-out protocol (:func:`leave_one_scene_out`): the discrimination thresholds of ``OpticalConfig`` and the
CFAR factor are chosen on two ports by pooled F1 over the grid :func:`grid`, then scored on the third; the
three held-out scores are pooled (sums of detections, hits, boxes hit).
"""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from supplyline.geo import haversine_km
from supplyline.imagery.optical import (
    Candidates,
    OpticalConfig,
    band_of,
    find_candidates,
    keep_vessels,
    subset,
)
from supplyline.imagery.read import Scene, open_scene

S2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sen2ships_s2_us_ports"
if not S2.exists():
    S2 = Path("/work/shared/data/sen2ships_s2_us_ports")
PORTS = {"honolulu": "2023-01-08", "san_francisco": "2023-04-14", "los_angeles": "2023-07-12"}
LENGTH_CUT_M = 25.0
CFAR_K = (4.0, 5.0, 6.0)
SHIPPED = OpticalConfig()


@cache
def boxes() -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = defaultdict(list)
    with (S2 / "boxes_lonlat.csv").open() as fh:
        for r in csv.DictReader(fh):
            out[r["port"]].append({k: float(v) for k, v in r.items() if k not in ("port", "date")})
    return dict(out)


@cache
def scene(port: str) -> tuple[dict[str, np.ndarray], Scene, float]:
    """The port's bands (float64), its last band's Scene (for lon/lat) and the ground pixel size (m)."""
    bands, sc = {}, None
    for f in sorted(S2.glob(f"{port}_{PORTS[port]}_B*.tiff")):
        sc = open_scene(f)
        bands[band_of(f)] = sc.read((0, 0, *sc.shape)).astype(np.float64)
    assert sc is not None, f"no band files for {port} in {S2}"
    return bands, sc, sc.pixel_m()


def boxes_hit_by(port: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(detections x boxes) bool: the detection's centroid (pixel centre coordinates) lies in the box."""
    bx = boxes()[port]
    x0 = np.array([b["bbox_x"] for b in bx]) - 1
    y0 = np.array([b["bbox_y"] for b in bx]) - 1
    x1 = x0 + np.array([b["bbox_w"] for b in bx]) + 2
    y1 = y0 + np.array([b["bbox_h"] for b in bx]) + 2
    r, c = (rows + 0.5)[:, None], (cols + 0.5)[:, None]
    return np.asarray((c >= x0) & (c <= x1) & (r >= y0) & (r <= y1))


@cache
def candidates(port: str, k: float, base: OpticalConfig = SHIPPED) -> tuple[Candidates, np.ndarray]:
    """The port's candidates at CFAR factor ``k`` (other candidate settings from ``base``) and their
    (candidates x boxes) hit matrix."""
    c = find_candidates(scene(port)[0], replace(base, cfar=replace(base.cfar, k=k)))
    return c, boxes_hit_by(port, c.objects.row, c.objects.col)


def counts(inside: np.ndarray, keep: np.ndarray) -> dict[str, int]:
    """Detections, hits and boxes hit of the kept candidates."""
    kept = inside[keep]
    return {
        "detections": int(keep.sum()),
        "hits": int(kept.any(axis=1).sum()),
        "boxes_hit": int(kept.any(axis=0).sum()),
        "boxes": inside.shape[1],
    }


def prf(c: dict[str, int]) -> dict[str, float]:
    p = c["hits"] / max(c["detections"], 1)
    r = c["boxes_hit"] / max(c["boxes"], 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-12)}


def pooled(parts: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(p[k] for p in parts) for k in ("detections", "hits", "boxes_hit", "boxes")}


def grid(base: OpticalConfig = SHIPPED) -> list[OpticalConfig]:
    """The thresholds searched (CFAR factor x discrimination stage; the water and candidate settings from
    ``base``); ``big_pixels`` 10**9 = no big-object rule."""
    big = ((10**9, 0.0), (50, 6.0), (50, 8.0), (100, 6.0), (100, 8.0))
    return [
        replace(
            base,
            cfar=replace(base.cfar, k=k),
            min_pixels=n,
            min_peak_contrast=pk,
            min_ring_water=rw,
            big_pixels=bn,
            big_peak_contrast=bp,
            max_ring_level=lev,
            max_elongation=el,
        )
        for k, n, pk, rw, (bn, bp), lev, el in itertools.product(
            CFAR_K, (3, 5, 8, 12), (8.0, 10.0, 12.0, 15.0, 20.0, 25.0), (0.0, 0.7, 0.9), big,
            (1.0, 2.0, 3.0, 5.0, np.inf), (8.0, 10.0, np.inf),
        )
    ]  # fmt: skip


DISCRIMINATION = (
    "min_pixels", "min_peak_contrast", "big_pixels", "big_peak_contrast", "min_ring_water", "max_ring_level",
    "max_elongation",
)  # fmt: skip


def candidate_settings(cfg: OpticalConfig) -> OpticalConfig:
    """``cfg`` with the discrimination thresholds and the CFAR factor blanked: the key of its candidates."""
    blank = {name: getattr(SHIPPED, name) for name in DISCRIMINATION}
    return replace(cfg, cfar=replace(cfg.cfar, k=0.0), **blank)


def scored(cfg: OpticalConfig, port: str) -> dict[str, dict[str, int]]:
    """Strict counts and length-cut counts of ``cfg`` on one port (cached candidates)."""
    c, inside = candidates(port, cfg.cfar.k, candidate_settings(cfg))
    keep = keep_vessels(c, cfg)
    long_enough = c.objects.length_px * scene(port)[2] >= LENGTH_CUT_M
    return {"strict": counts(inside, keep), "cut": counts(inside, keep & long_enough)}


@dataclass(frozen=True)
class Fold:
    held_out: str
    chosen: OpticalConfig
    train_f1: float
    strict: dict[str, int]
    cut: dict[str, int]


def leave_one_scene_out(base: OpticalConfig = SHIPPED) -> tuple[list[Fold], OpticalConfig]:
    """Per held-out port the grid point with the best pooled F1 on the other two (first of ties), scored on
    the held-out port; and the best point on all three ports (what OpticalConfig's defaults should be)."""
    points = grid(base)
    table = [{p: scored(cfg, p) for p in PORTS} for cfg in points]

    def best(ports: list[str]) -> int:
        f1 = [prf(pooled([row[p]["strict"] for p in ports]))["f1"] for row in table]
        return int(np.argmax(f1))

    folds = []
    for held in PORTS:
        train = [p for p in PORTS if p != held]
        i = best(train)
        f1 = prf(pooled([table[i][p]["strict"] for p in train]))["f1"]
        folds.append(Fold(held, points[i], f1, table[i][held]["strict"], table[i][held]["cut"]))
    return folds, points[best(list(PORTS))]


def evaluate(cfg: OpticalConfig | None = None) -> dict[str, dict[str, Any]]:
    """One config through the whole detector (detect path, not the cached candidates) on every port:
    counts, strict and length-cut scores, and the geocoding check."""
    cfg = cfg or OpticalConfig()
    out = {}
    for port in PORTS:
        bands, sc, px = scene(port)
        c = find_candidates(bands, cfg)
        ob = subset(c.objects, keep_vessels(c, cfg))
        inside = boxes_hit_by(port, ob.row, ob.col)
        lon, lat = sc.lonlat(ob.row + 0.5, ob.col + 0.5)
        strict = counts(inside, np.ones(len(ob.row), bool))
        cut = counts(inside, ob.length_px * px >= LENGTH_CUT_M)
        out[port] = {
            "rule": c.rule,
            "bands": "+".join(sorted(bands)),
            **strict,
            **prf(strict),
            "cut": {**cut, **prf(cut)},
            "geocoded_within_one_box": geocoded_share(port, inside, lon, lat),
        }
    return out


def geocoded_share(port: str, inside: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> float:
    """Share of (hit, box) pairs whose lon/lat lies within one box diagonal of the box centre (1.0 if none)."""
    bx = boxes()[port]
    ok = [
        float(haversine_km(lat[d], lon[d], bx[b]["lat"], bx[b]["lon"])) * 1000
        <= np.hypot(bx[b]["bbox_w_m"], bx[b]["bbox_h_m"])
        for d, b in zip(*np.nonzero(inside), strict=True)
    ]
    return float(np.mean(ok)) if ok else 1.0


def totals(res: dict[str, dict[str, Any]], view: str = "strict") -> dict[str, float]:
    """Pooled counts and P/R/F1 of :func:`evaluate`'s result (``view``: strict or cut)."""
    parts = [r if view == "strict" else r["cut"] for r in res.values()]
    c = pooled(parts)
    return {**c, **prf(c)}
