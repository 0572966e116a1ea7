"""`supplyline monitor`: raise each alert once (halts, resumptions, route shifts, new vessels, dark gaps,
sanctions, identity changes, shared MMSIs, spoofing)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, load_case_option, print_arrow, print_json
from supplyline.errors import UsageError

# supplyline.monitor is imported at start-up anyway: CadenceConfig's defaults appear in --help
from supplyline.monitor.alerts import MonitorConfig
from supplyline.monitor.cadence import CadenceConfig
from supplyline.monitor.run import run_monitor
from supplyline.store import Store

FAIL_EXIT = 10
_DEFAULT = CadenceConfig()


def _parse_day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        try:
            d = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError as exc:
            raise UsageError(
                f"{option} wants a date like 2024-02-12 or 2024-02-12T06:00 (got {value!r})"
            ) from exc
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


CaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--case", help="Case folder or bundled case name: its routes are watched, its thresholds used."
    ),
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only alerts from this data date on.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Evaluate as of this data time (default: end of data).")
]
ReplayOpt = Annotated[
    bool, typer.Option("--replay", help="Evaluate as of every day in the data, as a daily run would have.")
]
HaltPOpt = Annotated[
    float, typer.Option("--halt-p", min=0, max=1, help="Halt when P(silence | cadence) falls below this.")
]
WindowOpt = Annotated[float, typer.Option("--window-days", help="Cadence learning window (days).")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Cadence model: renewal (gamma intervals, the default) or poisson. See docs/monitor.md.",
    ),
]
FlatClockOpt = Annotated[
    bool, typer.Option("--no-daily-cycle", help="Flat clock: no hour-of-day profile (see docs/monitor.md).")
]
PerSilenceOpt = Annotated[
    bool,
    typer.Option(
        "--per-silence",
        help="Judge every silence at --halt-p, also on routes busier than daily (default: per route-day).",
    ),
]
NoDayTypesOpt = Annotated[
    bool, typer.Option("--no-day-types", help="Judge weekends even when the learning window holds none.")
]
AsNewOpt = Annotated[
    bool,
    typer.Option(
        "--as-new",
        help="Every alert as if none had been emitted (with --replay: when each would have been raised); "
        "stored alerts are neither read nor changed.",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show new alerts without recording them.")]
JsonlOpt = Annotated[bool, typer.Option("--jsonl", help="One JSON object per alert per line.")]
FullOpt = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Derive what the rules need from positions (first sightings, reception, shared MMSIs, spoofing, "
        "gap contexts) from every position, not the facts kept in the store (same answer, slower; the kept "
        "facts are left as they are). See docs/monitor.md.",
    ),
]
FailOpt = Annotated[
    bool, typer.Option("--fail-on-alert", help=f"Exit with code {FAIL_EXIT} when a new alert is raised.")
]


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)


def monitor(
    store: StoreOpt = None,
    case: CaseOpt = None,
    since: SinceOpt = None,
    as_of: AsOfOpt = None,
    daily: ReplayOpt = False,
    halt_p: HaltPOpt = _DEFAULT.halt_p,
    window_days: WindowOpt = _DEFAULT.window_days,
    model: ModelOpt = _DEFAULT.model,
    no_daily_cycle: FlatClockOpt = False,
    per_silence: PerSilenceOpt = False,
    no_day_types: NoDayTypesOpt = False,
    dry_run: DryRunOpt = False,
    as_new: AsNewOpt = False,
    full: FullOpt = False,
    as_json: JsonOpt = False,
    jsonl: JsonlOpt = False,
    fail_on_alert: FailOpt = False,
) -> None:
    """Evaluate the alert rules over the store and print the alerts not emitted before.

    Example: supplyline monitor --store STORE --case cases/dprk-russia --jsonl

    "When would I have been alerted?": supplyline monitor --store STORE --case cases/dprk-russia --replay --as-new

    The facts derived from positions are kept in the store and updated from new positions only; --full
    recomputes them from every position: supplyline monitor --store STORE --case cases/dprk-russia --full
    """
    cfg = MonitorConfig(
        cadence=CadenceConfig(
            window_days=window_days,
            halt_p=halt_p,
            daily_cycle=not no_daily_cycle,
            model=model,  # type: ignore[arg-type]  # validated by CadenceConfig (UsageError)
            halt_p_per_day=not per_silence,
            day_types=not no_day_types,
        )
    )
    loaded = load_case_option(case)
    alerts = run_monitor(
        Store.open(store),
        loaded,
        cfg,
        since=_parse_day(since, "--since"),
        as_of=_parse_day(as_of, "--as-of"),
        daily_replay=daily,
        record=not (dry_run or as_new),
        as_new=as_new,
        full=full,
    )
    _print_alerts(alerts, as_json, jsonl, "alerts as they would have been raised" if as_new else "new alerts")
    if fail_on_alert and alerts.num_rows:
        raise typer.Exit(FAIL_EXIT)


def _print_alerts(alerts: pa.Table, as_json: bool, jsonl: bool, title: str = "new alerts") -> None:
    rows = alerts.to_pylist()
    for r in rows:
        r["details"] = json.loads(r["details"]) if r["details"] else {}
    if jsonl:
        for r in rows:
            sys.stdout.write(json.dumps(r, default=str) + "\n")
    elif as_json:
        print_json(rows)
    elif rows:
        print_arrow(alerts.select(["ts", "kind", "route", "mmsi", "probability", "message"]), title=title)
    else:
        console.print("no new alerts")
