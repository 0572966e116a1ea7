"""Allocator settings for a long-running watch, so memory freed after an analysis run can be reused.

A watch allocates and frees hundreds of MB per analysis run, from several threads (the asyncio loop, the
store and analysis threads, DuckDB's and Arrow's pools). With Arrow's default pool (mimalloc) and glibc's
default of up to 8 arenas per core, the peak of each run kept rising with the runs even though what the
run holds does not (10 MB of events after 30 weeks): fragmentation, not a leak. Measured by feeding the
NY Harbor week 30 times to the watch's detect + monitor (bench/RESULTS.md, "Allocator settings"): the
peak per run rose 415 -> 629 MB with the defaults and 373 -> 485 MB with Arrow on the system allocator
and two glibc arenas (each alone did about half as well). What grew beyond that was each run's work (the
event tables read whole, fixed by supplyline.engine.archive), not fragmentation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8
"""mallopt parameter number of glibc's arena limit (malloc.h)."""


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None  # glibc only (not musl, macOS)


def settle_allocators(arenas: int = 2) -> dict[str, str]:
    """Arrow on the system allocator (unless ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise) and at most
    ``arenas`` glibc arenas (unless ``MALLOC_ARENA_MAX`` is set). Call once, before the watch's threads
    start. Returns what was set, for the log."""
    import pyarrow as pa

    done: dict[str, str] = {}
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())
        done["arrow_pool"] = "system"
    libc = _libc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ and libc.mallopt(M_ARENA_MAX, arenas) == 1:
        done["malloc_arena_max"] = str(arenas)
    return done


def release_free_memory() -> None:
    """Hand freed heap pages back to the system (glibc ``malloc_trim``), after an analysis run."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


__all__ = ["release_free_memory", "settle_allocators"]
