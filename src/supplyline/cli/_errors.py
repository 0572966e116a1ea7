"""How the CLI ends: one short ``error:`` line and the documented exit code for every error, the details
in ``--json``; SIGTERM handled like Ctrl-C (exit 130); supplyline's warnings as ``warning:`` lines."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console

from supplyline.cli._common import JSON_PRINTED
from supplyline.errors import CaseError, StoreWarning, SupplylineError


def run(app: typer.Typer, console: Console) -> None:
    """Run ``app``, printing on ``console`` (stderr), turning errors into a short message and their exit code.

    Typer runs in standalone mode, so usage errors (unknown option, bad value) print click's usage message
    and exit 2, and ``raise typer.Exit(n)`` exits n; our own errors arrive here as SupplylineError and are
    printed as one ``error:`` line (with ``--json``, also as a JSON document on stdout with their details).
    SIGTERM is handled like Ctrl-C: the command stops, nothing half-written is kept, the exit code is 130.
    Anything else is a bug: one line naming it, exit code 1 (``SUPPLYLINE_DEBUG=1`` shows the traceback).
    """
    warnings.showwarning = functools.partial(_show_warning, console)
    as_json = "--json" in sys.argv[1:]
    JSON_PRINTED.clear()
    with _interrupts() as interrupted:
        try:
            app()
        except SupplylineError as exc:
            code = INTERRUPTED if interrupted else exc.exit_code
            _report_error(console, exc, code, as_json)
            raise SystemExit(code) from None
        except SystemExit:
            if interrupted:
                _report_error(console, KeyboardInterrupt(), INTERRUPTED, as_json)
                raise SystemExit(INTERRUPTED) from None
            raise
        except Exception as exc:
            if os.environ.get("SUPPLYLINE_DEBUG"):
                raise
            _report_error(console, exc, 1, as_json)
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


def _report_error(console: Console, exc: BaseException, code: int, as_json: bool) -> None:
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
    console.print("[bold red]error:[/] ", end="")
    console.print(message, markup=False, soft_wrap=True)
    for file, line, problem in problems:
        where = f"{file}:{line}" if line else file
        # problems name TOML tables ("[[places]]") and paths: no markup, no wrapping inside a path
        console.print(f"  {where}: {problem}", markup=False, soft_wrap=True)
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


def _show_warning(
    console: Console, message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    """supplyline's warnings as one ``warning:`` line on stderr (they are about data, not code)."""
    if not issubclass(category, StoreWarning):
        _python_show_warning(message, category, *args, **kwargs)
        return
    console.print("[yellow]warning:[/] ", end="")
    console.print(str(message), markup=False, soft_wrap=True)
