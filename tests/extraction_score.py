"""Scoring claim extraction against the labelled press-style texts in tests/data/extraction/.

A candidate matches a label when unit and quantity (or range) agree; matching is one-to-one, greedy in
label order. Figures: (quantity, unit) precision and recall over all labelled figures (claims and context),
the same over claims only, and among matches: claimant accuracy (the candidate's claimant contains one of
the label's accepted names and is at most 80 characters), period (both ends equal), kind (claim/context).

    python -m tests.extraction_score            # both sets, one line each
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from supplyline.evidence.extract import Candidate, extract_candidates

DATA = Path(__file__).parent / "data" / "extraction"
SETS = ("tuning", "heldout", "heldout2", "heldout3")


def labels(set_name: str) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads((DATA / f"labels_{set_name}.json").read_text())
    return data


def _matches(c: Candidate, item: dict[str, Any]) -> bool:
    if c.unit != item["unit"]:
        return False
    if item.get("quantity") is not None:
        return c.quantity is not None and abs(c.quantity - item["quantity"]) <= 1e-9 * item["quantity"]
    return (c.quantity, c.quantity_low, c.quantity_high) == (
        None,
        item["quantity_low"],
        item["quantity_high"],
    )


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _claimant_ok(c: Candidate, item: dict[str, Any]) -> bool:
    who = (c.claimant or "").lower()
    return bool(who) and len(who) <= 80 and any(a.lower() in who for a in item["claimant"])


Extractor = Callable[[str], list[Candidate]]


def score(set_name: str, extract: Extractor | None = None) -> dict[str, Any]:
    """Counts for one set; ``misses`` lists what went wrong, for reading."""
    extract = extract or extract_candidates
    s: dict[str, Any] = dict.fromkeys(
        ("tp", "fp", "fn", "claim_tp", "claim_fp", "claim_fn", "claimant", "period", "kind", "qualifier"), 0
    )
    s["misses"] = []
    for name, items in labels(set_name).items():
        cands = extract((DATA / set_name / name).read_text(encoding="utf-8"))
        used: set[int] = set()
        for item in items:
            j = next((j for j, c in enumerate(cands) if j not in used and _matches(c, item)), None)
            is_claim = item["kind"] == "claim"
            if j is None:
                s["fn"] += 1
                s["claim_fn"] += is_claim
                s["misses"].append(
                    (name, "missed", item["quantity"] or item.get("quantity_high"), item["unit"])
                )
                continue
            used.add(j)
            c = cands[j]
            s["tp"] += 1
            s["claim_tp"] += is_claim and c.kind == "claim"
            s["claim_fn"] += is_claim and c.kind != "claim"
            s["claim_fp"] += not is_claim and c.kind == "claim"
            checks = {
                "claimant": _claimant_ok(c, item),
                "period": (_iso(c.period_start), _iso(c.period_end))
                == (item["period_start"], item["period_end"]),
                "kind": c.kind == item["kind"],
                "qualifier": c.qualifier == item["qualifier"],
            }
            for key, ok in checks.items():
                s[key] += ok
                if not ok:
                    got = (c.period_start, c.period_end) if key == "period" else getattr(c, key)
                    want = (item["period_start"], item["period_end"]) if key == "period" else item.get(key)
                    s["misses"].append((name, key, c.quantity, c.unit, got, want))
        for j, c in enumerate(cands):
            if j not in used:
                s["fp"] += 1
                s["claim_fp"] += c.kind == "claim"
                s["misses"].append((name, "extra", c.quantity, c.unit, c.kind, c.quote[:80]))
    return s


def rates(s: dict[str, Any]) -> dict[str, float]:
    """Precision, recall and field accuracies from :func:`score` counts."""

    def div(a: int, b: int) -> float:
        return a / b if b else 1.0

    return {
        "precision": div(s["tp"], s["tp"] + s["fp"]),
        "recall": div(s["tp"], s["tp"] + s["fn"]),
        "claim_precision": div(s["claim_tp"], s["claim_tp"] + s["claim_fp"]),
        "claim_recall": div(s["claim_tp"], s["claim_tp"] + s["claim_fn"]),
        "claimant": div(s["claimant"], s["tp"]),
        "period": div(s["period"], s["tp"]),
        "kind": div(s["kind"], s["tp"]),
        "qualifier": div(s["qualifier"], s["tp"]),
    }


def summary(set_name: str, extract: Extractor | None = None) -> str:
    s = score(set_name, extract)
    r = rates(s)
    n_texts = len(labels(set_name))
    return (
        f"{set_name}: {n_texts} texts, {s['tp'] + s['fn']} labelled, {s['tp'] + s['fp']} candidates; "
        f"(quantity, unit) P {r['precision']:.3f} R {r['recall']:.3f}; claims only P {r['claim_precision']:.3f} "
        f"R {r['claim_recall']:.3f}; claimant {s['claimant']}/{s['tp']} ({r['claimant']:.3f}), "
        f"period {s['period']}/{s['tp']}, kind {s['kind']}/{s['tp']}, qualifier {s['qualifier']}/{s['tp']}"
    )


if __name__ == "__main__":
    import sys

    for set_name in SETS:
        if (DATA / f"labels_{set_name}.json").exists():
            print(summary(set_name))
            if "-v" in sys.argv:
                for miss in score(set_name)["misses"]:
                    print("   ", miss)
