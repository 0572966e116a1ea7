"""Facts for hand-labelling real AIS silences (tests/data/gap_labels/): one line per gap, read by a person.

For each sampled gap of the NY Harbor week (``supplyline detect`` with the gazetteer, default thresholds;
only the gap's vessel, start and end are taken from it, never its class or context columns) it prints,
computed here from the raw fixes: the vessel's last 30 minutes before the silence and first 30 minutes
after as distances (m) from the silence's start point, the distance between the two ends, and how many
fixes of OTHER vessels were heard within 10 km of the start and of the end point while this one was
silent. The labelling rule is in tests/data/gap_labels/README.md.

Usage: python scripts/gap_label_sheet.py STORE [--per-class 25] [--seed 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from supplyline._api import open_store  # noqa: E402


def _km(lat1, lon1, lat2, lon2):  # type: ignore[no-untyped-def]
    """Equirectangular km (fine over tens of km)."""
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return np.hypot(x, np.radians(lat2 - lat1)) * 6371.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store", type=Path)
    ap.add_argument("--per-class", type=int, default=25)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    with open_store(a.store) as d:
        gaps = d.pandas("gaps")[["mmsi", "start_ts", "end_ts", "likely"]]
        pos = d.sql("SELECT mmsi, epoch(ts) AS t, lat, lon FROM positions ORDER BY mmsi, ts").df()
    # the sample: up to --per-class gaps of each detected class, drawn at random (classes are not shown)
    sample = pd.concat(
        g.sample(min(a.per_class, len(g)), random_state=a.seed) for _, g in gaps.groupby("likely")
    ).sample(frac=1, random_state=a.seed)
    t, la, lo, mm = pos.t.to_numpy(), pos.lat.to_numpy(), pos.lon.to_numpy(), pos.mmsi.to_numpy()
    for n, g in enumerate(sample.itertuples()):
        s, e = g.start_ts.timestamp(), g.end_ts.timestamp()
        mine = mm == g.mmsi
        k0 = np.flatnonzero(mine & (t == s))[0]
        k1 = np.flatnonzero(mine & (t == e))[0]
        before = np.flatnonzero(mine & (t >= s - 1800) & (t <= s))
        after = np.flatnonzero(mine & (t >= e) & (t <= e + 1800))
        dm = _km(la[k0], lo[k0], la, lo) * 1000  # every fix's distance from where it fell silent (m)
        during = ~mine & (t > s) & (t < e)
        near_s = int((during & (_km(la[k0], lo[k0], la, lo) <= 10)).sum())
        near_e = int((during & (_km(la[k1], lo[k1], la, lo) <= 10)).sum())
        print(
            f"G{n:02d} {g.mmsi} {g.start_ts:%m-%d %H:%M} -> {g.end_ts:%m-%d %H:%M} ({(e - s) / 3600:.1f} h)"
            f" ends {dm[k1]:.0f} m apart; others within 10 km: start {near_s}, end {near_e}\n"
            f"    before (min:m) "
            + " ".join(f"{(t[k] - s) / 60:.0f}:{dm[k]:.0f}" for k in before)
            + "\n    after  (min:m) "
            + " ".join(f"{(t[k] - e) / 60:.0f}:{dm[k]:.0f}" for k in after)
        )
    sample.assign(key=[f"G{n:02d}" for n in range(len(sample))]).to_csv(
        Path("/tmp") / "gap_sample.csv", index=False
    )


if __name__ == "__main__":
    main()
