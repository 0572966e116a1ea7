"""The `supplyline` command: thin wrappers that parse, call the library and print.

Exit codes: 0 ok; 1 error; 2 usage error; 3 store problem; 4 unreadable input; 5 case problems;
6 engine failure; 7 missing optional dependency; 10 monitor raised alerts (only with --fail-on-alert).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import typer

from supplyline.cli._common import JSON_PRINTED, err_console
from supplyline.errors import CaseError, StoreWarning, SupplylineError

app = typer.Typer(
    name="supplyline",
    help=(
        "Monitor shipments between ports from public evidence.\n\n"
        "Typical flow: ingest AIS -> detect events -> add evidence -> estimate -> monitor -> report.\n"
        "Start with `supplyline demo`, which runs all of it on the bundled dprk-russia case."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module registers its own commands; one module per verb group keeps this file thin.
_MODULES = (
    "_store",
    "_places",
    "_detect",
    "_simulate",
    "_case",
    "_evidence",
    "_estimate",
    "_monitor",
    "_report",
    "_demo",
)
for _name in _MODULES:
    try:
        _mod = importlib.import_module(f"supplyline.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a module not written yet
        if _exc.name != f"supplyline.cli.{_name}":
            raise
        continue
    _mod.register(app)


def main() -> None:
    """Entry point: run the app, turning errors into a short message and their exit code.

    Typer runs in standalone mode, so usage errors (unknown option, bad value) print click's usage message
    and exit 2, and ``raise typer.Exit(n)`` exits n; our own errors arrive here as SupplylineError and are
    printed as one ``error:`` line (with ``--json``, also as a JSON document on stdout with their details).
    SIGTERM is handled like Ctrl-C: the command stops, nothing half-written is kept, the exit code is 130.
    Anything else is a bug: one line naming it, exit code 1 (``SUPPLYLINE_DEBUG=1`` shows the traceback).
    """
    warnings.showwarning = _show_warning
    as_json = "--json" in sys.argv[1:]
    JSON_PRINTED.clear()
    with _interrupts() as interrupted:
        try:
            app()
        except SupplylineError as exc:
            code = INTERRUPTED if interrupted else exc.exit_code
            _report_error(exc, code, as_json)
            raise SystemExit(code) from None
        except SystemExit:
            if interrupted:
                _report_error(KeyboardInterrupt(), INTERRUPTED, as_json)
                raise SystemExit(INTERRUPTED) from None
            raise
        except Exception as exc:
            if os.environ.get("SUPPLYLINE_DEBUG"):
                raise
            _report_error(exc, 1, as_json)
            raise SystemExit(1) from None


INTERRUPTED = 130


@contextlib.contextmanager
def _interrupts() -> Iterator[list[int]]:
    """SIGINT and SIGTERM raise KeyboardInterrupt (so ``finally`` blocks and pool shutdowns run); yields the
    list of signals received. The previous handlers are restored on exit."""
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report_error(exc: BaseException, code: int, as_json: bool) -> None:
    """One ``error:`` line on stderr (plus a case's problems); with ``--json`` a document on stdout too."""
    if isinstance(exc, SupplylineError):
        message = str(exc)
    else:
        message = (
            f"unexpected {type(exc).__name__}: {str(exc)[:300]} (please report it with the command you ran)"
        )
    if code == INTERRUPTED:
        message = "interrupted; nothing half-written was kept"
    problems = exc.problems if isinstance(exc, CaseError) else []
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(message, markup=False, soft_wrap=True)
    for file, line, problem in problems:
        where = f"{file}:{line}" if line else file
        # problems name TOML tables ("[[places]]") and paths: no markup, no wrapping inside a path
        err_console.print(f"  {where}: {problem}", markup=False, soft_wrap=True)
    if as_json and not JSON_PRINTED:  # a command that printed its result JSON already holds the details
        doc = {
            "error": message,
            "exit_code": code,
            "kind": type(exc).__name__,
            "problems": [{"file": f, "line": ln, "message": m} for f, ln, m in problems],
            "details": getattr(exc, "details", None),
        }
        sys.stdout.write(json.dumps(doc, default=str, indent=2) + "\n")


_python_show_warning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """supplyline's warnings as one ``warning:`` line on stderr (they are about data, not code)."""
    if not issubclass(category, StoreWarning):
        _python_show_warning(message, category, *args, **kwargs)
        return
    err_console.print("[yellow]warning:[/] ", end="")
    err_console.print(str(message), markup=False, soft_wrap=True)
