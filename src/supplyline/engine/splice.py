"""The splice rule of the time-incremental detect: a vessel's re-analysed tail joined to its stored events.

A vessel with new positions is re-analysed from a *cut* C (chosen by :mod:`supplyline.engine.incremental`
well before anything the new positions can change). Three event sets per vessel and table:

- OLD: its stored events (what a batch detect gave on the positions stored before);
- OT: the kernels over its stored positions from C on (the old tail);
- NT: the kernels over all its positions from C on, new ones included (the new tail).

Rule, per table (events keyed by their start: :data:`KEYS`):

1. every OLD event keyed at or after C is in OT unchanged (the cut did not reach it);
2. OT events not in OLD are *cut artefacts*: events that began before C, seen from C. Outside segments,
   each is in NT unchanged (the new positions did not reach back to it) and is dropped. A segment artefact
   is the tail of the OLD segment spanning C (a vessel that reports without a day's silence has one
   segment for months): that segment is *merged*: positions, noise, outliers and distance gain what NT's
   version of the artefact has more than OT's, and its end is NT's;
3. the vessel's events are OLD keyed before C (merged segments replaced) plus NT without the artefacts.

A vessel failing 1 or 2 in any table is re-analysed whole. Pure functions of Arrow tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect import KERNEL_TABLES
from supplyline.detect._arrays import ts_us

KEYS = {
    "segments": "start_ts",
    "visits": "arrival_ts",
    "voyages": "departure_ts",
    "gaps": "start_ts",
    "loitering": "start_ts",
    "draught_changes": "ts",
}
"""The time each kernel table's events are keyed (and their ids made) by."""
COVERAGE_COLUMNS = ("others_start", "others_end", "others_received", "path_heard", "likely")
"""Gap columns set by the cross-vessel coverage step, not by the kernels (left out of comparisons)."""
_ADDITIVE = ("n_positions", "n_noise", "n_outliers", "dist_km")
_END = ("end_ts", "end_lat", "end_lon")


@dataclass
class _Rows:
    """One table's rows grouped by vessel: per mmsi the row indices, with each row's fingerprint."""

    table: pa.Table
    by_mmsi: dict[int, list[int]]
    prints: list[str | None]  # None: not needed (keyed before its vessel's cut)
    keys: np.ndarray  # key time per row, microseconds
    ends: np.ndarray  # end time per row (segments; else the key), microseconds

    @classmethod
    def of(cls, name: str, table: pa.Table, since: np.ndarray | None = None) -> _Rows:
        """``since``: per row, the earliest key whose fingerprint the rule can ask for (OLD: its vessel's
        cut); rows keyed before it get none, so a run's cost does not grow with the stored history."""
        keys = ts_us(table.column(KEYS[name]))
        wanted = np.flatnonzero(keys >= since) if since is not None else np.arange(table.num_rows)
        cols = [c for c in table.column_names if not (name == "gaps" and c in COVERAGE_COLUMNS)]
        sub = table.select(cols).take(pa.array(wanted, pa.int64()))
        values = [sub.column(c).to_pylist() for c in cols]
        prints: list[str | None] = [None] * table.num_rows
        for i, row in zip(wanted.tolist(), zip(*values, strict=True), strict=True):
            prints[i] = repr(row)
        ends = ts_us(table.column("end_ts")) if name == "segments" else keys
        return cls(table, _by_mmsi(table), prints, keys, ends)


def _by_mmsi(table: pa.Table) -> dict[int, list[int]]:
    """Row indices per vessel, each in table order."""
    mmsi = np.asarray(table.column("mmsi").to_numpy(), np.int64)
    order = np.argsort(mmsi, kind="stable")
    vessels, starts = np.unique(mmsi[order], return_index=True)
    ends = np.append(starts[1:], len(order)).tolist() if len(starts) else []
    return {m: order[a:b].tolist() for m, a, b in zip(vessels.tolist(), starts.tolist(), ends, strict=True)}


@dataclass
class Splice:
    """What the rule keeps: per table the OLD rows to drop, the NT rows to add and merged segments."""

    drop: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    add: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    merged: list[dict[str, object]] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)


def splice(
    old: dict[str, pa.Table],
    ot: dict[str, pa.Table],
    nt: dict[str, pa.Table],
    cuts: dict[int, tuple[int, int]],
) -> Splice:
    """The rule (module docstring) for every vessel of ``cuts`` (mmsi -> (C, H) in microseconds); vessels
    that fail are in ``failed`` and contribute nothing else."""
    rows = {
        name: (_Rows.of(name, old[name], _cut_per_row(old[name], cuts)), _Rows.of(name, ot[name]),
               _Rows.of(name, nt[name]))
        for name in KERNEL_TABLES
    }  # fmt: skip
    out = Splice()
    for mmsi, (cut, h) in cuts.items():
        parts = [_vessel(name, *rows[name], mmsi, cut if name == "segments" else h) for name in KERNEL_TABLES]
        if any(p is None for p in parts):
            out.failed.add(mmsi)
            continue
        for name, part in zip(KERNEL_TABLES, parts, strict=True):
            assert part is not None
            drop, add, merged = part
            out.drop[name] += drop
            out.add[name] += add
            out.merged += merged
    return out


def _cut_per_row(table: pa.Table, cuts: dict[int, tuple[int, int]]) -> np.ndarray:
    """Each row's vessel's cut C (no vessel's horizon H is before it); vessels not re-analysed: never."""
    never = np.iinfo(np.int64).max
    if not cuts:
        return np.full(table.num_rows, never, np.int64)
    vessels = np.asarray(sorted(cuts), np.int64)
    cut = np.asarray([cuts[m][0] for m in vessels.tolist()], np.int64)
    mmsi = np.asarray(table.column("mmsi").to_numpy(), np.int64)
    at = np.minimum(np.searchsorted(vessels, mmsi), len(vessels) - 1)
    return np.where(vessels[at] == mmsi, cut[at], never)


_Part = tuple[list[int], list[int], list[dict[str, object]]]


def _vessel(name: str, o: _Rows, ot: _Rows, nt: _Rows, mmsi: int, cut: int) -> _Part | None:
    """(OLD rows to drop, NT rows to add, merged segments) of one vessel and table; None if the rule fails."""
    mine = o.by_mmsi.get(mmsi, [])
    after = [i for i in mine if o.keys[i] >= cut]
    old_prints = {o.prints[i] for i in after}
    ot_rows = [i for i in ot.by_mmsi.get(mmsi, []) if ot.keys[i] >= cut]
    if not old_prints <= {ot.prints[i] for i in ot_rows}:
        return None  # rule 1: the cut reached an old event
    artefacts = [i for i in ot_rows if ot.prints[i] not in old_prints]
    nt_rows = [i for i in nt.by_mmsi.get(mmsi, []) if nt.keys[i] >= cut]
    if name != "segments":
        nt_prints = {nt.prints[i] for i in nt_rows}
        gone = {ot.prints[i] for i in artefacts}
        if not gone <= nt_prints:
            return None  # rule 2: the new positions reached back to an artefact
        return after, [i for i in nt_rows if nt.prints[i] not in gone], []
    spans_cut = [i for i in mine if o.keys[i] < cut <= o.ends[i]]  # the OLD segments an artefact can be in
    merged = _merge_segments(o, ot, nt, spans_cut, artefacts, nt_rows)
    if merged is None:
        return None
    spanning, rows, artefact_ids = merged
    add = [i for i in nt_rows if nt.table.column("segment_id")[i].as_py() not in artefact_ids]
    return after + spanning, add, rows


def _merge_segments(
    o: _Rows, ot: _Rows, nt: _Rows, before: list[int], artefacts: list[int], nt_rows: list[int]
) -> tuple[list[int], list[dict[str, object]], set[str]] | None:
    """Each segment artefact merged into the OLD segment spanning the cut: (the OLD rows replaced, the merged
    rows, the artefacts' ids); None when an artefact has no single spanning segment or no NT version."""
    if not artefacts:
        return [], [], set()
    old_rows = o.table.take(before).to_pylist() if before else []
    nt_by_id = {r["segment_id"]: r for r in nt.table.take(nt_rows).to_pylist()} if nt_rows else {}
    used: list[int] = []
    merged: list[dict[str, object]] = []
    for a in ot.table.take(artefacts).to_pylist():
        span = [k for k, s in enumerate(old_rows) if s["start_ts"] <= a["start_ts"] <= s["end_ts"]]
        n = nt_by_id.get(a["segment_id"])
        if len(span) != 1 or n is None or before[span[0]] in used:
            return None
        used.append(before[span[0]])
        merged.append(_merged(old_rows[span[0]], a, n))
    return used, merged, {a["segment_id"] for a in ot.table.take(artefacts).to_pylist()}


def _merged(
    whole: dict[str, object], old_tail: dict[str, object], new_tail: dict[str, object]
) -> dict[str, object]:
    """``whole`` (an OLD segment) with what ``new_tail`` has beyond ``old_tail`` (its tail seen from the cut)."""
    row = dict(whole)  # id, start and split reason stay
    for c in _ADDITIVE:
        row[c] = whole[c] + new_tail[c] - old_tail[c]  # type: ignore[operator]
    for c in _END:
        row[c] = new_tail[c]
    return row


def own_reasons(old: pa.Table, tail: pa.Table) -> pa.Table:
    """``tail`` segments with the reason of the OLD segment of the same id where they say ``first`` (a
    tail starts its vessel's first segment; the vessel's own reason may be a silence or a jump)."""
    if tail.num_rows == 0 or old.num_rows == 0:
        return tail
    known = dict(
        zip(old.column("segment_id").to_pylist(), old.column("split_reason").to_pylist(), strict=True)
    )
    ids, now = tail.column("segment_id").to_pylist(), tail.column("split_reason").to_pylist()
    fixed = [known.get(i, r) if r == "first" else r for i, r in zip(ids, now, strict=True)]
    return tail.set_column(
        tail.schema.get_field_index("split_reason"), "split_reason", pa.array(fixed, pa.string())
    )


def apply(
    name: str, old: pa.Table, nt: pa.Table, sp: Splice, whole: Iterable[int], skip: Iterable[int] = ()
) -> pa.Table:
    """Table ``name`` after a run: OLD minus dropped rows and minus every row of the ``whole`` vessels
    (re-analysed whole), plus NT's added rows, NT's rows of the whole vessels and the merged segments;
    nothing of the ``skip`` vessels (redone separately)."""
    whole_ids = np.asarray(sorted(set(whole)), np.int64)
    skip_ids = np.asarray(sorted(set(skip)), np.int64)
    old_m, nt_m = old.column("mmsi").to_numpy(), nt.column("mmsi").to_numpy()
    keep = np.ones(old.num_rows, dtype=bool)
    keep[np.asarray(sp.drop.get(name, []), dtype=np.int64)] = False
    keep &= ~np.isin(old_m, whole_ids) & ~np.isin(old_m, skip_ids)
    from_nt = np.zeros(nt.num_rows, dtype=bool)
    from_nt[np.asarray(sp.add.get(name, []), dtype=np.int64)] = True
    from_nt |= np.isin(nt_m, whole_ids)
    from_nt &= ~np.isin(nt_m, skip_ids)
    target = schema.EVENT_TABLES[name]
    parts = [old.filter(pa.array(keep)).cast(target), nt.filter(pa.array(from_nt)).cast(target)]
    if name == "segments" and sp.merged:
        parts.append(pa.Table.from_pylist(sp.merged, schema=target))
    return pa.concat_tables(parts)


__all__ = ["COVERAGE_COLUMNS", "KEYS", "Splice", "apply", "own_reasons", "splice"]
