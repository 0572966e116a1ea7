"""Candidates and panels for the HELD-OUT visit labels (tests/data/visit_labels/nyharbor_week_heldout.csv).

Same labelling rule as nyharbor_week.csv (tests/data/visit_labels/README.md), on vessels not in that file,
and candidates found without the detector (its output is never read here):

- ``rest``: a run of fixes all within 300 m of the run's first fix lasting 15 min or more, whose first fix
  is inside a gazetteer place's exit radius and which the vessel reached through an entry radius (or has a
  fix inside one) (tests/rest_count.py); proposed port_call (>= 30 min) or short_stop;
- ``silence``: a silence of 4 h or more whose two ends are inside a place's exit radius, not already in a
  rest; proposed port_call when it ends within 1 km of where it began, else pass_through;
- ``inside``: a run of consecutive fixes inside a place's entry radius (``r_in``) that no rest or silence
  overlaps; proposed pass_through.

Every candidate is drawn (map in local metres, the candidate's fixes red, a 300 m circle; distance from
the candidate's first fix over time, log scale) and the proposal is checked by eye.

Usage: python scripts/visit_label_heldout.py OUT_DIR [--vessels 20] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tests.rest_count import rests  # noqa: E402
from tests.test_detect_nyharbor import load_week  # noqa: E402
from visit_label_panels import WEEK, draw  # noqa: E402

from supplyline.detect import Thresholds  # noqa: E402
from supplyline.detect.ports import port_rows  # noqa: E402
from supplyline.geo import haversine_km  # noqa: E402
from supplyline.places import PlaceIndex, load_gazetteer  # noqa: E402

LABELLED = REPO / "tests" / "data" / "visit_labels" / "nyharbor_week.csv"


def candidates(
    mm: np.ndarray, ts: np.ndarray, la: np.ndarray, lo: np.ndarray, vessels: np.ndarray
) -> pd.DataFrame:
    """Rests, in-port silences and entry-radius passages of ``vessels`` (no detector involved)."""
    idx = PlaceIndex(load_gazetteer())
    port = port_rows(idx.places, Thresholds().port_group_km)
    names = np.asarray(idx.places.column("name").to_pylist(), dtype=object)
    sel = np.flatnonzero(np.isin(mm, vessels))
    m, t, y, x = mm[sel], ts[sel], la[sel], lo[sel]
    outer, inner = idx.assign(y, x, "r_out"), idx.assign(y, x, "r_in")
    rows = []
    for v, i, j in rests(m, t, y, x, 300.0, 15.0):
        if outer[i] >= 0 and _came_in(m, inner, outer, i, j):
            proposal = "port_call" if t[j] - t[i] >= 1800 else "short_stop"
            rows.append((v, names[port[outer[i]]], t[i], t[j], proposal, sel[i], sel[j], "rest"))
    taken = pd.DataFrame(rows, columns=["mmsi", "place", "start", "end", "proposal", "i", "j", "src"])
    same = m[1:] == m[:-1]
    quiet = np.flatnonzero(same & (np.diff(t) >= 4 * 3600) & (outer[:-1] >= 0) & (outer[1:] >= 0))
    for k in quiet:
        if _overlaps(taken, m[k], t[k], t[k + 1]):
            continue
        km = float(haversine_km(y[k], x[k], y[k + 1], x[k + 1]))
        rows.append(
            (
                m[k],
                names[port[outer[k]]],
                t[k],
                t[k + 1],
                "port_call" if km <= 1 else "pass_through",
                sel[k],
                sel[k + 1],
                f"silence {km:.2f} km",
            )
        )
    taken = pd.DataFrame(rows, columns=taken.columns)
    inside = inner >= 0
    starts = np.flatnonzero(inside & ~np.r_[False, inside[:-1] & same])
    for s in starts:
        e = s
        while e + 1 < len(m) and inside[e + 1] and m[e + 1] == m[s]:
            e += 1
        if not _overlaps(taken, m[s], t[s], t[e]):
            rows.append((m[s], names[port[inner[s]]], t[s], t[e], "pass_through", sel[s], sel[e], "inside"))
    cand = pd.DataFrame(rows, columns=taken.columns)
    return cand.sort_values(["mmsi", "start"]).reset_index(drop=True)


def _came_in(m: np.ndarray, inner: np.ndarray, outer: np.ndarray, i: int, j: int) -> bool:
    """The rule's port area: a rest counts when one of its fixes is inside an entry radius, or the vessel came
    to its first fix through an entry radius without leaving every exit radius on the way."""
    if (inner[i : j + 1] >= 0).any():
        return True
    k = i
    while k >= 0 and m[k] == m[i] and outer[k] >= 0:
        if inner[k] >= 0:
            return True
        k -= 1
    return False


def _overlaps(found: pd.DataFrame, mmsi: int, s: int, e: int) -> bool:
    g = found[found["mmsi"] == mmsi]
    return bool(((g["start"] <= e) & (g["end"] >= s)).any())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--vessels", type=int, default=20)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    w = load_week(WEEK).select(["mmsi", "ts", "lat", "lon"]).to_pandas()
    ts = w.ts.values.astype("datetime64[s]").astype(np.int64)
    mm, la, lo = w.mmsi.values, w.lat.values, w.lon.values
    done = set(pd.read_csv(LABELLED)["mmsi"])
    pool = np.array(sorted(set(np.unique(mm).tolist()) - done))
    vessels = np.sort(np.random.default_rng(a.seed).choice(pool, size=a.vessels, replace=False))
    cand = candidates(mm, ts, la, lo, vessels)
    cand.to_csv(a.out / "candidates.csv", index_label="k")
    draw(cand, mm, ts, la, lo, a.out)
    print(
        len(vessels),
        "vessels;",
        len(cand),
        cand.proposal.value_counts().to_dict(),
        cand.src.str[:7].value_counts().to_dict(),
    )


if __name__ == "__main__":
    main()
