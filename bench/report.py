"""Benchmark: build the HTML report of a 1-million-position store and time how long Chromium takes to open it.

    python bench/report.py                      # 1,000,000 positions, 500 vessels, 3 browser runs
    python bench/report.py --positions 200000   # smaller

The store is synthetic (random walks, vectorised NumPy) and built in a temporary folder. "Open" is measured
in Debian's Chromium (Playwright) from navigation start to the moment the report's script has rendered
everything (``body[data-ready=1]``) and the next animation frame, via ``performance.now()`` inside the page, plus
the wall-clock time of ``page.goto`` + wait + frame as seen from Python.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.report.builder import build_report
from supplyline.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chromium import launch


def make_store(root: Path, n_positions: int, n_vessels: int, seed: int = 7) -> Store:
    """A store of ``n_positions`` random-walk positions (one every 60 s per vessel) in the Sea of Japan."""
    rng = np.random.default_rng(seed)
    per = n_positions // n_vessels
    mmsi = np.repeat(np.arange(n_vessels, dtype=np.int64) + 440_000_000, per)
    t0 = 1_706_745_600  # 2024-02-01
    ts = (t0 + np.tile(np.arange(per, dtype=np.int64) * 60, n_vessels)) * 1_000_000
    start_lat = rng.uniform(38, 44, n_vessels)
    start_lon = rng.uniform(129, 138, n_vessels)
    step = rng.normal(0, 0.002, (2, n_vessels, per)).cumsum(axis=2)
    lat = (start_lat[:, None] + step[0]).ravel()
    lon = (start_lon[:, None] + step[1]).ravel()
    n = len(mmsi)
    pos = pa.table(
        {
            "mmsi": mmsi,
            "ts": pa.array(ts).cast(schema.TS),
            "lat": lat,
            "lon": lon,
            "sog_kn": pa.array(rng.uniform(0, 15, n).astype(np.float32)),
            "input_id": pa.array(np.full(n, "bench-synthetic")),
        }
    )
    store = Store.create(root)
    with store.transaction() as txn:
        txn.put("positions/day=2024-02-01/part-bench.parquet", pos)
    places = pa.table(
        {
            "place_id": [f"bench:{i}" for i in range(50)],
            "name": [f"Port {i}" for i in range(50)],
            "lat": rng.uniform(38, 44, 50),
            "lon": rng.uniform(129, 138, 50),
            "r_in_m": np.full(50, 3000.0),
            "r_out_m": np.full(50, 4000.0),
            "watched": np.arange(50) < 2,
        }
    )
    store.write_table("places", places)
    return store


def open_times(html: Path, runs: int) -> list[tuple[float, float]]:
    """(in-page ms to rendered, Python wall-clock ms) for ``runs`` fresh page loads."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            t = time.perf_counter()
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            # the next animation frame after rendering: the report is on screen
            in_page = page.evaluate("new Promise((r) => requestAnimationFrame(() => r(performance.now())))")
            wall = (time.perf_counter() - t) * 1000
            marks = page.evaluate(
                "performance.getEntriesByType('mark').map(m => [m.name, Math.round(m.startTime)])"
            )
            print("  marks (ms):", ", ".join(f"{n} {t}" for n, t in marks))
            if errors:
                raise SystemExit(f"page errors: {errors}")
            print("  view changes (ms in page):", view_change_ms(page))
            out.append((float(in_page), wall))
            page.close()
        browser.close()
    return out


# Select the first vessel of the vessel list, then show all again: the map, vessel list, timeline and every
# table are re-filtered synchronously in the click handlers, so performance.now() around click() times them.
VIEW_JS = """() => {
  const t = (f) => { const a = performance.now(); f(); return Math.round(performance.now() - a); };
  const link = document.querySelector('#vessel-table .vessel-link');
  if (!link) return null;
  const select = t(() => link.click());
  const clear = t(() => document.querySelector('#clear-vessel').click());
  return { select, clear };
}"""


def view_change_ms(page: object) -> object:
    """In-page milliseconds to isolate one vessel and to show all again (None when the page has none)."""
    return page.evaluate(VIEW_JS)  # type: ignore[attr-defined]


def screenshot(html: Path, png: Path, width: int = 1400) -> None:
    """Full-page screenshot of a report (used for docs/img/report.png)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
        page.goto(html.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    print(f"wrote {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--vessels", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shot", nargs=2, metavar=("HTML", "PNG"), help="only screenshot a report and exit")
    ap.add_argument("--store", type=Path, help="time an existing store instead of a synthetic one")
    args = ap.parse_args()
    if args.shot:
        screenshot(Path(args.shot[0]), Path(args.shot[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        if args.store:
            store = Store.open(args.store)
            print(f"store: {args.store}")
        else:
            store = make_store(root / "store", args.positions, args.vessels)
            print(
                f"store: {args.positions:,} positions, {args.vessels} vessels ({time.perf_counter() - t:.1f} s)"
            )
        t = time.perf_counter()
        html = build_report(store, root / "report.html")
        build_s = time.perf_counter() - t
        print(f"build_report: {build_s:.2f} s, {html.stat().st_size / 1e6:.2f} MB")
        times = open_times(html, args.runs)
        for i, (in_page, wall) in enumerate(times, 1):
            print(
                f"open run {i}: on screen {in_page:.0f} ms after navigation start; goto+wait+frame {wall:.0f} ms"
            )
        print(
            f"median: on screen {statistics.median(t[0] for t in times):.0f} ms, "
            f"goto+wait+frame {statistics.median(t[1] for t in times):.0f} ms"
        )


if __name__ == "__main__":
    main()
