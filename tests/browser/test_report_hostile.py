"""The report built from a store carrying injection payloads (a store you were sent: nothing was validated on
the way in), clicked through in Debian's Chromium: every link is http(s) or an in-page anchor, clicking each
opens no dialog and navigates nowhere else, and the CSP (script hashes, no 'unsafe-inline') reports nothing.

Skipped when /usr/bin/chromium or playwright is missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.report.builder import build_report
from supplyline.store import Store
from tests.browser import fixture_store as fx

pytestmark = pytest.mark.browser

SAFE_URL = "https://ok.example/a?q=<b>&x=\"'"
BAD_URLS = ["javascript:alert(1)", " JaVaScRiPt:alert(2)", "data:text/html,<script>alert(3)</script>"]
MARKUP = ["<img src=x onerror=alert(4)>", "</script><script>alert(5)</script>", "<svg onload=alert(6)>"]


def _set(table: pa.Table, column: str, values: list[Any]) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


def _poison(store: Store) -> None:
    """Payloads written straight into the store's tables, bypassing every import check."""
    claims = store.read_table("claims", schema.CLAIMS)
    claims = _set(claims, "url", [BAD_URLS[0], SAFE_URL])
    claims = _set(claims, "claimant", MARKUP[:2])
    claims = _set(claims, "outlet", [BAD_URLS[1], MARKUP[2]])
    claims = _set(claims, "quote", [MARKUP[1], "javascript:alert(7)"])
    store.write_table("claims", claims)
    obs = store.read_table("observations", schema.OBSERVATIONS)
    obs = _set(obs, "url", [BAD_URLS[2]])
    obs = _set(obs, "description", [MARKUP[0]])
    store.write_table("observations", obs)
    alerts = store.read_table("alerts", schema.ALERTS)
    alerts = _set(alerts, "message", MARKUP[1:3])
    store.write_table("alerts", alerts)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-report")
    store = fx.build_fixture_store(root / "store")
    _poison(store)
    return build_report(store, root / "report.html", title="</title><script>alert(8)</script>")


def test_csp_has_no_unsafe_inline_script(report: Path) -> None:
    html = report.read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    script_src = re.search(r"script-src ([^;]+)", csp.group(1))
    assert script_src is not None and "unsafe-inline" not in script_src.group(1)
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]{44}'", script_src.group(1))) == 2  # d3 and the report


def test_clicking_every_link_runs_nothing_and_goes_nowhere_else(browser: Any, report: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    dialogs: list[str] = []
    console: list[str] = []
    requested: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on(
        "console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

    def answer(route: Any) -> None:  # record, then 204: the browser stays on the report
        requested.append(route.request.url)
        route.fulfill(status=204, body="")

    page.route(re.compile(r"^(?!file:|data:)"), answer)
    page.goto(report.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    body = page.text_content("body") or ""
    assert "javascript:alert(1)" in body  # shown as text in the claims list ...
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    assert "javascript:alert(1)" not in hrefs  # ... never as a link
    assert all(h is None or h.startswith("#") or re.match(r"https?://", h) for h in hrefs), hrefs
    linked = [h for h in hrefs if h and h.startswith("http")]
    assert linked and all(h.startswith("https://ok.example/") for h in linked)
    for i in range(len(hrefs)):
        page.evaluate("i => document.querySelectorAll('a')[i].click()", i)
        page.wait_for_timeout(100)
        if page.url.split("#")[0] != report.as_uri():
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.wait_for_timeout(300)
    assert dialogs == []
    assert console == [], console  # a CSP violation or a script error would be reported here
    assert requested and all(re.match(r"https?://ok\.example/", u) for u in requested), requested
    assert page.url.split("#")[0] == report.as_uri()
    assert page.evaluate("document.title") == "</title><script>alert(8)</script>"
    page.close()
