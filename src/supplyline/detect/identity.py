"""Shared and spoofed MMSIs from positions alone: a pure, vectorised kernel.

Two ships transmitting one MMSI make its track jump back and forth between two places at impossible
speeds; a spoofed window makes it jump away, stay consistent somewhere else for a while, and jump back to
where the real track continues. Both show as **jumps**: consecutive fixes of one MMSI at least
``min_jump_km`` apart at more than ``max_speed_kn``. Labelling every fix with the parity of the jumps
before it (``side = cumsum(jump) mod 2`` per MMSI) separates two interleaved tracks exactly when every
switch between them is a jump and no jump happens inside one track, which is what "two consistent tracks"
means; each side is then checked on its own.

* **shared** (``shared_mmsi``): at least ``min_switches`` jumps, at least one per ``1 / min_switch_rate``
  fixes between the first and the last (the tracks interleave: spoofed excursions are long runs), and
  each side consistent on its own (at least ``consistent_share`` of its own consecutive steps feasible).
  The fixes are split into identities 0/1 (0: the track that was there before the first jump).
* **spoofed** (``spoofing``): otherwise, each excursion -- a run of at least ``min_fixes`` fixes and
  ``min_window_h`` between a jump out and a jump back, where the fix before it and the fix after it are
  mutually reachable (the real track continued) -- is a spoofed window.

Runs shorter than ``min_fixes`` between two jumps are lone outliers (left to segmentation). Three or more
ships on one MMSI are not resolved (the parity labels only two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect._arrays import US_PER_H, FloatArray, IntArray, to_ts
from supplyline.geo import KM_PER_NM, haversine_km

EVENTS = pa.schema(
    [
        pa.field("kind", pa.string()),  # shared_mmsi | spoofing
        pa.field("mmsi", pa.int64()),
        pa.field("start_ts", schema.TS),  # shared: the span where both tracks transmit; spoofing: the window
        pa.field("end_ts", schema.TS),
        # when the evidence was complete: the min_switches-th jump (shared) / the jump back (spoofing)
        pa.field("detected_ts", schema.TS),
        pa.field("n_positions", pa.int64()),  # fixes of the second identity / in the spoofed window
        pa.field("n_jumps", pa.int64()),
        pa.field("max_speed_kn", pa.float64()),  # the largest implied speed of a jump
        pa.field("lat", pa.float64()),  # median position of the second identity / of the spoofed window
        pa.field("lon", pa.float64()),
        pa.field("other_lat", pa.float64()),  # median position of the first identity / of the real track
        pa.field("other_lon", pa.float64()),
    ]
)


@dataclass(frozen=True)
class IdentityThresholds:
    """Settings of the shared/spoofed kernel (units in names)."""

    max_speed_kn: float = 50.0  # faster than any ship here (fast ferries ~35-40 kn)
    min_jump_km: float = 5.0  # shorter jumps are GPS noise or sampling, whatever the implied speed
    min_switches: int = 6  # jumps for "two ships at once" (three round trips between the tracks)
    consistent_share: float = 0.9  # share of a side's own steps that must be feasible
    min_switch_rate: float = 0.1  # ... and at least one jump per 10 fixes between the first and last jump
    min_fixes: int = 3  # an excursion of fewer fixes is a lone outlier, not a spoofed window
    min_window_h: float = 0.25  # ... or shorter than this


@dataclass
class Identities:
    """Per position: its identity (0 or 1; 1 = the second ship of a shared MMSI) and whether it lies in a
    spoofed window; plus the events table (EVENTS)."""

    identity: IntArray
    spoofed: np.ndarray
    events: pa.Table


def _steps(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray
) -> tuple[np.ndarray, FloatArray, FloatArray]:
    """Per step i -> i + 1: same MMSI, distance (km) and implied speed (kn)."""
    same = mmsi[1:] == mmsi[:-1]
    km = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt_h = np.maximum((ts[1:] - ts[:-1]) / US_PER_H, 1.0 / 3600.0)
    return same, km, km / KM_PER_NM / dt_h


def side_steps(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, side: IntArray, th: IdentityThresholds
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (mmsi, side) track with steps: its key ``mmsi * 2 + side``, its steps and its feasible steps."""
    order = np.lexsort((ts, side, mmsi))
    m, s = mmsi[order], side[order]
    same, km, kn = _steps(m, ts[order], lat[order], lon[order])
    within = same & (s[1:] == s[:-1])
    ok = (kn <= th.max_speed_kn) | (km < th.min_jump_km)
    keys = m[1:][within] * 2 + s[1:][within]
    uk, inv = np.unique(keys, return_inverse=True)
    return uk, np.bincount(inv), np.bincount(inv, weights=ok[within].astype(np.float64))


def _side_consistent(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, side: IntArray, th: IdentityThresholds
) -> dict[tuple[int, int], float]:
    """Share of feasible steps within each (mmsi, side) track."""
    uk, n, ok = side_steps(mmsi, ts, lat, lon, side, th)
    share = ok / np.maximum(n, 1)
    return {(int(k // 2), int(k % 2)): float(v) for k, v in zip(uk, share, strict=True)}


def _jump(same: np.ndarray, km: FloatArray, kn: FloatArray, th: IdentityThresholds) -> np.ndarray:
    return np.concatenate([[False], same & (kn > th.max_speed_kn) & (km >= th.min_jump_km)])


def jumps(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, th: IdentityThresholds | None = None
) -> np.ndarray:
    """Per fix of positions sorted by (mmsi, ts): whether the step into it is a jump (module docstring)."""
    if len(ts) < 2:
        return np.zeros(len(ts), bool)
    return _jump(*_steps(mmsi, ts, lat, lon), th or IdentityThresholds())


def find_identities(
    mmsi: IntArray, ts: IntArray, lat: FloatArray, lon: FloatArray, th: IdentityThresholds | None = None
) -> Identities:
    """Shared MMSIs and spoofed windows in positions sorted by (mmsi, ts) (``ts`` in microseconds)."""
    th = th or IdentityThresholds()
    n = len(ts)
    identity = np.zeros(n, np.int64)
    spoofed = np.zeros(n, bool)
    if n < 2:
        return Identities(identity, spoofed, EVENTS.empty_table())
    same, km, kn = _steps(mmsi, ts, lat, lon)
    jump = _jump(same, km, kn, th)
    first = np.concatenate([[True], ~same])
    grp = np.cumsum(first) - 1  # MMSI group number
    cum = np.cumsum(jump)
    run = cum - cum[np.flatnonzero(first)][grp]  # jumps before each fix, within its MMSI
    side = run % 2
    rows: list[dict[str, object]] = []
    shared_mmsi = _shared(mmsi, ts, lat, lon, side, jump, grp, kn, th, rows, identity)
    is_shared = np.isin(mmsi, shared_mmsi)
    _spoofed_windows(mmsi, ts, lat, lon, run, jump, grp, kn, ~is_shared, th, spoofed, rows)
    events = pa.Table.from_pylist(rows, schema=EVENTS) if rows else EVENTS.empty_table()
    return Identities(identity, spoofed, events)


def _shared(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    side: IntArray,
    jump: np.ndarray,
    grp: IntArray,
    kn: FloatArray,
    th: IdentityThresholds,
    rows: list[dict[str, object]],
    identity: IntArray,
) -> np.ndarray:
    """MMSIs used by two ships at once; appends their events to ``rows`` and sets ``identity`` (0 before
    the shared period, then by parity relative to the track that was there first)."""
    n_jumps = np.bincount(grp, weights=jump.astype(np.float64))
    cand = np.flatnonzero(n_jumps >= th.min_switches)
    if len(cand) == 0:
        return np.zeros(0, np.int64)
    sel = np.isin(grp, cand)
    consistent = _side_consistent(mmsi[sel], ts[sel], lat[sel], lon[sel], side[sel], th)
    out: list[int] = []
    kn_full = np.concatenate([[0.0], kn])
    for g in cand:
        idx = np.flatnonzero(grp == g)
        m = int(mmsi[idx[0]])
        jpos = idx[jump[idx]]
        period = np.arange(jpos[0] - 1, jpos[-1] + 1)  # the fix before the first jump .. the last jump
        if len(jpos) < th.min_switch_rate * len(period):
            continue  # long runs between the jumps: spoofed excursions, not two ships at once
        if min(consistent.get((m, 0), 0.0), consistent.get((m, 1), 0.0)) < th.consistent_share:
            continue
        out.append(m)
        rel = (side[idx] - side[jpos[0] - 1]) % 2
        identity[idx] = np.where(idx >= jpos[0] - 1, rel, 0)
        b, a = period[identity[period] == 1], period[identity[period] == 0]
        rows.append(
            _event(
                "shared_mmsi",
                m,
                int(ts[period[0]]),
                int(ts[period[-1]]),
                int(ts[jpos[th.min_switches - 1]]),
                len(b),
                len(jpos),
                float(kn_full[jpos].max()),
                lat,
                lon,
                b,
                a,
            )
        )
    return np.array(out, np.int64)


def _event(
    kind: str,
    m: int,
    start: int,
    end: int,
    detected: int,
    n: int,
    n_jumps: int,
    max_kn: float,
    lat: FloatArray,
    lon: FloatArray,
    these: IntArray,
    others: IntArray,
) -> dict[str, object]:
    return {
        "kind": kind,
        "mmsi": m,
        "start_ts": to_ts(np.array([start], np.int64))[0].as_py(),
        "end_ts": to_ts(np.array([end], np.int64))[0].as_py(),
        "detected_ts": to_ts(np.array([detected], np.int64))[0].as_py(),
        "n_positions": n,
        "n_jumps": n_jumps,
        "max_speed_kn": max_kn,
        "lat": float(np.median(lat[these])),
        "lon": float(np.median(lon[these])),
        "other_lat": float(np.median(lat[others])) if len(others) else None,
        "other_lon": float(np.median(lon[others])) if len(others) else None,
    }


def _spoofed_windows(
    mmsi: IntArray,
    ts: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    run: IntArray,
    jump: np.ndarray,
    grp: IntArray,
    kn: FloatArray,
    eligible: np.ndarray,
    th: IdentityThresholds,
    spoofed: np.ndarray,
    rows: list[dict[str, object]],
) -> None:
    """Excursions bounded by a jump out and a jump back whose neighbours are mutually reachable."""
    key = grp * (len(ts) + 1) + run
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    ends = np.concatenate([starts[1:], [len(ts)]]) - 1  # inclusive
    n_fix = ends - starts + 1
    inner = jump[starts] & (ends + 1 < len(ts))  # entered by a jump, and a fix follows
    inner &= np.where(ends + 1 < len(ts), jump[np.minimum(ends + 1, len(ts) - 1)], False)
    inner &= eligible[starts] & (n_fix >= th.min_fixes)
    inner &= (ts[ends] - ts[starts]) / US_PER_H >= th.min_window_h
    kn_full = np.concatenate([[0.0], kn])
    for a, b in zip(starts[inner], ends[inner], strict=True):
        before, after = a - 1, b + 1
        gap_h = max((ts[after] - ts[before]) / US_PER_H, 1.0 / 3600.0)
        km = float(
            haversine_km(
                lat[before : before + 1],
                lon[before : before + 1],
                lat[after : after + 1],
                lon[after : after + 1],
            )[0]
        )
        if km / KM_PER_NM / gap_h > th.max_speed_kn and km >= th.min_jump_km:
            continue  # the track does not continue across the window: not an excursion
        spoofed[a : b + 1] = True
        win = np.arange(a, b + 1)
        rows.append(
            _event(
                "spoofing",
                int(mmsi[a]),
                int(ts[a]),
                int(ts[b]),
                int(ts[after]),
                len(win),
                2,
                float(max(kn_full[a], kn_full[after])),
                lat,
                lon,
                win,
                np.array([before, after]),
            )
        )
