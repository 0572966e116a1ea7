"""Real-world AIS noise added to simulated positions and statics, with the truth of what it should raise.

SYNTHETIC. The simulator's ships report cleanly; real feeds do not. These post-processors take simulated
positions/statics (schema.POSITIONS / schema.STATICS tables) and add, each with known truth:

* :func:`spoof_window` -- a vessel's fixes in a window moved ``offset_km`` away: one ``spoofing`` alert.
* :func:`share_mmsi` -- a second ship (a copy of the track ``offset_km`` away, with another name) transmits
  the same MMSI for some days: one ``shared_mmsi`` alert, no identity-change storm.
* :func:`silence_in_port` -- a moored vessel stops reporting for hours at its berth: no ``dark_near_place``.
* :func:`thin_out` -- a vessel reported only every few hours (a sparse feed): no ``dark_near_place``.

The truth rows (``NOISE_TRUTH``) say which alert kind each must (``expect_alert``) or must not raise, for
which MMSI and when; :func:`score_alerts` turns alerts + truth into precision/recall per alert kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.geo import haversine_km

NOISE_TRUTH = pa.schema(
    [
        pa.field("kind", pa.string()),  # the alert kind concerned
        pa.field("mmsi", pa.int64()),
        pa.field("start_ts", schema.TS),  # when the noise (or the event) starts and ends
        pa.field("end_ts", schema.TS),
        pa.field("expect_alert", pa.bool_()),  # True: must raise one; False: must raise none
        pa.field("note", pa.string()),
    ]
)
_KM_PER_DEG_LAT = 111.32


def _truth(
    kind: str, mmsi: int, start: datetime, end: datetime, expect: bool, note: str
) -> dict[str, object]:
    return {
        "kind": kind,
        "mmsi": mmsi,
        "start_ts": start,
        "end_ts": end,
        "expect_alert": expect,
        "note": note,
    }


def _in(t: pa.Table, mmsi: int, start: datetime, end: datetime) -> np.ndarray:
    ts = t["ts"]
    mask = pc.and_(
        pc.equal(t["mmsi"], mmsi),
        pc.and_(pc.greater_equal(ts, pa.scalar(start, schema.TS)), pc.less(ts, pa.scalar(end, schema.TS))),
    )
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _set(t: pa.Table, name: str, values: np.ndarray | pa.Array) -> pa.Table:
    i = t.schema.get_field_index(name)
    return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))


def spoof_window(
    positions: pa.Table, mmsi: int, start: datetime, hours: float, offset_km: float = 150.0
) -> tuple[pa.Table, dict[str, object]]:
    """Move ``mmsi``'s fixes in [start, start + hours) ``offset_km`` north (a spoofed window)."""
    end = start + timedelta(hours=hours)
    w = _in(positions, mmsi, start, end)
    if not w.any():
        raise ValueError(f"MMSI {mmsi} has no position between {start} and {end} to spoof")
    lat = positions["lat"].to_numpy().copy()
    lat[w] += offset_km / _KM_PER_DEG_LAT
    return _set(positions, "lat", lat), _truth(
        "spoofing", mmsi, start, end, True, f"{hours:g} h, {offset_km:g} km"
    )


def share_mmsi(
    positions: pa.Table,
    statics: pa.Table,
    mmsi: int,
    start: datetime,
    days: float,
    other_name: str,
    offset_km: float = 120.0,
) -> tuple[pa.Table, pa.Table, dict[str, object]]:
    """A second ship on ``mmsi`` for ``days``: the track's copy ``offset_km`` south, 3 minutes later, with
    statics named ``other_name`` interleaved with the real ones (one per 6 h)."""
    end = start + timedelta(days=days)
    w = _in(positions, mmsi, start, end)
    twin = positions.filter(pa.array(w))
    twin = _set(twin, "lat", twin["lat"].to_numpy() - offset_km / _KM_PER_DEG_LAT)
    shifted = pc.add(twin["ts"], pa.scalar(timedelta(minutes=3)))
    twin = _set(twin, "ts", shifted)
    base = statics.filter(pc.equal(statics["mmsi"], mmsi)).slice(0, 1)
    if base.num_rows == 0:
        raise ValueError(f"MMSI {mmsi} has no static report to copy for its twin")
    n = int(days * 4)
    times = [start + timedelta(hours=6 * i + 1) for i in range(n)]
    twin_st = pa.concat_tables([base] * n)
    twin_st = _set(_set(twin_st, "ts", pa.array(times, schema.TS)), "name", pa.array([other_name] * n))
    if "last_ts" in twin_st.schema.names:
        twin_st = _set(twin_st, "last_ts", pa.array(times, schema.TS))
    out_pos = pa.concat_tables([positions, twin.cast(positions.schema)]).sort_by(
        [("mmsi", "ascending"), ("ts", "ascending")]
    )
    out_st = pa.concat_tables([statics, twin_st.cast(statics.schema)]).sort_by(
        [("mmsi", "ascending"), ("ts", "ascending")]
    )
    note = f"twin {offset_km:g} km away named {other_name} for {days:g} days"
    return out_pos, out_st, _truth("shared_mmsi", mmsi, start, end, True, note)


def _stays(
    positions: pa.Table, mmsi: int, lat: float, lon: float, radius_km: float, min_h: float
) -> list[tuple[datetime, datetime]]:
    """Stretches where ``mmsi`` reports within ``radius_km`` of (lat, lon) for at least ``min_h``."""
    v = positions.filter(pc.equal(positions["mmsi"], mmsi)).sort_by("ts")
    la, lo = v["lat"].to_numpy(), v["lon"].to_numpy()
    inside = haversine_km(la, lo, np.full(len(la), lat), np.full(len(lo), lon)) <= radius_km
    ts = v["ts"].to_pylist()
    out: list[tuple[datetime, datetime]] = []
    edges = np.flatnonzero(np.diff(np.r_[0, inside.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if (ts[b - 1] - ts[a]).total_seconds() >= min_h * 3600:
            out.append((ts[a], ts[b - 1]))
    return out


def silence_in_port(
    positions: pa.Table, mmsi: int, place: tuple[float, float, float], hours: float, max_stays: int = 3
) -> tuple[pa.Table, list[dict[str, object]]]:
    """Drop ``hours`` of ``mmsi``'s fixes in each of its first ``max_stays`` stays at ``place`` (lat, lon,
    radius km) long enough to hold them with an hour either side: moored and silent, not dark."""
    keep = np.ones(positions.num_rows, bool)
    truth: list[dict[str, object]] = []
    for a, _b in _stays(positions, mmsi, *place, min_h=hours + 2)[:max_stays]:
        s = a + timedelta(hours=1)
        keep &= ~_in(positions, mmsi, s, s + timedelta(hours=hours))
        truth.append(
            _truth(
                "dark_near_place", mmsi, s, s + timedelta(hours=hours), False, f"moored, silent {hours:g} h"
            )
        )
    return positions.filter(pa.array(keep)), truth


def thin_out(
    positions: pa.Table, mmsi: int, start: datetime, days: float, every_h: float
) -> tuple[pa.Table, dict[str, object]]:
    """Keep one of ``mmsi``'s fixes per ``every_h`` in [start, start + days): a sparse feed."""
    end = start + timedelta(days=days)
    w = _in(positions, mmsi, start, end)
    us = pc.cast(positions["ts"], pa.int64()).to_numpy()
    bucket = us // int(every_h * 3_600_000_000)
    first = np.r_[
        True,
        (bucket[1:] != bucket[:-1]) | (positions["mmsi"].to_numpy()[1:] != positions["mmsi"].to_numpy()[:-1]),
    ]
    keep = ~w | first
    note = f"one fix per {every_h:g} h for {days:g} days"
    return positions.filter(pa.array(keep)), _truth("dark_near_place", mmsi, start, end, False, note)


@dataclass(frozen=True)
class KindScore:
    """Precision/recall of one alert kind against the truth (counts, and the alerts per simulated week
    that match nothing: the false-alarm rate)."""

    kind: str
    true_pos: int
    false_pos: int
    false_neg: int
    weeks: float

    @property
    def precision(self) -> float | None:
        n = self.true_pos + self.false_pos
        return None if n == 0 else self.true_pos / n

    @property
    def recall(self) -> float | None:
        n = self.true_pos + self.false_neg
        return None if n == 0 else self.true_pos / n

    @property
    def false_alarms_per_week(self) -> float:
        return self.false_pos / max(self.weeks, 1e-9)


def score_alerts(
    alerts: pa.Table, truth: pa.Table, kinds: Iterable[str], weeks: float, slack_h: float = 24.0
) -> list[KindScore]:
    """Match alerts to truth per kind: an alert of kind K on MMSI m (or on the truth's route, for route
    kinds, where ``mmsi`` is null) whose ``ts`` lies within the truth's span plus ``slack_h`` matches it.
    Truth with ``expect_alert`` = False is a negative: an alert matching it is a false positive."""
    out = []
    slack = timedelta(hours=slack_h)
    for kind in kinds:
        a = [r for r in alerts.to_pylist() if r["kind"] == kind]
        t = [r for r in truth.to_pylist() if r["kind"] == kind]
        used: set[int] = set()
        tp = fn = 0
        for r in t:
            hit = [
                i
                for i, x in enumerate(a)
                if (r["mmsi"] is None or x["mmsi"] == r["mmsi"])
                and r["start_ts"] - slack <= x["ts"] <= r["end_ts"] + slack
            ]
            used.update(hit)
            if r["expect_alert"]:
                tp, fn = (tp + 1, fn) if hit else (tp, fn + 1)
        negatives = {
            i
            for i, x in enumerate(a)
            for r in t
            if not r["expect_alert"]
            and (r["mmsi"] is None or x["mmsi"] == r["mmsi"])
            and r["start_ts"] - slack <= x["ts"] <= r["end_ts"] + slack
        }
        positives_hit = {i for i in used if i not in negatives}
        fp = len(a) - len(positives_hit)
        out.append(KindScore(kind, tp, fp, fn, weeks))
    return out


def dprk_noise(
    positions: pa.Table, statics: pa.Table, places: pa.Table, truth_voyages: pa.Table
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The noise of docs/monitor.md's table on the dprk-russia scenario (SYNTHETIC): one spoofed 6 h window
    (ANGARA, on its first received return leg), one shared MMSI (MARIA, 5 days from its second return leg),
    10 h in-port silences at Rajin (every ship, 3 stays each) and MAIA-1 sampled every 7 h for 20 days from
    1 Oct 2023. Returns the noisy positions, statics and the NOISE_TRUTH rows."""
    ret = truth_voyages.filter(pc.invert(truth_voyages["laden"])).sort_by("departure_ts").to_pylist()
    by = {m: [v for v in ret if v["mmsi"] == m] for m in {v["mmsi"] for v in ret}}
    angara, maria, maia = 273990001, 273990002, 273990003
    rows: list[dict[str, object]] = []
    positions, t = spoof_window(positions, angara, by[angara][0]["departure_ts"] + timedelta(hours=6), 6.0)
    rows.append(t)
    positions, statics, t = share_mmsi(
        positions, statics, maria, by[maria][1]["departure_ts"], 5.0, "OCEAN TWIN"
    )
    rows.append(t)
    rajin = places.filter(pc.equal(places["place_id"], "case:rajin")).to_pylist()[0]
    for m in sorted(set(positions["mmsi"].to_pylist()) & {angara, maria, maia, 273990004}):
        positions, ts = silence_in_port(
            positions, m, (rajin["lat"], rajin["lon"], rajin["r_out_m"] / 1000), 10.0
        )
        rows += ts
    start = datetime(2023, 10, 1, tzinfo=UTC)
    positions, t = thin_out(positions, maia, start, 20.0, 7.0)
    rows.append(t)
    return positions, statics, pa.Table.from_pylist(rows, schema=NOISE_TRUTH)
