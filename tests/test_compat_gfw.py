"""GFW Events API layout: our port visits, gaps, encounters and loitering exported and read back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

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
        "ISO3",
        "portcalls",
    ]
    calls = visits.filter(
        pa.compute.equal(pa.compute.fill_null(visits["visit_class"], "port_call"), "port_call")
    )
    assert sum(daily["portcalls"].to_pylist()) == calls.num_rows > 0
    first = daily.to_pylist()[0]
    assert first["date"] == f"{first['year']:04d}-{first['month']:02d}-{first['day']:02d}"


def test_portwatch_country_is_a_name_and_iso3() -> None:
    from supplyline.compat import portwatch_daily

    t0 = dt.datetime(2024, 1, 5, 6, tzinfo=dt.UTC)
    visits = pa.Table.from_pylist(
        [
            {"visit_id": "a", "mmsi": 1, "place_id": "p:rajin", "visit_class": "port_call", "arrival_ts": t0},
            {"visit_id": "b", "mmsi": 2, "place_id": "p:rajin", "visit_class": "port_call", "arrival_ts": t0},
            {
                "visit_id": "c",
                "mmsi": 3,
                "place_id": "p:dunai",
                "visit_class": "short_stop",
                "arrival_ts": t0,
            },
            {
                "visit_id": "d",
                "mmsi": 3,
                "place_id": "p:nowhere",
                "visit_class": "port_call",
                "arrival_ts": t0,
            },
        ],
        schema=schema.VISITS,
    )
    places = pa.table(
        {
            "place_id": ["p:rajin", "p:dunai", "p:nowhere"],
            "name": ["Rajin", "Dunai", "Nowhere"],
            "country": ["KP", "RU", None],
        }
    )
    rows = {r["portid"]: r for r in portwatch_daily(visits, places).to_pylist()}
    assert set(rows) == {"p:rajin", "p:nowhere"}  # a short stop is not a port call
    assert (rows["p:rajin"]["country"], rows["p:rajin"]["ISO3"], rows["p:rajin"]["portcalls"]) == (
        "North Korea",
        "PRK",
        2,
    )
    assert rows["p:nowhere"]["country"] is None and rows["p:nowhere"]["ISO3"] is None


def test_loitering_round_trip_and_vessel_flags_and_names(store: Store) -> None:
    """Loitering survives export -> import; vessels carry the MID flag as ISO alpha-3 (445 = PRK) and names."""
    t0 = dt.datetime(2024, 1, 20, 3, tzinfo=dt.UTC)
    loiter = {
        "loiter_id": "l1", "mmsi": fx.MMSI_C, "start_ts": t0, "end_ts": t0 + dt.timedelta(hours=5.5),
        "duration_h": 5.5, "mean_speed_kn": 0.7, "lat": 42.1, "lon": 131.9,
    }  # fmt: skip
    tables = {
        "loitering": pa.Table.from_pylist([loiter], schema=schema.LOITERING),
        "encounters": store.read_table("encounters"),
    }
    events = json.loads(json.dumps(to_gfw_events(tables, vessels=store.read_table("statics"))))
    loit = next(e for e in events if e["type"] == "loitering")
    assert loit["vessel"] == {"ssvid": str(fx.MMSI_C), "flag": "RUS", "name": "MARIA"}  # MID 273 = Russia
    enc = next(e for e in events if e["type"] == "encounter")
    assert enc["vessel"]["flag"] == "PRK" and enc["vessel"]["name"] == "ANGARA"
    assert enc["encounter"]["vessel"]["flag"] == "RUS"
    back = from_gfw_events(events)["loitering"]
    cols = ["loiter_id", "mmsi", "start_ts", "end_ts", "duration_h", "mean_speed_kn", "lat", "lon"]
    assert back.select(cols).equals(tables["loitering"].select(cols))


def test_cli_exports_gfw_and_portwatch(store: Store, tmp_path: Path) -> None:
    from supplyline.report.export import export_store

    (gfw,) = export_store(store, "gfw", tmp_path)
    doc = json.loads(gfw.read_text())
    assert doc["total"] == len(doc["entries"]) == fx.N_VISITS + fx.N_GAPS + fx.N_ENCOUNTERS
    assert {e["vessel"].get("name") for e in doc["entries"]} == {"ANGARA", "LADY R", "MARIA"}
    back = from_gfw_events(doc)
    assert back["visits"].num_rows == fx.N_VISITS and back["encounters"].num_rows == fx.N_ENCOUNTERS
    (pw,) = export_store(store, "portwatch", tmp_path)
    assert pw.read_text().splitlines()[0] == (
        '"date","year","month","day","portid","portname","country","ISO3","portcalls"'
    )
    with pytest.raises(FormatError, match="entries"):
        from_gfw_events({"events": []})


def test_portwatch_csv_cells_are_not_formulas() -> None:
    from supplyline.report.export import formula_safe

    t = pa.table({"portname": ["=HYPERLINK(1)", "Rajin", None, "@SUM(1)"], "portcalls": [1, 2, 3, 4]})
    safe = formula_safe(t)
    assert safe["portname"].to_pylist() == ["'=HYPERLINK(1)", "Rajin", None, "'@SUM(1)"]
    assert safe["portcalls"].to_pylist() == [1, 2, 3, 4]
