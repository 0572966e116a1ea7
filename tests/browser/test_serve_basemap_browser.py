"""`supplyline serve --basemap FILE.pmtiles` in Chromium: the local vector basemap is drawn beneath the tracks
on the map page, read through /api/basemap (404 without --basemap, 400 for a bad bbox), with no console error
and no request off the server.

The store is the browser fixture (three ships between Rajin and Vostochny); the archive holds one z4 tile
over the Sea of Japan with a polygon and a line, so the map's first view needs exactly that tile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("starlette")
pytest.importorskip("pmtiles.writer", reason="pmtiles (serve extra)")
pytest.importorskip("mapbox_vector_tile", reason="mapbox-vector-tile (serve extra)")

from tests.browser import fixture_store as fx
from tests.serve.basemap_file import LABEL, build
from tests.serve.server import Server, serve

pytestmark = pytest.mark.browser
Z, X, Y = 4, 13, 5  # the z4 tile holding Rajin (42.2 N, 130.3 E) and Vostochny


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("basemap") / "store"
    fx.build_fixture_store(root)
    return root


@pytest.fixture(scope="module")
def server(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tiles = build(tmp_path_factory.mktemp("tiles") / "sea.pmtiles", z=Z, x=X, y=Y)
    with serve(store, "--basemap", str(tiles)) as srv:
        yield srv


def _get(srv: Server, path: str) -> httpx.Response:
    return httpx.get(srv.url + path, headers={"authorization": f"Bearer {srv.token}"}, timeout=10)


def test_api_serves_the_view_and_refuses_bad_boxes(server: Server) -> None:
    assert _get(server, "/api/meta").json()["basemap"] is True
    doc = _get(server, "/api/basemap?bbox=129.0,41.0,133.0,44.0").json()
    assert doc["zoom"] == Z and sorted(f["properties"]["layer"] for f in doc["features"]) == [
        "landuse",
        "places",
        "roads",
    ]
    assert _get(server, "/api/basemap?bbox=1,2,3").status_code == 400
    assert _get(server, "/api/basemap?bbox=10,50,5,40").status_code == 400


def test_without_basemap_the_endpoint_says_how(store: Path) -> None:
    with serve(store) as srv:
        r = _get(srv, "/api/basemap?bbox=129,41,133,44")
        assert r.status_code == 404 and "--basemap" in r.json()["error"]
        assert _get(srv, "/api/meta").json()["basemap"] is False


def test_map_page_draws_the_basemap_beneath_the_tracks(browser: Any, server: Server) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(server.url + "/") else problems.append(r.url))
    try:
        page.goto(f"{server.url}/?token={server.token}")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_selector("path.basemap-area", timeout=10_000)
        assert page.locator("path.basemap-area.basemap-landuse").count() == 1
        assert page.locator("path.basemap-line.basemap-roads").count() == 1
        # beneath the tracks: the basemap group comes before every event layer in the map's root group
        order = page.evaluate(
            "() => [...document.querySelector('svg.map g.root').children].map((e) => e.getAttribute('class'))"
        )
        assert order.index("basemap-layer") < order.index("layer layer-tracks")
        # the named point: one dot and its label, the name as text (never markup)
        assert page.locator("circle.basemap-point").count() == 1
        assert page.locator("text.basemap-label").all_text_contents() == [LABEL]
        assert page.locator("g.basemap-layer img").count() == 0 and page.evaluate("() => window.__x") is None
        assert problems == []
    finally:
        page.close()
