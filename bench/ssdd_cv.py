"""SAR detectors on the SSDD chips, measured honestly: 5-fold cross-validation, pooled held-out counts.

The chips (a test fixture, never copied into the project) are dealt into 5 folds, inshore and offshore chips
each in turn by sorted name (stratified: every fold holds inshore chips). For each detector every parameter
point is scored on every chip once; for each fold the point with the best pooled F1 on the other four folds
scores that fold, and the held-out counts of the 5 folds are pooled, so every chip (all 47 inshore boxes,
all 486 offshore) is scored once by parameters that never saw it. A hit = a detection centroid inside a ship
box (3 px margin); "strict" precision counts a second detection in the same box as a false alarm.

Detectors on the chips: the per-chip threshold (``mean + k std`` of the chip's water, named "global" here:
one threshold per chip, which on these ~500 px crops is already local; ``k`` and the object stage - closing,
merging fragments, minimum size - chosen in the training folds), the same without merging, one fixed 8-bit
level for every chip ("fixed", a naive global threshold), two-parameter CFAR and K-distribution CFAR (the
same object stage, no merging), and the pipeline: a permissive CFAR prescreen, fragments merged, then a
rule-based discriminator on object features (``object_features`` below; an experiment kept here, not in
the package) whose thresholds are chosen in the training folds.

Detectors on mosaics ("mosaic-*", once per ``--seeds`` seed): each fold's chips shuffled and tiled 3 to a
row into mosaics of ~9 (no resampling; NaN, i.e. no data, where chips of a row or column are smaller), so
one image holds several clutter regimes as a wide swath does; a mosaic holds one fold's chips only. The
scene-wide threshold (``mean + k std`` over the whole mosaic's water), two-parameter CFAR and K-distribution
CFAR run over the whole mosaic; each object is scored on the chip whose cell it falls in, so the folds,
the per-chip counts and the scoring are the chips'.

Each selection criterion (F1, strict F1) has its own run of the folds. The F1 difference of the COMPARE
pairs (detector minus baseline) carries a 95 % paired bootstrap interval (2,000 resamples of the held-out
per-chip counts: over chips, or over whole mosaics when a mosaic detector is involved). Results and
reading: docs/imagery.md, bench/RESULTS.md.

    python bench/ssdd_cv.py                 # the held-out tables (~24 min CPU, 3 mosaic seeds)
    python bench/ssdd_cv.py --only fixed --only mosaic-global --only mosaic-cfar --seeds 1
    python bench/ssdd_cv.py --json out.json # and every fold's chosen parameters
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from scipy import ndimage

import imagery_ssdd as ssdd
from imagery_ssdd import counts, inbox, prf
from supplyline.imagery.cfar import CfarConfig, cfar_mask, global_threshold_mask
from supplyline.imagery.objects import ObjectConfig, Objects, find_objects

FOLDS = 5
RNG_SEED = 15


@dataclass
class Chip:
    name: str
    x: np.ndarray
    land: np.ndarray
    boxes: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax
    inshore: bool
    fold: int


def load_chips(folds: int = FOLDS) -> list[Chip]:
    """Every chip with its land mask, boxes and fold (stratified by inshore/offshore, sorted name)."""
    bx = ssdd.boxes()
    chips = []
    for name in sorted(bx):
        x = ssdd.chip(name)
        land = ssdd.land_of(x)
        chips.append(Chip(name, x, land, np.array(bx[name], np.float64), bool(land.any()), -1))
    fold = ssdd.deal_folds({c.name: c.inshore for c in chips}, folds)
    for c in chips:
        c.fold = fold[c.name]
    return chips


@dataclass
class Scene:
    """What a detector runs on: one chip, or a mosaic of chips of one fold (``members``: chip index, row and
    column offset; ``owner``: per pixel, the position in ``members`` of the chip it counts for)."""

    name: str
    x: np.ndarray
    land: np.ndarray
    fold: int
    members: list[tuple[int, int, int]]
    owner: np.ndarray | None = None
    land_dist: np.ndarray | None = None  # distance to land (px), computed once when a rule needs it


def chip_scenes(chips: list[Chip]) -> list[Scene]:
    return [Scene(c.name, c.x, c.land, c.fold, [(i, 0, 0)]) for i, c in enumerate(chips)]


def mosaic_scenes(chips: list[Chip], seed: int, size: int = 9) -> list[Scene]:
    """The chips tiled 3 to a row into mosaics of ``size`` chips of one fold (seeded groups)."""
    index = {c.name: i for i, c in enumerate(chips)}
    out = []
    for g, names in enumerate(ssdd.mosaic_groups({c.name: c.fold for c in chips}, seed, size)):
        members = [chips[index[n]] for n in names]
        m = ssdd.mosaic([c.x for c in members], [c.land for c in members])
        offs = [(index[n], r, c) for n, (r, c) in zip(names, m.offsets, strict=True)]
        out.append(Scene(f"mosaic{seed}-{g}", m.x, m.land, members[0].fold, offs, m.owner))
    return out


def f1_of(c: np.ndarray) -> np.ndarray:
    """F1 along the last axis of counts (..., 5)."""
    p = c[..., 0] / np.maximum(c[..., 1], 1)
    r = c[..., 2] / np.maximum(c[..., 3], 1)
    return np.asarray(2 * p * r / np.maximum(p + r, 1e-9))


# -- detectors: prescreens (a mask per chip) x rules (thresholds on object features) -------------------------


@dataclass(frozen=True)
class Prescreen:
    # "global" (mean + k std of the image's water), "fixed" (one 8-bit level ``k`` for every image),
    # "cfar" (two-parameter) or "kdist" (K-distribution CFAR on the squared amplitude)
    kind: str
    k: float
    cfar: CfarConfig | None
    objects: ObjectConfig

    def label(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prescreen": self.kind, "level" if self.kind == "fixed" else "k": self.k}
        if self.cfar is not None:
            c = self.cfar
            out |= {"guard": c.guard, "train": c.train, "sd_floor": c.sd_floor}
            out |= {"pfa": c.pfa, "looks": c.looks} if self.kind == "kdist" else {}
        return out | {"close": self.objects.close, "merge": self.objects.merge}


def mask_of(pre: Prescreen, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Target pixels and their contrast (the score input) of one prescreen on one image."""
    if pre.kind == "global":
        return global_threshold_mask(scene.x, scene.land, pre.k), _global_contrast(scene)
    if pre.kind == "fixed":
        return ~scene.land & (scene.x > pre.k), _global_contrast(scene)
    assert pre.cfar is not None
    if pre.kind == "kdist":
        return cfar_mask(scene.x * scene.x, scene.land, pre.cfar)[0], _global_contrast(scene)
    return cfar_mask(scene.x, scene.land, replace(pre.cfar, k=pre.k))


def features_of(
    pre: Prescreen, scene: Scene, cache: dict[Any, Any], full: bool, min_px: int
) -> dict[str, np.ndarray]:
    """Object features of one image under one prescreen (masks cached across object configurations); only
    objects of at least ``min_px`` pixels, the smallest any rule point keeps (the rest cost memory only)."""
    key = (pre.kind, pre.k, pre.cfar, scene.name)
    if key not in cache:
        cache[key] = mask_of(pre, scene)
    mask, contrast = cache[key]
    ob = find_objects(mask, scene.x, contrast, replace(pre.objects, min_pixels=min_px))
    return object_features(ob, scene, full)


def _water(scene: Scene) -> np.ndarray:
    return scene.x[~scene.land & np.isfinite(scene.x)]


def _global_contrast(scene: Scene) -> np.ndarray:
    water = _water(scene)
    return np.asarray((scene.x - water.mean()) / max(float(water.std()), 1e-9))


# -- the discriminator (an experiment: it did not beat the global threshold, so it is not shipped) ------------

# rule name -> feature it bounds ("min_*": feature >= threshold, "max_*": feature <= threshold)
FEATURES = {
    "min_pixels": "n_pixels",
    "min_peak": "peak",
    "min_mean": "mean",
    "min_global": "global",
    "min_land_px": "land_px",
    "max_elongation": "elongation",
}


def object_features(ob: Objects, scene: Scene, full: bool) -> dict[str, np.ndarray]:
    """Per-object features (pixel units): size, peak and mean contrast in local sigmas (the CFAR ring's),
    the peak's contrast against the image's water (``(peak - mean) / std``), centroid distance to land
    (``full`` only: the discriminator's rules), elongation (length / width from the moments)."""
    vals = _water(scene)
    assert ob.peak_value is not None and ob.mean_contrast is not None
    land_px = np.full(len(ob.row), np.inf)
    if full and scene.land.any():
        if scene.land_dist is None:
            scene.land_dist = np.asarray(ndimage.distance_transform_edt(~scene.land), np.float64)
        r = np.clip(np.round(ob.row).astype(np.int64), 0, scene.x.shape[0] - 1)
        c = np.clip(np.round(ob.col).astype(np.int64), 0, scene.x.shape[1] - 1)
        land_px = scene.land_dist[r, c]
    return {
        "row": ob.row,
        "col": ob.col,
        "n_pixels": ob.n_pixels.astype(np.float64),
        "peak": ob.peak,
        "mean": ob.mean_contrast,
        "global": (ob.peak_value - vals.mean()) / max(float(vals.std()), 1e-12),
        "land_px": land_px,
        "elongation": ob.length_px / np.maximum(ob.width_px, 1.0),
    }


def rule_grid(full: bool) -> tuple[list[str], np.ndarray]:
    """Threshold names and points (rows); ``full=False``: object size only (the naive detectors)."""
    if not full:
        return ["min_pixels"], np.array([[v] for v in (5, 10, 20, 30, 40, 60)], np.float64)
    axes = {
        "min_pixels": (5, 10, 20, 30, 40, 60),
        "min_peak": (0, 6, 8, 10, 12, 15),
        "min_mean": (0, 2, 3, 4, 6),
        "min_global": (0, 3, 4, 5, 6, 8),
        "min_land_px": (0, 5, 10, 20),
        "max_elongation": (np.inf, 8),
    }
    return list(axes), np.array(list(itertools.product(*axes.values())), np.float64)


def keep_matrix(feat: dict[str, np.ndarray], names: list[str], grid: np.ndarray) -> np.ndarray:
    """(objects, points): the object passes every threshold of the point."""
    keep = np.ones((len(feat["row"]), len(grid)), bool)
    for j, name in enumerate(names):
        f = feat[FEATURES[name]][:, None]
        keep &= f <= grid[None, :, j] if name.startswith("max_") else f >= grid[None, :, j]
    return keep


@dataclass
class Detector:
    name: str
    prescreens: list[Prescreen]
    full_rules: bool
    on: str = "chips"  # or "mosaics": every prescreen runs over whole mosaics of chips (one fold each)


CRITERIA = ("f1", "strict_f1")


def f1_by(c: np.ndarray, criterion: str) -> np.ndarray:
    """The selection criterion on counts (..., 5): lenient F1, or strict (duplicates are false alarms)."""
    if criterion == "strict_f1":
        c = c.copy()
        c[..., 0] = c[..., 4]
    return f1_of(c)


def split_by_chip(f: dict[str, np.ndarray], scene: Scene) -> list[tuple[int, dict[str, np.ndarray]]]:
    """The objects of one image dealt to the chips they count for, in chip coordinates."""
    if scene.owner is None:
        return [(scene.members[0][0], f)]
    own = ssdd.owners(scene.owner, f["row"], f["col"])
    out = []
    for j, (i, r0, c0) in enumerate(scene.members):
        sel = own == j
        part = {k: v[sel] for k, v in f.items()}
        part["row"], part["col"] = part["row"] - r0, part["col"] - c0
        out.append((i, part))
    return out


def score(det: Detector, chips: list[Chip], scenes: list[Scene]) -> dict[str, dict[str, Any]]:
    """Per selection criterion: cross-validated held-out counts per chip, each fold's choice, the all-chip
    choice and its in-sample figures. ``scenes``: the images the detector runs on (chips or mosaics); its
    objects are scored on the chips they fall in."""
    names, grid = rule_grid(det.full_rules)
    min_px = int(grid[:, names.index("min_pixels")].min())
    cache: dict[Any, Any] = {}
    feats: list[list[Any]] = [[None] * len(det.prescreens) for _ in chips]
    sums = np.zeros((FOLDS, len(det.prescreens), len(grid), 5), np.float64)
    for scene in scenes:
        for p, pre in enumerate(det.prescreens):
            for i, f in split_by_chip(features_of(pre, scene, cache, det.full_rules, min_px), scene):
                hit = inbox(f["row"], f["col"], chips[i].boxes)
                feats[i][p] = (f, hit)
                sums[chips[i].fold, p] += counts(keep_matrix(f, names, grid), hit)
        cache.clear()
    total = sums.sum(axis=0)

    def point(p: int, g: int) -> dict[str, Any]:
        return det.prescreens[p].label() | dict(zip(names, grid[g].tolist(), strict=True))

    def best(c: np.ndarray, criterion: str) -> tuple[int, int]:
        p, g = np.unravel_index(int(np.argmax(f1_by(c, criterion))), c.shape[:2])
        return int(p), int(g)

    out = {}
    for criterion in CRITERIA:
        choice = [best(total - sums[f], criterion) for f in range(FOLDS)]
        held = np.zeros((len(chips), 5))
        for i, chip in enumerate(chips):
            p, g = choice[chip.fold]
            f, hit = feats[i][p]
            held[i] = counts(keep_matrix(f, names, grid[g : g + 1]), hit)[0]
        p_all, g_all = best(total, criterion)
        out[criterion] = {
            "held": held,
            "folds": [point(p, g) for p, g in choice],
            "all_chips": point(p_all, g_all),
            "all_chips_in_sample": prf(total[p_all, g_all]),
        }
    return out


def detectors() -> list[Detector]:
    """The detectors and their grids (every point scored on every chip)."""
    base = CfarConfig(k=5.0, guard=20, train=40, sd_floor=1.0, min_water=0.05, censor=2, block=1)
    guards = [(20, 40), (40, 60)]
    objs = [ObjectConfig(close=1), ObjectConfig(close=2)]
    merges = [ObjectConfig(close=1, merge=m) for m in (0, 3, 6)]
    ks = [float(k) for k in np.arange(3.0, 10.5, 0.5)]
    plain = [
        Prescreen("cfar", k, replace(base, guard=g, train=t, sd_floor=f), o)
        for k, (g, t), f, o in itertools.product((4.0, 5.0, 6.0, 7.0), guards, (1.0, 1.5), objs)
    ]
    kdist = [
        Prescreen("kdist", 0.0, replace(base, method="k", pfa=p, looks=lk, guard=g, train=t), objs[0])
        for p, lk, (g, t) in itertools.product((1e-4, 1e-6), (1.0, 4.0), guards)
    ]
    pipe = [
        Prescreen("cfar", k, replace(base, guard=g, train=t), o)
        for k, (g, t), o in itertools.product((3.0, 4.0), guards, merges)
    ]
    mosaic_cfar = [
        Prescreen("cfar", k, replace(base, guard=g, train=t, sd_floor=f), o)
        for k, (g, t), f, o in itertools.product(
            (4.0, 5.0, 6.0, 7.0, 8.0, 9.0), guards, (0.25, 0.5, 1.0), [*objs, merges[2]]
        )
    ]
    objs4 = [*objs, *merges[1:]]
    scene_wide = [Prescreen("global", k, None, o) for k in ks for o in objs4]
    return [
        Detector("global", scene_wide, False),
        Detector("global-no-merge", [Prescreen("global", k, None, o) for k in ks for o in objs], False),
        Detector(
            "fixed", [Prescreen("fixed", v, None, o) for v in LEVELS for o in [*objs, *merges[1:]]], False
        ),
        Detector("cfar", plain, False),
        Detector("cfar-merge", [replace(p, objects=o) for p in plain[::2] for o in merges[1:]], False),
        Detector("kdist", kdist, False),
        Detector("pipeline", pipe, True),
        Detector(
            "mosaic-global",
            [Prescreen("global", k, None, o) for k in LOW_KS for o in objs4],
            False,
            "mosaics",
        ),
        Detector("mosaic-cfar", mosaic_cfar, False, "mosaics"),
        Detector("mosaic-kdist", kdist, False, "mosaics"),
    ]


# a mosaic's sigma spans several chips' clutter: its best scene-wide k lies under the chips' (3 is chosen
# when the grid starts there), so the mosaic grid starts lower
LOW_KS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0)

# the fixed threshold's levels (8-bit amplitude after the 3x3 mean; the chips' sea medians run 1-42)
LEVELS = (10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 120.0, 140.0, 160.0, 180.0, 200.0, 220.0)

# (detector, baseline) pairs whose held-out F1 difference gets a bootstrap interval; "@" = per mosaic seed
COMPARE = [
    *((d, "global") for d in ("global-no-merge", "fixed", "cfar", "cfar-merge", "kdist", "pipeline")),
    *((d, "fixed") for d in ("cfar", "cfar-merge", "kdist", "pipeline")),
    ("mosaic-cfar@", "mosaic-global@"),
    ("mosaic-kdist@", "mosaic-global@"),
    ("mosaic-cfar@", "fixed"),
    ("mosaic-global@", "global"),
    ("mosaic-cfar@", "cfar"),
]


def bootstrap_diff(
    a: np.ndarray, b: np.ndarray, criterion: str, groups: np.ndarray | None = None, n: int = 2000
) -> dict[str, float]:
    """F1(a) - F1(b) on the pooled held-out per-chip counts, with a 95 % interval over chips resampled
    (the same resample for both detectors: a paired bootstrap). With ``groups`` (a mosaic per chip) whole
    mosaics are resampled: chips sharing a scene-wide threshold are not independent."""
    if groups is not None:
        _, g = np.unique(groups, return_inverse=True)
        a, b = (np.stack([np.bincount(g, v[:, j], g.max() + 1) for j in range(5)], 1) for v in (a, b))
    rng = np.random.default_rng(RNG_SEED)
    idx = rng.integers(0, len(a), size=(n, len(a)))
    diff = f1_by(a[idx].sum(axis=1), criterion) - f1_by(b[idx].sum(axis=1), criterion)
    lo, hi = np.percentile(diff, [2.5, 97.5])
    point = float(f1_by(a.sum(axis=0), criterion) - f1_by(b.sum(axis=0), criterion))
    return {"diff": round(point, 3), "lo": round(float(lo), 3), "hi": round(float(hi), 3)}


def runs(
    a: argparse.Namespace, chips: list[Chip]
) -> list[tuple[str, Detector, list[Scene], np.ndarray | None]]:
    """(name, detector, images, mosaic per chip) of every run asked for: mosaic detectors once per seed."""
    out: list[tuple[str, Detector, list[Scene], np.ndarray | None]] = []
    for det in detectors():
        if a.only and det.name not in a.only:
            continue
        if det.on == "chips":
            out.append((det.name, det, chip_scenes(chips), None))
            continue
        for seed in a.seeds:
            scenes = mosaic_scenes(chips, seed)
            group = np.zeros(len(chips), np.int64)
            for g, sc in enumerate(scenes):
                group[[i for i, _, _ in sc.members]] = g
            out.append((f"{det.name}@{seed}", det, scenes, group))
    return out


def comparisons(
    held: dict[str, np.ndarray], groups: dict[str, np.ndarray | None], seeds: list[int]
) -> list[Any]:
    """(detector, baseline, mosaic per chip or None) for the COMPARE pairs that ran."""
    out = []
    for x, y in COMPARE:
        for seed in seeds if "@" in x + y else [None]:
            xn, yn = (f"{n}{seed}" if n.endswith("@") else n for n in (x, y))
            if xn in held and yn in held:
                out.append((xn, yn, groups.get(xn) if groups.get(xn) is not None else groups.get(yn)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write every fold's chosen parameters here")
    ap.add_argument("--only", action="append", help="detectors to run (names in detectors(); default all)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="mosaic seeds (default 1 2 3)")
    a = ap.parse_args()
    t0 = time.process_time()
    chips = load_chips()
    ins = np.array([c.inshore for c in chips])
    strata = (("offshore", ~ins), ("inshore", ins), ("all", np.ones_like(ins)))
    report: dict[str, Any] = {c: {} for c in CRITERIA}
    held: dict[str, dict[str, np.ndarray]] = {c: {} for c in CRITERIA}
    groups: dict[str, np.ndarray | None] = {}
    for name, det, scenes, group in runs(a, chips):
        t1 = time.process_time()
        groups[name] = group
        for criterion, r in score(det, chips, scenes).items():
            h = held[criterion][name] = r.pop("held")
            r["held_out"] = {k: prf(h[m].sum(axis=0)) for k, m in strata}
            r["cpu_s"] = round(time.process_time() - t1, 1)
            report[criterion][name] = r
        print(name, f"cpu {round(time.process_time() - t1, 1)} s", flush=True)
    for criterion, hs in held.items():
        for x, y, g in comparisons(hs, groups, a.seeds):
            report[criterion][f"{x}_minus_{y}"] = {
                k: bootstrap_diff(hs[x][m], hs[y][m], criterion, None if g is None else g[m])
                for k, m in strata
            }
    report["cpu_s"] = round(time.process_time() - t0, 1)
    for criterion in CRITERIA:
        _print_table(criterion, report[criterion])
    if a.json:
        a.json.write_text(json.dumps(report, indent=1, default=float))


def _print_table(criterion: str, report: dict[str, Any]) -> None:
    print(
        f"\nchosen by {criterion}; held-out (5-fold CV, pooled): P / R / F1 / strict P / strict F1 / detections"
    )
    for name, r in report.items():
        if not isinstance(r, dict) or "held_out" not in r:
            continue
        for kind in ("offshore", "inshore", "all"):
            s = r["held_out"][kind]
            print(
                f"{name:15s} {kind:8s} {s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f} / "
                f"{s['strict_precision']:.3f} / {s['strict_f1']:.3f} / {s['detections']} (boxes {s['boxes']})"
            )
        print(f"{name:15s} chosen per fold: {json.dumps(r['folds'])}")
        print(f"{name:15s} chosen on all chips: {json.dumps(r['all_chips'])}")
    for key, r in report.items():
        if "_minus_" in key:
            print(key, json.dumps(r))


if __name__ == "__main__":
    main()
