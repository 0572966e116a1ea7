"""Hand-built tracks with known answers for every per-vessel detector and its edge cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.detect import Route, Thresholds, run_vessel_kernels
from supplyline.errors import CaseError, EngineError
from supplyline.geo import destination_point, haversine_km
from supplyline.places import places_from_records

T0 = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)
# Two ports 40 km apart (east-west), far from everything else; B is watched.
A = (42.0, 130.0)
B = (42.0, 130.4843)  # ~40 km east of A
PLACES = places_from_records(
    [
        {
            "id": "a",
            "name": "Port A",
            "lat": A[0],
            "lon": A[1],
            "r_in_m": 1000,
            "r_out_m": 2000,
            "watched": False,
        },
        {
            "id": "b",
            "name": "Port B",
            "lat": B[0],
            "lon": B[1],
            "r_in_m": 1000,
            "r_out_m": 2000,
            "watched": True,
        },
        {"id": "dateline", "name": "Dateline", "lat": 0.0, "lon": 179.99, "r_in_m": 3000, "r_out_m": 4000},
    ],
    source="case",
)
TH = Thresholds()


def positions(
    rows: list[tuple[int, float, float, float] | tuple[int, float, float, float, float]],
) -> pa.Table:
    """(mmsi, minutes after T0, lat, lon[, sog]) rows -> a POSITIONS table."""
    n = len(rows)
    return pa.table(
        {
            "mmsi": pa.array([r[0] for r in rows], pa.int64()),
            "ts": pa.array([T0 + timedelta(minutes=r[1]) for r in rows], schema.TS),
            "lat": pa.array([float(r[2]) for r in rows]),
            "lon": pa.array([float(r[3]) for r in rows]),
            "sog_kn": pa.array([r[4] if len(r) > 4 else None for r in rows], pa.float32()),  # type: ignore[misc]
            "cog_deg": pa.nulls(n, pa.float32()),
            "heading_deg": pa.nulls(n, pa.float32()),
            "nav_status": pa.nulls(n, pa.int8()),
            "msg_type": pa.array([1] * n, pa.int8()),
            "source": pa.array(["test"] * n),
            "input_id": pa.array(["t"] * n),
        },
        schema=schema.POSITIONS,
    )


def line(
    mmsi: int,
    t0_min: float,
    start: tuple[float, float],
    bearing: float,
    speed_kn: float,
    minutes: float,
    every: float = 5.0,
) -> list[tuple[int, float, float, float]]:
    """Positions of a vessel sailing a great circle at constant speed, one every ``every`` minutes."""
    t = np.arange(0.0, minutes + 1e-9, every)
    lat, lon = destination_point(start[0], start[1], bearing, speed_kn * 1.852 * t / 60.0)
    return [(mmsi, t0_min + float(ti), float(la), float(lo)) for ti, la, lo in zip(t, lat, lon, strict=True)]


def still(
    mmsi: int, t0_min: float, at: tuple[float, float], minutes: float, every: float = 5.0
) -> list[tuple[int, float, float, float]]:
    return [(mmsi, t0_min + float(t), at[0], at[1]) for t in np.arange(0.0, minutes + 1e-9, every)]


def run(rows: list, **kw: object) -> dict[str, pa.Table]:  # type: ignore[type-arg]
    return run_vessel_kernels(positions(rows), PLACES, kw.pop("th", TH), kw.pop("routes", ()), **kw)  # type: ignore[arg-type]


# --- segments ---------------------------------------------------------------------------------------------


def test_time_gap_splits_segment_and_names_the_reason() -> None:
    rows = line(1, 0, (40.0, 140.0), 90, 10, 120) + line(1, 120 + 30 * 60, (40.0, 141.0), 90, 10, 120)
    seg = run(rows)["segments"].to_pylist()
    assert [s["split_reason"] for s in seg] == ["first", "gap"]
    assert [s["n_positions"] for s in seg] == [25, 25]
    assert seg[0]["dist_km"] == pytest.approx(10 * 1.852 * 2, rel=1e-6)  # 2 h at 10 kn


def test_two_ships_on_one_mmsi_become_two_segments_without_noise() -> None:
    a = line(7, 0, (40.0, -74.0), 45, 12, 100)
    b = line(7, 2.5, (55.0, 10.0), 180, 8, 100)  # interleaved 2.5 min later, 6,000 km away
    rows = sorted(a + b, key=lambda r: r[1])
    seg = run(rows)["segments"].to_pylist()
    assert len(seg) == 2
    assert {s["split_reason"] for s in seg} == {"first", "speed"}
    assert [s["n_positions"] for s in seg] == [21, 21]
    assert sum(s["n_noise"] for s in seg) == 0
    assert {round(s["start_lat"]) for s in seg} == {40, 55}


def test_single_gps_jump_is_flagged_as_noise_not_a_split() -> None:
    rows = line(3, 0, (40.0, 140.0), 0, 10, 120)
    rows[12] = (3, rows[12][1], rows[12][2] + 1.0, rows[12][3])  # one fix 111 km off
    seg = run(rows)["segments"].to_pylist()
    assert len(seg) == 1
    assert seg[0]["n_noise"] == 1 and seg[0]["n_positions"] == 24
    assert seg[0]["dist_km"] == pytest.approx(10 * 1.852 * 2, rel=1e-6)


def test_duplicate_timestamps_do_not_split_or_crash() -> None:
    rows = line(4, 0, (40.0, 140.0), 0, 10, 60)
    rows = [*rows, rows[5], rows[6], (4, rows[7][1], rows[7][2] + 0.0005, rows[7][3])]  # exact and near dups
    out = run(rows)
    seg = out["segments"].to_pylist()
    assert len(seg) == 1 and seg[0]["n_positions"] == 16 and seg[0]["n_noise"] == 0


def test_antimeridian_crossing_is_one_segment_with_true_distance() -> None:
    rows = line(5, 0, (10.0, 179.8), 90, 12, 180)  # 36 nm east: crosses 180
    assert rows[-1][3] < 0
    seg = run(rows)["segments"].to_pylist()
    assert len(seg) == 1 and seg[0]["split_reason"] == "first"
    assert seg[0]["dist_km"] == pytest.approx(12 * 1.852 * 3, rel=1e-6)


def test_vessel_that_never_moves() -> None:
    out = run(still(6, 0, (41.0, 135.0), 600))
    seg = out["segments"].to_pylist()
    assert len(seg) == 1 and seg[0]["dist_km"] == 0.0 and seg[0]["n_positions"] == 121
    loit = out["loitering"].to_pylist()  # stationary at sea, far from any place: loitering for 10 h
    assert len(loit) == 1 and loit[0]["duration_h"] == pytest.approx(10.0) and loit[0]["mean_speed_kn"] == 0.0


# --- visits and voyages ------------------------------------------------------------------------------------


def _a_to_b(mmsi: int = 10) -> list[tuple[int, float, float, float]]:
    """Approach A from 5 km west, berth 3 h, sail to B at 10 kn, berth 2 h (crossing midnight), leave east."""
    west = destination_point(A[0], A[1], 270, 5.0)
    rows = line(mmsi, 0, (float(west[0]), float(west[1])), 90, 10, 15, every=1)  # reaches A at ~16 min
    rows += still(mmsi, 16, A, 180)
    rows += line(mmsi, 197, A, 90, 10, 130, every=2)  # 40 km at 10 kn = 129.6 min
    rows += still(mmsi, 328, B, 120)
    rows += line(mmsi, 449, B, 90, 10, 30, every=1)
    return rows


def test_visit_hysteresis_arrival_departure_and_dwell() -> None:
    rows = _a_to_b()
    out = run(rows)
    vis = out["visits"].to_pylist()
    assert [v["place_id"] for v in vis] == ["case:a", "case:b"]
    a = vis[0]
    # Arrival: first 1-min fix within r_in (1 km): the fix at 5.0-0.31*10=~2.2 km..; compute from the rows.
    d_a = haversine_km([r[2] for r in rows], [r[3] for r in rows], A[0], A[1])
    t = np.array([r[1] for r in rows])
    first_in = t[np.argmax(d_a <= 1.0)]
    outbound = (t > 100) & (t < 328)
    last_in_out = t[outbound][d_a[outbound] <= 2.0].max()  # leaves at r_out (2 km), not r_in
    assert a["arrival_ts"] == T0 + timedelta(minutes=float(first_in))
    assert a["departure_ts"] == T0 + timedelta(minutes=float(last_in_out))
    assert a["dwell_h"] == pytest.approx((last_in_out - first_in) / 60)
    assert a["stopped_h"] == pytest.approx(3.0, abs=0.05)
    assert a["confidence"] == pytest.approx(1.0) and not a["open"]
    b = vis[1]  # 20:00 + 328 min = 01:28 next day: the visit crosses midnight and stays one visit
    assert b["arrival_ts"].date() != a["arrival_ts"].date()
    assert b["dwell_h"] > 2.0 and not b["open"]


def test_voyage_route_distance_and_draught() -> None:
    rows = _a_to_b()
    statics = pa.table(
        {
            "mmsi": pa.array([10, 10, 10], pa.int64()),
            "ts": pa.array([T0, T0 + timedelta(minutes=100), T0 + timedelta(minutes=400)], schema.TS),
            "draught_m": pa.array([5.0, 8.0, 5.1], pa.float32()),
        }
    )
    routes = [Route("a-to-b", ("case:a",), ("case:b",)), Route("any", ("case:a",), ("case:b", "case:a"))]
    out = run(rows, statics=statics, routes=routes)
    (voy,) = out["voyages"].to_pylist()
    assert (voy["origin_id"], voy["destination_id"], voy["route"]) == ("case:a", "case:b", "a-to-b")
    # Sailed from the last fix within 2 km of A to the first within 1 km of B: ~37 km of the 40 km line.
    assert 36.0 < voy["dist_km"] < 38.0
    assert voy["duration_h"] == pytest.approx(voy["dist_km"] / (10 * 1.852), abs=0.05)
    assert voy["draught_departure_m"] == pytest.approx(8.0) and voy["draught_arrival_m"] == pytest.approx(8.0)
    ch = out["draught_changes"].to_pylist()
    assert [(c["state"], c["place_id"]) for c in ch] == [("laden", "case:a"), ("ballast", "case:b")]
    assert ch[0]["change_m"] == pytest.approx(3.0)


def test_gap_inside_port_keeps_one_visit_and_raises_confidence() -> None:
    west = destination_point(A[0], A[1], 270, 5.0)
    rows = line(11, 0, (float(west[0]), float(west[1])), 90, 10, 15, every=1)
    rows += still(11, 16, A, 60) + still(11, 16 + 60 + 600, A, 60)  # 10 h silence at the berth
    rows += line(11, 16 + 720 + 5, A, 0, 10, 30, every=1)
    out = run(rows)
    (v,) = out["visits"].to_pylist()
    assert v["max_gap_h"] == pytest.approx(10.0)
    assert v["confidence"] == pytest.approx(1.0)
    (g,) = out["gaps"].to_pylist()  # the silence is also a dark gap (>= 6 h), near no watched place
    assert g["duration_h"] == pytest.approx(10.0) and g["near_start_place"] is None


def test_vessel_never_moving_in_port_is_one_open_visit() -> None:
    out = run(still(12, 0, A, 300))
    (v,) = out["visits"].to_pylist()
    assert v["open"] and v["dwell_h"] == pytest.approx(5.0) and v["stopped_h"] == pytest.approx(5.0)
    assert v["confidence"] == pytest.approx(0.5)  # no entry, no exit seen; stopped
    assert out["loitering"].num_rows == 0  # in port is not loitering
    assert out["voyages"].num_rows == 0


def test_visit_across_the_antimeridian() -> None:
    rows = line(13, 0, (0.0, 179.9), 90, 10, 120)  # passes 179.99 and continues to -179.8
    (v,) = run(rows)["visits"].to_pylist()
    assert v["place_id"] == "case:dateline"
    lons = np.array([r[3] for r in rows])
    d = haversine_km(0.0, lons, 0.0, 179.99)
    t = np.array([r[1] for r in rows])
    assert v["arrival_ts"] == T0 + timedelta(minutes=float(t[np.argmax(d <= 3.0)]))
    assert v["departure_ts"] == T0 + timedelta(minutes=float(t[d <= 4.0].max()))


# --- gaps and loitering -----------------------------------------------------------------------------------


def test_dark_gap_near_watched_place_and_short_silence_ignored() -> None:
    near_b = destination_point(B[0], B[1], 180, 10.0)
    start = (float(near_b[0]), float(near_b[1]))
    rows = line(20, 0, start, 180, 10, 60) + line(20, 60 + 180, (41.0, 130.48), 180, 10, 30)  # 3 h: no gap
    rows += line(20, 300 + 8 * 60, (40.0, 130.48), 180, 10, 30)  # 8 h silence
    gaps = run(rows)["gaps"].to_pylist()
    assert len(gaps) == 1
    g = gaps[0]
    assert g["duration_h"] == pytest.approx(8 + (300 - 270) / 60)
    assert g["near_start_place"] is None and g["near_end_place"] is None
    th = Thresholds(watch_radius_km=200.0)
    gaps = run(rows, th=th)["gaps"].to_pylist()
    assert gaps[0]["near_start_place"] == "case:b"
    assert gaps[0]["implied_speed_kn"] == pytest.approx(gaps[0]["dist_km"] / 1.852 / gaps[0]["duration_h"])
    assert (
        gaps[0]["likely"] == "unknown" and gaps[0]["others_received"] is None
    )  # filled by annotate_coverage


def test_loitering_needs_slow_far_and_long() -> None:
    drift = line(30, 0, (38.0, 135.0), 45, 0.8, 5 * 60)  # 5 h at 0.8 kn, far from every place
    short = line(31, 0, (38.0, 136.0), 45, 0.8, 60)  # 1 h only
    fast = line(32, 0, (38.0, 137.0), 45, 6.0, 5 * 60)
    in_port = line(33, 0, A, 45, 0.3, 5 * 60)  # slow but within loiter_port_km of A
    out = run(drift + short + fast + in_port)
    (lo,) = out["loitering"].to_pylist()
    assert lo["mmsi"] == 30 and lo["duration_h"] == pytest.approx(5.0)
    assert lo["mean_speed_kn"] == pytest.approx(0.8, rel=1e-3)
    assert lo["dist_to_place_km"] > 100


# --- general ----------------------------------------------------------------------------------------------


def test_output_is_deterministic_for_shuffled_input_and_ids_are_stable() -> None:
    rows = _a_to_b(40) + line(41, 0, (40.0, 140.0), 0, 10, 120) + still(42, 0, A, 100)
    out1 = run(rows)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    out2 = run(shuffled)
    for name in out1:
        assert out1[name].equals(out2[name]), name
        assert out1[name].schema.equals(schema.EVENT_TABLES[name])


def test_empty_input_gives_empty_tables() -> None:
    out = run_vessel_kernels(schema.empty(schema.POSITIONS), PLACES, TH, [])
    assert all(t.num_rows == 0 for t in out.values())
    assert set(out) == {"segments", "visits", "voyages", "gaps", "loitering", "draught_changes"}


def test_missing_columns_are_a_clear_error() -> None:
    with pytest.raises(EngineError, match="lack column"):
        run_vessel_kernels(pa.table({"mmsi": [1]}), PLACES, TH, [])
    bad = positions([(1, 0, 40.0, 140.0), (1, 5, 40.0, 140.0)])
    bad = bad.set_column(2, "lat", pa.array([40.0, None]))
    with pytest.raises(EngineError, match="missing lat/lon"):
        run_vessel_kernels(bad, PLACES, TH, [])


def test_thresholds_from_mapping() -> None:
    th = Thresholds.from_mapping({"dark_gap_h": 4, "segment_lookback": 3})
    assert th.dark_gap_h == 4.0 and isinstance(th.dark_gap_h, float) and th.segment_lookback == 3
    with pytest.raises(CaseError, match="unknown detector threshold"):
        Thresholds.from_mapping({"dark_gap_hours": 4})
    with pytest.raises(CaseError, match="stop_speed_kn"):
        Thresholds.from_mapping({"stop_speed_kn": -1})
    with pytest.raises(CaseError, match="hysteresis"):
        Thresholds(stop_speed_kn=1.0, move_speed_kn=0.5)
    with pytest.raises(CaseError, match="origin"):
        Route("r", (), ("x",))


def test_subset_of_tables_matches_full_run() -> None:
    rows = _a_to_b(50) + line(51, 0, (40.0, 140.0), 0, 10, 120)
    full = run(rows)
    part = run(rows, tables=("visits", "gaps"))
    assert set(part) == {"segments", "visits", "gaps"}
    for name in part:
        assert part[name].equals(full[name])
    with pytest.raises(EngineError, match="unknown kernel table"):
        run(rows, tables=("encounters",))


def test_passing_through_is_a_low_confidence_pass_and_not_a_voyage_end() -> None:
    rows = still(60, 0, A, 60)
    rows += line(60, 65, A, 90, 12, 120, every=2)  # east through B at 12 kn: 44.4 km, 4.4 km past B
    end = rows[-1]
    rows += line(60, 190, (end[2], end[3]), 270, 12, 120, every=2)  # and straight back to A
    rows += still(60, 315, A, 60)
    out = run(rows)
    conf = [(v["place_id"], v["confidence"]) for v in out["visits"].to_pylist()]
    # A: stop + exit (the data starts there) = 0.75; B passed twice without stopping = 0.5 each;
    # A again: entry + stop, the data ends there = 0.75.
    assert conf == [("case:a", 0.75), ("case:b", 0.5), ("case:b", 0.5), ("case:a", 0.75)]
    classes = out["visits"].column("visit_class").to_pylist()
    assert classes == ["port_call", "pass_through", "pass_through", "port_call"]
    assert out["visits"].column("events").to_pylist() == [
        "stop,exit",
        "entry,exit",
        "entry,exit",
        "entry,stop",
    ]
    # Voyages run between port calls: passing through B is part of the voyage, not an end of one.
    (v,) = out["voyages"].to_pylist()
    assert v["origin_id"] == v["destination_id"] == "case:a"
    assert run(rows, th=Thresholds(voyage_min_confidence=0.75))["voyages"].to_pylist() == [v]
    assert 84 < v["dist_km"] < 88  # 88.9 km out and back, minus the 2 km exit and 1 km entry radii


def test_sparse_second_ship_on_one_mmsi_is_its_own_segment_not_noise() -> None:
    chatty = line(8, 0, (40.0, -74.0), 45, 12, 180, every=1)  # class A style: every minute
    sparse = line(8, 0.5, (40.6, -73.0), 200, 6, 180, every=15)  # 90 km away, every 15 minutes
    seg = run(sorted(chatty + sparse, key=lambda r: r[1]))["segments"].to_pylist()
    assert sorted(s["n_positions"] for s in seg) == [13, 181]
    assert sum(s["n_noise"] for s in seg) == 0


def _ferry_shuttle(mmsi: int, crossings: int, dock_min: float, seed: int = 3) -> list:  # type: ignore[type-arg]
    """Positions only (no SOG), one a minute: docked ``dock_min`` at A, 20 kn to B, docked, back, ...,
    with 30 m of GPS scatter at the slips (point-to-point speeds up to ~2 kn, as at the NY ferry slips)."""
    rng = random.Random(seed)
    rows: list = []  # type: ignore[type-arg]
    t, here, there = 0.0, A, B
    for n in range(crossings + 1):
        for k in range(int(dock_min) + 1):
            d_lat, d_lon = (rng.uniform(-30, 30) / 111_195 for _ in range(2))
            rows.append((mmsi, t + k, here[0] + d_lat, here[1] + d_lon / np.cos(np.radians(here[0]))))
        if n == crossings:
            break
        t += dock_min + 1
        bearing = 90 if here == A else 270
        leg = line(mmsi, t, here, bearing, 20, 64, every=1)  # 39.5 km: stops short of the other slip
        rows += leg
        t += 65
        here, there = there, here
    return rows


def test_ferry_docking_minutes_at_each_slip_makes_one_trip_per_crossing() -> None:
    # A ferry docks 8 min at each terminal: below port_call_min_h (30 min) and below the 10-min speed window,
    # yet it came to rest. Each visit is a short stop, and voyages run stop to stop (GFW: visits with a stop),
    # so every crossing is one trip on its route; none is a port call.
    routes = [Route("ab", ("case:a",), ("case:b",)), Route("ba", ("case:b",), ("case:a",))]
    out = run(_ferry_shuttle(70, 6, 8), routes=routes)
    assert out["visits"].column("visit_class").to_pylist() == ["short_stop"] * 7
    voy = out["voyages"].to_pylist()
    assert [v["route"] for v in voy] == ["ab", "ba"] * 3
    assert {(v["origin_class"], v["destination_class"]) for v in voy} == {("short_stop", "short_stop")}
    # A 3-minute touch at the slip is not a rest (5 min within 200 m): pass-throughs end no voyage.
    out = run(_ferry_shuttle(71, 6, 3), routes=routes)
    assert set(out["visits"].column("visit_class").to_pylist()) == {"pass_through"}
    assert out["voyages"].num_rows == 0


def test_creeping_through_a_port_is_not_a_stop() -> None:
    # 2.5 kn through B's 1 km entry circle: 26 min inside, never 5 min within 200 m of one spot.
    rows = line(72, 0, (B[0], B[1] - 0.03), 90, 2.5, 60, every=1)
    (v,) = run(rows)["visits"].to_pylist()
    assert v["place_id"] == "case:b" and v["visit_class"] == "pass_through"
    # The same track at 1 kn is slower than any passage: 12 min within 200 m, a short stop.
    (v,) = run(line(73, 0, (B[0], B[1] - 0.015), 90, 1.0, 60, every=1))["visits"].to_pylist()
    assert v["visit_class"] == "short_stop"
