"""Vectorised building blocks shared by the kernels: forward fills, run reductions, time units.

Everything works on flat NumPy arrays where groups (vessels, tracks, runs) are contiguous and marked by a
boolean "starts here" mask, so no kernel needs a per-point Python loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.geo import EARTH_RADIUS_KM, KM_PER_NM, haversine_km
from supplyline.schema import TS

US_PER_H = 3_600_000_000
"""Microseconds per hour (kernel times are int64 microseconds since the epoch)."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def ts_us(column: pa.ChunkedArray | pa.Array) -> IntArray:
    """A timestamp column as int64 microseconds since the epoch (what every kernel computes with)."""
    if pa.types.is_timestamp(column.type) and column.type.unit != "us":
        column = pc.cast(column, pa.timestamp("us", tz=column.type.tz))
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def to_ts(us: IntArray) -> pa.Array:
    """int64 microseconds back to the store's ``timestamp[us, UTC]``."""
    return pa.array(np.asarray(us, dtype=np.int64), pa.int64()).cast(TS)


def floats(column: pa.ChunkedArray | pa.Array) -> FloatArray:
    """A numeric column as float64 with nulls as NaN."""
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def group_starts(keys: npt.NDArray[np.generic]) -> BoolArray:
    """True where a new group of equal consecutive ``keys`` begins (first element always True)."""
    out = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        out[1:] = keys[1:] != keys[:-1]
    return out


def _carried_index(mask: BoolArray, before: int) -> IntArray:
    """For every element, the index of the latest True in ``mask`` at or before it (``before`` if none):
    np.repeat over the True positions, a few times cheaper than a maximum.accumulate of an index array
    over every element when the Trues are sparse or come in runs."""
    n = len(mask)
    at = np.flatnonzero(mask)
    out = np.empty(n, dtype=np.int64)
    head = int(at[0]) if len(at) else n
    out[:head] = before
    out[head:] = np.repeat(at, np.diff(at, append=n))
    return out


def start_index(starts: BoolArray) -> IntArray:
    """For every element, the index where its group (as marked by ``starts``) begins (0 before the first)."""
    return _carried_index(starts, 0)


def last_true_index(mask: BoolArray) -> IntArray:
    """For every element, the index of the latest True in ``mask`` at or before it (-1 if none)."""
    return _carried_index(mask, -1)


def first_true_after(mask: BoolArray, rows: IntArray) -> IntArray:
    """For each of ``rows``, the index of the earliest True in ``mask`` at or after it (len(mask) if none)."""
    at = np.append(np.flatnonzero(mask), len(mask))
    return np.asarray(at[np.searchsorted(at[:-1], rows, side="left")], dtype=np.int64)


def carry_forward(values: npt.NDArray[Any], marks: BoolArray, before: Any) -> npt.NDArray[Any]:
    """``values`` carried forward from marked rows: out[i] = values[j] for the latest j <= i with
    ``marks[j]`` (``before`` where there is none). Built from the runs of equal carried values, so the
    cost is one pass over ``marks`` plus the number of value changes, not a gather over every row."""
    n = len(marks)
    at = np.flatnonzero(marks)
    v = values[at]
    if len(at) == 0 or at[0] > 0:
        at = np.concatenate((np.zeros(1, np.int64), at))
        v = np.concatenate((np.asarray([before], dtype=values.dtype), v))
    change = np.empty(len(v), dtype=bool)
    change[0] = True
    np.not_equal(v[1:], v[:-1], out=change[1:])
    at, v = at[change], v[change]
    return np.repeat(v, np.diff(at, append=n))


def prev_diff(values: IntArray, starts: BoolArray, fill: int = 0) -> IntArray:
    """``values[i] - values[i-1]`` inside each group, ``fill`` at group starts."""
    out = np.empty_like(values)
    if len(values):
        out[0] = fill
        out[1:] = values[1:] - values[:-1]
        out[starts] = fill
    return out


def run_bounds(mask: BoolArray, starts: BoolArray) -> tuple[IntArray, IntArray]:
    """(first, last) inclusive indices of the maximal runs of True in ``mask`` that do not cross a group
    start (a True at a group start begins a new run)."""
    n = len(mask)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    prev = np.zeros(n, dtype=bool)
    prev[1:] = mask[:-1]
    begin = mask & (~prev | starts)
    nxt_begins = np.zeros(n, dtype=bool)
    nxt_begins[:-1] = starts[1:] | ~mask[1:]
    nxt_begins[-1] = True
    end = mask & nxt_begins
    return np.flatnonzero(begin).astype(np.int64), np.flatnonzero(end).astype(np.int64)


def run_reduce(
    ufunc: np.ufunc, values: npt.NDArray[Any], first: IntArray, last: IntArray
) -> npt.NDArray[Any]:
    """``ufunc.reduce(values[first[k]:last[k]+1])`` for every run k (runs sorted, non-overlapping, non-empty)."""
    if len(first) == 0:
        return np.empty(0, dtype=values.dtype)
    bounds = np.empty(2 * len(first), dtype=np.int64)
    bounds[0::2] = first
    bounds[1::2] = last + 1
    if bounds[-1] == len(values):  # reduceat's last segment runs to the end of the array anyway
        bounds = bounds[:-1]
    return np.asarray(ufunc.reduceat(values, bounds)[0::2])


def interval_sum(values: FloatArray, first: IntArray, stop: IntArray) -> FloatArray:
    """``values[first[k]:stop[k]].sum()`` for sorted, non-overlapping, possibly empty intervals.

    Each sum sees only its own slice (no global prefix sum), so the result does not depend on what else
    is in the shard: both engines get bit-identical answers.
    """
    out = np.zeros(len(first), dtype=np.float64)
    ne = stop > first
    if ne.any():
        out[ne] = run_reduce(np.add, values, first[ne], stop[ne] - 1)
    return out


EXACT_BEYOND_KM = 5.0
"""Steps longer than this are measured with geo.haversine_km; shorter ones with the local flat-Earth form."""


def wrapped_dlon(dlon: FloatArray) -> FloatArray:
    """``(dlon + 180) % 360 - 180``: a longitude difference in [-180, 180) degrees, bit for bit, with the
    costly float remainder only where it is not a no-op (|dlon| >= 180: steps across the antimeridian)."""
    t = dlon + 180.0
    wrap = np.flatnonzero((t < 0.0) | (t >= 360.0))
    if len(wrap):
        t[wrap] = np.remainder(t[wrap], 360.0)
    t -= 180.0
    return t


def step_km(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Great-circle distance in km from each row to the next (length n - 1), for the hot path.

    AIS steps are short (a few hundred metres), where the equirectangular form around the mean latitude
    agrees with :func:`supplyline.geo.haversine_km` to better than 5 mm up to 5 km, at one cosine per step
    instead of eight transcendental functions; longer steps (gaps, jumps) are recomputed with
    ``haversine_km``. Longitude differences are wrapped, so the antimeridian is safe.
    """
    if len(lat) < 2:
        return np.empty(0)
    p = np.radians(lat)
    dlon = np.radians(wrapped_dlon(lon[1:] - lon[:-1]))
    x = dlon * np.cos(0.5 * (p[1:] + p[:-1]))
    y = p[1:] - p[:-1]
    d = EARTH_RADIUS_KM * np.sqrt(x * x + y * y)
    far = np.flatnonzero(d > EXACT_BEYOND_KM)
    if len(far):
        d[far] = haversine_km(lat[far], lon[far], lat[far + 1], lon[far + 1])
    return np.asarray(d, dtype=np.float64)


def speed_kn(step_km: FloatArray, dt_us: IntArray) -> FloatArray:
    """Implied speed in knots of each step (NaN where no time passed)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = step_km / KM_PER_NM / (dt_us / US_PER_H)
    v[dt_us <= 0] = np.nan
    return np.asarray(v, dtype=np.float64)


def circular_mean_lon(lon: FloatArray, first: IntArray, last: IntArray) -> FloatArray:
    """Mean longitude of each run, antimeridian-safe (mean of unit vectors)."""
    r = np.radians(lon)
    s = run_reduce(np.add, np.sin(r), first, last)
    c = run_reduce(np.add, np.cos(r), first, last)
    return np.asarray(np.degrees(np.arctan2(s, c)), dtype=np.float64)
