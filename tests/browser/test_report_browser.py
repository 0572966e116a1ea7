"""The report in a real browser (Debian's Chromium driven by Playwright): it loads cleanly offline, draws
the fixture's tracks, places, gaps and voyages, shows the halt, and its tables sort and filter.

Screenshots go to test-artifacts/. Skipped when /usr/bin/chromium or playwright is missing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.report.builder import build_report
from supplyline.store import Store
from tests.browser import fixture_store as fx

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    return build_report(fx.build_fixture_store(root / "store"), root / "report.html", title="Fixture report")


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """Open ``path`` and wait until the script has rendered; collect console errors and network requests."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(f"fetch: {r.url}"),
    )
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, problems


def _rows(page: Any, table: str) -> int:
    return int(page.get_attribute(f"#table-{table}", "data-rows"))


def test_report_renders_fixture(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-full.png"), full_page=True)
        assert problems == []
        assert page.is_visible("#synthetic-banner")
        # map: one path per vessel, a marker per place, dashed gaps, highlighted voyages, the encounter
        assert page.locator("#map path.track").count() == fx.N_VESSELS
        assert page.locator("#map circle.place").count() == fx.N_PLACES
        assert page.locator("#map circle.place.watched").count() == 2
        assert page.locator("#map line.gap").count() == fx.N_GAPS
        assert page.locator("#map path.voyage").count() == fx.N_VOYAGES
        assert page.locator("#map path.encounter").count() == fx.N_ENCOUNTERS
        # vessel A's track restarts after each of its two silences: three "M" commands
        d_a = page.get_attribute(f"#map path.track[data-mmsi='{fx.MMSI_A}']", "d")
        assert d_a.count("M") == 3
        page.locator("#map").screenshot(path=str(ARTIFACTS / "report-map.png"))
        # timeline: one lane for the route, the halt shaded, three departures, the new-vessel alert
        assert page.locator("#timeline g.lane").count() == 1
        assert page.locator("#timeline rect.halt").count() == 1
        assert "halt" in page.text_content("#timeline .halt-label")
        assert page.locator("#timeline line.departure").count() == fx.N_VOYAGES
        assert page.locator("#timeline path.alert").count() == 1
        assert page.locator("#timeline rect.claim-bar").count() == fx.N_CLAIMS
        page.locator("#timeline-section").screenshot(path=str(ARTIFACTS / "report-timeline.png"))
        # estimates and verdicts
        # each tested claim beside the estimate for its period: 2 rows, 2 estimate bars, 2 claim dots
        assert page.locator(".claims-chart rect.interval").count() == fx.N_CLAIMS
        assert page.locator(".claims-chart circle.claim-mark").count() == fx.N_CLAIMS
        # the open-ended "at least 10,000" claim runs to the end of the axis
        x2 = [
            float(v)
            for v in page.locator(".claims-chart line.claim-range").evaluate_all(
                "ls => ls.map(l => l.getAttribute('x2'))"
            )
        ]
        assert len(x2) == 2 and x2[0] > x2[1]
        assert page.locator("#estimate-spans tr").count() == 1 + 1  # header + the one estimate
        assert "claim/estimate" in page.text_content("#verdicts")
        assert page.locator("#verdicts .verdict").all_text_contents() == ["higher", "consistent"]
        assert (
            page.locator("details.evidence li").count() == 3 + 1 + 1
        )  # 3 voyages, 1 observation, 1 parameter
        # tables: expected row counts
        expected = {
            "visits": fx.N_VISITS,
            "voyages": fx.N_VOYAGES,
            "gaps": fx.N_GAPS,
            "encounters": fx.N_ENCOUNTERS,
            "alerts": fx.N_ALERTS,
            "claims": fx.N_CLAIMS,
            "places": fx.N_PLACES,
            "vessels": fx.N_VESSELS,
        }
        assert {name: _rows(page, name) for name in expected} == expected
        assert page.locator("#table-visits tbody tr").count() == fx.N_VISITS
    finally:
        page.close()


def test_filter_and_sort(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        # visits of LADY R (MMSI 445000002): v4, v5
        page.fill("#table-visits input.filter", str(fx.MMSI_B))
        assert _rows(page, "visits") == 2
        assert page.locator("#table-visits tbody tr").count() == 2
        assert "2 of 6 rows" in page.text_content("#table-visits .count")
        page.fill("#table-visits input.filter", "vostochny")
        assert _rows(page, "visits") == 2  # v2 and v4
        page.fill("#table-visits input.filter", "")
        assert _rows(page, "visits") == fx.N_VISITS
        # sort voyages by departure, descending on the second click: y2 (168 h) first
        header = page.locator("#table-voyages th", has_text="departure_ts")
        header.click()
        header.click()
        assert page.locator("#table-voyages tbody tr").first.locator("td").first.text_content() == "y2"
        page.locator("#table-visits").screenshot(path=str(ARTIFACTS / "report-tables.png"))
        assert problems == []
    finally:
        page.close()


def test_empty_store_says_none(browser: Any, tmp_path: Path) -> None:
    out = build_report(Store.create(tmp_path / "empty"), tmp_path / "empty.html")
    page, problems = _open(browser, out)
    try:
        assert problems == []
        assert not page.is_visible("#synthetic-banner")
        assert page.locator("#map path.track").count() == 0
        assert "none" in page.text_content("#timeline-section")
        assert "none" in page.text_content("#table-voyages")
        assert "none" in page.text_content("#estimates")
        page.screenshot(path=str(ARTIFACTS / "report-empty.png"), full_page=True)
    finally:
        page.close()


def test_big_table_pages_rows(browser: Any, tmp_path: Path) -> None:
    # 250 alerts: 100 rows rendered at first, the button adds the other 150; a filter starts again at page 1.
    store = Store.create(tmp_path / "big")
    n = 250
    alerts = pa.table(
        {
            "alert_id": [f"a{i:03d}" for i in range(n)],
            "kind": ["new_vessel"] * n,
            "ts": pa.array([fx.T0 + dt.timedelta(hours=i) for i in range(n)], schema.TS),
            "mmsi": pa.array([1000 + i for i in range(n)], pa.int64()),
        }
    )
    store.write_table("alerts", alerts)
    # 30 claims over the same period: 30 timeline rows, of which the first 12 show until "show all"
    claims = pa.table(
        {
            "claim_id": [f"c{i}" for i in range(30)],
            "claimant": [f"Source {i}" for i in range(30)],
            "published": pa.array(
                [dt.date(2024, 2, 1) + dt.timedelta(days=i) for i in range(30)], pa.date32()
            ),
            "period_start": pa.array([dt.date(2024, 1, 20)] * 30, pa.date32()),
            "period_end": pa.array([dt.date(2024, 1, 31)] * 30, pa.date32()),
            "quantity": [float(i) for i in range(30)],
            "unit": ["trips"] * 30,
        }
    )
    store.write_table("claims", claims)
    page, problems = _open(browser, build_report(store, tmp_path / "big.html"))
    try:
        assert page.locator("#table-alerts tbody tr").count() == 100
        assert "first 100 shown" in page.text_content("#table-alerts .count")
        page.click("#table-alerts button.more-rows")
        assert page.locator("#table-alerts tbody tr").count() == n
        assert page.is_hidden("#table-alerts button.more-rows")
        page.fill("#table-alerts input.filter", "new_vessel")
        assert page.locator("#table-alerts tbody tr").count() == 100 and _rows(page, "alerts") == n
        assert page.locator("#timeline rect.claim-bar").count() == 12
        page.click("#timeline-claims")
        assert page.locator("#timeline rect.claim-bar").count() == 30
        assert "Source 29" in page.text_content("#timeline")
        assert problems == []
    finally:
        page.close()


def test_rows_with_missing_values_render_cleanly(browser: Any, tmp_path: Path) -> None:
    # Nulls wherever the schemas allow them: nothing may turn into NaN attributes (a console error).
    store = Store.create(tmp_path / "odd")
    t = fx.T0
    rows = {
        "alerts": [
            {"alert_id": "h1", "kind": "halt", "route": "r"},  # no time at all: cannot be placed
            {"alert_id": "h2", "kind": "halt", "ts": t, "route": "r", "details": "not json"},
            {"alert_id": "x", "kind": "resumption", "route": "r"},
        ],
        "voyages": [{"voyage_id": "v", "mmsi": 1, "route": "r"}],
        "gaps": [{"gap_id": "g", "mmsi": 1, "start_lat": 1.0}],
        "encounters": [{"encounter_id": "e", "mmsi_a": 1, "mmsi_b": 2, "lat": 1.0}],
        "claims": [
            {"claim_id": "c", "unit": "trips"},
            {"claim_id": "d", "unit": "trips", "published": t.date()},
        ],
        "estimates": [{"estimate_id": "s", "unit": "trips", "inputs": "{broken"}],
        "claim_tests": [{"claim_id": "c", "estimate_unit": "trips"}, {"claim_id": "d", "claim_value": 0.0}],
    }
    schemas = {
        "alerts": schema.ALERTS,
        "voyages": schema.VOYAGES,
        "gaps": schema.GAPS,
        "encounters": schema.ENCOUNTERS,
        "claims": schema.CLAIMS,
        "estimates": schema.ESTIMATES,
        "claim_tests": schema.CLAIM_TESTS,
    }
    for name, data in rows.items():
        store.write_table(name, pa.Table.from_pylist(data, schema=schemas[name]))
    page, problems = _open(browser, build_report(store, tmp_path / "odd.html"))
    try:
        assert problems == []
        assert page.locator("#timeline rect.halt").count() == 1
        assert page.locator("#map line.gap").count() == 0
        assert page.locator("#map path.encounter").count() == 0
        assert _rows(page, "claims") == 2
    finally:
        page.close()


def test_satellite_detections_layer(browser: Any, tmp_path: Path) -> None:
    """Matched and dark detections are drawn, the tooltip shows the matching evidence, and a scene id from
    the data is escaped, never executed."""
    store = fx.build_fixture_store(tmp_path / "store")
    base = {"ts": fx.T0, "length_m": 110.0, "n_candidates": 1, "in_place": None, "near_place": "case:rajin"}
    rows = [
        {**base, "det_id": "d1", "scene_id": "S1A_x", "lon": 130.30, "lat": 42.24, "status": "matched",
         "mmsi": fx.MMSI_A, "match_score": 0.9, "dist_m": 42.0, "sigma_m": 71.0, "dt_s": 30.0,
         "ais_length_m": 120.0},
        {**base, "det_id": "d2", "scene_id": "<img src=x onerror=alert(1)>", "lon": 130.32, "lat": 42.23,
         "status": "dark", "n_candidates": 0},
    ]  # fmt: skip
    store.write_table("detection_matches", pa.Table.from_pylist(rows, schema=schema.DETECTION_MATCHES))
    page, problems = _open(browser, build_report(store, tmp_path / "det.html"))
    try:
        svg = page.locator("svg#map")
        assert (
            svg.get_attribute("data-detections") == "2" and svg.get_attribute("data-dark-detections") == "1"
        )
        assert page.locator("#map path.detection.dark").count() == 1
        page.locator("#map path.detection.matched").first.dispatch_event("mousemove")
        tip = page.text_content("#tooltip") or ""
        assert "matched" in tip and "42 m from its AIS position" in tip and "AIS 120 m" in tip
        page.locator("#map path.detection.dark").first.dispatch_event("mousemove")
        assert "<img src=x onerror=alert(1)>" in (page.text_content("#tooltip") or "")
        assert page.locator("#tooltip img").count() == 0
        assert _rows(page, "detection_matches") == 2
        assert "satellite detection, dark" in page.text_content("#map-legend")
        # a pass row on the timeline: one tick per scene, red when it saw a dark vessel
        assert page.locator("#timeline line.pass").count() == 2
        assert page.locator("#timeline line.pass.dark").count() == 1
        assert "satellite passes" in page.text_content("#timeline")
        assert problems == []
    finally:
        page.close()
