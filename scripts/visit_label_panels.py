"""Candidate visits and plot panels for hand-labelling port calls on real AIS (tests/data/visit_labels/).

Independent of the detector's stop logic: a *rest* is a run of fixes that all stay within 300 m of the
run's first fix (GPS scatter of a moored ship; no speeds, no windows, no hysteresis), lasting 15 min or
more, whose first fix is inside a gazetteer place's area (its exit radius ``r_out``: rests in the
outer ring of a port count too). Each rest is a candidate, proposed
``port_call`` (>= 30 min) or ``short_stop``. Detector port calls of the sampled vessels that no rest
overlaps are candidates too (proposed ``pass_through``), so every detector port call of a sampled vessel
gets a label, and so is a sample of the detector's other visits (``--passes``). Every candidate is drawn
(map in local metres + distance from the rest point over time) and the proposal is checked by eye on the
panel; corrections go into the CSV with a note.

Usage: python scripts/visit_label_panels.py OUT_DIR [--vessels 30] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.rest_count import rests  # noqa: E402
from tests.test_detect_nyharbor import load_week  # noqa: E402

from supplyline.detect import Thresholds, run_vessel_kernels  # noqa: E402
from supplyline.detect.ports import port_rows  # noqa: E402
from supplyline.places import PlaceIndex, load_gazetteer  # noqa: E402

WEEK = REPO.parent / "shared" / "data" / "noaa_ais_nyharbor_2020" / "nyharbor_2020-12-01_to_07_points.csv.gz"
REST_M = 300.0
MIN_REST_S = 900


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--vessels", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--passes", type=int, default=40)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    week = load_week(WEEK)
    w = week.select(["mmsi", "ts", "lat", "lon"]).to_pandas()
    ts = w.ts.values.astype("datetime64[s]").astype(np.int64)
    mm, la, lo = w.mmsi.values, w.lat.values, w.lon.values
    g = load_gazetteer()
    idx = PlaceIndex(g)
    port = port_rows(idx.places, Thresholds().port_group_km)
    names = np.asarray(idx.places.column("name").to_pylist(), dtype=object)
    rng = np.random.default_rng(a.seed)
    vessels = np.sort(rng.choice(np.unique(mm), size=a.vessels, replace=False))
    sel = np.isin(mm, vessels)
    rows = []
    for m, i, j in rests(mm, ts, la, lo, REST_M, MIN_REST_S / 60):
        if m not in vessels:
            continue
        p = idx.assign(np.array([la[i]]), np.array([lo[i]]), "r_out")[0]
        if p < 0:
            continue
        dur = (ts[j] - ts[i]) / 60
        rows.append(
            (m, names[port[p]], ts[i], ts[j], "port_call" if dur >= 30 else "short_stop", i, j, "rest")
        )
    det = run_vessel_kernels(week.filter(sel), g, Thresholds())["visits"].to_pandas()
    others = det[det.visit_class != "port_call"]
    det = pd.concat(
        [det[det.visit_class == "port_call"], others.sample(min(a.passes, len(others)), random_state=a.seed)]
    )
    for v in det.itertuples():
        a0, a1 = v.arrival_ts.timestamp(), v.departure_ts.timestamp()
        if any(r[0] == v.mmsi and r[2] <= a1 and r[3] >= a0 for r in rows):
            continue
        k = np.flatnonzero((mm == v.mmsi) & (ts >= a0) & (ts <= a1))
        rows.append(
            (v.mmsi, v.place_name, int(a0), int(a1), "pass_through", k[0], k[-1], "det:" + v.visit_class)
        )
    cand = pd.DataFrame(rows, columns=["mmsi", "place", "start", "end", "proposal", "i", "j", "src"])
    cand = cand.sort_values(["mmsi", "start"]).reset_index(drop=True)
    cand.to_csv(a.out / "candidates.csv", index_label="k")
    draw(cand, mm, ts, la, lo, a.out)
    print(len(cand), cand.proposal.value_counts().to_dict(), cand.src.value_counts().to_dict())


def draw(
    cand: pd.DataFrame, mm: np.ndarray, ts: np.ndarray, la: np.ndarray, lo: np.ndarray, out: Path
) -> None:
    per = 16
    for page in range(0, len(cand), per):
        fig, axes = plt.subplots(per // 2, 4, figsize=(22, 2.6 * per // 2))
        for n, (k, c) in enumerate(cand.iloc[page : page + per].iterrows()):
            ax_map, ax_d = axes[n // 2, (n % 2) * 2], axes[n // 2, (n % 2) * 2 + 1]
            pad = 2400
            win = np.flatnonzero((mm == c.mmsi) & (ts >= c.start - pad) & (ts <= c.end + pad))
            y0, x0 = la[c.i], lo[c.i]
            x = (lo[win] - x0) * 111320 * np.cos(np.radians(y0))
            y = (la[win] - y0) * 110540
            inside = (ts[win] >= c.start) & (ts[win] <= c.end)
            ax_map.plot(x, y, "-", color="0.7", lw=0.6)
            ax_map.plot(x[~inside], y[~inside], ".", color="0.4", ms=2)
            ax_map.plot(x[inside], y[inside], ".", color="red", ms=3)
            ax_map.add_patch(plt.Circle((0, 0), REST_M, fill=False, color="b", lw=0.6))
            ax_map.set_aspect("equal", adjustable="datalim")
            ax_map.tick_params(labelsize=6)
            d = np.hypot(x, y)
            th = (ts[win] - c.start) / 3600
            ax_d.semilogy(th, np.maximum(d, 5), ".-", ms=2, lw=0.5, color="k")
            ax_d.axvspan(0, (c.end - c.start) / 3600, color="red", alpha=0.15)
            ax_d.axhline(REST_M, color="b", lw=0.5)
            ax_d.set_ylim(5, 2e4)
            ax_d.tick_params(labelsize=6)
            dur = (c.end - c.start) / 60
            ax_map.set_title(f"#{k} {c.mmsi} {c.place}", fontsize=7)
            ax_d.set_title(f"{c.proposal} {dur:.0f} min [{c.src}] n={c.j - c.i + 1}", fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"page_{page // per:03d}.png", dpi=55)
        plt.close(fig)


if __name__ == "__main__":
    main()
