"""Tune the SAR detectors on the SSDD chips honestly: parameters chosen on one half, scored on the other.

The chips (a test fixture, never copied into the project) are split in two folds by their sorted name
(even/odd). For every detector - the naive global threshold, two-parameter CFAR, K-distribution CFAR - each
parameter grid point is scored on every chip once; the best point by pooled F1 on fold A is reported on fold
B and vice versa (2-fold cross-validation), offshore and inshore separately. A hit = a detection centroid
inside a ship box (3 px margin), as in tests/imagery_ssdd.py.

    python bench/ssdd_tune.py --out /tmp/ssdd_tune.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import imagery_ssdd as ssdd
from supplyline.imagery.cfar import CfarConfig, cfar_mask, global_threshold_mask
from supplyline.imagery.objects import ObjectConfig

GUARDS = [(20, 40), (30, 50), (40, 60)]
OBJECTS = [ObjectConfig(min_pixels=m, close=c) for m, c in ((10, 1), (20, 1), (40, 1), (20, 2), (20, 3))]


def grids() -> dict[str, list[dict[str, Any]]]:
    """Every detector's parameter grid (input transform + config)."""
    two = [
        {"k": k, "guard": g, "train": t, "sd_floor": f}
        for k, (g, t), f in itertools.product((4.0, 5.0, 6.0, 7.0), GUARDS, (1.0, 1.5))
    ]
    kd = [
        {"method": "k", "pfa": p, "looks": lk, "guard": g, "train": t, "sd_floor": f}
        for p, lk, (g, t), f in itertools.product((1e-4, 1e-6, 1e-8), (1.0, 4.0), GUARDS[::2], (1.0,))
    ]
    return {"global": [{"k": k} for k in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0)], "kdist": kd, "cfar": two}


def mask_of(
    detector: str, p: dict[str, Any], x: np.ndarray, land: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if detector == "global":
        return global_threshold_mask(x, land, p["k"]), x
    base = replace(ssdd.CFAR, **p)
    if detector == "kdist":
        mask, _ = cfar_mask(x * x, land, base)  # K clutter models intensity: square the amplitude
        _, contrast = cfar_mask(x, land, CfarConfig(k=5.0, guard=base.guard, train=base.train, block=1))
        return mask, contrast
    return cfar_mask(x, land, base)


def tally(detector: str, p: dict[str, Any], data: list[tuple[Any, ...]]) -> np.ndarray:
    """Counts [object config, fold, inshore?, (hits, detections, boxes hit, boxes)] for one grid point."""
    out = np.zeros((len(OBJECTS), 2, 2, 4))
    for fold, x, land, bx in data:
        mask, contrast = mask_of(detector, p, x, land)
        for j, oc in enumerate(OBJECTS):
            out[j, fold, int(land.any())] += ssdd.score_objects(mask, x, contrast, oc, bx)
    return out


def prf(c: np.ndarray) -> dict[str, float]:
    h, d, bh, b = c
    p, r = h / max(d, 1), bh / max(b, 1)
    return {
        "precision": round(p, 3),
        "recall": round(r, 3),
        "f1": round(2 * p * r / max(p + r, 1e-9), 3),
        "detections": int(d),
        "boxes": int(b),
    }


def cross_validate(results: list[tuple[dict[str, Any], np.ndarray]]) -> dict[str, Any]:
    """Best point per tuning fold (pooled F1), scored on the other fold; plus the in-sample best."""
    out: dict[str, Any] = {}
    for tune in (0, 1):
        test = 1 - tune
        best = max(
            ((p, j, c) for p, c in results for j in range(len(OBJECTS))),
            key=lambda e: prf(e[2][e[1], tune].sum(axis=0))["f1"],
        )
        p, j, c = best
        out[f"tuned_on_{'AB'[tune]}"] = {
            "params": p | {"min_pixels": OBJECTS[j].min_pixels, "close": OBJECTS[j].close},
            "tune_f1": prf(c[j, tune].sum(axis=0))["f1"],
            "test": {k: prf(c[j, test, i]) for k, i in (("offshore", 0), ("inshore", 1))},
        }
    # held-out pooled over both folds: each fold scored with the parameters tuned on the other
    pooled = {}
    for k, i in (("offshore", 0), ("inshore", 1)):
        tot = np.zeros(4)
        for tune in (0, 1):
            p = out[f"tuned_on_{'AB'[tune]}"]["params"]
            c = next(
                c
                for q, c in results
                if q == {kk: v for kk, v in p.items() if kk not in ("min_pixels", "close")}
            )
            j = next(
                j for j, o in enumerate(OBJECTS) if (o.min_pixels, o.close) == (p["min_pixels"], p["close"])
            )
            tot += c[j, 1 - tune, i]
        pooled[k] = prf(tot)
    out["held_out_both_folds"] = pooled
    p, j, c = max(
        ((p, j, c) for p, c in results for j in range(len(OBJECTS))),
        key=lambda e: prf(e[2][e[1]].sum(axis=(0, 1)))["f1"],
    )
    out["in_sample_best"] = {
        "params": p | {"min_pixels": OBJECTS[j].min_pixels, "close": OBJECTS[j].close},
        "all_chips": {k: prf(c[j, :, i].sum(axis=0)) for k, i in (("offshore", 0), ("inshore", 1))},
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("ssdd_tune.json"))
    ap.add_argument("--only", choices=["global", "cfar", "kdist"], action="append")
    a = ap.parse_args()
    names = sorted(ssdd.boxes())
    bxs = ssdd.boxes()
    data = []
    for i, n in enumerate(names):
        x = ssdd.chip(n)
        data.append((i % 2, x, ssdd.land_of(x), bxs[n]))
    report: dict[str, Any] = {"chips": len(names), "objects_grid": [asdict(o) for o in OBJECTS]}
    for det, grid in grids().items():
        if a.only and det not in a.only:
            continue
        t0 = time.process_time()
        results = [(p, tally(det, p, data)) for p in grid]
        report[det] = cross_validate(results) | {
            "grid_points": len(grid) * len(OBJECTS),
            "cpu_s": round(time.process_time() - t0, 1),
        }
        print(det, json.dumps(report[det], indent=1), flush=True)
    a.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
