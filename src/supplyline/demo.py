"""`supplyline demo`: the whole pipeline on a bundled case, ending in a report and a short summary.

simulate (dprk-russia only) -> ingest -> detect -> evidence -> estimate -> monitor -> report. Each step calls
the same library function as its own command, so the demo is also the end-to-end check of the CLI's parts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from supplyline.case import Case, bundled_case_path, load_case, store_case_evidence
from supplyline.engine.local import detect
from supplyline.engine.summary import call_to_call_voyages, visit_class_counts
from supplyline.errors import InputError, UsageError
from supplyline.estimate.run import run_estimate
from supplyline.imagery.simulated import image_case, summary_line
from supplyline.ingest.pipeline import ingest
from supplyline.monitor.run import run_monitor
from supplyline.report.builder import build_report
from supplyline.simulate import simulate
from supplyline.store import Store

DATASETS = ("dprk-russia", "nyharbor")


def default_demo_folder(data: str) -> Path:
    """Where a demo writes unless told: ``supplyline-demo`` for dprk-russia, ``supplyline-demo-<data>`` for
    the others, so running one demo never overwrites another's store and report."""
    return Path("supplyline-demo" if data == "dprk-russia" else f"supplyline-demo-{data}")


NY_FILE = "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"
STEPS = ("simulate", "ingest", "detect", "evidence", "imagery", "estimate", "monitor", "report")


@dataclass
class DemoResult:
    """What the demo produced: the report path, the summary lines and the figures behind them."""

    case: str
    report: Path
    store: Path
    synthetic: bool
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def find_nyharbor(explicit: Path | None = None) -> Path:
    """The NY Harbor week CSV: ``explicit``, ``$SUPPLYLINE_SHARED_DATA``, or a ``shared/data`` folder above the
    working directory or beside the source checkout."""
    if explicit is not None:  # asked for: that file or an error, never a silent fallback
        if not explicit.exists():
            raise InputError(f"--input {explicit} does not exist; give the path of {Path(NY_FILE).name}")
        return explicit
    candidates: list[Path] = []
    if os.environ.get("SUPPLYLINE_SHARED_DATA"):
        candidates.append(Path(os.environ["SUPPLYLINE_SHARED_DATA"]) / NY_FILE)
    here = Path.cwd().resolve()
    checkout = Path(__file__).resolve().parents[2]  # a source checkout with shared/ beside it
    for base in (here, *here.parents, checkout.parent):
        candidates += [base / "shared" / "data" / NY_FILE, base / "data" / NY_FILE]
    for path in candidates:
        if path.exists():
            return path
    raise InputError(
        "the New York Harbor week is not bundled (1.4 MB of NOAA AIS); pass --input PATH to "
        f"{Path(NY_FILE).name} or set $SUPPLYLINE_SHARED_DATA to the shared/data folder"
    )


def _fresh_store(path: Path) -> Store:
    """A new, empty store at ``path``; an earlier demo store there is replaced, anything else refused."""
    if path.exists() and any(path.iterdir()):
        if not (path / "SUPPLYLINE_STORE").exists():
            raise UsageError(f"{path} exists and is not a supplyline store; choose another --out")
        shutil.rmtree(path)
    return Store.create(path)


def run_demo(
    data: str = "dprk-russia",
    out: Path | None = None,
    *,
    input_path: Path | None = None,
    seed: int | None = None,
    workers: int = 2,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run every step on ``data`` (a bundled case name) into ``out`` (default :func:`default_demo_folder`);
    return the summary."""
    if data not in DATASETS:
        raise UsageError(f"unknown --data {data!r}; choose one of {', '.join(DATASETS)}")
    if input_path is not None and data != "nyharbor":
        raise UsageError(f"--input is for --data nyharbor (the {data} demo simulates its AIS); drop --input")
    if data == "nyharbor":
        find_nyharbor(input_path)  # a missing --input fails before anything is written
    step = on_step or (lambda _name: None)
    out = Path(out) if out is not None else default_demo_folder(data)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot use {out} as the demo folder: {exc.strerror}; choose another --out"
        ) from None
    case = load_case(bundled_case_path(data))
    store = _fresh_store(out / "store")

    step("simulate")
    inputs, synthetic = _demo_inputs(data, case, out, input_path, seed)

    step("ingest")
    report = ingest(store, inputs)
    if report.exit_code:
        failed = [f for f in report.files if f.status == "error"]
        first = f"; first: {Path(failed[0].path).name}: {failed[0].message}" if failed else ""
        raise InputError(
            f"{len(failed)} of {len(report.files)} demo inputs could not be ingested{first[:300]} "
            "(--json lists every input)"
        ).with_details(report.to_dict())

    step("detect")
    detected = detect(store, case.places, case.thresholds, case.routes, workers=workers)

    step("evidence")
    store_case_evidence(store, case)

    step("imagery")
    imaged = image_case(store, case, seed=seed).summary() if data == "dprk-russia" else None

    step("estimate")
    estimated = run_estimate(store, case)

    step("monitor")
    alerts = run_monitor(store, case, daily_replay=True)

    step("report")
    path = build_report(store, out / "report.html", title=case.title or case.name)
    result = DemoResult(case=case.name, report=path, store=store.root, synthetic=synthetic)
    _summarise(result, store, case, report.totals, detected.counts, alerts, estimated.claim_tests)
    if imaged is not None:
        result.lines.insert(-1, summary_line(imaged))
        result.figures["imagery"] = imaged
    return result


def _demo_inputs(
    data: str, case: Case, out: Path, input_path: Path | None, seed: int | None
) -> tuple[list[Path], bool]:
    """(AIS files to ingest, whether they are synthetic): the case's simulated AIS or the NY Harbor week."""
    if data != "dprk-russia":
        return [find_nyharbor(input_path)], False
    if case.scenario_path is None:
        raise UsageError("the dprk-russia case has no scenario.toml")
    sim = simulate(case.scenario_path, out / "simulated", seed=seed, formats=("nmea",))
    return [p for p in sim.paths.values() if str(p).endswith(".nmea")], True


def _summarise(
    res: DemoResult,
    store: Store,
    case: Case,
    ingested: dict[str, int],
    counts: dict[str, int],
    alerts: pa.Table,
    claim_tests: pa.Table,
) -> None:
    con = store.connect()
    classes = visit_class_counts(con)
    outbound = [r.name for r in case.routes if not r.name.startswith(("dunai-", "vostochny-", "stgeorge-"))]
    per_ship = con.execute(
        """SELECT coalesce(v.name, CAST(y.mmsi AS VARCHAR)) AS ship, count(*) AS n
            FROM voyages y LEFT JOIN (SELECT mmsi, arg_max(name, last_seen) AS name FROM vessels GROUP BY mmsi) v
            USING (mmsi) WHERE list_contains(?, y.route) GROUP BY ALL ORDER BY n DESC, ship""",
        [outbound],
    ).fetchall()
    trips = sum(n for _, n in per_ship)
    tag = " (SYNTHETIC scenario)" if res.synthetic else " (real AIS)"
    lines = [
        f"case {case.name}{tag}: {ingested.get('kept', 0):,} reports kept of {ingested.get('read', 0):,} read",
        f"detected: {classes.get('port_calls', 0)} port calls, {counts.get('voyages', 0)} voyages between stops "
        f"({call_to_call_voyages(con) or 0} port call to port call), "
        f"{counts.get('gaps', 0)} dark gaps, {counts.get('encounters', 0)} encounters",
        f"trips on watched routes ({', '.join(outbound)}): {trips} — "
        + ", ".join(f"{ship} {n}" for ship, n in per_ship),
    ]
    kinds = alerts.column("kind").to_pylist() if alerts.num_rows else []
    for kind in ("route_shift", "halt", "resumption"):
        rows = alerts.filter(pc.equal(alerts.column("kind"), kind)).to_pylist() if kind in kinds else []
        for row in rows:
            prob = row["probability"]
            lines.append(
                f"{kind}: {row['route']} on {row['ts']:%Y-%m-%d}"
                + (f" (p={prob:.2g})" if prob is not None else "")
            )
    by_kind = {k: kinds.count(k) for k in sorted(set(kinds))}
    lines.append("alerts: " + (", ".join(f"{k} {n}" for k, n in by_kind.items()) or "none"))
    if claim_tests.num_rows:
        verdicts = claim_tests.column("verdict").to_pylist()
        tally = {v: verdicts.count(v) for v in sorted(set(verdicts))}
        lines.append(
            f"claims tested: {claim_tests.num_rows} — " + ", ".join(f"{v} {n}" for v, n in tally.items())
        )
    lines.append(f"report: {res.report}")
    res.lines = lines
    res.figures = {
        "trips": trips,
        "per_ship": dict(per_ship),
        "alerts": by_kind,
        "counts": counts,
        "ingested": ingested,
    }
