"""supplyline.geo: hand-computed great-circle answers (sphere of R = 6371.0088 km)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from supplyline.geo import (
    EARTH_RADIUS_KM,
    chord_to_km,
    destination_point,
    haversine_km,
    initial_bearing_deg,
    km_to_chord,
    to_unit_xyz,
)

DEG_KM = EARTH_RADIUS_KM * math.pi / 180.0  # 111.19508 km per degree of arc


@pytest.mark.parametrize(
    ("lat1", "lon1", "lat2", "lon2", "km"),
    [
        (0.0, 0.0, 0.0, 1.0, DEG_KM),  # one degree of the equator
        (10.0, 20.0, 20.0, 20.0, 10 * DEG_KM),  # along a meridian
        (0.0, 0.0, 0.0, 90.0, 90 * DEG_KM),  # a quarter of the equator
        (0.0, 179.5, 0.0, -179.5, DEG_KM),  # across the antimeridian, not 359 degrees
        (89.9, 0.0, 89.9, 180.0, 0.2 * DEG_KM),  # over the north pole
        (
            60.0,
            0.0,
            60.0,
            1.0,
            2 * EARTH_RADIUS_KM * math.asin(math.cos(math.radians(60)) * math.sin(math.radians(0.5))),
        ),
        (40.0, -74.0, -40.0, 106.0, 180 * DEG_KM),  # antipodes
    ],
)
def test_haversine_known_answers(lat1: float, lon1: float, lat2: float, lon2: float, km: float) -> None:
    assert float(haversine_km(lat1, lon1, lat2, lon2)) == pytest.approx(km, rel=1e-12, abs=1e-9)


def test_haversine_is_vectorised_and_broadcasts() -> None:
    lat2 = np.array([0.0, 0.0, 1.0])
    lon2 = np.array([1.0, -1.0, 0.0])
    np.testing.assert_allclose(haversine_km(0.0, 0.0, lat2, lon2), [DEG_KM] * 3, rtol=1e-12)


@pytest.mark.parametrize(
    ("lat1", "lon1", "lat2", "lon2", "bearing"),
    [
        (0.0, 0.0, 0.0, 1.0, 90.0),
        (0.0, 0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, -1.0, 0.0, 180.0),
        (0.0, 0.0, 0.0, -1.0, 270.0),
        (0.0, 179.5, 0.0, -179.5, 90.0),  # east across the antimeridian
        (0.0, 0.0, 45.0, 90.0, 45.0),  # spherical trig: tan(b) = sin(90)cos(45)/(cos0 sin45) -> 45
    ],
)
def test_initial_bearing(lat1: float, lon1: float, lat2: float, lon2: float, bearing: float) -> None:
    assert float(initial_bearing_deg(lat1, lon1, lat2, lon2)) == pytest.approx(bearing, abs=1e-9)


def test_destination_round_trip_random_points() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(-80, 80, 1000)
    lon = rng.uniform(-180, 180, 1000)
    brg = rng.uniform(0, 360, 1000)
    dist = rng.uniform(0.01, 5000, 1000)
    lat2, lon2 = destination_point(lat, lon, brg, dist)
    assert ((lon2 >= -180) & (lon2 < 180)).all()
    np.testing.assert_allclose(haversine_km(lat, lon, lat2, lon2), dist, rtol=1e-9)
    np.testing.assert_allclose(
        np.mod(initial_bearing_deg(lat, lon, lat2, lon2) - brg + 180, 360) - 180, 0, atol=1e-6
    )


def test_destination_across_antimeridian() -> None:
    lat, lon = destination_point(0.0, 179.5, 90.0, DEG_KM)
    assert float(lat) == pytest.approx(0.0, abs=1e-12)
    assert float(lon) == pytest.approx(-179.5, abs=1e-9)


def test_chord_conversions() -> None:
    km = np.array([0.0, 0.001, 1.0, 3000.0, math.pi * EARTH_RADIUS_KM])
    np.testing.assert_allclose(chord_to_km(km_to_chord(km)), km, rtol=1e-9, atol=1e-9)
    # the chord between unit vectors gives the same distance as haversine
    a, b = to_unit_xyz([10.0], [170.0]), to_unit_xyz([-5.0], [-175.0])
    chord = np.linalg.norm(a - b, axis=1)
    np.testing.assert_allclose(chord_to_km(chord), haversine_km(10.0, 170.0, -5.0, -175.0), rtol=1e-12)


def test_doctests_of_geo_and_places() -> None:
    """The examples in the docstrings are part of the contract other stages rely on."""
    import doctest

    import supplyline.geo
    import supplyline.places.index
    import supplyline.places.search

    for module in (supplyline.geo, supplyline.places.index, supplyline.places.search):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
