"""GFW Events API layout: our port visits, gaps, encounters and loitering exported and read back."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.compat import from_gfw_events, to_gfw_events
from supplyline.errors import FormatError
from supplyline.store import Store
from tests.browser import fixture_store as fx

KEPT = {
    "visits": ["visit_id", "mmsi", "place_id", "place_name", "arrival_ts", "departure_ts", "dwell_h"],
    "gaps": [
        "gap_id",
        "mmsi",
        "start_ts",
        "end_ts",
        "duration_h",
        "start_lat",
        "start_lon",
        "end_lat",
        "end_lon",
    ],
    "encounters": ["encounter_id", "mmsi_a", "mmsi_b", "start_ts", "end_ts", "lat", "lon", "median_dist_km"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fx.build_fixture_store(tmp_path_factory.mktemp("gfw") / "store")


def test_round_trip_gives_the_same_events(store: Store) -> None:
    tables = {name: store.read_table(name) for name in KEPT}
    events = json.loads(json.dumps(to_gfw_events(tables, store.read_table("places"))))  # through JSON text
    assert {e["type"] for e in events} == {"port_visit", "gap", "encounter"}
    assert len(events) == fx.N_VISITS + fx.N_GAPS + fx.N_ENCOUNTERS
    visit = next(e for e in events if e["type"] == "port_visit")
    assert visit["port_visit"]["confidence"] in {"2", "3", "4"} and visit["start"].endswith("Z")
    assert visit["position"]["lat"] is not None
    back = from_gfw_events(events)
    for name, cols in KEPT.items():
        assert back[name].select(cols).sort_by(cols[0]).equals(tables[name].select(cols).sort_by(cols[0])), (
            name
        )


def test_intentional_disabling_and_confidence_levels() -> None:
    gap = {"gap_id": "g", "mmsi": 1, "likely": "disabled", "start_lat": 1.0, "start_lon": 2.0}
    visits = [{"visit_id": f"v{c}", "mmsi": 1, "place_id": "p", "confidence": c} for c in (0.95, 0.6, 0.1)]
    tables = {
        "gaps": pa.Table.from_pylist([gap], schema=schema.GAPS),
        "visits": pa.Table.from_pylist(visits, schema=schema.VISITS),
    }
    events = to_gfw_events(tables)
    assert [e["port_visit"]["confidence"] for e in events if e["type"] == "port_visit"] == ["4", "3", "2"]
    assert next(e for e in events if e["type"] == "gap")["gap"]["intentionalDisabling"] is True
    back = from_gfw_events(events)
    assert back["gaps"]["likely"].to_pylist() == ["disabled"]
    with pytest.raises(FormatError, match="unknown GFW event type"):
        from_gfw_events([{"type": "fishing", "id": "x", "vessel": {"ssvid": "1"}}])


def test_portwatch_daily_port_calls(store: Store) -> None:
    from supplyline.compat import portwatch_daily

    visits, places = store.read_table("visits"), store.read_table("places")
    daily = portwatch_daily(visits, places)
    assert daily.column_names == [
        "date",
        "year",
        "month",
        "day",
        "portid",
        "portname",
        "country",
        "portcalls",
    ]
    calls = visits.filter(
        pa.compute.equal(pa.compute.fill_null(visits["visit_class"], "port_call"), "port_call")
    )
    assert sum(daily["portcalls"].to_pylist()) == calls.num_rows > 0
    first = daily.to_pylist()[0]
    assert first["date"] == f"{first['year']:04d}-{first['month']:02d}-{first['day']:02d}"
