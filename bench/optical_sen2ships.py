"""Sentinel-2 vessel detection on the sen2ships ports: the per-scene table, the leave-one-scene-out figures,
ablations, and (``--learned``) small learned classifiers under the same protocol.

Strict = every detection counts; ">= 25 m" = only detections measured at 25 m or longer (unboxed small craft
are shorter; the case's ships are 60-120 m). Scoring and protocol: tests/imagery_sen2ships.py.

    python bench/optical_sen2ships.py [--learned] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import imagery_sen2ships as s2
from supplyline.imagery.optical import OpticalConfig

NAMES = {"honolulu": "Pearl Harbor", "san_francisco": "San Francisco", "los_angeles": "LA / Long Beach"}
ABLATIONS = {
    "contrast on B08 or B11 only (the previous detector's bright band)": {"contrast_bands": ("B08", "B11")},
    "small water bodies kept (min_sea_px 0)": {"min_sea_px": 0},
    "no shore margin (edge_px 0)": {"edge_px": 0},
}


def fmt(c: dict[str, int]) -> str:
    s = s2.prf(c)
    return f"{c['detections']:>4} {c['hits']:>4} {c['boxes_hit']:>3}/{c['boxes']:<3} P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}"


def shipped_table() -> dict[str, Any]:
    res = s2.evaluate()
    print("Shipped thresholds (fit on all three ports: IN-SAMPLE)   dets hits boxes")
    for port, r in res.items():
        print(
            f"  {NAMES[port]:<16} {r['bands']:<20} {r['rule']:<9} strict {fmt(r)}  geocoded {r['geocoded_within_one_box']:.0%}"
        )
        print(f"  {'':<47} >=25 m {fmt(r['cut'])}")
    print(f"  {'all':<47} strict {fmt(s2.pooled(list(res.values())))}")
    print(f"  {'':<47} >=25 m {fmt(s2.pooled([r['cut'] for r in res.values()]))}")
    return res


def loso_table(base: OpticalConfig, label: str) -> dict[str, Any]:
    folds, best = s2.leave_one_scene_out(base)
    print(f"Leave-one-scene-out (HELD-OUT), {label}")
    for f in folds:
        ch = f.chosen
        th = (ch.cfar.k, ch.min_pixels, ch.min_peak_contrast, ch.big_pixels, ch.big_peak_contrast,
              ch.min_ring_water, ch.max_ring_level, ch.max_elongation)  # fmt: skip
        print(
            f"  {NAMES[f.held_out]:<16} strict {fmt(f.strict)} | >=25 m {fmt(f.cut)} | train F1 {f.train_f1:.3f} chosen {th}"
        )
    strict, cut = s2.pooled([f.strict for f in folds]), s2.pooled([f.cut for f in folds])
    print(f"  {'pooled':<16} strict {fmt(strict)} | >=25 m {fmt(cut)}")
    return {"folds": [{"held_out": f.held_out, "strict": f.strict, "cut": f.cut, "chosen": asdict(f.chosen)} for f in folds],
            "pooled": {"strict": {**strict, **s2.prf(strict)}, "cut": {**cut, **s2.prf(cut)}}, "best_all": asdict(best)}  # fmt: skip


def learned() -> dict[str, Any]:
    """Random forest, gradient boosting and logistic regression on the candidates' features (CFAR k 4),
    leave-one-scene-out; the probability threshold chosen on the two training ports (inner leave-one-out)."""
    try:
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        print("--learned needs scikit-learn (pip install scikit-learn); skipped")
        return {}
    data = {p: s2.candidates(p, 4.0) for p in s2.PORTS}

    def features(p: str) -> np.ndarray:
        c = data[p][0]
        o = c.objects
        return np.c_[np.log(o.n_pixels), o.length_px, o.width_px, np.log1p(np.maximum(o.peak, 0)), c.ring_water,
                     np.clip(c.ring_level, -10, 20), c.elongation]  # fmt: skip

    def truth(p: str) -> np.ndarray:
        return np.asarray(data[p][1].any(axis=1))

    def score(ports: list[str], probs: list[np.ndarray], th: float) -> dict[str, int]:
        return s2.pooled([s2.counts(data[p][1], pr >= th) for p, pr in zip(ports, probs, strict=True)])

    models = {
        "logistic regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "random forest": lambda: RandomForestClassifier(200, min_samples_leaf=3, random_state=0),
        "gradient boosting": lambda: GradientBoostingClassifier(random_state=0),
    }
    out = {}
    print("Learned classifiers on the same candidates (HELD-OUT, leave-one-scene-out), strict")
    for name, make in models.items():
        parts = []
        for held in s2.PORTS:
            train = [p for p in s2.PORTS if p != held]
            inner = [
                make().fit(features(b), truth(b)).predict_proba(features(a))[:, 1]
                for a, b in (train, train[::-1])
            ]
            th = max(np.linspace(0.05, 0.95, 19), key=lambda t: s2.prf(score(train, inner, t))["f1"])
            model = make().fit(
                np.r_[features(train[0]), features(train[1])], np.r_[truth(train[0]), truth(train[1])]
            )
            parts.append(score([held], [model.predict_proba(features(held))[:, 1]], th))
        total = s2.pooled(parts)
        print(f"  {name:<20} {fmt(total)}")
        out[name] = {**total, **s2.prf(total)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--learned", action="store_true", help="also score small learned classifiers (scikit-learn)"
    )
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    if not s2.S2.exists():
        sys.exit(f"sen2ships scenes not found at {s2.S2}")
    t0 = time.process_time()
    out: dict[str, Any] = {
        "shipped": shipped_table(),
        "loso": loso_table(OpticalConfig(), "shipped candidate settings"),
    }
    out["ablations"] = {
        name: loso_table(replace(OpticalConfig(), **change), name) for name, change in ABLATIONS.items()
    }
    if args.learned:
        out["learned"] = learned()
    cpu = time.process_time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"CPU {cpu:.1f} s, peak RSS {peak:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
