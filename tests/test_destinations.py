"""Destinations against sites: geocoding by case place, name/alias or lat,lon; distance to case depots;
"N of M sites within X km of a depot" with its records, on hand-built places with known distances."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.case import bundled_case_path, load_case
from supplyline.estimate.destinations import depot_figure, geocode
from tests.test_estimate import _full

PLACES = _full(
    pa.table(
        {
            "place_id": ["case:depot-a", "case:depot-b", "case:port"],
            "name": ["Depot A", "Depot B", "Port"],
            "kind": ["depot", "depot", "port"],
            "lat": [45.0, 50.0, 42.0],
            "lon": [40.0, 40.0, 132.0],
            "r_in_m": [1000.0] * 3,
            "r_out_m": [1500.0] * 3,
            "aliases": [None, "Bravo arsenal", None],
            "source": ["src-a", "src-b", "src-p"],
        }
    ),
    schema.PLACES,
)


def _records(dest: list[str | None]) -> pa.Table:
    n = len(dest)
    t = pa.table(
        {
            "obs_id": [f"o{i}" for i in range(n)],
            "date": pa.array([date(2024, 1, 1)] * n, pa.date32()),
            "kind": ["trade"] * n,
            "url": [f"https://example.org/{i}" for i in range(n)],
            "destination": dest,
        }
    )
    return _full(t, schema.OBSERVATIONS)


def test_n_of_m_sites_within_x_km_of_a_depot() -> None:
    # 0.1 deg of latitude = 11.1 km: "45.1,40" is 11.1 km from depot A; "45.5,40" is 55.6 km; the port is
    # ~7,000 km away; "Bravo arsenal" is depot B itself; "Nowhere" cannot be placed
    recs = _records(["45.1,40", "45.5,40", "port", "Bravo arsenal", "Nowhere", "45.1,40", None])
    fig = depot_figure(recs, PLACES, km=20)
    assert (fig.near, fig.total) == (2, 5)
    assert fig.not_geocoded == ["Nowhere"]
    by = {r["site"]: r for r in fig.sites.to_pylist()}
    assert by["45.1,40"]["depot_km"] == pytest.approx(11.12, abs=0.01)
    assert by["45.1,40"]["obs_ids"] == ["o0", "o5"]  # one site, two records
    assert by["Bravo arsenal"]["nearest_depot"] == "depot-b" and by["Bravo arsenal"]["depot_km"] == 0
    assert not by["45.5,40"]["near_depot"] and by["port"]["depot_km"] > 5000
    assert fig.sentence() == (
        "2 of 5 sites within 20 km of a depot (case depots: depot-a, depot-b); not geocoded: Nowhere"
    )
    assert fig.depot_sources == {"depot-a": "src-a", "depot-b": "src-b"}
    assert depot_figure(recs, PLACES, km=60).near == 3


def test_geocode_rejects_what_is_not_a_place() -> None:
    assert geocode("91,0", {}) is None and geocode("a,b", {}) is None
    assert geocode("42.5, 130.1", {}) == (None, 42.5, 130.1)


def test_bundled_case_destinations() -> None:
    case = load_case(bundled_case_path("dprk-russia"))
    fig = depot_figure(case.observations, case.places)
    # the rail observations at Tikhoretsk name it as their destination; the depot itself: 0 km
    assert (fig.near, fig.total) == (1, 1)
    assert fig.sites["obs_ids"].to_pylist() == [
        ["tikhoretsk-2023-09-28", "tikhoretsk-2024-02", "tikhoretsk-2024-04"]
    ]
