"""Stored events new positions can no longer change, kept out of each time-incremental detect run.

A run of :mod:`supplyline.engine.incremental` needs, per vessel with new positions, only its events from its
cut C on (:mod:`supplyline.engine.horizon`). Holding every stored event in memory made each run's time and
memory grow with the history, so the event tables are split by time:

- the **live** part (``incr``) holds every event ending at or after the *archive boundary* A (and every event
  with no end yet); a run reads it whole;
- **archive** parts (``arch-<hours since 1970>``) hold the events ending before A, each part those ending in
  ``[previous boundary, its boundary)``. A trails the latest position analysed by ``archive_after_h`` and
  advances in steps of ``archive_step_h``, so a part is added per step of data, never rewritten by it.

Why a run can leave the archive unread: an event ending before A has its key before A too, and a vessel whose
cut is at or after A needs nothing keyed before its cut except the horizon's "last visit with a stop", which is
read from the archive as one aggregate per vessel (:func:`last_stops`). With C >= A the horizon computed from
the live events is exact: each of its steps only looks at events ending after a time at or after C.

A run reads archived rows only for: vessels whose cut falls before A (*deep*: all their archived rows, then the
horizon again), vessels re-analysed whole (none needed: their events are recomputed; their archived rows are
dropped at the write), and all of them when new positions come from before A plus the coverage window (late
data: the coverage of archived gaps may change). The write (:func:`parts_after`) rewrites only the archive
parts that lose or receive rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.detect._arrays import ts_us
from supplyline.engine.horizon import STOP_CLASSES
from supplyline.sqlquote import literal
from supplyline.store import Store

US_PER_H = 3_600_000_000
ARCHIVE_AFTER_H = 30 * 24.0
"""Events ending this long before the latest position analysed are archived (hours; longer than the horizon
reaches back for almost every vessel; a vessel whose cut falls earlier has its archived events read)."""
ARCHIVE_STEP_H = 7 * 24.0
"""The boundary advances in whole steps (hours): one archive part per step of data."""
PREFIX = "arch-"
LIVE = "incr"
"""The live part's name."""
END = {
    "segments": "end_ts",
    "visits": "departure_ts",
    "voyages": "arrival_ts",
    "gaps": "end_ts",
    "loitering": "end_ts",
    "draught_changes": "ts",
}
"""The time each archived table's events end at (encounters are never archived: the cross-vessel window
reads them whole, and they are few)."""
NEVER = np.iinfo(np.int64).max


def part_name(bound_us: int) -> str:
    return f"{PREFIX}{bound_us // US_PER_H:010d}"


def bounds(store: Store) -> list[int]:
    """The archive parts' boundaries (microseconds, ascending), over every archived table."""
    names = {p for t in END for p in store.parts(t) if p.startswith(PREFIX)}
    return sorted(int(p.removeprefix(PREFIX)) * US_PER_H for p in names)


def boundary(old: int | None, end_us: int | None, after_h: float, step_h: float) -> int | None:
    """A after a run whose latest position is ``end_us``: never earlier than the last one (``old``)."""
    if end_us is None:
        return old
    step = int(step_h * US_PER_H)
    new = (end_us - int(after_h * US_PER_H)) // step * step
    return new if old is None else max(old, new)


def ends(name: str, table: pa.Table) -> np.ndarray:
    """Each row's end (microseconds); :data:`NEVER` where it has none yet."""
    column = table.column(END[name])
    null = np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)
    out = ts_us(column.fill_null(pa.scalar(0, column.type)) if null.any() else column).copy()
    out[null] = NEVER
    return out


def _files(store: Store, name: str) -> list[Path]:
    return [store.table_dir(name) / f"{p}.parquet" for p in store.parts(name) if p.startswith(PREFIX)]


def _scan(store: Store, name: str) -> str:
    files = ", ".join(literal(f) for f in _files(store, name))
    return f"read_parquet([{files}], filename = true)"


def last_stops(con: duckdb.DuckDBPyConnection, store: Store, mmsi: pa.Array) -> pa.Table:
    """(mmsi, s): per vessel of ``mmsi`` the arrival of its last archived visit with a stop (microseconds)."""
    if not _files(store, "visits"):
        return pa.table({"mmsi": pa.array([], pa.int64()), "s": pa.array([], pa.int64())})
    con.register("_stop_cand", pa.table({"mmsi": pa.array(mmsi, pa.int64())}))
    try:
        return con.sql(
            f"SELECT v.mmsi, max(epoch_us(v.arrival_ts)) AS s FROM {_scan(store, 'visits')} v "
            f"JOIN _stop_cand USING (mmsi) WHERE v.visit_class IN {STOP_CLASSES} GROUP BY v.mmsi"
        ).to_arrow_table()
    finally:
        con.unregister("_stop_cand")


def load(con: duckdb.DuckDBPyConnection, store: Store, mmsi: np.ndarray | None) -> dict[str, pa.Table]:
    """Every archived row of the vessels ``mmsi`` (None: of every vessel), per archived table."""
    out: dict[str, pa.Table] = {}
    con.register("_load_mmsi", pa.table({"mmsi": pa.array([] if mmsi is None else mmsi, pa.int64())}))
    try:
        for name in END:
            target = schema.EVENT_TABLES[name]
            if not _files(store, name):
                out[name] = schema.empty(target)
                continue
            where = "" if mmsi is None else "WHERE mmsi IN (SELECT mmsi FROM _load_mmsi)"
            cols = ", ".join(f'"{c}"' for c in target.names)
            t = con.sql(f"SELECT {cols} FROM {_scan(store, name)} {where}").to_arrow_table()
            out[name] = t.cast(target)
    finally:
        con.unregister("_load_mmsi")
    return out


@dataclass
class Replace:
    """Archived rows a run replaces: per vessel, those ending at or after ``since`` (microseconds; the
    vessel's cut for a deep vessel, -inf for one re-analysed whole); ``everything``: all of them."""

    since: dict[int, int] = field(default_factory=dict)
    everything: bool = False

    def per_row(self, mmsi: np.ndarray) -> np.ndarray:
        """Each row's ``since`` (:data:`NEVER` for vessels not replaced)."""
        if self.everything:
            return np.full(len(mmsi), -NEVER, np.int64)
        if not self.since:
            return np.full(len(mmsi), NEVER, np.int64)
        keys = np.asarray(sorted(self.since), np.int64)
        values = np.asarray([self.since[k] for k in keys.tolist()], np.int64)
        at = np.minimum(np.searchsorted(keys, mmsi), len(keys) - 1)
        return np.where(keys[at] == mmsi, values[at], NEVER)


def parts_after(
    store: Store,
    name: str,
    out: pa.Table,
    replace: Replace,
    span: tuple[int | None, int | None],
) -> tuple[dict[str, pa.Table], list[str]]:
    """(the parts of table ``name`` to write, the archive parts kept as they are) for a run whose events of
    that table are ``out`` (the live rows, plus the archived rows it read), archive boundary going from
    ``span[0]`` to ``span[1]`` (None: no archive). ``out``'s rows ending before the new boundary go to the
    parts of their end, when they replace archived rows or were live before; the others stay live."""
    old_a, new_a = span
    mmsi = np.asarray(out.column("mmsi").to_numpy(), np.int64)
    end = ends(name, out)
    cut = new_a if new_a is not None else -NEVER
    floor = np.minimum(replace.per_row(mmsi), old_a if old_a is not None else -NEVER)
    archived = (end < cut) & (end >= floor)
    parts = {LIVE: out.filter(pa.array(end >= cut))}
    all_bounds = sorted({*bounds(store), *([new_a] if new_a is not None else [])})
    slot = np.searchsorted(np.asarray(all_bounds, np.int64), end, side="right")
    receiving = {all_bounds[i] for i in np.unique(slot[archived]).tolist()}
    existing = {int(p.removeprefix(PREFIX)) * US_PER_H for p in store.parts(name) if p.startswith(PREFIX)}
    touched = receiving | {b for b in existing if _loses_rows(store, name, b, replace)}
    for b in sorted(touched):
        i = all_bounds.index(b)
        kept = _without_replaced(store.read_part(name, part_name(b)), name, replace)
        added = out.filter(pa.array(archived & (slot == i)))
        parts[part_name(b)] = pa.concat_tables([t.cast(out.schema) for t in (kept, added) if t is not None])
    kept_parts = [part_name(b) for b in existing - touched]
    return parts, kept_parts


def _loses_rows(store: Store, name: str, bound: int, replace: Replace) -> bool:
    """Whether archive part ``bound`` of ``name`` holds rows ``replace`` replaces (reads mmsi and the end)."""
    if replace.everything:
        return True
    if not replace.since:
        return False
    if bound <= min(replace.since.values()):
        return False  # the part holds rows ending before its boundary: none at or after any ``since``
    path = store.table_dir(name) / f"{part_name(bound)}.parquet"
    t = pq.read_table(path, columns=["mmsi", END[name]])
    return bool((ends(name, t) >= replace.per_row(np.asarray(t.column("mmsi").to_numpy(), np.int64))).any())


def _without_replaced(table: pa.Table | None, name: str, replace: Replace) -> pa.Table | None:
    if table is None:
        return None
    mmsi = np.asarray(table.column("mmsi").to_numpy(), np.int64)
    return table.filter(pa.array(ends(name, table) < replace.per_row(mmsi)))


__all__ = [
    "ARCHIVE_AFTER_H",
    "ARCHIVE_STEP_H",
    "END",
    "LIVE",
    "PREFIX",
    "Replace",
    "boundary",
    "bounds",
    "ends",
    "last_stops",
    "load",
    "parts_after",
]
