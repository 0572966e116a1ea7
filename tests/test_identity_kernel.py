"""Shared and spoofed MMSIs (detect/identity.py) and alternating static names, on hand-built tracks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from supplyline.detect.identity import find_identities
from supplyline.monitor.identity import alternating_names

H = 3_600_000_000
T = np.arange(0, 24 * H, H // 6)  # one fix per 10 minutes for a day
KM_PER_DEG_LON = 111.32 * np.cos(np.radians(40))


def _track(kn: float, lat: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    lon = -70 + (T / H) * kn * 1.852 / KM_PER_DEG_LON
    return np.full(len(T), lat), lon


def _run(tracks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]):  # type: ignore[no-untyped-def]
    m = np.concatenate([np.full(len(t), k) for k, t, _, _ in tracks])
    t = np.concatenate([t for _, t, _, _ in tracks])
    la = np.concatenate([a for _, _, a, _ in tracks])
    lo = np.concatenate([b for _, _, _, b in tracks])
    o = np.lexsort((t, m))
    return m[o], find_identities(m[o], t[o], la[o], lo[o])


def test_two_ships_on_one_mmsi_are_split_into_two_identities() -> None:
    lat1, lon1 = _track(10)
    lat2, lon2 = _track(12, lat=40.9)  # 100 km north, 5 minutes after each fix of the first
    _, r = _run([(111, T, lat1, lon1), (111, T + H // 12, lat2, lon2)])
    (e,) = r.events.to_pylist()
    assert (e["kind"], e["mmsi"], e["n_jumps"], e["n_positions"]) == ("shared_mmsi", 111, 287, 144)
    # the third jump pair is complete 30 minutes in (min_switches = 6 jumps: fixes every 5 minutes)
    assert e["detected_ts"] == datetime(1970, 1, 1, 0, 30, tzinfo=UTC)
    assert e["lat"] == 40.9 and e["other_lat"] == 40.0
    assert np.bincount(r.identity).tolist() == [144, 144] and not r.spoofed.any()


def test_spoofed_window_is_found_and_the_real_track_kept() -> None:
    lat, lon = _track(10)
    w = (T >= 8 * H) & (T < 14 * H)
    lat = lat.copy()
    lat[w] = 42.0  # 222 km north for 6 h, then back where the track continues
    _, r = _run([(222, T, lat, lon)])
    (e,) = r.events.to_pylist()
    assert (e["kind"], e["n_positions"], e["n_jumps"]) == ("spoofing", 36, 2)
    assert (e["start_ts"], e["end_ts"]) == (
        datetime(1970, 1, 1, 8, tzinfo=UTC),
        datetime(1970, 1, 1, 13, 50, tzinfo=UTC),
    )
    assert e["detected_ts"] == datetime(1970, 1, 1, 14, tzinfo=UTC)  # the jump back
    assert r.spoofed.sum() == 36 and r.spoofed[w].all() and (r.identity == 0).all()


def test_outliers_fast_ferries_and_sparse_jumps_raise_nothing() -> None:
    lat, lon = _track(10)
    lat_o = lat.copy()
    lat_o[50] = 45.0  # one outlier fix: two jumps around a single position (not a window)
    ferry_lat, ferry_lon = _track(38)  # a 38 kn fast ferry: below max_speed_kn
    sparse = T[::36]  # one fix per 6 h, 60 km apart: 5.4 kn
    s_lat, s_lon = np.full(len(sparse), 40.0), -70 + np.arange(len(sparse)) * 60 / KM_PER_DEG_LON
    _, r = _run([(333, T, lat_o, lon), (444, T, ferry_lat, ferry_lon), (555, sparse, s_lat, s_lon)])
    assert r.events.num_rows == 0 and not r.spoofed.any() and (r.identity == 0).all()


def test_names_flipping_back_are_two_ships_a_rename_is_not() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    names = ["A", "B", "A", "B", "A", "OLD", "NEW", "NEW"]
    st = pa.table(
        {
            "mmsi": [1] * 5 + [2] * 3,
            "ts": pa.array([t0 + timedelta(hours=i) for i in range(8)], pa.timestamp("us", tz="UTC")),
            "name": names,
        }
    )
    (a,) = alternating_names(st).to_pylist()
    assert (a["mmsi"], a["names"], a["n_flips"]) == (1, "A;B", 3)
    assert a["detected_ts"] == t0 + timedelta(hours=2)  # B -> A: back to a name already used
