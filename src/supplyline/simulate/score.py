"""score(truth, detected): precision and recall of detected events against a simulation's ground truth.

Matching is one-to-one. A detected port visit matches a true one of the same MMSI and place whose time
span overlaps it; a detected voyage matches a true one with the same MMSI, origin and destination whose
span overlaps it; a detected dark gap matches a true silence of the same MMSI that it overlaps. Among
candidates, the pairs with the largest overlap are taken first (greedy), so each event counts once.
Shared by the tests, bench/sim_recall.py and docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# event -> (columns that must be equal, start column, end column)
KEYS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "visits": (("mmsi", "place_id"), "arrival_ts", "departure_ts"),
    "voyages": (("mmsi", "origin_id", "destination_id"), "departure_ts", "arrival_ts"),
    "dark": (("mmsi",), "start_ts", "end_ts"),
}
DETECTED_NAME = {"visits": "visits", "voyages": "voyages", "dark": "gaps"}


@dataclass(frozen=True)
class Score:
    """Counts and rates for one event kind; ``timing_error_h`` = median |start difference| of matches."""

    truth: int
    detected: int
    matched: int
    timing_error_h: float

    @property
    def precision(self) -> float:
        return self.matched / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    def as_dict(self) -> dict[str, float]:
        return {
            "truth": self.truth,
            "detected": self.detected,
            "matched": self.matched,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "timing_error_h": round(self.timing_error_h, 3),
        }


def _spans(t: pa.Table, start: str, end: str) -> tuple[np.ndarray, np.ndarray]:
    """Start/end as int64 microseconds; a missing end (still open) counts as +infinity."""
    a = t.column(start).cast(pa.int64()).fill_null(np.iinfo(np.int64).min).to_numpy()
    b = t.column(end).cast(pa.int64()).fill_null(np.iinfo(np.int64).max).to_numpy()
    return a, b


def match(truth: pa.Table, detected: pa.Table, keys: tuple[str, ...], start: str, end: str) -> Score:
    """One-to-one matching of ``detected`` to ``truth`` rows: equal ``keys``, overlapping [start, end]."""
    if truth.num_rows == 0 or detected.num_rows == 0:
        return Score(truth.num_rows, detected.num_rows, 0, float("nan"))
    ta, tb = _spans(truth, start, end)
    da, db = _spans(detected, start, end)
    t = pa.table({**{k: truth.column(k) for k in keys}, "_t": pa.array(np.arange(truth.num_rows))})
    d = pa.table(
        {
            **{k: detected.column(k).cast(truth.schema.field(k).type) for k in keys},
            "_d": pa.array(np.arange(detected.num_rows)),
        }
    )
    pairs = t.join(d, list(keys), join_type="inner")
    ti = pairs.column("_t").to_numpy()
    di = pairs.column("_d").to_numpy()
    lo = np.maximum(ta[ti], da[di]).astype(np.float64)
    hi = np.minimum(tb[ti], db[di]).astype(np.float64)
    overlap = hi - lo
    ok = overlap >= 0
    ti, di, overlap = ti[ok], di[ok], overlap[ok]
    used_t = np.zeros(truth.num_rows, dtype=bool)
    used_d = np.zeros(detected.num_rows, dtype=bool)
    errors = []
    for k in np.argsort(-overlap, kind="stable").tolist():  # per candidate event pair, not per position
        i, j = int(ti[k]), int(di[k])
        if not used_t[i] and not used_d[j]:
            used_t[i] = used_d[j] = True
            if ta[i] > np.iinfo(np.int64).min and da[j] > np.iinfo(np.int64).min:
                errors.append(abs(float(ta[i]) - float(da[j])) / 3.6e9)
    return Score(
        truth.num_rows,
        detected.num_rows,
        int(used_t.sum()),
        float(np.median(errors)) if errors else float("nan"),
    )


def score(
    truth: Mapping[str, pa.Table],
    detected: Mapping[str, pa.Table],
    kinds: tuple[str, ...] = ("visits", "voyages"),
) -> dict[str, Score]:
    """Precision/recall per event kind: ``truth`` = SimResult.truth, ``detected`` = detector output tables.

    Visits that were already under way when the simulation started (``open`` in the truth and the first of
    a ship) are compared like any other: a detector sees them from the first position on.
    """
    out = {}
    for kind in kinds:
        keys, start, end = KEYS[kind]
        out[kind] = match(truth[kind], detected[DETECTED_NAME[kind]], keys, start, end)
    return out
