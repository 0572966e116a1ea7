"""The kernels over the planned vessels, in groups of bounded size, spliced into the stored events.

Per group (:func:`analyse`): read each vessel's rows from its cut; settle its speed class (a vessel whose
class changes is re-read whole); run the kernels over the rows with the new ones (NT) and, for vessels with
a cut, without them (OT); splice (:mod:`supplyline.engine.splice`); re-run whole the vessels that fail the
splice checks; work out the vessels' new state.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect import KERNEL_TABLES
from supplyline.detect._arrays import ts_us
from supplyline.engine import splice
from supplyline.engine.base import Phases
from supplyline.engine.horizon import (
    VESSEL_STATE,
    WHOLE_CUT,
    Kernels,
    Plan,
    Rows,
    pair_counts,
    read_rows,
    until,
)
from supplyline.engine.snapshot import Snapshot

TAIL_ROWS = 16
"""Positions kept in view at a vessel's end (2 x ``segment_lookback``): the horizon reaches back to them."""


def analyse(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    plan: Plan,
    old: dict[str, pa.Table],
    state: pa.Table,
    kernel: Kernels,
    chunk_rows: int,
    phase: Phases,
) -> tuple[dict[str, pa.Table], pa.Table, dict[str, int], set[int]]:
    """(every kernel table after the run, the vessel state after it, counts, the vessels re-analysed
    whole): untouched vessels as stored, the planned ones re-analysed group by group (about ``chunk_rows``
    new rows per group). Counts: rows read (``rows``), vessels whose speed class changed (``speed``) or that
    failed the splice (``failed``)."""
    touched = plan.vessels.column("mmsi")
    out = {name: [_without(old[name], touched)] for name in KERNEL_TABLES}
    states = [_without(state, touched)]
    counts = {"rows": 0, "speed": 0, "failed": 0}
    whole: set[int] = set()
    for group in _groups(plan.vessels, chunk_rows):
        tables, st, redone = _group(
            con, snap, group, {n: _only(old[n], group.column("mmsi")) for n in KERNEL_TABLES}, kernel, counts
        )
        for name in KERNEL_TABLES:
            out[name].append(tables[name])
        states.append(st)
        whole |= redone
        phase.done("kernels")
    events = {name: pa.concat_tables([t.cast(schema.EVENT_TABLES[name]) for t in out[name]]) for name in out}
    return events, pa.concat_tables([s.cast(VESSEL_STATE) for s in states]), counts, whole


def _without(t: pa.Table, mmsi: pa.ChunkedArray | pa.Array) -> pa.Table:
    return t.filter(pc.invert(pc.is_in(t.column("mmsi"), value_set=pa.array(mmsi, pa.int64()))))


def _only(t: pa.Table, mmsi: pa.ChunkedArray | pa.Array) -> pa.Table:
    return t.filter(pc.is_in(t.column("mmsi"), value_set=pa.array(mmsi, pa.int64())))


def _groups(vessels: pa.Table, chunk_rows: int) -> list[pa.Table]:
    """``vessels`` in consecutive groups of about ``chunk_rows`` new rows (at least one vessel each)."""
    n = np.asarray(vessels.column("n_new").to_numpy(), np.int64)
    group = np.cumsum(n) // max(1, chunk_rows)
    return [vessels.filter(pa.array(group == g)) for g in np.unique(group)]


@dataclass
class _Speed:
    """Per vessel of a group: straight fast pairs over all its positions and its speed class."""

    pairs: np.ndarray
    fast: np.ndarray

    def fast_mmsi(self, mmsi: np.ndarray) -> np.ndarray:
        return mmsi[self.fast]


def _group(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    group: pa.Table,
    old: dict[str, pa.Table],
    kernel: Kernels,
    counts: dict[str, int],
) -> tuple[dict[str, pa.Table], pa.Table, set[int]]:
    """One group of vessels: rows, speed class, NT and OT, splice, failed vessels whole; (tables, state,
    the vessels re-analysed whole)."""
    rows = read_rows(con, snap, group)
    before = np.asarray(group.column("cut_us").to_numpy(), np.int64) != WHOLE_CUT
    group, rows, speed = _settle_speed(con, snap, group, rows, kernel)
    mmsi = np.asarray(group.column("mmsi").to_numpy(), np.int64)
    cut = np.array(group.column("cut_us").to_numpy(), np.int64)  # a copy: failed vessels become whole
    fast = speed.fast_mmsi(mmsi)
    nt = kernel.run(rows.pos, rows.sta, fast)
    tail = cut != WHOLE_CUT
    last = np.asarray(group.column("last_us").fill_null(WHOLE_CUT).to_numpy(), np.int64)
    ot_rows = until(rows, mmsi[tail], last[tail])
    ot = kernel.run(ot_rows.pos, ot_rows.sta, fast)
    for tables_ in (nt, ot):
        tables_["segments"] = splice.own_reasons(old["segments"], tables_["segments"])
    h = np.asarray(group.column("h_us").to_numpy(), np.int64)
    cuts = {int(m): (int(c), int(x)) for m, c, x in zip(mmsi[tail], cut[tail], h[tail], strict=True)}
    sp = splice.splice(old, ot, nt, cuts)
    counts["rows"] += rows.pos.num_rows
    counts["speed"] += int((before & ~tail).sum())
    counts["failed"] += len(sp.failed)
    whole = set(mmsi[~tail].tolist())
    tables = {n: splice.apply(n, old[n], nt[n], sp, whole, skip=sp.failed) for n in KERNEL_TABLES}
    if sp.failed:
        redo = group.filter(pc.is_in(group.column("mmsi"), value_set=pa.array(sorted(sp.failed), pa.int64())))
        redo = redo.set_column(redo.schema.get_field_index("cut_us"), "cut_us",
                               pa.array([WHOLE_CUT] * redo.num_rows, pa.int64()))  # fmt: skip
        again = read_rows(con, snap, redo)
        nt2 = kernel.run(again.pos, again.sta, fast)
        for n in KERNEL_TABLES:
            empty = schema.empty(schema.EVENT_TABLES[n])
            tables[n] = pa.concat_tables(
                [tables[n], splice.apply(n, empty, nt2[n], splice.Splice(), sp.failed)]
            )
        rows = _merge_rows(rows, again, sp.failed)
        cut[np.isin(mmsi, sorted(sp.failed))] = WHOLE_CUT
    return tables, _state(group, cut, rows, speed), set(mmsi[cut == WHOLE_CUT].tolist())


def _settle_speed(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, group: pa.Table, rows: Rows, kernel: Kernels
) -> tuple[pa.Table, Rows, _Speed]:
    """Each vessel's speed class over all its positions; vessels with a cut whose class changes are
    re-read whole (the class decides how every one of their steps is judged)."""
    speed = _speed(group, rows, kernel)
    old_fast = np.asarray(group.column("fast").fill_null(False).to_numpy(zero_copy_only=False), bool)
    cut = np.asarray(group.column("cut_us").to_numpy(), np.int64)
    switch = (cut != WHOLE_CUT) & (speed.fast != old_fast)
    if not switch.any():
        return group, rows, speed
    cut = np.where(switch, WHOLE_CUT, cut)
    group = group.set_column(group.schema.get_field_index("cut_us"), "cut_us", pa.array(cut, pa.int64()))
    mmsi = group.column("mmsi").filter(pa.array(switch))
    again = read_rows(con, snap, group.filter(pa.array(switch)))
    rows = _merge_rows(rows, again, set(mmsi.to_pylist()))
    return group, rows, _speed(group, rows, kernel)


def _speed(group: pa.Table, rows: Rows, kernel: Kernels) -> _Speed:
    """Fast pairs: the stored count plus those ending after the last analysed time (vessels with a cut),
    or all of them (whole vessels); fast = high-speed craft, or that many pairs."""
    th = kernel.th
    mmsi = np.asarray(group.column("mmsi").to_numpy(), np.int64)
    tail = np.asarray(group.column("cut_us").to_numpy(), np.int64) != WHOLE_CUT
    last = np.asarray(group.column("last_us").fill_null(WHOLE_CUT).to_numpy(), np.int64)
    new = pair_counts(rows.pos, th, mmsi[tail], last[tail])
    before = np.asarray(group.column("fast_pairs").fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    pairs = np.where(tail, before, 0) + np.asarray([new.get(int(m), 0) for m in mmsi], np.int64)
    was = np.asarray(group.column("fast").fill_null(False).to_numpy(zero_copy_only=False), bool)
    hsc = np.asarray(group.column("hsc").fill_null(False).to_numpy(zero_copy_only=False), bool)
    hsc |= np.isin(mmsi, _hsc(rows.sta)) | (tail & was)
    return _Speed(pairs, hsc | (pairs >= th.fast_min_steps))


def _hsc(sta: pa.Table) -> np.ndarray:
    st = sta.column("ship_type").fill_null(0).to_numpy()
    return np.unique(np.asarray(sta.column("mmsi").to_numpy(), np.int64)[(st >= 40) & (st <= 49)])


def _merge_rows(rows: Rows, again: Rows, mmsi: set[int]) -> Rows:
    """``rows`` with the rows of ``mmsi`` replaced by those of ``again`` (kernel order)."""
    ids = pa.array(sorted(mmsi), pa.int64())

    def merge(a: pa.Table, b: pa.Table) -> pa.Table:
        keep = a.filter(pc.invert(pc.is_in(a.column("mmsi"), value_set=ids)))
        t = pa.concat_tables([keep, b.cast(keep.schema)])
        return t.sort_by([("mmsi", "ascending"), ("ts", "ascending")])

    return Rows(merge(rows.pos, again.pos), merge(rows.sta, again.sta))


def _state(group: pa.Table, cut: np.ndarray, rows: Rows, speed: _Speed) -> pa.Table:
    """The vessels' state after the run: first/last time seen, the time of the 16th-last position, pairs."""
    mmsi = np.asarray(group.column("mmsi").to_numpy(), np.int64)
    span = _spans(rows, mmsi)
    first_old = np.asarray(group.column("first_us").fill_null(WHOLE_CUT).to_numpy(), np.int64)
    tail_old = np.asarray(group.column("tail_us").fill_null(WHOLE_CUT).to_numpy(), np.int64)
    whole = cut == WHOLE_CUT
    first = np.where(whole, span["first"], first_old)
    tail = np.where(span["enough"] | whole, span["tail"], np.minimum(span["tail"], tail_old))
    return pa.table(
        {"mmsi": mmsi, "first_us": first, "last_us": span["last"], "last_pos_us": span["last_pos"],
         "tail_us": tail, "fast_pairs": speed.pairs, "fast": speed.fast},
        schema=VESSEL_STATE,
    )  # fmt: skip


def _spans(rows: Rows, mmsi: np.ndarray) -> dict[str, np.ndarray]:
    """Per vessel of ``mmsi`` (sorted): first and last time over its rows (positions and reports), the time
    of its :data:`TAIL_ROWS`-th last position (its first when fewer: ``enough`` False)."""
    pm, pt = np.asarray(rows.pos.column("mmsi").to_numpy(), np.int64), ts_us(rows.pos.column("ts"))
    sm, st = np.asarray(rows.sta.column("mmsi").to_numpy(), np.int64), ts_us(rows.sta.column("ts"))
    first = np.full(len(mmsi), np.iinfo(np.int64).max, np.int64)
    last = np.full(len(mmsi), WHOLE_CUT, np.int64)
    for m, t in ((pm, pt), (sm, st)):  # rows sorted by (mmsi, ts)
        ids, at, n = np.unique(m, return_index=True, return_counts=True)
        k = np.searchsorted(mmsi, ids)
        first[k] = np.minimum(first[k], t[at])
        last[k] = np.maximum(last[k], t[at + n - 1])
    ids, at, n = np.unique(pm, return_index=True, return_counts=True)
    k = np.searchsorted(mmsi, ids)
    last_pos = np.full(len(mmsi), WHOLE_CUT, np.int64)
    last_pos[k] = pt[at + n - 1]
    enough = np.zeros(len(mmsi), bool)
    enough[k] = n >= TAIL_ROWS
    tail = first.copy()
    tail[k] = pt[np.where(n >= TAIL_ROWS, at + n - TAIL_ROWS, at)]
    return {"first": first, "last": last, "last_pos": last_pos, "tail": tail, "enough": enough}


__all__ = ["TAIL_ROWS", "analyse"]
