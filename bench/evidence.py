"""Benchmark the case loader and claim extraction (the evidence side is small; this checks it stays so).

    python bench/evidence.py [--repeat 5] [--copies 50]

Prints Markdown table rows (best of --repeat, wall-clock seconds). Extraction runs on the 18 test articles
concatenated --copies times (a stand-in for a long document; repeated figures are de-duplicated, so the
candidate count does not grow with --copies).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from supplyline.case import bundled_case_path, load_case, validate_case
from supplyline.evidence.extract import extract_claims, parse_article, sentences
from supplyline.evidence.ledger import read_claims

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of

ARTICLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "articles"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--copies", type=int, default=50)
    args = ap.parse_args()
    case = bundled_case_path()
    bodies = [parse_article(p.read_text()).text for p in sorted(ARTICLES.glob("*.txt"))]
    text = "Published: 2024-06-30\n\n" + "\n".join(bodies * args.copies)
    n_sent = len(sentences(text))
    n_claims = extract_claims(text).num_rows
    print("| step | size | seconds | rate |")
    print("| --- | ---: | ---: | ---: |")
    t = best_of(args.repeat, lambda: load_case(case))
    print(f"| load_case(dprk-russia) | 14 places, 46 claims, 25 obs | {t:.4f} | |")
    t = best_of(args.repeat, lambda: validate_case(case))
    print(f"| validate_case(dprk-russia) | same | {t:.4f} | |")
    t = best_of(args.repeat, lambda: read_claims(case / "claims.csv"))
    print(f"| read_claims(claims.csv) | 46 rows | {t:.4f} | {46 / t:,.0f} rows/s |")
    t = best_of(args.repeat, lambda: extract_claims(text))
    print(
        f"| extract_claims | {n_sent:,} sentences, {n_claims:,} candidates | {t:.3f} | {n_sent / t:,.0f} sentences/s |"
    )


if __name__ == "__main__":
    main()
