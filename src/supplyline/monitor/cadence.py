"""Departure cadence per watched route, and halts: how improbable is the current silence?

Model. Departures on a route are an inhomogeneous Poisson process with intensity
``lambda(t) = r * w(hour_of_day(t))``: ``w`` is a daily profile (24 hourly weights, mean 1) learned from the
hours of the departures in the learning window, so a timetable that thins out at night does not look like a
halt at 02:00; ``r`` (departures per hour) is learned from the same window, which ends at the last departure
(the cadence *before* the silence) and spans ``window_days`` back (clipped at the start of the data).

The rate is uncertain when the window holds few departures (a shuttle of 4 ships makes ~1 departure a week),
so the probability of a silence uses the Gamma posterior of ``r`` (shape n = departures in the window, rate
E = window exposure in profile-weighted hours), whose predictive probability of no departure during an
effective silence tau is ``P = (E / (E + tau))^n`` — more cautious than ``exp(-r*tau)`` for small n, equal to it
for large n. A halt is declared at the exact data time T* where P falls to ``halt_p`` (solved in closed form),
if no departure came before T*; the next departure is the resumption. ``replay_days`` gives the same
quantity as of the end of each day (the daily "as of" view the monitor and the report show).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.errors import UsageError

_US_PER_H = 3_600_000_000.0
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class CadenceConfig:
    """Halt-detection settings (units in names). Defaults suit daily-or-faster cadences; see docs/monitor.md."""

    window_days: float = (
        84.0  # learning window before the last departure (a quarter: ~17 departures of a 5-day shuttle)
    )
    halt_p: float = 0.01  # declare a halt when P(silence this long | cadence) falls below this
    daily_cycle: bool = True  # learn an hour-of-day profile (False: homogeneous Poisson)
    min_departures: int = 5  # no verdict with fewer departures in the window
    min_history_days: float = 1.0  # nor with less history than this
    profile_pseudocount: float = 1.0  # per hourly bin, shrinks the profile towards flat when data are few

    def __post_init__(self) -> None:
        if not 0.0 < self.halt_p < 1.0:
            raise UsageError(f"halt probability must be between 0 and 1 (got {self.halt_p}); e.g. 0.01")
        if self.window_days <= 0 or self.min_history_days < 0:
            raise UsageError("window_days must be > 0 and min_history_days >= 0")
        if self.min_departures < 1 or self.profile_pseudocount <= 0:
            raise UsageError("min_departures must be >= 1 and profile_pseudocount > 0")


HALTS = pa.schema(
    [
        pa.field("last_departure_ts", TS),
        pa.field("halt_ts", TS),  # when P(silence) fell to halt_p (data time)
        pa.field("resume_ts", TS),  # next departure, null if the silence lasts to the end of the data
        pa.field("resume_index", pa.int64()),  # row of the resuming departure in the input, null if none
        pa.field("p_at_halt", pa.float64()),
        pa.field("p_at_resume", pa.float64()),  # P of the whole silence, null if not resumed
        pa.field("rate_per_day", pa.float64()),  # learned mean departures per day before the silence
        pa.field("n_window", pa.int64()),
        pa.field(
            "expected_at_halt", pa.float64()
        ),  # departures the cadence expected in the silence by halt_ts
        pa.field("silence_h", pa.float64()),  # to the resumption, or to the end of the data
    ]
)


def _hours(ts: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    if isinstance(ts, np.ndarray):
        return ts.astype("datetime64[us]").astype(np.int64) / _US_PER_H
    return np.asarray(pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64) / _US_PER_H


def _to_ts(hours: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    us = np.round(hours * _US_PER_H).astype(np.int64)
    mask = None if valid is None else ~valid
    return pa.array(us, pa.int64(), mask=mask).cast(TS)


class _Profiles:
    """Per-departure learned state: window counts, hourly profiles and the cumulative intensity F."""

    def __init__(self, t: np.ndarray, start_h: float, cfg: CadenceConfig) -> None:
        n_dep = len(t)
        ws = np.maximum(t - 24.0 * cfg.window_days, start_h)
        first = np.searchsorted(t, ws, side="right")  # departures strictly after the window start
        idx = np.arange(n_dep)
        self.n = (idx + 1 - first).astype(np.float64)
        self.history_h = t - ws
        if cfg.daily_cycle:
            hour = np.floor(np.mod(t, 24.0)).astype(np.int64)
            onehot = np.zeros((n_dep + 1, 24))
            onehot[idx + 1, hour] = 1.0
            cum = np.cumsum(onehot, axis=0)
            counts = cum[idx + 1] - cum[first]
            a = cfg.profile_pseudocount
            self.w = 24.0 * (counts + a) / (self.n[:, None] + 24.0 * a)
        else:
            self.w = np.ones((n_dep, 24))
        self.cum = np.concatenate([np.zeros((n_dep, 1)), np.cumsum(self.w, axis=1)], axis=1)  # (n, 25)
        self.exposure = self.F(np.arange(n_dep), t) - self.F(np.arange(n_dep), ws)

    def F(self, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Profile-weighted hours from the epoch to ``t`` (hours) under row ``rows``'s profile."""
        day = np.floor(t / 24.0)
        x = t - 24.0 * day
        k = np.minimum(np.floor(x).astype(np.int64), 23)
        return 24.0 * day + self.cum[rows, k] + self.w[rows, k] * (x - k)

    def F_inv(self, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`F` (the profile is positive, so F is strictly increasing)."""
        day = np.floor(y / 24.0)
        z = y - 24.0 * day
        cum = self.cum[rows]
        k = np.clip((cum[:, 1:] <= z[:, None]).sum(axis=1), 0, 23)
        return 24.0 * day + k + (z - cum[np.arange(len(rows)), k]) / self.w[rows, k]


def _prepare(
    departures: pa.Array | pa.ChunkedArray | np.ndarray, start: object | None
) -> tuple[np.ndarray, float]:
    t = _hours(departures)
    if np.any(np.isnan(t)):
        raise UsageError("departure times must not be null")
    order = np.argsort(t, kind="stable")
    t = t[order]
    first = float(t[0]) if len(t) else 0.0
    start_h = first if start is None else float(_hours(pa.array([start], TS))[0])
    return t, start_h


def silence_probability(n: np.ndarray, exposure_h: np.ndarray, silence_eff_h: np.ndarray) -> np.ndarray:
    """Posterior-predictive P(no departure in an effective silence), Gamma(n, exposure) on the rate."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(exposure_h > 0, (exposure_h / (exposure_h + silence_eff_h)) ** n, 1.0)


def find_halts(
    departures: pa.Array | pa.ChunkedArray | np.ndarray,
    end: object,
    cfg: CadenceConfig | None = None,
    start: object | None = None,
) -> pa.Table:
    """Every halt in a route's departure history up to ``end`` (data time), with its resumption.

    ``departures`` are departure timestamps (any order); ``start`` is when observation began (default: the
    first departure), ``end`` the end of the data. Returns ``HALTS`` rows, one per silence that crossed
    ``halt_p``; ``resume_index`` refers to the sorted order of ``departures``.
    """
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, start)
    end_h = float(_hours(pa.array([end], TS))[0])
    t = t[t <= end_h]
    if len(t) == 0:
        return HALTS.empty_table()
    prof = _Profiles(t, start_h, cfg)
    rows = np.arange(len(t))
    nxt = np.append(t[1:], end_h)
    eligible = (prof.n >= cfg.min_departures) & (prof.history_h >= 24.0 * cfg.min_history_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_star = prof.exposure * (cfg.halt_p ** (-1.0 / prof.n) - 1.0)
    t_star = prof.F_inv(rows, prof.F(rows, t) + tau_star)
    halted = eligible & (t_star < nxt) & (t_star <= end_h)
    i = np.flatnonzero(halted)
    resumed = i + 1 < len(t)
    p_resume = silence_probability(prof.n[i], prof.exposure[i], prof.F(i, nxt[i]) - prof.F(i, t[i]))
    return pa.table(
        {
            "last_departure_ts": _to_ts(t[i]),
            "halt_ts": _to_ts(t_star[i]),
            "resume_ts": _to_ts(nxt[i], resumed),
            "resume_index": pa.array(np.where(resumed, i + 1, 0), pa.int64(), mask=~resumed),
            "p_at_halt": pa.array(np.full(len(i), cfg.halt_p)),
            "p_at_resume": pa.array(p_resume, pa.float64(), mask=~resumed),
            "rate_per_day": pa.array(24.0 * prof.n[i] / np.maximum(prof.history_h[i], 1e-9)),
            "n_window": pa.array(prof.n[i].astype(np.int64)),
            "expected_at_halt": pa.array(prof.n[i] * tau_star[i] / prof.exposure[i]),
            "silence_h": pa.array(nxt[i] - t[i]),
        },
        schema=HALTS,
    )


REPLAY = pa.schema(
    [
        pa.field("as_of", TS),
        pa.field("last_departure_ts", TS),
        pa.field("silence_h", pa.float64()),
        pa.field("expected_departures", pa.float64()),  # E[departures] in the silence under the cadence
        pa.field("rate_per_day", pa.float64()),
        pa.field("p_silence", pa.float64()),  # null before enough history
        pa.field("halted", pa.bool_()),
    ]
)


def replay_days(
    departures: pa.Array | pa.ChunkedArray | np.ndarray,
    as_of: pa.Array | pa.ChunkedArray | np.ndarray,
    cfg: CadenceConfig | None = None,
    start: object | None = None,
) -> pa.Table:
    """The cadence state as of each time in ``as_of`` (e.g. each day's end), using only departures up to it."""
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, start)
    q = _hours(as_of)
    k = np.searchsorted(t, q, side="right") - 1  # last departure at or before each as-of time
    known = k >= 0
    out_p = np.full(len(q), np.nan)
    silence = np.full(len(q), np.nan)
    expected = np.full(len(q), np.nan)
    rate = np.full(len(q), np.nan)
    if len(t):
        prof = _Profiles(t, start_h, cfg)
        kk = np.where(known, k, 0)
        eff = prof.F(kk, q) - prof.F(kk, t[kk])
        ok = known & (prof.n[kk] >= cfg.min_departures) & (prof.history_h[kk] >= 24.0 * cfg.min_history_days)
        out_p = np.where(ok, silence_probability(prof.n[kk], prof.exposure[kk], eff), np.nan)
        silence = np.where(known, q - t[kk], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.where(ok, prof.n[kk] * eff / prof.exposure[kk], np.nan)
        rate = np.where(ok, 24.0 * prof.n[kk] / np.maximum(prof.history_h[kk], 1e-9), np.nan)
    valid = ~np.isnan(out_p)
    return pa.table(
        {
            "as_of": _to_ts(q),
            "last_departure_ts": _to_ts(np.where(known, t[np.maximum(k, 0)] if len(t) else 0.0, 0.0), known),
            "silence_h": pa.array(silence, pa.float64(), mask=~known),
            "expected_departures": pa.array(expected, pa.float64(), mask=~valid),
            "rate_per_day": pa.array(rate, pa.float64(), mask=~valid),
            "p_silence": pa.array(out_p, pa.float64(), mask=~valid),
            "halted": pa.array(valid & (out_p < cfg.halt_p)),
        },
        schema=REPLAY,
    )


def daily_profile(
    departures: pa.Array | pa.ChunkedArray | np.ndarray, cfg: CadenceConfig | None = None
) -> np.ndarray:
    """The learned 24-hour profile (mean 1, UTC hours) as of the last departure, for docs and reports."""
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, None)
    if len(t) == 0:
        return np.ones(24)
    return _Profiles(t, start_h, cfg).w[-1].copy()
