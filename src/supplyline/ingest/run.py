"""What every input of one ingest call shares: a DuckDB connection, thread pools, manifest ids, store prints.

Why: opening DuckDB (~15 ms), starting four threads and listing the manifest cost ~125-150 ms per input when
done per input, so 10,000 one-message files took minutes. And checking each new input against the store's
positions for its days read every stored file of those days: quadratic in the number of small files of one
day. Here the connection and pools are opened once per call, the manifest ids are listed once and grown as
inputs commit, and the store's positions per day are held as 64-bit key fingerprints (8 bytes a position,
loaded once per day and call, grown as inputs commit), so only rows whose fingerprint the day already holds
are checked exactly against the stored files.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline.ingest._sql import sql_path
from supplyline.store import Store

PRINT_BUDGET = (
    64_000_000  # stored positions whose fingerprints one call holds (8 B each); beyond: exact checks
)
_MERGE_AT = 4096  # fingerprints added since the last merge before they are merged into the sorted array


def connect(memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB for one ingest call: UTC, bounded memory (it spills to ``spill``, in the store's staging area)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    with suppress(duckdb.Error):  # in Jupyter without ipywidgets DuckDB refuses to touch the setting
        con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{sql_path(spill)}'")
    return con


class StorePrints:
    """Key fingerprints (:func:`supplyline.ingest.dedup.mix` of the position key) of stored positions by day.

    A day is loaded the first time an input touches it (one read of its files' key columns); positions an
    input commits are added afterwards. A day that would exceed :data:`PRINT_BUDGET` is "unknown": every
    row of it is checked exactly. A fingerprint match is only a candidate (exactly checked); no match means
    the row is not stored.
    """

    def __init__(self, store: Store, budget: int = PRINT_BUDGET):
        self.store, self.budget, self.held = store, budget, 0
        self._sorted: dict[str, np.ndarray | None] = {}  # None: unknown day
        self._recent: dict[str, list[np.ndarray]] = {}

    def may_hold(self, days: np.ndarray, day_names: dict[int, str], prints: np.ndarray) -> np.ndarray:
        """True for rows whose fingerprint the store may hold on their day (``days``: day numbers per row)."""
        out = np.zeros(prints.size, np.bool_)
        for number, name in day_names.items():
            rows = days == number
            known = self._day(name)
            if known is None:
                out[rows] = True
                continue
            recent = self._recent.get(name, [])
            hit = _in_sorted(prints[rows], known)
            if recent:
                hit |= np.isin(prints[rows], recent[0])
            out[rows] = hit
        return out

    def add(self, day: str, prints: np.ndarray | None) -> None:
        """Fingerprints of positions just committed on ``day`` (None: not held, the day becomes unknown)."""
        if day not in self._sorted or self._sorted[day] is None:
            return  # not loaded yet: loading reads the committed files
        if prints is None or self.held + prints.size > self.budget:
            self._forget(day)
            return
        self.held += prints.size
        recent = self._recent.setdefault(day, [])
        recent.append(prints)
        if len(recent) > 1:  # one array per day between merges, so a check is one isin
            recent[:] = [np.concatenate(recent)]
        if recent[0].size > _MERGE_AT:
            self._sorted[day] = np.sort(np.concatenate([self._sorted[day], recent[0]]))
            recent.clear()

    def add_staged(self, prints_by_day: dict[str, np.ndarray | None]) -> None:
        """Fingerprints of positions staged in the open transaction (its files are not in the store yet)."""
        for day, prints in prints_by_day.items():
            self._day(day)  # loaded from the committed files first, so these are not counted twice
            self.add(day, prints)

    def _forget(self, day: str) -> None:
        known = self._sorted.get(day)
        self.held -= (known.size if known is not None else 0) + sum(p.size for p in self._recent.pop(day, []))
        self._sorted[day] = None

    def _day(self, day: str) -> np.ndarray | None:
        if day in self._sorted:
            return self._sorted[day]
        from supplyline.ingest.dedup import mix  # dedup imports staging, which imports this module
        from supplyline.ingest.normalise import POSITION_KEY

        files = sorted((self.store.root / "positions" / f"day={day}").glob("*.parquet"))
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        if self.held + rows > self.budget:
            self._sorted[day] = None
            return None
        tables = [pq.read_table(f, columns=list(POSITION_KEY)) for f in files]
        prints = mix(pa.concat_tables(tables), POSITION_KEY) if tables else np.zeros(0, np.uint64)
        self.held += prints.size
        self._sorted[day] = np.sort(prints)
        return self._sorted[day]


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    if not sorted_values.size:
        return np.zeros(values.size, np.bool_)
    at = np.minimum(np.searchsorted(sorted_values, values), sorted_values.size - 1)
    return sorted_values[at] == values


class Run:
    """One ingest call's shared resources; use as a context manager (closes the pools and the connection)."""

    def __init__(self, store: Store, memory_limit: str):
        self.store = store
        self.spill = store.root / "_staging" / f"duckdb-{uuid.uuid4().hex}"  # removed at the end
        self.con = connect(memory_limit, self.spill)
        self.hashing = ThreadPoolExecutor(1, thread_name_prefix="ingest-hash")
        self.decoders = ThreadPoolExecutor(2, thread_name_prefix="ingest-decode")
        self.writing = ThreadPoolExecutor(1, thread_name_prefix="ingest-write")
        self.manifest_ids = store.manifest_ids()
        self.prints = StorePrints(store)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in (self.hashing, self.decoders, self.writing):
            pool.shutdown(wait=True, cancel_futures=True)
        with suppress(duckdb.Error):
            self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)

    def committed(self, input_id: str, prints_by_day: dict[str, np.ndarray | None]) -> None:
        """An input's transaction committed: its id is in the manifest, its positions in the store."""
        self.manifest_ids.add(input_id)
        for day, prints in prints_by_day.items():
            self.prints.add(day, prints)
