"""`supplyline monitor`: raise each alert once (halts, resumptions, new vessels, dark gaps, sanctions, identity)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_arrow, print_json
from supplyline.errors import UsageError
from supplyline.monitor.cadence import CadenceConfig

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


def register(app: typer.Typer) -> None:
    @app.command("monitor")
    def monitor(
        store: StoreOpt = None,
        case: Annotated[
            Path | None,
            typer.Option("--case", help="Case folder: its routes are watched, its thresholds used."),
        ] = None,
        since: Annotated[
            str | None, typer.Option("--since", help="Only alerts from this data date on.")
        ] = None,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Evaluate as of this data time (default: end of data).")
        ] = None,
        daily: Annotated[
            bool,
            typer.Option("--replay", help="Evaluate as of every day in the data, as a daily run would have."),
        ] = False,
        halt_p: Annotated[
            float,
            typer.Option("--halt-p", min=0, max=1, help="Halt when P(silence | cadence) falls below this."),
        ] = _DEFAULT.halt_p,
        window_days: Annotated[
            float, typer.Option("--window-days", help="Cadence learning window (days).")
        ] = _DEFAULT.window_days,
        model: Annotated[
            str,
            typer.Option(
                "--model",
                help="Cadence model: renewal (gamma intervals, the default) or poisson. See docs/monitor.md.",
            ),
        ] = _DEFAULT.model,
        no_daily_cycle: Annotated[
            bool,
            typer.Option(
                "--no-daily-cycle", help="Flat clock: no hour-of-day profile (see docs/monitor.md)."
            ),
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Show new alerts without recording them.")
        ] = False,
        as_json: JsonOpt = False,
        jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per alert per line.")] = False,
        fail_on_alert: Annotated[
            bool,
            typer.Option("--fail-on-alert", help=f"Exit with code {FAIL_EXIT} when a new alert is raised."),
        ] = False,
    ) -> None:
        """Evaluate the alert rules over the store and print the alerts not emitted before."""
        from supplyline.monitor.alerts import MonitorConfig
        from supplyline.monitor.run import run_monitor
        from supplyline.store import Store

        cfg = MonitorConfig(
            cadence=CadenceConfig(
                window_days=window_days,
                halt_p=halt_p,
                daily_cycle=not no_daily_cycle,
                model=model,  # type: ignore[arg-type]  # validated by CadenceConfig (UsageError)
            )
        )
        loaded = None
        if case is not None:
            from supplyline.case import load_case

            loaded = load_case(case)
        alerts = run_monitor(
            Store.open(store),
            loaded,
            cfg,
            since=_parse_day(since, "--since"),
            as_of=_parse_day(as_of, "--as-of"),
            daily_replay=daily,
            record=not dry_run,
        )
        rows = alerts.to_pylist()
        for r in rows:
            r["details"] = json.loads(r["details"]) if r["details"] else {}
        if jsonl:
            for r in rows:
                sys.stdout.write(json.dumps(r, default=str) + "\n")
        elif as_json:
            print_json(rows)
        elif rows:
            print_arrow(
                alerts.select(["ts", "kind", "route", "mmsi", "probability", "message"]), title="new alerts"
            )
        else:
            console.print("no new alerts")
        if fail_on_alert and rows:
            raise typer.Exit(FAIL_EXIT)
