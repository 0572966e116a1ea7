"""SSDD chip evaluation shared by the test and docs/imagery.md (the chips are a test fixture, never shipped).

A chip is *inshore* when it holds land: a bright region (9x9 mean amplitude > 4x the chip median) of at
least 3,000 px that touches the chip border and spans at least 35 % of its width or height (ships are
compact and seldom span a chip). That region is the land mask given to both detectors. A detection is a hit
when its centroid lies inside a ship box (3 px margin); precision = hits / detections, recall = boxes with a
hit / boxes; strict precision counts only one hit per box (a hull split in two is one hit and one false alarm).
"""

from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from supplyline.imagery.cfar import CfarConfig, cfar_mask, global_threshold_mask
from supplyline.imagery.objects import ObjectConfig, find_objects

SSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ssdd_sar_ship_chips"
if not SSDD.exists():
    SSDD = Path("/work/shared/data/ssdd_sar_ship_chips")

# the parameters bench/ssdd_cv.py chooses on all chips by F1 (its cross-validated figures are the claim)
CFAR = CfarConfig(k=5.0, guard=40, train=60, sd_floor=1.5, min_water=0.05, censor=2, block=1)
OBJECTS = ObjectConfig(min_pixels=40, close=1)
GLOBAL_K = 6.0
GLOBAL_OBJECTS = ObjectConfig(min_pixels=20, close=1, merge=6)
# the naive baselines: one 8-bit level for every chip, and mean + k std over a whole mosaic of chips; and CFAR
# over the same mosaics (bench/ssdd_cv.py's all-chip choices, mosaic seed 1)
FIXED_LEVEL = 180.0
FIXED_OBJECTS = ObjectConfig(min_pixels=20, close=1, merge=6)
MOSAIC_GLOBAL_K = 3.0
MOSAIC_GLOBAL_OBJECTS = ObjectConfig(min_pixels=40, close=1, merge=6)
MOSAIC_CFAR = CfarConfig(k=7.0, guard=40, train=60, sd_floor=0.5, min_water=0.05, censor=2, block=1)
MOSAIC_OBJECTS = ObjectConfig(min_pixels=5, close=1, merge=6)


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


def inbox(row: np.ndarray, col: np.ndarray, boxes: np.ndarray, margin: float = 3.0) -> np.ndarray:
    """(objects, boxes): the object's centroid lies inside the box (xmin, ymin, xmax, ymax) grown by
    ``margin`` px."""
    x0, y0, x1, y1 = (boxes[:, i][None] for i in range(4))
    c, r = col[:, None], row[:, None]
    return np.asarray((x0 - margin <= c) & (c <= x1 + margin) & (y0 - margin <= r) & (r <= y1 + margin))


def counts(keep: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """(points, 5): hits, detections, boxes hit, boxes, strict hits, for ``keep`` (objects, points: the
    object is reported) and ``hit`` (objects, boxes). Strict hits count one detection per box (a second
    detection of the same ship is a false alarm there)."""
    k = keep.astype(np.float64)
    hits = k[hit.any(axis=1)].sum(axis=0)
    det = k.sum(axis=0)
    boxes_hit = ((hit.T.astype(np.float64) @ k) > 0).sum(axis=0)
    return np.stack(
        [hits, det, boxes_hit, np.full_like(det, hit.shape[1]), np.minimum(hits, boxes_hit)], axis=1
    )


def prf(c: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 (and their strict forms) of pooled counts."""
    h, d, bh, b, strict = (float(v) for v in c)
    p, r, ps = h / max(d, 1), bh / max(b, 1), strict / max(d, 1)
    return {
        "precision": round(p, 3),
        "recall": round(r, 3),
        "f1": round(2 * p * r / max(p + r, 1e-9), 3),
        "strict_precision": round(ps, 3),
        "strict_f1": round(2 * ps * r / max(ps + r, 1e-9), 3),
        "detections": int(d),
        "boxes": int(b),
    }


def detect(
    method: str, x: np.ndarray, land: np.ndarray, mosaic: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the objects ``method`` (``global``, ``fixed`` or ``cfar``) reports on one chip, or with
    ``mosaic`` on one mosaic of chips (``global`` is then scene-wide; the parameters chosen there)."""
    if method == "global":
        k, objects = (MOSAIC_GLOBAL_K, MOSAIC_GLOBAL_OBJECTS) if mosaic else (GLOBAL_K, GLOBAL_OBJECTS)
        ob = find_objects(global_threshold_mask(x, land, k), x, x, objects)
    elif method == "fixed":
        ob = find_objects(~land & (x > FIXED_LEVEL), x, x, FIXED_OBJECTS)
    else:
        cfg, objects = (MOSAIC_CFAR, MOSAIC_OBJECTS) if mosaic else (CFAR, OBJECTS)
        mask, contrast = cfar_mask(x, land, cfg)
        ob = find_objects(mask, x, contrast, objects)
    return ob.row, ob.col


def owners(owner: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """The chip (position in the mosaic) each object at (row, col) counts for."""
    h, w = owner.shape
    r = np.clip(np.round(row).astype(np.int64), 0, h - 1)
    c = np.clip(np.round(col).astype(np.int64), 0, w - 1)
    return np.asarray(owner[r, c])


def evaluate_mosaics(
    seed: int, folds: tuple[int, ...], methods: tuple[str, ...] = ("global", "fixed", "cfar")
) -> dict[str, dict[str, dict[str, float]]]:
    """Precision/recall of each method over the mosaics (``mosaic_groups(seed)``) of the given folds, each
    object scored on the chip it falls in; pooled inshore, offshore and all."""
    bx = boxes()
    xs = {n: chip(n) for n in sorted(bx)}
    lands = {n: land_of(x) for n, x in xs.items()}
    fold = deal_folds({n: bool(v.any()) for n, v in lands.items()})
    tally = {m: {k: np.zeros(5) for k in ("inshore", "offshore")} for m in methods}
    for group in mosaic_groups(fold, seed):
        if fold[group[0]] not in folds:
            continue
        mos = mosaic([xs[n] for n in group], [lands[n] for n in group])
        for m in methods:
            row, col = detect(m, mos.x, mos.land, mosaic=True)
            own = owners(mos.owner, row, col)
            for j, (n, (r0, c0)) in enumerate(zip(group, mos.offsets, strict=True)):
                sel = own == j
                hit = inbox(row[sel] - r0, col[sel] - c0, np.array(bx[n], np.float64))
                kind = "inshore" if lands[n].any() else "offshore"
                tally[m][kind] += counts(np.ones((int(sel.sum()), 1), bool), hit)[0]
    return {
        m: {k: prf(c) for k, c in t.items()} | {"all": prf(t["inshore"] + t["offshore"])}
        for m, t in tally.items()
    }


def evaluate(methods: tuple[str, ...] = ("global", "cfar")) -> dict[str, dict[str, dict[str, float]]]:
    """Precision/recall of each method on every chip, pooled inshore, offshore and all."""
    tally = {m: {k: np.zeros(5) for k in ("inshore", "offshore")} for m in methods}
    for name, bx in boxes().items():
        x = chip(name)
        land = land_of(x)
        kind = "inshore" if land.any() else "offshore"
        for m in methods:
            row, col = detect(m, x, land)
            hit = inbox(row, col, np.array(bx, np.float64))
            tally[m][kind] += counts(np.ones((len(row), 1), bool), hit)[0]
    return {
        m: {k: prf(c) for k, c in t.items()} | {"all": prf(t["inshore"] + t["offshore"])}
        for m, t in tally.items()
    }


@dataclass
class Mosaic:
    """Chips tiled into one image, as a wide swath holds several clutter regimes.

    ``x`` is NaN (no data, as outside a GRD's swath) where the chips of a row or column are smaller than the
    largest: no pixel is invented or resampled. ``owner`` gives every pixel the position (in the order given)
    of the chip whose grid cell holds it, so a detection in a cell's no-data corner is that chip's.
    """

    x: np.ndarray
    land: np.ndarray
    owner: np.ndarray
    offsets: list[tuple[int, int]]  # (row, col) of each chip's top-left corner


def mosaic(chips: list[np.ndarray], lands: list[np.ndarray], cols: int = 3) -> Mosaic:
    """Tile ``chips`` row by row, ``cols`` to a row; each row as tall and each column as wide as its largest."""
    n = len(chips)
    heights = [max(c.shape[0] for c in chips[r : r + cols]) for r in range(0, n, cols)]
    widths = [max(c.shape[1] for c in chips[j::cols]) for j in range(min(cols, n))]
    row0, col0 = np.cumsum([0, *heights]), np.cumsum([0, *widths])
    x = np.full((int(row0[-1]), int(col0[-1])), np.nan)
    land = np.zeros(x.shape, bool)
    owner = np.zeros(x.shape, np.int32)
    offsets = []
    for i, (c, lm) in enumerate(zip(chips, lands, strict=True)):
        r, j = divmod(i, cols)
        r0, c0 = int(row0[r]), int(col0[j])
        owner[r0 : r0 + heights[r], c0 : c0 + widths[j]] = i
        x[r0 : r0 + c.shape[0], c0 : c0 + c.shape[1]] = c
        land[r0 : r0 + c.shape[0], c0 : c0 + c.shape[1]] = lm
        offsets.append((r0, c0))
    return Mosaic(x, land, owner, offsets)


def mosaic_groups(folds: dict[str, int], seed: int, size: int = 9) -> list[list[str]]:
    """Chip names dealt into mosaics of about ``size``: each fold's chips shuffled (seeded) and cut into
    near-equal groups, so a mosaic holds chips of one fold only."""
    rng = np.random.default_rng(seed)
    groups = []
    for f in sorted(set(folds.values())):
        names = sorted(n for n, g in folds.items() if g == f)
        shuffled = [names[i] for i in rng.permutation(len(names))]
        parts = np.array_split(np.arange(len(names)), max(1, round(len(names) / size)))
        groups += [[shuffled[i] for i in part] for part in parts]
    return groups


def deal_folds(inshore: dict[str, bool], folds: int = 5) -> dict[str, int]:
    """Chip name -> fold, stratified: offshore and inshore chips each dealt in turn by sorted name (the
    inshore ones starting at fold 2), so every fold holds inshore chips."""
    out = {}
    for kind in (False, True):
        for i, name in enumerate(sorted(n for n, v in inshore.items() if v == kind)):
            out[name] = (i + 2 * kind) % folds
    return out
