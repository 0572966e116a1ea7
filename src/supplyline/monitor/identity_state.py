"""Shared-MMSI and spoofing events kept per vessel between monitor runs (pure kernel, no I/O).

:func:`supplyline.detect.identity.find_identities` judges an MMSI over its whole history: "shared" needs
``min_switches`` jumps, one per ``1 / min_switch_rate`` fixes between the first and the last jump, and
both sides consistent over all their steps; a spoofed window is the run of fixes between a jump out and
the next jump back. With new positions all after a vessel's last one (the append case) its events can
change only in these ways, which decide how much of its history a run reads again:

* **no new jump**: no run closes and the shared period (first to last jump) keeps its fixes; appended
  steps are not jumps, so each side's consistency can only rise. Events are unchanged unless the vessel
  has enough jumps at a high enough rate, is not shared, and its kept consistency counts now reach
  ``consistent_share``: then it turns shared and is judged again whole. Otherwise only counts are
  updated; nothing is read.
* **new jumps, not shared before, and too few jumps or too sparse for shared after** (count and rate are
  kept exactly): it is not shared before or after, so the only new events are spoofed windows closed by
  a new jump, whose run starts at the last jump before the new rows. The vessel is re-read from the fix
  before that jump (its *horizon*; the last fix if it never jumped), and the events found there that a
  new fix completed (``detected_ts`` after the last old fix) are added (if the tail alone looks shared,
  the vessel is judged whole instead).
* **otherwise** (new jumps on a shared vessel or enough for shared, turning shared, late rows, a new
  vessel): the vessel's whole history is judged again (a new vessel's history is its new rows).

The per-vessel state (:data:`VESSELS`) holds the counts that make this exact: fixes, jumps, the index of
the first and last jump (for the rate), each side's steps and feasible steps (for the consistency), the
time of the fix before the last jump, the last fix itself (the step into the first new fix) and the first
time seen. tests/test_monitor_incremental.py checks the events equal a whole-store pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from supplyline.detect.identity import IdentityThresholds, jumps, side_steps

NONE = -1
"""Index or time of a jump a vessel never had."""
VESSELS = pa.schema(
    [
        pa.field("mmsi", pa.int64()),
        pa.field("first_seen_us", pa.int64()),  # earliest position, microseconds since 1970
        pa.field("last_us", pa.int64()),  # the last fix in (ts, lat, lon) order ...
        pa.field("last_lat", pa.float64()),
        pa.field("last_lon", pa.float64()),
        pa.field("n_fixes", pa.int64()),
        pa.field("n_jumps", pa.int64()),
        pa.field("first_jump", pa.int64()),  # index of the first jump's fix in the vessel's history (NONE)
        pa.field("last_jump", pa.int64()),  # ... of the last one
        pa.field("run_from_us", pa.int64()),  # time of the fix before the last jump (NONE)
        pa.field("shared", pa.bool_()),  # has a shared_mmsi event
        # steps within the track of side 0 / 1 (jump parity) and the feasible ones (find_identities'
        # consistency); UNKNOWN after a tail update (fewer than min_switches jumps: not needed until a whole one)
        pa.field("steps0", pa.int64()),
        pa.field("ok0", pa.int64()),
        pa.field("steps1", pa.int64()),
        pa.field("ok1", pa.int64()),
    ]
)
UNKNOWN = -1
"""Consistency counts not kept (see :data:`VESSELS`)."""
SIDES = ("steps0", "ok0", "steps1", "ok1")


@dataclass
class Rows:
    """Positions sorted by (mmsi, ts, lat, lon) (``ts`` in microseconds), ``new`` where the row is new."""

    mmsi: np.ndarray
    ts: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    new: np.ndarray

    def take(self, keep: np.ndarray) -> Rows:
        return Rows(self.mmsi[keep], self.ts[keep], self.lat[keep], self.lon[keep], self.new[keep])


def groups(mmsi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each vessel, vessel number of each row) of rows sorted by mmsi."""
    first = np.concatenate([[True], mmsi[1:] != mmsi[:-1]]) if len(mmsi) else np.zeros(0, bool)
    return np.flatnonzero(first), np.cumsum(first) - 1


def summarise(rows: Rows, base: np.ndarray, old: pa.Table, th: IdentityThresholds) -> pa.Table:
    """The state (:data:`VESSELS`, ``shared`` left False) of each vessel of ``rows`` after them: ``old`` its
    state before (aligned with the vessels; ``n_fixes`` 0 for none), ``base`` the index in the vessel's
    history of its first row here (0 whole, ``n_fixes - 1`` when the first row is its last old fix)."""
    starts, grp = groups(rows.mmsi)
    ends = np.append(starts[1:], len(rows.ts)) - 1
    o = {c: np.asarray(old.column(c).to_numpy(), np.int64) for c in ("n_fixes", "n_jumps", "first_jump")}
    o |= {c: np.asarray(old.column(c).to_numpy(), np.int64) for c in ("last_jump", "run_from_us")}
    new_jump = jumps(rows.mmsi, rows.ts, rows.lat, rows.lon, th) & rows.new
    at = np.flatnonzero(new_jump)
    index = base[grp[at]] + at - starts[grp[at]]  # each new jump's index in its vessel's history
    first_new, last_new = _first_last(grp[at], len(starts))
    has = first_new >= 0
    first_seen = np.minimum.reduceat(rows.ts, starts) if len(starts) else np.zeros(0, np.int64)
    old_seen = old.column("first_seen_us").to_numpy(zero_copy_only=False)
    out = {
        "mmsi": rows.mmsi[starts],
        "first_seen_us": np.where(o["n_fixes"] > 0, np.minimum(old_seen, first_seen), first_seen),
        "last_us": rows.ts[ends],
        "last_lat": rows.lat[ends],
        "last_lon": rows.lon[ends],
        "n_fixes": o["n_fixes"] + np.bincount(grp, weights=rows.new, minlength=len(starts)).astype(np.int64),
        "n_jumps": o["n_jumps"] + np.bincount(grp[at], minlength=len(starts)),
        "first_jump": np.where(o["first_jump"] >= 0, o["first_jump"], _pick(index, first_new, NONE)),
        "last_jump": np.where(has, _pick(index, last_new, NONE), o["last_jump"]),
        "run_from_us": np.where(has, _pick(rows.ts, _before(at, last_new), NONE), o["run_from_us"]),
        "shared": np.zeros(len(starts), bool),
    }
    parity = o["n_jumps"] % 2  # the side of each vessel's first row here (its last old fix, or 0)
    for name, counts in zip(SIDES, _side_counts(rows, grp, new_jump, parity, th), strict=True):
        was = np.asarray(old.column(name).to_numpy(), np.int64)
        out[name] = np.where(was == UNKNOWN, UNKNOWN, was + counts)
    return pa.table(out, schema=VESSELS)


def _side_counts(
    rows: Rows, grp: np.ndarray, new_jump: np.ndarray, parity: np.ndarray, th: IdentityThresholds
) -> list[np.ndarray]:
    """Per vessel: steps and feasible steps of side 0 and 1 among ``rows`` (steps0, ok0, steps1, ok1); exact
    for rows that are a vessel's whole history, or its last old fix and new rows without a jump."""
    starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]]) if len(grp) else grp
    cum = np.cumsum(new_jump)
    side = (parity[grp] + cum - cum[starts][grp]) % 2
    keys, n, ok = side_steps(rows.mmsi, rows.ts, rows.lat, rows.lon, side, th)
    at = np.searchsorted(rows.mmsi[starts], keys // 2)
    out = [np.zeros(len(starts), np.int64) for _ in SIDES]
    for s in (0, 1):
        k = keys % 2 == s
        out[2 * s][at[k]] = n[k]
        out[2 * s + 1][at[k]] = ok[k].astype(np.int64)
    return out


def enough_jumps(state: pa.Table, th: IdentityThresholds) -> np.ndarray:
    """Vessels whose jumps pass the shared test's count and rate (``min_switches``, one per
    ``1 / min_switch_rate`` fixes from the first to the last jump); consistency aside."""
    n = np.asarray(state.column("n_jumps").to_numpy(), np.int64)
    span = (
        np.asarray(state.column("last_jump").to_numpy(), np.int64) - state.column("first_jump").to_numpy() + 2
    )
    return (n >= th.min_switches) & (n >= th.min_switch_rate * span)


def may_turn_shared(state: pa.Table, shared_before: np.ndarray, th: IdentityThresholds) -> np.ndarray:
    """Vessels not shared before whose jumps and consistency (or unknown consistency) would make them
    shared now: they are judged again whole."""
    c = {name: np.asarray(state.column(name).to_numpy(), np.int64) for name in SIDES}
    share = np.minimum(c["ok0"] / np.maximum(c["steps0"], 1), c["ok1"] / np.maximum(c["steps1"], 1))
    consistent = (c["steps0"] == UNKNOWN) | (share >= th.consistent_share)
    return enough_jumps(state, th) & ~shared_before & consistent


def _first_last(grp_of: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per vessel 0..n-1: the position in ``grp_of`` (sorted) of its first and last entry, -1 if none."""
    first, last = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    if len(grp_of):
        u, i = np.unique(grp_of, return_index=True)
        first[u] = i
        u, i = np.unique(grp_of[::-1], return_index=True)
        last[u] = len(grp_of) - 1 - i
    return first, last


def _before(at: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The row before the jump row ``at[k]`` (-1 where ``k`` is -1)."""
    return np.where(k >= 0, at[np.maximum(k, 0)] - 1, -1) if len(at) else k


def _pick(values: np.ndarray, at: np.ndarray, default: int) -> np.ndarray:
    """``values[at]`` where ``at >= 0``, else ``default``."""
    if len(values) == 0:
        return np.full(len(at), default, np.int64)
    return np.where(at >= 0, values[np.maximum(at, 0)], default).astype(np.int64)


def empty_state(n: int) -> pa.Table:
    """``n`` rows of "no state yet" (no fixes, no jumps)."""
    zeros, none = np.zeros(n, np.int64), np.full(n, NONE, np.int64)
    cols: dict[str, np.ndarray] = {f.name: zeros for f in VESSELS} | {
        "first_jump": none,
        "last_jump": none,
        "run_from_us": none,
    }
    cols |= {"last_lat": np.zeros(n), "last_lon": np.zeros(n), "shared": np.zeros(n, bool)}
    return pa.table(cols, schema=VESSELS)


__all__ = [
    "NONE",
    "UNKNOWN",
    "VESSELS",
    "Rows",
    "empty_state",
    "enough_jumps",
    "groups",
    "may_turn_shared",
    "summarise",
]
