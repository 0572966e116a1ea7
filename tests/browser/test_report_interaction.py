"""The report as a workbench, in Debian's Chromium: vessel names in tables and tooltips, a click isolates a
vessel (map, vessel list and tables together), a time brush narrows everything, the timeline axis spans the
data period with claims outside it drawn as arrows, loitering is listed, and a vessel name carrying markup is
shown as text and never runs.

The fixture (tests/browser/fixture_store.py) has known answers: ANGARA (A) made 2 route trips, LADY R (B) 1,
MARIA (C) none; A had 2 dark gaps and met C once. Screenshots go to docs/img/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.report.builder import build_report
from supplyline.store import Store
from tests.browser import fixture_store as fx

pytestmark = pytest.mark.browser

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
HOUR_MS = 3_600_000
T0_MS = int(fx.T0.timestamp() * 1000)
PAYLOADS = {fx.MMSI_A: "</script><script>alert(10)</script>", fx.MMSI_C: "<img src=x onerror=alert(9)>"}


def _loitering(store: Store) -> None:
    """One loitering episode of MARIA at sea (hours 105-125), so the layer and the table have a row."""
    row = {
        "loiter_id": "l1",
        "mmsi": fx.MMSI_C,
        "start_ts": fx.T0 + dt.timedelta(hours=105),
        "end_ts": fx.T0 + dt.timedelta(hours=125),
        "duration_h": 20.0,
        "mean_speed_kn": 0.8,
        "lat": fx.SEA[0],
        "lon": fx.SEA[1],
        "dist_to_place_km": 95.0,
    }
    store.write_table("loitering", pa.Table.from_pylist([row], schema=schema.LOITERING))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interaction")
    store = fx.build_fixture_store(root / "store")
    _loitering(store)
    return build_report(store, root / "report.html", title="Fixture report")


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, problems


def _rows(page: Any, table: str) -> int:
    return int(page.get_attribute(f"#table-{table}", "data-rows"))


def _shown_tracks(page: Any) -> list[str]:
    return page.locator("#map path.track:not(.off)").evaluate_all(
        "ps => ps.map(p => p.getAttribute('data-mmsi'))"
    )


def _vessel_counts(page: Any) -> dict[str, list[str]]:
    """The vessel list as {MMSI: [route trips, voyages, port calls, dark gaps, encounters, loitering]}."""
    rows = page.locator("#vessel-table tbody tr").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.cells).map(td => td.textContent))"
    )
    return {r[1]: r[2:8] for r in rows}


def test_vessel_names_in_tables_and_tooltips(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        page.fill("#table-voyages input.filter", "LADY R")
        assert _rows(page, "voyages") == 1  # y3, LADY R's one trip
        assert "LADY R" in page.text_content("#table-voyages tbody")
        page.fill("#table-visits input.filter", "lady r")
        assert _rows(page, "visits") == 2
        page.fill("#table-encounters input.filter", "MARIA")
        assert _rows(page, "encounters") == 1
        page.locator(f"#map path.track[data-mmsi='{fx.MMSI_B}']").dispatch_event("mousemove")
        assert "LADY R" in page.text_content("#tooltip")
        page.locator("#map line.gap").first.dispatch_event("mousemove")
        assert "ANGARA (MMSI 445000001)" in page.text_content("#tooltip")
        page.locator("#map path.encounter").dispatch_event("mousemove")
        tip = page.text_content("#tooltip")
        assert "ANGARA" in tip and "MARIA" in tip
        page.locator("#map path.voyage").first.dispatch_event("mousemove")
        assert "ANGARA" in page.text_content("#tooltip")
        # per-ship trip counts, loitering listed (table, map layer, vessel list)
        assert _vessel_counts(page) == {
            str(fx.MMSI_A): ["2", "2", "3", "2", "1", "0"],
            str(fx.MMSI_B): ["1", "1", "2", "0", "0", "0"],
            str(fx.MMSI_C): ["0", "0", "1", "0", "1", "1"],
        }
        assert _rows(page, "loitering") == 1 and "MARIA" in page.text_content("#table-loitering tbody")
        assert page.locator("#map circle.loiter").count() == 1
        assert problems == []
    finally:
        page.close()


def test_click_a_vessel_isolates_it(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        assert len(_shown_tracks(page)) == fx.N_VESSELS
        page.click(f"#vessel-table tr[data-mmsi='{fx.MMSI_B}'] .vessel-link")
        assert _shown_tracks(page) == [str(fx.MMSI_B)]
        assert "LADY R" in page.text_content("#view-vessel")
        assert (_rows(page, "voyages"), _rows(page, "visits"), _rows(page, "gaps")) == (1, 2, 0)
        assert _rows(page, "encounters") == 0 and _rows(page, "vessels") == 1
        assert page.locator("#map path.voyage:not(.off)").count() == 1
        assert page.locator("#timeline line.departure:not(.other)").count() == 1
        page.locator("#map").screenshot(path=str(DOCS_IMG / "report-vessel.png"))
        # "show all vessels", then a vessel in a table; on the map, a click on its track toggles it off
        page.click("#clear-vessel")
        page.click(f"#table-encounters .vessel-link[data-mmsi='{fx.MMSI_C}']")
        assert _shown_tracks(page) == [str(fx.MMSI_C)]
        assert (_rows(page, "encounters"), _rows(page, "loitering"), _rows(page, "voyages")) == (1, 1, 0)
        page.locator(f"#map path.track[data-mmsi='{fx.MMSI_C}']").dispatch_event("click")
        assert len(_shown_tracks(page)) == fx.N_VESSELS and page.is_hidden("#view-bar")
        page.locator(f"#map path.track[data-mmsi='{fx.MMSI_A}']").dispatch_event("click")
        assert _shown_tracks(page) == [str(fx.MMSI_A)] and _rows(page, "gaps") == fx.N_GAPS
        assert problems == []
    finally:
        page.close()


def _brush(page: Any, t0_h: float, t1_h: float) -> None:
    """Drag on the time strip from hour ``t0_h`` to ``t1_h`` of the fixture (real mouse events)."""
    page.locator("#time-brush").scroll_into_view_if_needed()
    box = page.locator("#time-brush .brush .overlay").bounding_box()
    d0, d1 = (float(page.get_attribute("#timeline", a)) for a in ("data-data-t0", "data-data-t1"))

    def px(h: float) -> float:
        return box["x"] + (T0_MS + h * HOUR_MS - d0) / (d1 - d0) * box["width"]

    y = box["y"] + box["height"] / 2
    page.mouse.move(px(t0_h), y)
    page.mouse.down()
    page.mouse.move(px((t0_h + t1_h) / 2), y, steps=4)
    page.mouse.move(px(t1_h), y, steps=4)
    page.mouse.up()


def test_time_brush_narrows_map_tables_and_timeline(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        _brush(page, 60, 110)
        t0, t1 = (float(page.get_attribute("#timeline", a)) for a in ("data-t0", "data-t1"))
        assert abs(t0 - (T0_MS + 60 * HOUR_MS)) < HOUR_MS and abs(t1 - (T0_MS + 110 * HOUR_MS)) < HOUR_MS
        # in hours 60-110: voyage y1 (72-96); visits v1, v2, v4, v6; gap 84-92; the encounter (100-104)
        assert (_rows(page, "voyages"), _rows(page, "visits"), _rows(page, "gaps")) == (1, 4, 1)
        assert (_rows(page, "encounters"), _rows(page, "alerts"), _rows(page, "loitering")) == (1, 0, 1)
        assert _rows(page, "places") == fx.N_PLACES  # not events: unaffected
        assert _vessel_counts(page)[str(fx.MMSI_A)][:2] == ["1", "1"]
        assert page.locator("#map path.voyage:not(.off)").count() == 1
        assert page.locator("#map line.gap:not(.off)").count() == 1
        # tracks are cut to the window: vessel A's path now starts near hour 60, not at Rajin at hour 0
        assert page.locator("#timeline line.departure").count() == fx.N_VOYAGES  # clipped, not removed
        page.locator("#timeline-section").screenshot(path=str(DOCS_IMG / "report-brush.png"))
        # the wheel zooms the timeline in further (the brush follows); "whole period" resets everything
        page.locator("#timeline").scroll_into_view_if_needed()
        box = page.locator("#timeline").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 20)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(300)
        z0, z1 = (float(page.get_attribute("#timeline", a)) for a in ("data-t0", "data-t1"))
        assert z1 - z0 < 0.8 * (t1 - t0) and t0 <= z0 < z1 <= t1
        page.click("#clear-window")
        assert _rows(page, "visits") == fx.N_VISITS and page.is_hidden("#view-bar")
        assert problems == []
    finally:
        page.close()


def test_timeline_axis_spans_the_data_period(browser: Any, report: Path) -> None:
    page, problems = _open(browser, report)
    try:
        t0, t1 = (float(page.get_attribute("#timeline", a)) for a in ("data-t0", "data-t1"))
        # first position at T0, last event (visits ending at hour 480) at T0 + 480 h; claim c1 starts
        # 2023-09-01, five months earlier, and is an arrow at the left edge instead of stretching the axis
        assert (t0, t1) == (T0_MS, T0_MS + 480 * HOUR_MS)
        assert page.locator("#timeline path.claim-arrow.left").count() == 1
        assert page.locator("#timeline path.claim-arrow.right").count() == 0
        assert page.locator("#timeline rect.claim-bar").count() == fx.N_CLAIMS
        ticks = page.locator("#timeline .axis .tick text").all_text_contents()
        assert ticks and not any("2023" in t or "September" in t for t in ticks)
        assert problems == []
    finally:
        page.close()


def test_markup_in_a_vessel_name_is_text(browser: Any, tmp_path: Path) -> None:
    store = fx.build_fixture_store(tmp_path / "store")
    later = fx.T0 + dt.timedelta(days=1)  # newer static reports: their names win
    statics = pa.Table.from_pylist(
        [{"mmsi": m, "ts": later, "name": n, "ship_type": 70} for m, n in PAYLOADS.items()],
        schema=schema.STATICS,
    )
    with store.transaction() as txn:
        txn.put("statics/day=2024-01-21/part-hostile.parquet", statics)
    page, problems = _open(browser, build_report(store, tmp_path / "hostile.html"))
    try:
        page.locator(f"#map path.track[data-mmsi='{fx.MMSI_C}']").dispatch_event("mousemove")
        assert PAYLOADS[fx.MMSI_C] in page.text_content("#tooltip")
        page.locator("#map path.encounter").dispatch_event("mousemove")
        assert PAYLOADS[fx.MMSI_A] in page.text_content("#tooltip")
        assert PAYLOADS[fx.MMSI_C] in page.text_content("#table-encounters tbody")
        page.click(f"#vessel-table tr[data-mmsi='{fx.MMSI_C}'] .vessel-link")
        assert PAYLOADS[fx.MMSI_C] in page.text_content("#view-vessel")
        page.fill("#table-voyages input.filter", "</script>")
        assert _rows(page, "voyages") == 0  # the view shows MARIA's rows only: she made none
        page.wait_for_timeout(200)
        assert page.locator("img").count() == 0 and page.locator("script").count() == 4  # 2 data + 2 code
        assert problems == []
    finally:
        page.close()


def test_many_vessels_get_distinct_colours(browser: Any, tmp_path: Path) -> None:
    n, per = 40, 5
    t = np.tile(np.arange(per, dtype=np.int64) * 600, n) + int(fx.T0.timestamp())
    mmsi = np.repeat(np.arange(n, dtype=np.int64) + 200_000_000, per)
    pos = pa.table(
        {
            "mmsi": mmsi,
            "ts": pa.array(t * 1_000_000).cast(schema.TS),
            "lat": 40 + np.repeat(np.arange(n), per) * 0.01 + np.tile(np.arange(per), n) * 0.001,
            "lon": np.full(n * per, 130.0) + np.tile(np.arange(per), n) * 0.001,
        }
    )
    store = Store.create(tmp_path / "many")
    with store.transaction() as txn:
        txn.put("positions/day=2024-01-20/part-many.parquet", pos)
    page, problems = _open(browser, build_report(store, tmp_path / "many.html"))
    try:
        strokes = page.locator("#map path.track").evaluate_all("ps => ps.map(p => p.getAttribute('stroke'))")
        assert len(strokes) == n and len(set(strokes)) == n
        assert problems == []
    finally:
        page.close()
