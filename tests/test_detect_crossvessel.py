"""Cross-vessel detectors on hand-built tracks (real DuckDB): encounters, gap coverage; the grid prefilter."""

from __future__ import annotations

import math
from fractions import Fraction

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from supplyline.detect import Thresholds, place_indexes, run_vessel_kernels
from supplyline.detect.near import NearFilter
from supplyline.engine.local import annotate_coverage, detect_encounters
from supplyline.geo import destination_point, haversine_km
from tests.test_detect_kernels import PLACES, T0, A, line, positions

TH = Thresholds()


def _con(rows: list) -> duckdb.DuckDBPyConnection:  # type: ignore[type-arg]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("positions", positions(sorted(rows, key=lambda r: (r[0], r[1]))))
    return con


def _pair(
    m1: int, m2: int, start: tuple[float, float], sep_km: float, speed_kn: float, minutes: float
) -> list:  # type: ignore[type-arg]
    """Two vessels sailing north side by side, ``sep_km`` apart (the second due east of the first)."""
    east = destination_point(start[0], start[1], 90, sep_km)
    return line(m1, 0, start, 0, speed_kn, minutes, every=2) + line(
        m2, 1, (float(east[0]), float(east[1])), 0, speed_kn, minutes, every=2
    )


def encounters(rows: list) -> list[dict]:  # type: ignore[type-arg]
    idx, _ = place_indexes(PLACES)
    return detect_encounters(_con(rows), TH, idx).to_pylist()


def test_encounter_found_with_duration_distance_and_speed() -> None:
    (e,) = encounters(_pair(101, 102, (38.0, 135.0), 0.2, 1.0, 180))
    assert (e["mmsi_a"], e["mmsi_b"]) == (101, 102)
    assert e["median_dist_km"] == pytest.approx(0.2, abs=0.02)
    assert e["median_speed_kn"] == pytest.approx(1.0, abs=0.1)
    assert 2.9 <= e["duration_h"] <= 3.2  # 180 min of 10-min buckets (partial buckets at the ends count)
    assert e["lat"] == pytest.approx(38.0 + 0.02, abs=0.03)


@pytest.mark.parametrize(
    ("sep_km", "speed_kn", "minutes", "start", "why"),
    [
        (0.2, 1.0, 60, (38.0, 135.0), "too short"),
        (2.0, 1.0, 180, (38.0, 135.0), "too far apart"),
        (0.2, 10.0, 180, (38.0, 135.0), "too fast"),
        (0.2, 1.0, 180, A, "in port"),
    ],
)
def test_no_encounter(
    sep_km: float, speed_kn: float, minutes: float, start: tuple[float, float], why: str
) -> None:
    assert encounters(_pair(101, 102, start, sep_km, speed_kn, minutes)) == [], why


def test_encounter_across_the_antimeridian() -> None:
    (e,) = encounters(_pair(201, 202, (10.0, 179.999), 0.25, 0.5, 180))  # the second ship is at -179.9987
    assert e["median_dist_km"] == pytest.approx(0.25, abs=0.02)
    assert abs(e["lon"]) > 179.99


SEA = (30.0, 150.0)  # open Pacific, ~750 km from any coast
HARBOUR = (40.69, -74.03)  # New York Upper Bay, ~1 km from the shore, not one of PLACES


@pytest.mark.parametrize("lat", [75.0, 80.0, 85.0, 89.0, -80.0])
@pytest.mark.parametrize("lon", [10.0, 179.999])
def test_encounter_at_high_latitude_and_across_the_antimeridian(lat: float, lon: float) -> None:
    # side by side, 0.45 km apart east-west: at 80 N that is 0.023 deg of longitude, more than the old fixed
    # 4 x 0.0045 deg cells, so the old 3 x 3 search missed it; at 179.999 the partner is across the antimeridian
    (e,) = encounters(_pair(401, 402, (lat, lon), 0.45, 0.5, 180))
    assert e["median_dist_km"] == pytest.approx(0.45, abs=0.02)
    assert abs(e["lat"] - lat) < 0.05
    assert haversine_km(e["lat"], e["lon"], lat, lon) < 3.0  # the circular mean stays beside the pair


def test_encounter_grid_finds_exactly_the_close_pairs_anywhere() -> None:
    """Stationary vessels in tight clusters at random places (poles and antimeridian included): the grid
    join must find every pair within encounter_dist_km and none beyond (brute force over all pairs)."""
    rng = np.random.default_rng(11)
    centres = [
        (89.99, 0.0),
        (-89.9, 30.0),
        (70.0, 180.0),
        (80.0, -179.999),
        (5.0, 179.9995),
        (60.0, 45.0),
    ]  # PLACES has (0, 179.99)
    centres += [(float(rng.uniform(-88, 88)), float(rng.uniform(-180, 180))) for _ in range(6)]
    pts = []
    for la, lo in centres:
        d = rng.uniform(0, 0.7, 6)  # km from the centre
        b = rng.uniform(0, 360, 6)
        pla, plo = destination_point(np.full(6, la), np.full(6, lo), b, d)
        pts += list(zip(pla.tolist(), plo.tolist(), strict=True))
    la, lo = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    dist = haversine_km(la[:, None], lo[:, None], la[None, :], lo[None, :])
    limit = TH.encounter_dist_km
    n = len(pts)
    want = {(i, j) for i in range(n) for j in range(i + 1, n) if dist[i, j] <= limit}
    unclear = {(i, j) for i in range(n) for j in range(i + 1, n) if abs(dist[i, j] - limit) < 0.002}
    rows = [r for k, (a, b) in enumerate(pts) for r in line(1000 + k, 0, (a, b), 0, 0, 150, every=10)]
    found = {(e["mmsi_a"] - 1000, e["mmsi_b"] - 1000) for e in encounters(rows)}
    assert len(want) > 20
    assert found - unclear == want - unclear


def _gap_rows(
    silence_h: float,
    other: bool,
    start: tuple[float, float] = SEA,
    moved_km: float = 30.0,
    other_east_km: float = 5.0,
) -> list:  # type: ignore[type-arg]
    """Vessel 301 reports for an hour, is silent ``silence_h``, then reports ``moved_km`` further north;
    vessel 302 (if ``other``) transmits every 10 min ``other_east_km`` east of the start all the while."""
    end = destination_point(start[0], start[1], 0, moved_km)
    rows = line(301, 0, start, 0, 0, 60) + line(
        301, 60 + silence_h * 60, (float(end[0]), float(end[1])), 0, 0, 60
    )
    if other:
        east = destination_point(start[0], start[1], 90, other_east_km)
        rows += line(302, 0, (float(east[0]), float(east[1])), 0, 0, 120 + silence_h * 60, every=10)
    return rows


def _gap(rows: list, th: Thresholds = TH) -> dict:  # type: ignore[type-arg]
    gaps = run_vessel_kernels(positions(sorted(rows, key=lambda r: (r[0], r[1]))), PLACES, th)["gaps"]
    (g,) = annotate_coverage(_con(rows), gaps.filter(pa.compute.equal(gaps["mmsi"], 301)), th).to_pylist()
    return g  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("other", "start", "moved_km", "where", "likely"),
    [
        (True, SEA, 30.0, "at_sea", "switched_off"),  # others heard, moved: transponder off
        (False, SEA, 30.0, "at_sea", "unknown"),  # its path is in reception, but nobody else was around
        (True, SEA, 0.0, "at_sea", "switched_off"),  # drifting dark at sea while others are heard
        (True, A, 0.0, "in_port", "in_port_silence"),  # moored in a known port: no dark alert
        (False, A, 0.0, "in_port", "in_port_silence"),
        (True, HARBOUR, 0.0, "near_shore", "unknown"),  # moored at a berth the places do not know
        (True, HARBOUR, 30.0, "near_shore", "switched_off"),
    ],
)
def test_gap_class(other: bool, start: tuple[float, float], moved_km: float, where: str, likely: str) -> None:
    g = _gap(_gap_rows(14.0, other, start, moved_km))
    assert (g["likely"], g["start_where"]) == (likely, where)
    assert g["dist_km"] == pytest.approx(moved_km, abs=0.01)
    # Vessel 302 reports every 10 min; the whole hours inside the first (start) and the last (end) 12 h of
    # the silence count, each end on its own.
    expected = 0 if not other else 6 * (np.floor(TH.coverage_window_h) - 1)
    assert g["others_start"] == pytest.approx(expected, abs=7)
    assert g["others_end"] == pytest.approx(expected, abs=7)
    assert g["others_received"] == g["others_start"] + g["others_end"]
    assert (g["others_start"] > 0) == (g["others_end"] > 0) == other


def test_gap_across_a_reception_hole_is_coverage() -> None:
    # 302 is heard beside the start, but nothing at all is heard on the 200 km silent path for days: a hole.
    g = _gap(_gap_rows(14.0, True, SEA, 200.0))
    assert (g["likely"], g["path_heard"], g["others_end"]) == ("coverage", 0, 0)
    assert g["others_start"] > 0
    # The same silence 30 km long: the path's cells hold 301's own and 302's reports, so it was in reception.
    assert _gap(_gap_rows(14.0, True, SEA, 30.0))["path_heard"] > 0


def test_path_heard_counts_each_position_once() -> None:
    # The three path points of a 30 km silence share one 0.5 deg cell and their +-72 h windows overlap:
    # a position heard in that cell in the windows' union counts once, not once per window that holds it.
    rows = _gap_rows(14.0, True, SEA, 30.0)
    mid = destination_point(SEA[0] + 0.01, SEA[1], 0, 15.0)
    rows += line(303, -5 * 1440, (float(mid[0]), float(mid[1])), 0, 0, 11 * 1440, every=20)  # 11 days
    g = _gap(rows)
    hour, path_us, cell = 3_600_000_000, round(TH.reception_window_h * 3600e6), TH.coverage_cell_deg

    def cell_of(lat: float, lon: float) -> tuple[int, int]:
        return int(np.floor(lat / cell)), int(np.floor((lon + 180) / cell)) % 720

    s_us, e_us = (int(g[k].timestamp()) * 1_000_000 for k in ("start_ts", "end_ts"))
    wanted: set[tuple[int, int, int]] = set()
    path_cells = set()
    for f in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)):
        key = cell_of(g["start_lat"] + float(f) * (g["end_lat"] - g["start_lat"]), g["start_lon"])
        t = s_us + f * (e_us - s_us)
        wanted |= {
            (*key, h) for h in range(math.ceil((t - path_us) / hour), math.floor((t + path_us) / hour))
        }
        path_cells.add(key)
    assert len(path_cells) == 1
    t0_us = int(T0.timestamp()) * 1_000_000
    heard = [(*cell_of(la, lo), (t0_us + round(m * 60e6)) // hour) for _, m, la, lo in rows]
    expected = sum(1 for k in heard if k in wanted)
    assert 3 * 24 * 6 < expected < len(rows)  # 303 alone, 3 per hour, over more than 6 days
    assert g["path_heard"] == expected


@pytest.mark.parametrize("start", [(80.0, 140.0), (80.0, 179.99), (-80.0, -179.99), (85.0, 0.0)])
def test_gap_coverage_near_the_poles_and_across_the_antimeridian(start: tuple[float, float]) -> None:
    # Vessel 302 is 20 km east of the gap's start (within half a 0.5 deg cell, 27.8 km): at 80 deg that is
    # over 1 deg of longitude, two or three fixed 0.5 deg columns away, which the old plain 3 x 3 missed;
    # at 179.99 it is across the antimeridian. 30 km north, the end is ~36 km from it: heard there too.
    g = _gap(_gap_rows(14.0, True, start, 30.0, other_east_km=20.0))
    assert g["others_start"] > 0 and g["others_end"] > 0
    assert g["likely"] == "switched_off"
    # ... but the neighbourhood stays local: 150 km east is not "nearby" at any latitude.
    far = _gap(_gap_rows(14.0, True, start, 30.0, other_east_km=150.0))
    assert (far["others_start"], far["others_end"], far["likely"]) == (0, 0, "unknown")


def test_gap_shorter_than_dark_disabled_h_is_unknown() -> None:
    th = Thresholds(dark_disabled_h=12.0)
    assert _gap(_gap_rows(8.0, True), th)["likely"] == "unknown"
    assert _gap(_gap_rows(14.0, True), th)["likely"] == "switched_off"


def test_near_filter_never_drops_a_point_within_the_radius() -> None:
    rng = np.random.default_rng(7)
    n = 300
    plat = np.concatenate([rng.uniform(-89.9, 89.9, n - 4), [89.95, -89.95, 0.0, 65.0]])
    plon = np.concatenate([rng.uniform(-180, 180, n - 4), [10.0, -170.0, 179.999, -179.99]])
    radius = rng.uniform(100, 20_000, n)
    f = NearFilter(plat, plon, radius)
    # Points around every place, at 0-150 % of its radius, in every direction.
    k = 40
    p = np.repeat(np.arange(n), k)
    lat, lon = destination_point(
        plat[p], plon[p], rng.uniform(0, 360, n * k), radius[p] / 1000 * rng.uniform(0, 1.5, n * k)
    )
    d = haversine_km(lat[:, None], lon[:, None], plat[None, :], plon[None, :]) * 1000  # point x place
    within = (d <= radius[None, :]).any(axis=1)
    mask = f.mask(lat, lon)
    assert within.sum() > 5000
    assert not (within & ~mask).any()  # conservative: never a false negative
    # ... and it does filter: random points on the sphere are almost all proven far.
    z = rng.uniform(-1, 1, 20_000)
    far = f.mask(np.degrees(np.arcsin(z)), rng.uniform(-180, 180, 20_000))
    assert far.mean() < 0.05
