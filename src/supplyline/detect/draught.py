"""Draught from static reports: the draught in force at any time, and changes (laden / ballast).

AIS draught (message 5 / 24) is typed in by the crew in 0.1 m steps; a rise of at least
``draught_min_change_m`` means the vessel loaded (``laden``), a fall means it discharged (``ballast``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect._arrays import FloatArray, IntArray, floats, group_starts, to_ts, ts_us
from supplyline.detect.thresholds import Thresholds
from supplyline.ids import stable_ids


class DraughtReports:
    """Non-null, positive draught reports sorted by (mmsi, ts), with an as-of lookup."""

    def __init__(self, statics: pa.Table | None) -> None:
        if statics is None or statics.num_rows == 0 or "draught_m" not in statics.column_names:
            self.mmsi: IntArray = np.empty(0, np.int64)
            self.ts: IntArray = np.empty(0, np.int64)
            self.draught: FloatArray = np.empty(0, np.float64)
            return
        t = statics.select(["mmsi", "ts", "draught_m"])
        t = t.filter(pc.and_(pc.is_valid(t.column("draught_m")), pc.greater(t.column("draught_m"), 0)))
        t = t.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
        self.mmsi = np.asarray(t.column("mmsi").to_numpy(), dtype=np.int64)
        self.ts = ts_us(t.column("ts"))
        self.draught = floats(t.column("draught_m"))

    def asof(self, mmsi: IntArray, ts: IntArray) -> FloatArray:
        """The latest reported draught of ``mmsi`` at or before ``ts`` (NaN if none), element-wise."""
        out = np.full(len(mmsi), np.nan)
        if len(self.mmsi) == 0 or len(mmsi) == 0:
            return out
        lo = np.searchsorted(self.mmsi, mmsi, side="left")
        hi = np.searchsorted(self.mmsi, mmsi, side="right")
        # Binary search of ts inside each vessel's block: offset times by block so one searchsorted works.
        span = int(max(self.ts.max(), ts.max()) - min(self.ts.min(), ts.min())) + 1
        base = min(int(self.ts.min()), int(ts.min()))
        rank_s = np.cumsum(group_starts(self.mmsi)) - 1
        key_s = rank_s.astype(np.int64) * span + (self.ts - base)
        found = hi > lo
        rank_q = np.where(found, rank_s[np.minimum(lo, len(self.mmsi) - 1)], 0)
        key_q = rank_q.astype(np.int64) * span + (ts - base)
        pos = np.searchsorted(key_s, key_q, side="right") - 1
        ok = found & (pos >= lo)
        out[ok] = self.draught[pos[ok]]
        return out

    def changes(self, th: Thresholds) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """(mmsi, ts, before, after) of every change of at least ``draught_min_change_m``."""
        if len(self.mmsi) < 2:
            e = np.empty(0, np.int64)
            return e, e, np.empty(0), np.empty(0)
        same = self.mmsi[1:] == self.mmsi[:-1]
        delta = self.draught[1:] - self.draught[:-1]
        hit = same & (np.abs(delta) >= th.draught_min_change_m - 1e-6)
        i = np.flatnonzero(hit) + 1
        return self.mmsi[i], self.ts[i], self.draught[i - 1], self.draught[i]


def draught_changes_table(
    reports: DraughtReports, th: Thresholds, place_at: Sequence[str | None] | None = None
) -> pa.Table:
    """The draught_changes table; ``place_at`` gives the place id (or None) for each change, in order."""
    mmsi, ts, before, after = reports.changes(th)
    if len(mmsi) == 0:
        return schema.empty(schema.DRAUGHT_CHANGES)
    change = (after - before).astype(np.float32)
    state = np.where(change > 0, "laden", "ballast")
    places = [None] * len(mmsi) if place_at is None else list(place_at)
    return pa.table(
        {
            "change_id": stable_ids("draught", mmsi, ts),
            "mmsi": pa.array(mmsi, pa.int64()),
            "ts": to_ts(ts),
            "draught_before_m": pa.array(before.astype(np.float32)),
            "draught_after_m": pa.array(after.astype(np.float32)),
            "change_m": pa.array(change),
            "place_id": pa.array(places, pa.string()),
            "state": pa.array(state.tolist(), pa.string()),
        },
        schema=schema.DRAUGHT_CHANGES,
    )
