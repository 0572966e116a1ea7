"""`supplyline serve` end to end in Debian's Chromium: a real uvicorn process on loopback over the store that
`supplyline demo` builds (simulated dprk-russia scenario), driven by Playwright.

Search "LADY R" -> her vessel page with her trips per route; a February 2024 window narrows the map and the
tables; an alert written by `supplyline monitor` appears in the open page within 2 s; no console errors and no
request leaves the server's origin; injection payloads in a vessel name, claims, a place and an alert never
run; the demo store is byte-identical after the session. Screenshots of the main pages go to docs/img/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from supplyline.case import bundled_case_path
from supplyline.numfmt import human_number
from supplyline.store import Store
from tests.browser import fixture_store as fx
from tests.serve.hostile import GOOD_URL, HOSTILE_MMSI, NAME, PLACE_NAME, QUOTE, add_hostile_rows
from tests.serve.server import Server, file_hashes, serve

pytestmark = pytest.mark.browser

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
LADY_R = 273990004


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store `supplyline demo` writes (simulate -> ingest -> detect -> ... -> monitor)."""
    out = tmp_path_factory.mktemp("serve-demo") / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "supplyline", "demo", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / "store"


@pytest.fixture(scope="module")
def demo_hashes(demo_store: Path) -> dict[str, str]:
    return file_hashes(demo_store)


@pytest.fixture(scope="module")
def server(demo_store: Path, demo_hashes: dict[str, str]) -> Iterator[Server]:
    with serve(demo_store, "--case", "dprk-russia") as srv:
        yield srv


class Page:
    """A page that records console errors/warnings, page errors, dialogs and any request off the server."""

    def __init__(self, browser: Any, srv: Server) -> None:
        self.srv = srv
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.problems: list[str] = []
        p = self.page
        p.on(
            "console",
            lambda m: self.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        p.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        p.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        p.on(
            "request",
            lambda r: None if r.url.startswith(srv.url + "/") else self.problems.append(f"request: {r.url}"),
        )

    def open(self, path: str) -> Any:
        sep = "&" if "?" in path else "?"
        self.page.goto(f"{self.srv.url}{path}{sep}token={self.srv.token}")
        self.ready()
        return self.page

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Page]:
    page = Page(browser, server)
    yield page
    page.close()


def _store_voyage_counts(store: Path, mmsi: int) -> dict[str, int]:
    con = Store(store).connect()  # not Store.open: its recovery step may take the lock file
    rows = con.execute(
        "SELECT coalesce(route, ''), count(*) FROM voyages WHERE mmsi = ? GROUP BY 1", [mmsi]
    ).fetchall()
    con.close()
    return {r: int(n) for r, n in rows}


def test_search_lady_r_opens_her_page_with_trips_per_route(tab: Page, demo_store: Path) -> None:
    page = tab.open("/")
    page.fill("#search", "LADY R")
    page.click("#search-results a.vessel")
    tab.ready()
    assert page.url.endswith(f"/vessel/{LADY_R}")
    assert page.text_content("#vessel-name") == "LADY R"
    counts = {
        tr.get_attribute("data-route"): int(tr.get_attribute("data-trips"))
        for tr in page.locator("#route-counts tbody tr").all()
    }
    assert counts == _store_voyage_counts(demo_store, LADY_R)
    # the demo's own summary: "trips on watched routes (rajin-dunai, rajin-vostochny): ... LADY R 6"
    assert counts["rajin-dunai"] + counts["rajin-vostochny"] == 6
    assert page.text_content("#trips-outbound") == "6"
    assert "matched on imo" in page.text_content("#sanctions")
    assert page.locator("#vessel-map path.track").count() == 1
    assert page.locator("#vessel-gaps").get_attribute("data-rows") == str(
        len([g for g in _rows(demo_store, "gaps") if g["mmsi"] == LADY_R])
    )
    page.screenshot(path=str(DOCS_IMG / "serve-vessel.png"))
    assert tab.problems == []


def _rows(store: Path, table: str) -> list[dict[str, Any]]:
    return Store(store).read_table(table).to_pylist()


def _until(page: Any, expression: str, timeout_s: float = 30.0) -> None:
    """Poll ``expression`` in the page until true (wait_for_function evals a string, which the CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _drag(page: Any, t_from: float, t_to: float) -> None:
    """A real mouse drag on the time brush from data time ``t_from`` to ``t_to`` (epoch ms)."""
    box = page.locator("#brush").bounding_box()
    t0, t1 = (float(page.get_attribute("#brush", a)) for a in ("data-t0", "data-t1"))
    k = box["width"] / 1000  # viewBox units -> pixels
    x = lambda t: box["x"] + k * (10 + 980 * (t - t0) / (t1 - t0))  # noqa: E731
    y = box["y"] + box["height"] * 0.3
    page.mouse.move(x(t_from), y)
    page.mouse.down()
    page.mouse.move(x(t_to), y, steps=8)
    page.mouse.up()


def test_february_window_narrows_map_and_tables(tab: Page, demo_store: Path) -> None:
    page = tab.open("/")
    whole = {
        name: int(page.get_attribute(f"#table-{name}", "data-rows")) for name in ("voyages", "visits", "gaps")
    }
    assert whole["voyages"] == len(_rows(demo_store, "voyages"))
    assert page.get_attribute("#map path.land", "d").count("L") > 5000  # 1:10m coastline near the view
    page.screenshot(path=str(DOCS_IMG / "serve-map.png"))
    # a real drag over February 2024 on the brush ...
    feb, mar = 1706745600000, 1709251200000  # 2024-02-01, 2024-03-01 UTC
    _drag(page, feb, mar)
    _until(page, "document.body.dataset.window && !document.body.dataset.window.startsWith('2023-08')")
    tab.ready()
    start, end = page.evaluate("document.body.dataset.window.split('/').map(Date.parse)")
    assert abs(start - feb) < 2 * 86_400_000 and abs(end - mar) < 2 * 86_400_000
    # ... and the exact window typed in
    page.fill("#win-start", "2024-02-01")
    page.fill("#win-end", "2024-02-29")
    page.click("#win-apply")
    _until(page, "document.body.dataset.window === '2024-02-01T00:00:00.000Z/2024-03-01T00:00:00.000Z'")
    tab.ready()
    voyages = [
        v
        for v in _rows(demo_store, "voyages")
        if v["departure_ts"].timestamp() * 1000 <= mar
        and (v["arrival_ts"] or v["departure_ts"]).timestamp() * 1000 >= feb
    ]
    shown = int(page.get_attribute("#table-voyages", "data-rows"))
    assert shown == len(voyages) and 0 < shown < whole["voyages"]
    assert int(page.get_attribute("#table-visits", "data-rows")) < whole["visits"]
    assert int(page.get_attribute("#table-gaps", "data-rows")) < whole["gaps"]
    departures = page.locator("#table-voyages tbody tr td:nth-child(5)").all_text_contents()
    assert departures and all(d <= "2024-03-01" for d in departures)
    # tracks are cut to the window: every drawn track path exists only for vessels seen in February
    assert page.locator("#map path.track").count() == int(page.get_attribute("body", "data-tracks"))
    page.screenshot(path=str(DOCS_IMG / "serve-map-february.png"))
    # clicking a track isolates that vessel
    page.locator("#map path.track").first.dispatch_event("click")
    assert page.locator("#map g.root.isolating").count() == 1
    assert "Selected" in page.text_content("#map-info")
    assert tab.problems == []


def test_numbers_follow_the_cli_rule(tab: Page, demo_store: Path) -> None:
    """Hours as `supplyline.numfmt` writes them (3 significant figures, whole with separators from 100),
    coordinates to 1e-4 degree: the workbench, the report and the CLI print one number the same way."""
    page = tab.open("/route/rajin-vostochny")
    col = [th.text_content() for th in page.locator("#route-voyages th").all()].index("hours")
    shown = sorted(
        td.text_content() or "" for td in page.locator(f"#route-voyages tbody td:nth-child({col + 1})").all()
    )
    hours = [r["duration_h"] for r in _rows(demo_store, "voyages") if r["route"] == "rajin-vostochny"]
    assert shown and shown == sorted(human_number(h) for h in hours)
    assert any(
        len(s.replace(".", "").lstrip("0")) == 3 for s in shown if "." in s
    )  # e.g. "40.8", not "40.84"
    page = tab.open("/place/case:rajin")
    pos = page.locator("dl.facts dd").all()[
        [dt.text_content() for dt in page.locator("dl.facts dt").all()].index("position")
    ]
    lat, lon = (part.strip() for part in (pos.text_content() or "").split(","))
    assert len(lat.split(".")[1]) == 4 and len(lon.split(".")[1]) == 4, (lat, lon)
    assert tab.problems == []


@pytest.mark.parametrize("path", ["/place/case:rajin", "/route/rajin-vostochny", "/alerts", "/claims"])
def test_pages_load_cleanly(tab: Page, path: str) -> None:
    page = tab.open(path)
    assert page.locator("p.error").count() == 0
    name = {"/alerts": "alerts", "/claims": "claims"}.get(path) or path.split("/")[1]
    if path == "/route/rajin-vostochny":
        assert page.locator("#route-voyages").get_attribute("data-rows") == page.text_content(
            "#route-head dd"
        )
    if path == "/claims":
        assert page.locator("#claims").get_attribute("data-rows") == "46"
        assert page.locator("details.estimate").count() > 0
        # each claim's working names the voyages it counted, linked to their vessels
        assert page.locator("#claims details.working li.w-voyage a.vessel").count() > 0
        assert page.locator("#estimates li.w-voyage a.vessel").count() > 0
    page.screenshot(path=str(DOCS_IMG / f"serve-{name}.png"))
    assert tab.problems == []


def test_alert_written_by_monitor_appears_within_2_s(browser: Any, demo_store: Path, tmp_path: Path) -> None:
    import pyarrow.compute as pc

    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)
    store = Store.open(copy)
    removed: list[str] = []
    for part in store.parts("alerts"):  # the demo's monitor runs wrote one part each
        alerts = store.read_part("alerts", part)
        lady_r = pc.fill_null(
            pc.and_(pc.equal(alerts["kind"], "sanctioned"), pc.equal(alerts["mmsi"], LADY_R)), False
        )
        if pc.any(lady_r).as_py():
            removed += alerts.filter(lady_r)["alert_id"].to_pylist()
            store.write_table("alerts", alerts.filter(pc.invert(lady_r)), part=part)  # as if never raised
    assert len(removed) == 1
    with serve(copy) as srv:
        tab = Page(browser, srv)
        page = tab.open("/alerts")
        page.wait_for_selector("body[data-live='1']", timeout=10_000)
        before = set(store.parts("alerts"))
        cmd = [
            sys.executable,
            "-m",
            "supplyline",
            "monitor",
            "--store",
            str(copy),
            "--case",
            str(bundled_case_path("dprk-russia")),
            "--json",
        ]
        result: dict[str, Any] = {}
        runner = threading.Thread(
            target=lambda: result.update(
                proc=subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            )
        )
        runner.start()
        deadline = time.monotonic() + 300
        while set(store.parts("alerts")) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        written = time.monotonic()
        page.wait_for_selector(f"#alerts-feed li.alert.new[data-id='{removed[0]}']", timeout=2_000)
        seen = time.monotonic() - written
        runner.join(timeout=300)
        assert result["proc"].returncode == 0, result["proc"].stderr[-2000:]
        assert removed[0] in {a["alert_id"] for a in json.loads(result["proc"].stdout)}
        assert seen < 2.0
        assert "LADY R" in page.text_content(f"li.alert[data-id='{removed[0]}']")
        assert page.text_content("#live-count") == str(page.locator("#alerts-feed li.alert.new").count())
        assert tab.problems == []
        tab.close()


def test_injection_payloads_never_execute(browser: Any, tmp_path: Path) -> None:
    store = fx.build_fixture_store(tmp_path / "store")
    add_hostile_rows(store)
    with serve(tmp_path / "store") as srv:
        tab = Page(browser, srv)
        checks = ["/", f"/vessel/{HOSTILE_MMSI}", "/claims", "/alerts", "/place/case:hostile"]
        for path in checks:
            page = tab.open(path)
            assert page.evaluate("window.__pwned") is None, path
            assert (
                page.locator("a[href^='javascript:' i], a[href^='data:' i], a[href*='javascript:' i]").count()
                == 0
            )
            assert page.locator("img[src='x'], main script, svg[onload]").count() == 0, path
        page = tab.open(f"/vessel/{HOSTILE_MMSI}")
        assert page.text_content("#vessel-name") == NAME  # shown as text, exactly
        page = tab.open("/claims")
        assert page.locator(f"#claims a[href='{GOOD_URL}']").count() == 1
        assert (
            page.locator("#claims a").count() == fx.N_CLAIMS + 1
        )  # the fixture's two https links + the safe one
        assert QUOTE in page.text_content("#claims")
        page = tab.open("/place/case:hostile")
        assert page.text_content("#place-head h2") == PLACE_NAME
        page = tab.open("/")
        page.fill("#search", "LADY X")
        page.wait_for_selector("#search-results a.vessel")
        assert NAME in page.text_content("#search-results")
        assert page.evaluate("window.__pwned") is None
        assert tab.problems == []
        tab.close()


def test_demo_store_byte_identical_after_the_session(
    demo_store: Path, demo_hashes: dict[str, str], server: Server
) -> None:
    assert file_hashes(demo_store) == demo_hashes
