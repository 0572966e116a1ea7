"""Departure cadence per watched route, and halts: how improbable is the current silence?

Clock. Silences and intervals are measured on an *operational clock*: calendar hours weighted by a daily
profile ``w(hour_of_day)`` (24 hourly weights, mean 1, learned from the hours of the departures in the
learning window, so a timetable that thins out at night does not look like a halt at 02:00), and, when the
route fleet's position times are given, counting only time when the fleet was being received (a stretch with
no position from any of the route's vessels is no evidence of a halt). Each stretch between two departures
is weighted by the profile learned as of the departure that starts it, so the clock is causal.

Models (``CadenceConfig.model``):

* ``renewal`` (default): inter-departure intervals on that clock are Gamma(k, beta). The shape k is the
  maximum-likelihood estimate over the intervals of the learning window (Minka's closed form), clipped to
  ``[min_shape, max_shape]`` -- the upper clip is a floor on the dispersion, so a near-perfect timetable is
  not trusted to the minute; the rate beta has its conjugate posterior Gamma(n k, S) (n intervals summing to
  S), whose predictive probability of no departure during a silence u is the regularized incomplete beta
  ``P = I_{S/(S+u)}(n k, k)``. For k = 1 this is ``(S/(S+u))^n``: the Poisson answer. With fewer than
  ``min_intervals`` intervals in the window the model falls back to Poisson.
* ``poisson``: departures a Poisson process on the operational clock with the Gamma(n, E) posterior of its
  rate (n departures in the window, E its operational exposure): ``P = (E / (E + u))^n``.

A halt is declared at the exact data time T* where P falls to ``halt_p`` (solved in closed form and by
inverting the clock), if no departure came before T*; the next departure is the resumption.
``replay_days`` gives the same quantity as of any times (e.g. each day's end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.errors import UsageError
from supplyline.schema import TS

_US_PER_H = 3_600_000_000.0
Times: TypeAlias = pa.Array | pa.ChunkedArray | np.ndarray


@dataclass(frozen=True)
class CadenceConfig:
    """Halt-detection settings (units in names); see docs/monitor.md for how to choose them."""

    window_days: float = 84.0  # learning window before the last departure (~17 departures of a 5-day shuttle)
    halt_p: float = 0.01  # declare a halt when P(silence this long | cadence) falls below this
    daily_cycle: bool = True  # learn an hour-of-day profile (False: a flat clock)
    model: Literal["renewal", "poisson"] = "renewal"
    min_departures: int = 5  # no verdict with fewer departures in the window
    min_history_days: float = 1.0  # nor with less history than this
    min_intervals: int = 8  # renewal needs this many intervals in the window, else Poisson
    min_shape: float = 0.5  # Gamma shape clip: below 1 = bursty departures, a heavier tail (more cautious)
    max_shape: float = 4.0  # dispersion floor: intervals' coefficient of variation >= 1/sqrt(4) = 0.5
    min_interval_h: float = 0.05  # operational hours; simultaneous departures would give log(0)
    reception_gap_h: float = 1.0  # after a fleet position, the route counts as received for this long
    profile_pseudocount: float = 1.0  # per hourly bin, shrinks the profile towards flat when data are few
    # halt_p is a false-alarm budget per silence *and* per route-day: a route with more than one departure a
    # day examines many silences a day, so each is judged at halt_p x (mean interval / 24 h) (False: per silence)
    halt_p_per_day: bool = True
    # a verdict on a weekend (Sat/Sun, UTC) needs 24 h of weekend in the learning window, one on a weekday 24 h
    # of weekdays: a timetable learned on weekdays says nothing about the weekend's
    day_types: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.halt_p < 1.0:
            raise UsageError(f"halt probability must be between 0 and 1 (got {self.halt_p}); e.g. 0.01")
        if self.window_days <= 0 or self.min_history_days < 0:
            raise UsageError("window_days must be > 0 and min_history_days >= 0")
        if self.min_departures < 1 or self.profile_pseudocount <= 0 or self.min_intervals < 2:
            raise UsageError("min_departures must be >= 1, min_intervals >= 2 and profile_pseudocount > 0")
        if self.model not in ("renewal", "poisson"):
            raise UsageError(f"cadence model must be 'renewal' or 'poisson' (got {self.model!r})")
        if not 0 < self.min_shape <= self.max_shape or self.min_interval_h <= 0 or self.reception_gap_h <= 0:
            raise UsageError("need 0 < min_shape <= max_shape, min_interval_h > 0 and reception_gap_h > 0")


HALTS = pa.schema(
    [
        pa.field("last_departure_ts", TS),
        pa.field("halt_ts", TS),  # when P(silence) fell to halt_p (data time)
        pa.field("resume_ts", TS),  # next departure, null if the silence lasts to the end of the data
        pa.field("resume_index", pa.int64()),  # row of the resuming departure in the input, null if none
        pa.field("p_at_halt", pa.float64()),  # P(silence) computed at halt_ts (<= threshold)
        pa.field("threshold", pa.float64()),  # the per-silence threshold (halt_p, or per route-day)
        pa.field("p_at_resume", pa.float64()),  # P of the whole silence, null if not resumed
        pa.field("rate_per_day", pa.float64()),  # learned mean departures per day before the silence
        pa.field("n_window", pa.int64()),  # departures in the learning window
        pa.field(
            "expected_at_halt", pa.float64()
        ),  # departures the cadence expected in the silence by halt_ts
        pa.field("silence_h", pa.float64()),  # to the resumption, or to the end of the data
        pa.field("model", pa.string()),  # "renewal (gamma)" or "poisson"
        pa.field("shape", pa.float64()),  # Gamma shape of the intervals (1 = Poisson)
        pa.field("operational_h_at_halt", pa.float64()),  # the silence on the operational clock
    ]
)


def _hours(ts: Times) -> np.ndarray:
    if isinstance(ts, np.ndarray):
        return ts.astype("datetime64[us]").astype(np.int64) / _US_PER_H
    return np.asarray(pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64) / _US_PER_H


def _to_ts(hours: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    us = np.round(np.where(np.isfinite(hours), hours, 0.0) * _US_PER_H).astype(np.int64)
    mask = None if valid is None else ~valid
    return pa.array(us, pa.int64(), mask=mask).cast(TS)


def _scalar_h(t: object) -> float:
    return float(_hours(pa.array([t], TS))[0])


class _Clock:
    """Per-departure learned state and the operational clock Theta(t) (hours).

    Profile row 0 is flat (the stretch before the first departure); row i + 1 is learned as of departure i
    and weights the stretch from departure i to the next.

    Fleet share. A route's departures are the sum of its vessels' departures. Each vessel v has its own
    share of the route's profile, ``w_v(h) = 24 (c_v(h) + a pi_v) / (n + 24 a)`` (c_v(h): its departures
    at hour h in the window, pi_v its share of them), and the shares add up to the route profile ``w``. A
    stretch counts with the shares of the vessels *received* in it: while only a vessel that never sails at
    night is heard, a night counts for almost nothing; while the vessel carrying the night service is out of
    the data, its share of the night does not count. With every vessel received (or one pseudo-vessel when
    departures carry no vessel), this is the route profile: the single-fleet clock.
    """

    def __init__(
        self,
        t: np.ndarray,
        start_h: float,
        horizon_h: float,
        cfg: CadenceConfig,
        rx: list[np.ndarray] | None,
        vessel: np.ndarray | None = None,
    ) -> None:
        n_dep = len(t)
        self.t = t
        self.vessel = np.zeros(n_dep, np.int64) if vessel is None else vessel
        ws = np.maximum(t - 24.0 * cfg.window_days, start_h)
        self.ws = ws
        self.first = np.searchsorted(t, ws, side="right")  # departures strictly after the window start
        idx = np.arange(n_dep)
        self.n = (idx + 1 - self.first).astype(np.float64)
        self.history_h = t - ws
        self.w = self._vessel_profile(cfg, None)
        self.cum = np.concatenate([np.zeros((n_dep + 1, 1)), np.cumsum(self.w, axis=1)], axis=1)
        self._pieces(start_h, max(horizon_h, float(t[-1]) if n_dep else start_h), cfg, rx)

    def _vessel_profile(self, cfg: CadenceConfig, mask: np.ndarray | None) -> np.ndarray:
        """Rows of the profile share of the departures in ``mask`` (None: all; the route profile)."""
        n_dep = len(self.t)
        idx = np.arange(n_dep)
        sel = np.ones(n_dep, bool) if mask is None else mask
        if not cfg.daily_cycle or not n_dep:
            share = np.ones(n_dep + 1)
            if n_dep and mask is not None:
                cum_v = np.concatenate([[0.0], np.cumsum(sel)])
                share[1:] = (cum_v[idx + 1] - cum_v[self.first]) / np.maximum(self.n, 1.0)
            return np.repeat(share[:, None], 24, axis=1)
        hour = np.floor(np.mod(self.t, 24.0)).astype(np.int64)
        onehot = np.zeros((n_dep + 1, 24))
        onehot[idx[sel] + 1, hour[sel]] = 1.0
        cum = np.cumsum(onehot, axis=0)
        counts = cum[idx + 1] - cum[self.first]
        a = cfg.profile_pseudocount
        pi = counts.sum(axis=1) / np.maximum(self.n, 1.0)
        w = np.ones((n_dep + 1, 24))
        w[1:] = 24.0 * (counts + a * pi[:, None]) / (self.n[:, None] + 24.0 * a)
        return w

    @staticmethod
    def _F(w: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
        day = np.floor(t / 24.0)
        x = t - 24.0 * day
        k = np.minimum(np.floor(x).astype(np.int64), 23)
        r = np.arange(len(t))
        return day * cum[:, 24] + cum[r, k] + w[r, k] * (x - k)

    @staticmethod
    def _F_inv(w: np.ndarray, cum: np.ndarray, y: np.ndarray) -> np.ndarray:
        day = np.floor(y / cum[:, 24])
        z = y - cum[:, 24] * day
        k = np.clip((cum[:, 1:] <= z[:, None]).sum(axis=1), 0, 23)
        r = np.arange(len(y))
        return 24.0 * day + k + (z - cum[r, k]) / w[r, k]

    def F(self, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Profile-weighted hours from the epoch to ``t`` under profile ``rows``."""
        return self._F(self.w[rows], self.cum[rows], t)

    def F_inv(self, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`F` (the profile is positive, so F is strictly increasing)."""
        return self._F_inv(self.w[rows], self.cum[rows], y)

    @staticmethod
    def _coverage(p: np.ndarray, lo: float, horizon_h: float, gap_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Received stretches: the union of [position, position + gap_h], clipped to [lo, horizon_h]."""
        p = np.sort(p[(p >= lo - gap_h) & (p <= horizon_h)])
        if len(p) == 0:
            return np.zeros(0), np.zeros(0)
        brk = np.flatnonzero(np.diff(p) > gap_h)
        c0, c1 = p[np.r_[0, brk + 1]], p[np.r_[brk, len(p) - 1]] + gap_h
        return np.maximum(c0, lo), np.minimum(c1, horizon_h)

    def _pieces(
        self, start_h: float, horizon_h: float, cfg: CadenceConfig, rx: list[np.ndarray] | None
    ) -> None:
        """Stretches where the received vessels and the profile row are constant, each with its weights."""
        lo = min(start_h, float(self.t[0])) if len(self.t) else start_h
        n_v = int(self.vessel.max()) + 1 if len(self.vessel) else 1
        cover = [
            (np.array([lo]), np.array([horizon_h]))
            if rx is None
            else self._coverage(rx[v] if v < len(rx) else np.zeros(0), lo, horizon_h, cfg.reception_gap_h)
            for v in range(n_v)
        ]
        edges = np.unique(np.concatenate([[lo, horizon_h], self.t, *[np.r_[c0, c1] for c0, c1 in cover]]))
        edges = edges[(edges >= lo) & (edges <= horizon_h)]
        left, right = edges[:-1], edges[1:]
        prow = np.searchsorted(self.t, left, side="right")  # departures at or before the piece
        w = np.zeros((len(left), 24))
        for v, (c0, c1) in enumerate(cover):
            k = np.searchsorted(c0, left, side="right") - 1
            inside = (k >= 0) & (left < c1[np.maximum(k, 0)]) if len(c0) else np.zeros(len(left), bool)
            if inside.any():
                wv = self.w if n_v == 1 else self._vessel_profile(cfg, self.vessel == v)
                w[inside] += wv[prow[inside]]
        keep = (right > left) & (w.sum(axis=1) > 1e-9)
        self.p0, self.p1, self.prow = left[keep], right[keep], prow[keep]
        self.pw = w[keep]
        self.pcum = np.concatenate([np.zeros((len(self.pw), 1)), np.cumsum(self.pw, axis=1)], axis=1)
        length = self._F(self.pw, self.pcum, self.p1) - self._F(self.pw, self.pcum, self.p0)
        self.c_end = np.cumsum(length)
        self.c_start = self.c_end - length

    def theta(self, t: np.ndarray) -> np.ndarray:
        """The operational clock at times ``t`` (hours; flat outside received stretches)."""
        if len(self.p0) == 0:
            return np.zeros(len(t))
        k = np.clip(np.searchsorted(self.p0, t, side="right") - 1, 0, None)
        inside = np.clip(t, self.p0[k], self.p1[k])
        pw, pc_ = self.pw[k], self.pcum[k]
        return np.where(
            t < self.p0[0],
            0.0,
            self.c_start[k] + self._F(pw, pc_, inside) - self._F(pw, pc_, self.p0[k]),
        )

    def theta_inv(self, y: np.ndarray) -> np.ndarray:
        """Earliest time at which the clock reaches ``y`` (inf beyond the last received stretch)."""
        if len(self.p0) == 0:
            return np.full(len(y), np.inf)
        k = np.searchsorted(self.c_end, y, side="left")
        ok = k < len(self.c_end)
        kk = np.minimum(k, len(self.c_end) - 1)
        pw, pc_ = self.pw[kk], self.pcum[kk]
        t = self._F_inv(pw, pc_, self._F(pw, pc_, self.p0[kk]) + (y - self.c_start[kk]))
        return np.where(ok, np.clip(t, self.p0[kk], self.p1[kk]), np.inf)


@dataclass
class _Fit:
    """Per-departure fitted cadence: the silence after departure i has P(u) = I_{S/(S+u)}(a, k)."""

    a: np.ndarray  # first beta parameter: n k (renewal) or n (Poisson)
    k: np.ndarray  # shape (1 for Poisson)
    S: np.ndarray  # operational hours: sum of intervals (renewal) or window exposure (Poisson)
    renewal: np.ndarray  # bool
    eligible: np.ndarray  # bool: enough departures and history for a verdict

    def p(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """P(no departure during an operational silence ``u`` after departure ``rows``)."""
        from scipy import special  # here, not at module level: scipy costs the CLI 0.15 s at start-up

        S = self.S[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(S > 0, S / (S + np.maximum(u, 0.0)), 1.0)
            return np.where(S > 0, special.betainc(self.a[rows], self.k[rows], z), 1.0)

    def u_at(self, rows: np.ndarray, p: float | np.ndarray) -> np.ndarray:
        """The operational silence at which P falls to ``p`` (closed form)."""
        from scipy import special

        with np.errstate(divide="ignore", invalid="ignore"):
            z = special.betaincinv(self.a[rows], self.k[rows], p)
            return self.S[rows] * (1.0 / z - 1.0)

    def expected(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Departures the cadence expected during ``u`` (u / mean interval)."""
        mean = np.where(
            self.renewal[rows], self.S[rows] / np.maximum(self.a[rows] / self.k[rows], 1e-12), 0.0
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.renewal[rows], u / mean, self.a[rows] * u / self.S[rows])


def _consistent_shape(
    k: np.ndarray, u: np.ndarray, f: np.ndarray, i: np.ndarray, n_int: np.ndarray, S: np.ndarray, k_min: float
) -> np.ndarray:
    """Lower the Gamma shape until the window's own longest interval is no surprise.

    A Gamma fit is dominated by the bulk of the intervals; a timetable with one long night gap a day, or a
    shuttle with an occasional week-long lull, has a heavier tail than the fit. The shape is lowered (a
    heavier tail, never a lighter one) until P(the longest of the n intervals >= the longest observed) >= 1/2
    under the plug-in fit, i.e. survival(longest) >= 1 - 2^(-1/n) (bisection, 20 steps).
    """
    if len(u) == 0:
        return k
    from scipy import special

    seg = np.zeros(len(k))  # the longest interval of each window (reduceat over [f, i) pairs)
    valid = n_int >= 1
    if valid.any():
        idx = np.flatnonzero(valid)
        bounds = np.stack([f[idx], i[idx]], axis=1).ravel()
        longest = np.maximum.reduceat(u, np.minimum(bounds, len(u) - 1))[::2]
        seg[idx] = longest
    with np.errstate(divide="ignore", invalid="ignore"):
        x = seg / (S / np.maximum(n_int, 1))  # longest interval in mean intervals
        need = 1.0 - 0.5 ** (1.0 / np.maximum(n_int, 1))

        def ok(kk: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return np.asarray(special.gammaincc(kk, kk * x[rows]) >= need[rows])

        bad = np.flatnonzero(valid & ~ok(k, np.arange(len(k))))  # only these need the bisection
        lo = np.full(len(bad), k_min)
        hi = k[bad]
        for _ in range(20):  # (max_shape - min_shape) / 2^20: ~4e-6 in shape
            mid = 0.5 * (lo + hi)
            m_ok = ok(mid, bad)
            lo = np.where(m_ok, mid, lo)
            hi = np.where(m_ok, hi, mid)
    out = k.copy()
    out[bad] = lo
    return out


def _fit(clock: _Clock, cfg: CadenceConfig) -> _Fit:
    t = clock.t
    n_dep = len(t)
    theta_t = clock.theta(t)
    u = np.maximum(np.diff(theta_t), cfg.min_interval_h)  # interval after departure j, for j < n - 1
    cum_u = np.concatenate([[0.0], np.cumsum(u)])
    cum_lnu = np.concatenate([[0.0], np.cumsum(np.log(u))])
    i = np.arange(n_dep)
    f = np.searchsorted(t, clock.ws, side="left")  # intervals (t_f, t_f+1] .. (t_i-1, t_i] lie in the window
    n_int = (i - f).astype(np.float64)
    S = cum_u[i] - cum_u[f]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.log(S / n_int) - (cum_lnu[i] - cum_lnu[f]) / n_int
        k_hat = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)  # Minka's gamma-shape MLE
    k_hat = np.where(s > 1e-12, k_hat, cfg.max_shape)
    renewal = (n_int >= cfg.min_intervals) & (cfg.model == "renewal")
    k = np.where(renewal, np.clip(np.nan_to_num(k_hat, nan=1.0), cfg.min_shape, cfg.max_shape), 1.0)
    k = np.where(renewal, _consistent_shape(k, u, f, i, n_int, S, cfg.min_shape), 1.0)
    exposure = theta_t - clock.theta(clock.ws)
    eligible = (clock.n >= cfg.min_departures) & (clock.history_h >= 24.0 * cfg.min_history_days)
    return _Fit(
        a=np.where(renewal, n_int * k, clock.n),
        k=k,
        S=np.where(renewal, S, exposure),
        renewal=renewal,
        eligible=eligible & np.where(renewal, S > 0, exposure > 0),
    )


def _weekend_h(t: np.ndarray) -> np.ndarray:
    """Weekend hours (Saturday and Sunday, UTC) from the epoch (a Thursday) to ``t`` (hours)."""
    d = t / 24.0 + 3.0  # days since Monday 29 Dec 1969
    week = np.floor(d / 7.0)
    return 24.0 * (2.0 * week + np.clip(d - 7.0 * week - 5.0, 0.0, 2.0))


def _is_weekend(t: np.ndarray) -> np.ndarray:
    return np.mod(np.floor(t / 24.0) + 3.0, 7.0) >= 5.0


def _known_day(clock: _Clock, rows: np.ndarray, t: np.ndarray, cfg: CadenceConfig) -> np.ndarray:
    """True where the day type of ``t`` (weekend or weekday) has >= 24 h in the window of departure ``rows``."""
    if not cfg.day_types:
        return np.ones(len(t), bool)
    lo, hi = clock.ws[rows], clock.t[rows]
    weekend = _weekend_h(hi) - _weekend_h(lo)
    weekday = (hi - lo) - weekend
    return np.where(_is_weekend(t), weekend >= 24.0, weekday >= 24.0)


def _next_day_type(t: np.ndarray) -> np.ndarray:
    """The start of the next stretch of the other day type: Monday 00:00 from a weekend, else Saturday 00:00."""
    d = t / 24.0 + 3.0
    week = np.floor(d / 7.0)
    nxt = np.where(_is_weekend(t), 7.0 * (week + 1.0), 7.0 * week + 5.0)
    return 24.0 * (nxt - 3.0)


def _on_known_days(clock: _Clock, rows: np.ndarray, t_star: np.ndarray, cfg: CadenceConfig) -> np.ndarray:
    """Halt times moved off day types the window has not seen (to the next known one; inf if none)."""
    out = t_star.copy()
    for _ in range(3):  # weekend -> Monday -> (weekdays unknown) Saturday: at most two moves
        fin = np.isfinite(out)
        unknown = fin & ~_known_day(clock, rows, np.where(fin, out, 0.0), cfg)
        if not unknown.any():
            return out
        out[unknown] = _next_day_type(out[unknown])
    out[np.isfinite(out) & ~_known_day(clock, rows, np.where(np.isfinite(out), out, 0.0), cfg)] = np.inf
    return out


def _thresholds(clock: _Clock, rows: np.ndarray, cfg: CadenceConfig) -> np.ndarray:
    """The per-silence P threshold after each departure (see ``CadenceConfig.halt_p_per_day``)."""
    if not cfg.halt_p_per_day:
        return np.full(len(rows), cfg.halt_p)
    mean_interval_h = clock.history_h[rows] / np.maximum(clock.n[rows], 1.0)
    return cfg.halt_p * np.clip(mean_interval_h / 24.0, 0.0, 1.0)


def _prepare(departures: Times, start: object | None) -> tuple[np.ndarray, float]:
    t = _hours(departures)
    if np.any(np.isnan(t)):
        raise UsageError("departure times must not be null")
    t = np.sort(t, kind="stable")
    first = float(t[0]) if len(t) else 0.0
    start_h = first if start is None else _scalar_h(start)
    return t, start_h


def _fleet(
    departures: Times, vessels: Times | None, received: Times | pa.Table | None
) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    """Vessel code of each departure (in sorted departure order) and the received hours of each vessel.

    ``received`` is position times of the whole fleet (one pseudo-vessel) or a table (mmsi, ts) per vessel;
    with ``vessels`` (the MMSI of each departure) each vessel's share of the profile counts only while that
    vessel is received. Without ``vessels``, every departure is the one pseudo-vessel's.
    """
    rx_m: np.ndarray | None = None
    rx_h = np.zeros(0)
    if isinstance(received, pa.Table):
        rx_m = np.asarray(received["mmsi"].to_numpy(zero_copy_only=False), dtype=np.int64)
        rx_h = _hours(received["ts"])
    elif received is not None:
        rx_h = _hours(received)
    ok = ~np.isnan(rx_h)
    if vessels is None:
        return None, None if received is None else [rx_h[ok]]
    mm = vessels if isinstance(vessels, np.ndarray) else pa.array(vessels).to_numpy(zero_copy_only=False)
    order = np.argsort(_hours(departures), kind="stable")
    ids, code = np.unique(np.asarray(mm, dtype=np.int64)[order], return_inverse=True)
    if received is None:
        return code, None
    return code, [rx_h[ok & (rx_m == m)] if rx_m is not None else rx_h[ok] for m in ids]


def _model_names(fit: _Fit, rows: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    names = np.where(fit.renewal[rows], "renewal (gamma)", "poisson")
    return pa.array(names, pa.string(), mask=None if valid is None else ~valid)


def find_halts(
    departures: Times,
    end: object,
    cfg: CadenceConfig | None = None,
    start: object | None = None,
    received: Times | pa.Table | None = None,
    vessels: Times | None = None,
) -> pa.Table:
    """Every halt in a route's departure history up to ``end`` (data time), with its resumption.

    ``departures`` are departure timestamps (any order); ``start`` is when observation began (default: the
    first departure), ``end`` the end of the data; ``received`` the position times of the route's fleet
    (None: always received), or a table (mmsi, ts) with ``vessels`` the MMSI of each departure, so each
    vessel's share of the cadence counts only while it is received (see :class:`_Clock`). Returns ``HALTS`` rows, one per silence that crossed ``halt_p``;
    ``resume_index`` refers to the sorted order of ``departures``.
    """
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, start)
    end_h = _scalar_h(end)
    code, rx = _fleet(departures, vessels, received)
    upto = t <= end_h
    t = t[upto]
    if len(t) == 0:
        return HALTS.empty_table()
    clock = _Clock(t, start_h, end_h, cfg, rx, None if code is None else code[upto])
    fit = _fit(clock, cfg)
    rows = np.arange(len(t))
    nxt = np.append(t[1:], end_h)
    thr = _thresholds(clock, rows, cfg)
    u_star = fit.u_at(rows, thr)
    theta_t = clock.theta(t)
    finite = np.isfinite(u_star) & fit.eligible
    t_star = np.full(len(t), np.inf)
    t_star[finite] = clock.theta_inv(theta_t[finite] + u_star[finite])
    t_star = _on_known_days(clock, rows, t_star, cfg)
    halted = fit.eligible & (t_star < nxt) & (t_star <= end_h)
    i = np.flatnonzero(halted)
    resumed = i + 1 < len(t)
    u_resume = clock.theta(nxt[i]) - theta_t[i]
    return pa.table(
        {
            "last_departure_ts": _to_ts(t[i]),
            "halt_ts": _to_ts(t_star[i]),
            "resume_ts": _to_ts(nxt[i], resumed),
            "resume_index": pa.array(np.where(resumed, i + 1, 0), pa.int64(), mask=~resumed),
            "p_at_halt": pa.array(fit.p(i, clock.theta(t_star[i]) - theta_t[i])),  # computed, <= threshold
            "threshold": pa.array(thr[i]),
            "p_at_resume": pa.array(fit.p(i, u_resume), pa.float64(), mask=~resumed),
            "rate_per_day": pa.array(24.0 * clock.n[i] / np.maximum(clock.history_h[i], 1e-9)),
            "n_window": pa.array(clock.n[i].astype(np.int64)),
            "expected_at_halt": pa.array(fit.expected(i, u_star[i])),
            "silence_h": pa.array(nxt[i] - t[i]),
            "model": _model_names(fit, i),
            "shape": pa.array(fit.k[i]),
            "operational_h_at_halt": pa.array(u_star[i]),
        },
        schema=HALTS,
    )


REPLAY = pa.schema(
    [
        pa.field("as_of", TS),
        pa.field("last_departure_ts", TS),
        pa.field("silence_h", pa.float64()),
        pa.field("operational_h", pa.float64()),  # the silence on the operational clock
        pa.field("expected_departures", pa.float64()),  # E[departures] in the silence under the cadence
        pa.field("rate_per_day", pa.float64()),
        pa.field("p_silence", pa.float64()),  # null before enough history
        pa.field("halted", pa.bool_()),
        pa.field("model", pa.string()),
    ]
)


def replay_days(
    departures: Times,
    as_of: Times,
    cfg: CadenceConfig | None = None,
    start: object | None = None,
    received: Times | pa.Table | None = None,
    vessels: Times | None = None,
) -> pa.Table:
    """The cadence state as of each time in ``as_of`` (e.g. each day's end), using only data up to it."""
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, start)
    q = _hours(as_of)
    k = np.searchsorted(t, q, side="right") - 1  # last departure at or before each as-of time
    known = k >= 0
    out_p = np.full(len(q), np.nan)
    silence = np.full(len(q), np.nan)
    op = np.full(len(q), np.nan)
    expected = np.full(len(q), np.nan)
    rate = np.full(len(q), np.nan)
    model = pa.nulls(len(q), pa.string())
    thr = np.full(len(q), cfg.halt_p)
    known_day = np.ones(len(q), bool)
    if len(t):
        code, rx = _fleet(departures, vessels, received)
        clock = _Clock(t, start_h, float(q.max()) if len(q) else start_h, cfg, rx, code)
        fit = _fit(clock, cfg)
        kk = np.where(known, k, 0)
        eff = clock.theta(q) - clock.theta(t[kk])
        ok = known & fit.eligible[kk]
        out_p = np.where(ok, fit.p(kk, eff), np.nan)
        silence = np.where(known, q - t[kk], np.nan)
        op = np.where(known, eff, np.nan)
        expected = np.where(ok, fit.expected(kk, eff), np.nan)
        rate = np.where(ok, 24.0 * clock.n[kk] / np.maximum(clock.history_h[kk], 1e-9), np.nan)
        model = _model_names(fit, kk, ok)
        thr = _thresholds(clock, kk, cfg)
        known_day = _known_day(clock, kk, q, cfg)
    valid = ~np.isnan(out_p)
    return pa.table(
        {
            "as_of": _to_ts(q),
            "last_departure_ts": _to_ts(np.where(known, t[np.maximum(k, 0)] if len(t) else 0.0, 0.0), known),
            "silence_h": pa.array(silence, pa.float64(), mask=~known),
            "operational_h": pa.array(op, pa.float64(), mask=~known),
            "expected_departures": pa.array(expected, pa.float64(), mask=~valid),
            "rate_per_day": pa.array(rate, pa.float64(), mask=~valid),
            "p_silence": pa.array(out_p, pa.float64(), mask=~valid),
            "halted": pa.array(valid & (out_p <= thr) & known_day),
            "model": model,
        },
        schema=REPLAY,
    )


def daily_profile(departures: Times, cfg: CadenceConfig | None = None) -> np.ndarray:
    """The learned 24-hour profile (mean 1, UTC hours) as of the last departure, for docs and reports."""
    cfg = cfg or CadenceConfig()
    t, start_h = _prepare(departures, None)
    if len(t) == 0:
        return np.ones(24)
    return _Clock(t, start_h, float(t[-1]), cfg, None).w[-1].copy()
