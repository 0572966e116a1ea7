"""Worker processes that die with the run that started them.

A process pool's workers are not killed when their parent is: after ``kill -9`` of ``supplyline detect``
they went on computing (and then waited for work forever), ~500 MB each. :func:`bind_to_parent`, called
first in each worker, asks Linux to SIGKILL the worker when its parent process exits
(``prctl(PR_SET_PDEATHSIG)``; under forkserver the parent is the fork server, which itself exits when the
run does), and starts a watchdog thread that exits the worker when the run's own process is gone (the
fallback on other systems, and for the gap before the signal is armed).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


def bind_to_parent(run_pid: int) -> None:
    """Make this worker exit when process ``run_pid`` (the command that started the pool) is gone.

    Ctrl-C in a terminal reaches every process of the group; the worker ignores it and leaves stopping to
    the run, which terminates its workers (no traceback per worker).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    arm_parent_death_signal()
    if not _alive(run_pid):
        os._exit(1)
    threading.Thread(target=_watch, args=(run_pid,), name="supplyline-lifeline", daemon=True).start()


def arm_parent_death_signal() -> None:
    """SIGKILL on the death of the parent process (Linux only; elsewhere the watchdog alone acts).

    Survives `exec`, so a child started with it as `preexec_fn` (a shell script that execs a JVM) dies
    with the process that started it.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the signal was armed
        os._exit(1)


def _watch(run_pid: int) -> None:
    while _alive(run_pid):
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a dead process its parent has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")
