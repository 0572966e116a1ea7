"""False alarms and precision/recall of every alert kind: the dprk-russia scenario with real-world noise
(SYNTHETIC, supplyline.simulate.noise) and the real NY Harbor week.

    python bench/monitor_noise.py [--seed 1] [--out DIR] [--ny PATH]

Prints one markdown table per data set (the ones in docs/monitor.md). Not a test: tests/test_monitor_noise.py
asserts the known answers of the noisy scenario.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.case import bundled_case_path, load_case
from supplyline.monitor.run import run_monitor
from supplyline.simulate import simulate
from supplyline.simulate.noise import NOISE_TRUTH, KindScore, dprk_noise, score_alerts
from supplyline.store import Store, write_parquet

KINDS = (
    "halt",
    "resumption",
    "route_shift",
    "dark_near_place",
    "shared_mmsi",
    "spoofing",
    "identity_change",
    "new_vessel",
)


@dataclass
class NoisyRun:
    alerts: pa.Table
    truth: pa.Table
    weeks: float


def _ingest_detect(store_dir: Path, positions: pa.Table, statics: pa.Table, case_dir: Path) -> Store:
    from typer.testing import CliRunner

    from supplyline.cli import app

    Store.create(store_dir)
    # the simulator's statics are already schema.STATICS; placed as ingest would (as tests/test_monitor_e2e.py)
    write_parquet(
        statics.select(schema.STATICS.names).cast(schema.STATICS),
        store_dir / "statics" / "day=2023-08-01" / "part-sim.parquet",
    )
    pq.write_table(positions, store_dir.parent / "positions-noisy.parquet")
    runner = CliRunner()
    for args in (
        ["ingest", str(store_dir.parent / "positions-noisy.parquet"), "--store", str(store_dir)],
        ["detect", "--case", str(case_dir), "--store", str(store_dir), "--workers", "1"],
    ):
        res = runner.invoke(app, args)
        if res.exit_code != 0:
            raise RuntimeError(f"{args[0]} failed: {res.output}")
    return Store.open(store_dir)


def _scenario_truth(sim: Path, noise: pa.Table) -> pa.Table:
    """The scenario's own truth in NOISE_TRUTH rows: its switched-off legs (less those inside a thinned-out
    span: a sparse feed cannot show a switch-off), the pause, the port shift, the resumption and the
    first voyage of each ship on a route after its 14-day baseline (the new_vessel rule's definition)."""
    thin = [t for t in noise.to_pylist() if t["note"].startswith("one fix")]
    rows = []
    for d in pq.read_table(next(sim.glob("truth_dark*.parquet"))).to_pylist():
        if any(d["mmsi"] == t["mmsi"] and t["start_ts"] <= d["start_ts"] <= t["end_ts"] for t in thin):
            continue
        rows.append(("dark_near_place", d["mmsi"], d["start_ts"], d["end_ts"], "switched off (simulator)"))
    pause, resumed, last = (
        datetime(2024, 2, 10, tzinfo=UTC),
        datetime(2024, 3, 13, tzinfo=UTC),
        datetime(2024, 4, 20, tzinfo=UTC),
    )
    rows += [
        ("halt", None, pause, resumed, "the pause (every route)"),
        ("halt", None, resumed, last, "vostochny-rajin: no return leg after 10 Feb"),
        ("resumption", None, resumed, resumed, "LADY R's Rajin departure of 13 Mar"),
        ("route_shift", None, datetime(2023, 12, 20, tzinfo=UTC), pause, "Dunai -> Vostochny"),
    ]
    tv = pq.read_table(next(sim.glob("truth_voyages*.parquet")))
    tv = tv.filter(pc.is_valid(tv["route"])).sort_by("departure_ts").to_pylist()
    for route in sorted({v["route"] for v in tv}):
        legs = [v for v in tv if v["route"] == route]
        base = legs[0]["departure_ts"].timestamp() + 14 * 86_400
        seen: set[int] = set()
        for v in legs:
            if v["mmsi"] not in seen and v["departure_ts"].timestamp() >= base:
                rows.append(("new_vessel", v["mmsi"], v["departure_ts"], v["departure_ts"], route))
            seen.add(v["mmsi"])
    extra = pa.Table.from_pylist(
        [
            {"kind": k, "mmsi": m, "start_ts": s, "end_ts": e, "expect_alert": True, "note": n}
            for k, m, s, e, n in rows
        ],
        schema=NOISE_TRUTH,
    )
    return pa.concat_tables([noise, extra])


def noisy_dprk(root: Path, seed: int = 1) -> NoisyRun:
    """simulate -> add noise -> ingest -> detect -> monitor; the alerts and the truth."""
    case_dir = bundled_case_path("dprk-russia")
    case = load_case(case_dir)
    sim = root / "sim"
    simulate(case_dir / "scenario.toml", sim, seed=seed, formats=("parquet",))
    pos = pq.read_table(next(sim.glob("positions*.parquet")))
    st = pq.read_table(next(sim.glob("statics*.parquet")))
    truth_voyages = pq.read_table(next(sim.glob("truth_voyages*.parquet")))
    pos, st, noise = dprk_noise(pos, st, case.places, truth_voyages)
    store = _ingest_detect(root / "store", pos, st, case_dir)
    alerts = run_monitor(store, case, record=False)
    ts = pos["ts"]
    weeks = (pc.max(ts).as_py() - pc.min(ts).as_py()).total_seconds() / (7 * 86_400)
    return NoisyRun(alerts, _scenario_truth(sim, noise), weeks)


def ny_week(root: Path, path: Path | None) -> NoisyRun:
    """The real NY Harbor week through `supplyline demo --data nyharbor`: every alert is a false alarm
    (a 24/7 ferry network, no event of interest)."""
    from supplyline.demo import run_demo

    res = run_demo("nyharbor", root / "ny", input_path=path, workers=1)
    alerts = Store.open(res.store).read_table("alerts", schema.ALERTS)
    return NoisyRun(alerts, NOISE_TRUTH.empty_table(), 1.0)


def table(scores: list[KindScore]) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    lines = [
        "| alert kind | true pos | false pos | missed | precision | recall | false alarms / week |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scores:
        lines.append(
            f"| {s.kind} | {s.true_pos} | {s.false_pos} | {s.false_neg} | {f(s.precision)} | {f(s.recall)} | {s.false_alarms_per_week:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--ny", type=Path, default=None, help="the NY Harbor week CSV (default: found as the demo does)"
    )
    a = ap.parse_args()
    root = a.out or Path(tempfile.mkdtemp(prefix="monitor-noise-"))
    run = noisy_dprk(root, a.seed)
    print(f"dprk-russia + noise, seed {a.seed} (SYNTHETIC, {run.weeks:.1f} weeks)\n")
    print(table(score_alerts(run.alerts, run.truth, KINDS, run.weeks)))
    ny = ny_week(root, a.ny)
    print("\nNY Harbor week 1-7 Dec 2020 (real; no event: every alert is a false alarm)\n")
    print(table(score_alerts(ny.alerts, ny.truth, KINDS, ny.weeks)))


if __name__ == "__main__":
    main()
