"""Benchmark the monitor and estimate hot paths on synthetic inputs of realistic and large size.

    python bench/monitor_estimate.py [--repeat 3]

Prints one Markdown table row per measurement (best of --repeat, wall-clock seconds, one thread):
  * cadence: find_halts over one route's departure history (daily profile, renewal model), also with the
    fleet's reception (positions) and with the Poisson model;
  * replay_days: P(silence) as of every 5 minutes for a year;
  * sanctions: screen_vessels (IMO/MMSI joins + rapidfuzz name cdist) against the 903 OFAC names;
  * identity: identity_changes over static reports (DuckDB window functions);
  * estimate: Monte Carlo (10,000 draws) over laden voyages, monthly and whole-span rows.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.estimate.shipments import estimate
from supplyline.monitor.cadence import CadenceConfig, find_halts, replay_days
from supplyline.monitor.identity import identity_changes
from supplyline.monitor.sanctions import load_sanctions_list, screen_vessels

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of

PRIORS = {
    "containers_per_voyage": {
        "low": 150,
        "high": 320,
        "mode": 250,
        "distribution": "triangular",
        "unit": "containers/voyage",
        "source": "bench",
    },
    "tonnes_per_container": {"low": 10, "high": 21.8, "unit": "tonnes/container", "source": "bench"},
    "shells_per_container_152mm": {
        "low": 250,
        "high": 480,
        "unit": "shells_152mm/container",
        "source": "bench",
    },
}


def departures(n: int, rng: np.random.Generator) -> np.ndarray:
    """A ferry-like stream: exponential headways with a day/night rate ratio of 3, plus a few outages."""
    t0 = np.datetime64("2024-01-01T00:00", "us")
    gaps_h = rng.exponential(1.0, n) * np.where(rng.random(n) < 0.7, 0.5, 1.5)
    gaps_h[rng.choice(n, 20, replace=False)] += 24.0
    return t0 + (np.cumsum(gaps_h) * 3600e6).astype("timedelta64[us]")


def _valid_imos(k: np.ndarray) -> np.ndarray:
    """IMO numbers 9000000 + k*10 rounded to carry a correct check digit (distinct for distinct k)."""
    base = 900_000 + k  # six leading digits
    digits = (base[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return base * 10 + check


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| step | size | seconds | rate |")
    print("| --- | ---: | ---: | ---: |")

    for n in (10_000, 1_000_000):
        deps = departures(n, rng)
        end = deps[-1].astype(datetime).replace(tzinfo=UTC) + timedelta(days=1)
        s = best_of(args.repeat, lambda deps=deps, end=end: find_halts(deps, end, CadenceConfig()))
        print(f"| find_halts | {n:,} departures | {s:.3f} | {n / s:,.0f} departures/s |")

    for model in ("renewal", "poisson"):
        deps = departures(10_000, rng)
        end = deps[-1].astype(datetime).replace(tzinfo=UTC) + timedelta(days=1)
        # the fleet's position times: one a minute (a 10-min-thinned store read is 10x fewer), 5 % lost
        pos = np.arange(deps[0], deps[-1], np.timedelta64(1, "m"))
        pos = pos[rng.random(len(pos)) > 0.05]
        cfg = CadenceConfig(model=model)  # type: ignore[arg-type]
        s = best_of(args.repeat, lambda d=deps, e=end, p=pos, c=cfg: find_halts(d, e, c, received=p))
        print(
            f"| find_halts ({model}, with reception) | 10,000 departures, {len(pos):,} positions | {s:.3f} "
            f"| {len(pos) / s:,.0f} positions/s |"
        )

    deps = departures(20_000, rng)
    q = np.arange(deps[0], deps[-1], np.timedelta64(5, "m"))
    s = best_of(args.repeat, lambda: replay_days(deps, q, CadenceConfig()))
    print(
        f"| replay_days | 20,000 departures x {len(q):,} as-of times | {s:.3f} | {len(q) / s:,.0f} evaluations/s |"
    )

    listed = load_sanctions_list()
    names = np.array(listed["matched_name"].to_pylist(), dtype=object)
    for n in (10_000, 100_000):
        # random letter strings plus 1 % listed names with a typo (a doubled last letter)
        letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVY "))
        rand = ["".join(rng.choice(letters, rng.integers(5, 18))) for _ in range(n)]
        pick = rng.choice(len(names), n // 100)
        for i, j in enumerate(pick):
            rand[i] = str(names[j]) + str(names[j])[-1]
        vessels = pa.table(
            {
                "mmsi": pa.array(rng.integers(200_000_000, 780_000_000, n), pa.int64()),
                "imo": pa.array(rng.integers(9_000_000, 9_999_999, n), pa.int64()),
                "name": rand,
            }
        )
        s = best_of(args.repeat, lambda v=vessels: screen_vessels(v))
        print(
            f"| screen_vessels | {n:,} vessels x {listed.num_rows} listed names | {s:.3f} | {n / s:,.0f} vessels/s |"
        )

    n = 2_000_000
    mmsi = rng.integers(0, 20_000, n) + 273_000_000
    ts = np.datetime64("2024-01-01T00:00", "us") + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    names_pool = np.array([f"SHIP {i}" for i in range(25_000)], dtype=object)
    statics = pa.table(
        {
            "mmsi": pa.array(mmsi, pa.int64()),
            "ts": pa.array(ts.astype("datetime64[us]")).cast(schema.TS),
            # one IMO per MMSI (7-digit with a valid check digit is not needed: invalid ones are dropped
            # after the check, so use real-looking ones), 0.1 % of reports rename the ship
            "imo": pa.array(_valid_imos(mmsi - 273_000_000), pa.int64()),
            "name": pa.array(names_pool[(mmsi - 273_000_000 + (rng.random(n) < 0.001)) % 25_000].tolist()),
        }
    )
    s = best_of(args.repeat, lambda: identity_changes(statics))
    print(f"| identity_changes | {n:,} static reports, 20,000 MMSIs | {s:.3f} | {n / s:,.0f} reports/s |")

    for nv in (100, 2_000):
        t0 = datetime(2023, 8, 1, tzinfo=UTC)
        deps_v = [t0 + timedelta(hours=float(h)) for h in np.sort(rng.uniform(0, 365 * 24, nv))]
        cols = {f.name: pa.nulls(nv, f.type) for f in schema.VOYAGES}
        cols.update(
            voyage_id=pa.array([f"v{i}" for i in range(nv)]),
            mmsi=pa.array(np.full(nv, 273990001), pa.int64()),
            origin_id=pa.array(["case:rajin"] * nv),
            departure_ts=pa.array(deps_v, schema.TS),
            route=pa.array(["rajin-dunai"] * nv),
        )
        v = pa.table(cols, schema=schema.VOYAGES)
        s = best_of(args.repeat, lambda v=v: estimate(v, PRIORS, n_draws=10_000))
        print(f"| estimate (10,000 draws, 13 months) | {nv:,} voyages | {s:.3f} | {nv / s:,.0f} voyages/s |")


if __name__ == "__main__":
    main()
