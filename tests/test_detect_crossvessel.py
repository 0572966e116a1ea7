"""Cross-vessel detectors on hand-built tracks (real DuckDB): encounters, gap coverage; the grid prefilter."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from supplyline.detect import Thresholds, place_indexes, run_vessel_kernels
from supplyline.detect.near import NearFilter
from supplyline.engine.local import annotate_coverage, detect_encounters
from supplyline.geo import destination_point, haversine_km
from tests.test_detect_kernels import PLACES, A, line, positions

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


def _gap_rows(silence_h: float, other: bool) -> list:  # type: ignore[type-arg]
    rows = line(301, 0, (38.0, 140.0), 0, 0.5, 60) + line(
        301, 60 + silence_h * 60, (38.01, 140.0), 0, 0.5, 60
    )
    if other:  # another vessel transmitting 5 km away all the time
        rows += line(302, 0, (38.0, 140.06), 0, 0.5, 120 + silence_h * 60, every=10)
    return rows


@pytest.mark.parametrize(
    ("silence_h", "other", "likely"),
    [(14.0, True, "disabled"), (8.0, True, "unknown"), (14.0, False, "coverage")],
)
def test_gap_coverage(silence_h: float, other: bool, likely: str) -> None:
    rows = _gap_rows(silence_h, other)
    gaps = run_vessel_kernels(positions(sorted(rows, key=lambda r: (r[0], r[1]))), PLACES, TH)["gaps"]
    gaps = gaps.filter(pa.compute.equal(gaps["mmsi"], 301))
    (g,) = annotate_coverage(_con(rows), gaps, TH).to_pylist()
    assert g["likely"] == likely
    # Vessel 302 reports every 10 min; whole hours inside the first and last 12 h of the silence count.
    hours = min(silence_h, 2 * TH.coverage_window_h)
    expected = 0 if not other else 6 * (np.floor(hours) - 1)
    assert g["others_received"] == pytest.approx(expected, abs=12)
    assert (g["others_received"] > 0) == other


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
