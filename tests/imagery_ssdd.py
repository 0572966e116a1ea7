"""SSDD chip evaluation shared by the test and docs/imagery.md (the chips are a test fixture, never shipped).

A chip is *inshore* when it holds land: a bright region (9x9 mean amplitude > 4x the chip median) of at
least 3,000 px that touches the chip border and spans at least 35 % of its width or height (ships are
compact and seldom span a chip). That region is the land mask given to both detectors. A detection is a hit
when its centroid lies inside a ship box (3 px margin); precision = hits / detections, recall = boxes with a
hit / boxes.
"""

from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage

from supplyline.imagery.cfar import CfarConfig, cfar_mask, global_threshold_mask
from supplyline.imagery.objects import ObjectConfig, find_objects

SSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ssdd_sar_ship_chips"
if not SSDD.exists():
    SSDD = Path("/work/shared/data/ssdd_sar_ship_chips")

CFAR = CfarConfig(k=5.0, guard=20, train=40, sd_floor=1.0, min_water=0.05, censor=2, block=1)
OBJECTS = ObjectConfig(min_pixels=20)
GLOBAL_K = 5.0


def boxes() -> dict[str, list[tuple[int, int, int, int]]]:
    out: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    with (SSDD / "boxes.csv").open() as fh:
        for r in csv.DictReader(fh):
            out[r["image"]].append((int(r["xmin"]), int(r["ymin"]), int(r["xmax"]), int(r["ymax"])))
    return out


def chip(name: str) -> np.ndarray:
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not georeferenced": the chips have no coordinates
        with rasterio.open(SSDD / "JPEGImages" / name) as ds:
            amp = ds.read(1).astype(np.float64)
    return np.asarray(ndimage.uniform_filter(amp, 3), np.float64)  # 3x3 mean: a 9-look amplitude


def land_of(x: np.ndarray) -> np.ndarray:
    bright = ndimage.uniform_filter(x, 9) > 4 * np.median(x)
    lab, n = ndimage.label(bright)
    if n == 0:
        return np.zeros(x.shape, bool)
    sizes = ndimage.sum_labels(np.ones_like(x), lab, np.arange(1, n + 1))
    edge = set(np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]]).tolist())
    h, w = x.shape
    keep = []
    for i, sl in enumerate(ndimage.find_objects(lab)):
        if sl is None or sizes[i] < 3000 or (i + 1) not in edge:
            continue
        if sl[0].stop - sl[0].start >= 0.35 * h or sl[1].stop - sl[1].start >= 0.35 * w:
            keep.append(i + 1)
    return np.asarray(ndimage.binary_dilation(np.isin(lab, keep), iterations=2), bool)


def score_objects(
    mask: np.ndarray,
    x: np.ndarray,
    contrast: np.ndarray,
    cfg: ObjectConfig,
    bx: list[tuple[int, int, int, int]],
) -> np.ndarray:
    """[hits, detections, boxes hit, boxes] of the objects of ``mask`` on one chip."""
    ob = find_objects(mask, x, contrast, cfg)
    hit_boxes: set[int] = set()
    hits = 0
    for r, c in zip(ob.row, ob.col, strict=True):
        inside = [
            i for i, (x0, y0, x1, y1) in enumerate(bx) if x0 - 3 <= c <= x1 + 3 and y0 - 3 <= r <= y1 + 3
        ]
        hits += bool(inside)
        hit_boxes.update(inside)
    return np.array([hits, len(ob.row), len(hit_boxes), len(bx)], np.float64)


def evaluate(method: str) -> dict[str, dict[str, float]]:
    """Precision/recall of ``cfar`` or ``global`` on every chip, split inshore/offshore."""
    tally = {k: np.zeros(4) for k in ("inshore", "offshore")}  # hits, detections, boxes hit, boxes
    for name, bx in boxes().items():
        x = chip(name)
        land = land_of(x)
        if method == "cfar":
            mask, contrast = cfar_mask(x, land, CFAR)
        else:
            mask, contrast = global_threshold_mask(x, land, GLOBAL_K), x
        tally["inshore" if land.any() else "offshore"] += score_objects(mask, x, contrast, OBJECTS, bx)
    out = {}
    for kind, (h, d, bh, b) in tally.items():
        p, r = h / max(d, 1), bh / max(b, 1)
        out[kind] = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / max(p + r, 1e-9),
            "boxes": b,
            "detections": d,
        }
    return out
