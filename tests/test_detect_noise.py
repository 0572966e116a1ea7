"""Real-AIS noise with known answers: lone outlier fixes, 35 kn fast ferries, non-vessel stations, port
groups, and the invariant that no two visits of one vessel at one place overlap (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from supplyline import schema
from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.detect.ports import port_rows
from supplyline.detect.stations import CLASSES, is_vessel, station_class, vessel_pairs_only
from supplyline.places import places_from_records
from tests.test_detect_kernels import PLACES, A, B, line, positions, run, still


def test_lone_outlier_fix_is_dropped_and_counted_not_a_segment() -> None:
    rows = line(5, 0, (40.0, 140.0), 90, 12, 180, every=1)
    # Three separate bad fixes 60-110 km off, each on another side (implied speeds of thousands of kn; fixes
    # that could reach each other would be a sparse second transmitter instead, see test_detect_kernels).
    for k, dlat in ((30, 0.6), (95, -0.8), (150, 1.0)):
        rows[k] = (5, rows[k][1], rows[k][2] + dlat, rows[k][3])
    (seg,) = run(rows)["segments"].to_pylist()
    assert seg["n_positions"] == 181 - 3
    assert seg["n_outliers"] == 3 and seg["n_noise"] == 3
    assert seg["split_reason"] == "first"


def test_fast_ferry_learned_from_its_own_track_is_one_segment() -> None:
    # A 35 kn ferry out and back between A and B with 10 min at each end: above max_implied_speed_kn (30).
    leg = 40.0 / (35 * 1.852) * 60  # minutes per 40 km leg
    rows = still(6, 0, A, 10, every=1)
    rows += line(6, 11, A, 90, 35, leg, every=2)  # fixes 2 min apart: 2.2 km steps, 30 kn allows 1.85 km
    rows += still(6, 12 + leg, B, 10, every=1)
    rows += line(6, 23 + leg, B, 270, 35, leg, every=2)
    rows += still(6, 24 + 2 * leg, A, 10, every=1)
    out = run(rows)
    assert out["segments"].num_rows == 1 and out["segments"]["n_noise"][0].as_py() == 0
    v = out["visits"]
    assert v["place_id"].to_pylist() == ["case:a", "case:b", "case:a"]
    # Without learning (fast_min_steps out of reach) the same track splits at every fast step.
    split = run(rows, th=Thresholds(fast_min_steps=10_000))
    assert split["segments"].num_rows > 1


def test_high_speed_craft_by_ship_type_gets_the_fast_limit() -> None:
    rows = line(7, 0, A, 90, 40, 20, every=1)  # 40 kn for 20 min: too short to learn (2 straight pairs)
    th = Thresholds(fast_min_steps=50)
    assert run(rows, th=th)["segments"].num_rows > 1
    statics = pa.table(
        {
            "mmsi": pa.array([7], pa.int64()),
            "ts": positions(rows)["ts"].slice(0, 1),
            "ship_type": pa.array([40], pa.int16()),
        }
    )
    assert run(rows, th=th, statics=statics)["segments"].num_rows == 1


def test_station_classes_follow_itu_m585_number_patterns() -> None:
    mmsi = [257123456, 2579999, 25712345, 111257123, 825712345, 982571234, 992571234, 970123456, 972000001]
    mmsi += [974111111, 979123456, 941234567, 1, 1257000000]
    assert station_class(mmsi) == [
        "vessel", "coast_station", "group", "sar_aircraft", "handheld", "associated_craft", "aton", "sart",
        "mob", "epirb", "amrd", "gear_buoy", "unknown", "unknown",
    ]  # fmt: skip
    assert station_class([257123456, 257123456], [21, 4]) == ["aton", "coast_station"]  # message type wins
    assert set(station_class(np.arange(0, 10**9, 7_654_321))) <= set(CLASSES)
    assert is_vessel(mmsi).tolist() == [True] + [False] * 11 + [True, True]


def test_non_vessel_stations_make_no_visits_or_encounters_unless_included() -> None:
    buoy = 941234567
    rows = still(buoy, 0, A, 120) + still(257000001, 0, A, 120)
    out = run(rows)
    assert set(out["visits"]["mmsi"].to_pylist()) == {257000001}
    assert buoy not in out["segments"]["mmsi"].to_pylist()
    included = run(rows, th=Thresholds(include_non_vessels=True))
    assert set(included["visits"]["mmsi"].to_pylist()) == {buoy, 257000001}
    enc = pa.table(
        {
            "mmsi_a": pa.array([257000001, 257000001], pa.int64()),
            "mmsi_b": pa.array([257000002, buoy], pa.int64()),
        }
    )
    assert vessel_pairs_only(enc)["mmsi_b"].to_pylist() == [257000002]
    assert vessel_pairs_only(enc, include_non_vessels=True).num_rows == 2


def test_gazetteer_cells_sharing_a_label_near_each_other_form_one_port() -> None:
    cells = [
        {"id": f"c{k}", "name": "Canal Entrance", "country": "EG", "lat": 30.0 + k * 0.01, "lon": 32.5}
        for k in range(5)
    ] + [
        {"id": "far", "name": "Canal Entrance", "country": "EG", "lat": 31.5, "lon": 32.5},  # 160 km away
        {"id": "other", "name": "Other Port", "country": "EG", "lat": 30.02, "lon": 32.6},  # 9.6 km east
    ]
    places = places_from_records([{**c, "r_in_m": 750} for c in cells], source="gfw")
    rep = port_rows(places, 10.0).tolist()
    assert rep[:5] == [0] * 5 and rep[5] == 5 and rep[6] == 6
    # A vessel moving slowly across all five cells makes one visit to the port, naming where it stopped.
    rows = line(8, 0, (29.99, 32.5), 0, 1.5, 120, every=2) + still(8, 122, (30.04, 32.5), 90)
    rows += line(8, 213, (30.04, 32.5), 0, 10, 60, every=2)
    v = run_vessel_kernels(positions(rows), places, Thresholds())["visits"].to_pylist()
    assert [(x["place_id"], x["anchorage_id"], x["visit_class"]) for x in v] == [
        ("gfw:c0", "gfw:c4", "port_call")
    ]


def test_ferry_shuttling_inside_one_port_is_not_a_port_call() -> None:
    # Twelve 4-min slip stops 600 m apart inside one port, 3 min at 6.5 kn between: 48 min stopped in
    # all, never 30 min at once.
    rows = []
    t = 0.0
    for k in range(12):
        here = (A[0], A[1] + (0.0072 if k % 2 else 0.0))
        rows += still(9, t, here, 4, every=1)
        rows += line(9, t + 5, here, 270 if k % 2 else 90, 6.5, 2, every=1)
        t += 8
    (v,) = run(rows, th=Thresholds(stop_window_min=2))["visits"].to_pylist()
    assert v["visit_class"] == "short_stop" and v["stopped_h"] > 0.5 > v["longest_stop_h"]


@st.composite
def noisy_tracks(draw: st.DrawFn) -> list[tuple[int, float, float, float]]:
    """One or two ships on one MMSI calling at A and B (overlapping-free schedule each), with outlier fixes,
    silences and a second transmitter; times in minutes."""
    rows: list[tuple[int, float, float, float]] = []
    for ship in range(draw(st.integers(1, 2))):
        t = draw(st.floats(0, 30))
        here = A if ship == 0 else B
        for _ in range(draw(st.integers(1, 4))):
            stay = draw(st.floats(1, 180))
            rows += still(11, t, here, stay, every=draw(st.sampled_from([1.0, 3.0, 7.0])))
            t += stay + draw(st.floats(1, 600))  # a silence or a transit
            there = B if here == A else A
            speed = draw(st.sampled_from([12.0, 33.0]))
            bearing = 90.0 if there == B else 270.0
            minutes = 40.0 / (speed * 1.852) * 60
            rows += line(11, t, here, bearing, speed, minutes, every=draw(st.sampled_from([1.0, 2.0])))
            t += minutes
            here = there
    for _ in range(draw(st.integers(0, 5))):  # outlier fixes at random times
        k = draw(st.integers(0, len(rows) - 1))
        rows.append(
            (11, rows[k][1] + 0.5, rows[k][2] + draw(st.floats(-1, 1)), rows[k][3] + draw(st.floats(-1, 1)))
        )
    rows.sort(key=lambda r: r[1])
    return rows


@settings(max_examples=60, deadline=None)
@given(noisy_tracks())
def test_no_two_visits_of_one_vessel_at_one_place_overlap(
    rows: list[tuple[int, float, float, float]],
) -> None:
    v = run(rows)["visits"].sort_by([("place_id", "ascending"), ("arrival_ts", "ascending")]).to_pylist()
    for a, b in itertools.pairwise(v):
        if a["place_id"] == b["place_id"]:
            assert b["arrival_ts"] > a["departure_ts"], (a, b)
    for x in v:  # the class follows the evidence
        call = x["longest_stop_h"] >= Thresholds().port_call_min_h
        assert (x["visit_class"] == "port_call") == call
        assert x["visit_class"] != "pass_through" or x["stopped_h"] == 0


def test_schema_has_the_visit_evidence_columns() -> None:
    names = set(schema.VISITS.names)
    assert {"visit_class", "events", "longest_stop_h", "anchorage_id", "anchorage_name"} <= names
    assert "n_outliers" in schema.SEGMENTS.names
    assert PLACES.num_rows == 3
