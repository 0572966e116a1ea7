"""The HTML report: one self-contained file (vendored d3, Natural Earth coastlines, one JSON payload).

Nothing is fetched at view time: the JavaScript, CSS, coastlines and data are inlined, so the file can be
mailed, archived or opened on an air-gapped machine.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

from supplyline.errors import UsageError
from supplyline.report.data import (
    BREAK_H,
    COORD_SCALE,
    DEFAULT_MAX_POINTS,
    REPORT_TABLES,
    decimate_tracks,
    dumps,
    encode_tracks,
    is_synthetic,
    report_table,
    sources,
    vessel_names,
)
from supplyline.store import Store

SYNTHETIC_BANNER = (
    '<div id="synthetic-banner" class="banner"><strong>SYNTHETIC DATA</strong> &mdash; at least one input of '
    'this report is simulated (see <a href="#sources">Data sources</a>). Vessels, voyages and alerts derived '
    "from it are not evidence of real events.</div>"
)


def _asset(name: str) -> str:
    return resources.files("supplyline.report").joinpath("assets", name).read_text(encoding="utf-8")


def build_payload(
    store: Store, max_points: int = DEFAULT_MAX_POINTS, title: str | None = None
) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready dict (see docs/report.md for its layout)."""
    con = store.connect()
    try:
        tracks = decimate_tracks(con, max_points)
        names = vessel_names(con)
        srcs = sources(con)
        tables = {name: report_table(con, name) for name in REPORT_TABLES}
        synthetic = is_synthetic(con, srcs)
    finally:
        con.close()
    encoded = encode_tracks(tracks, names)
    return {
        "meta": {
            "title": title or "supplyline report",
            "store": str(store.root),
            "generated_ms": int(dt.datetime.now(dt.UTC).timestamp() * 1000),
            "synthetic": synthetic,
            "n_positions": tracks.n_positions,
            "n_points": len(tracks.mmsi),
            "n_vessels": len(encoded),
            "coord_scale": COORD_SCALE,
            "break_h": BREAK_H,
            "sources": srcs,
        },
        "tracks": encoded,
        # every named MMSI, so tables and tooltips show names for vessels without a drawn track too
        "names": {str(m): n for m, n in sorted(names.items())},
        "tables": tables,
    }


def render_html(payload: dict[str, Any]) -> str:
    """Inline the assets and the payload into the page template."""
    page = _asset("report.html")
    parts = {
        "/*__CSS__*/": _asset("report.css"),
        "/*__D3__*/": _asset("d3.min.js").replace("</script", "<\\/script"),
        "/*__JS__*/": _asset("report.js").replace("</script", "<\\/script"),
        "__LAND__": _asset("land-50m.json").replace("<", "\\u003c"),
        "__PAYLOAD__": dumps(payload),
        "__TITLE__": str(payload["meta"]["title"]).replace("&", "&amp;").replace("<", "&lt;"),
        # In the markup itself, so it shows even where scripts do not run (mail previews, archives).
        "__BANNER__": SYNTHETIC_BANNER if payload["meta"]["synthetic"] else "",
    }
    # One pass, so text inside the payload that happens to look like a placeholder is left alone.
    pattern = re.compile("|".join(re.escape(k) for k in parts))
    filled = pattern.sub(lambda m: parts[m.group(0)], page)
    # the CSP <meta> precedes anything taken from data, so its placeholder is the first occurrence
    return filled.replace("__SCRIPT_HASHES__", script_hashes(filled), 1)


def script_hashes(page: str) -> str:
    """CSP sources allowing exactly the page's inline scripts (``'sha256-...'`` each), so no injected script
    or inline handler runs even if data escaped its escaping. JSON data blocks (typed) are not scripts."""
    bodies = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digests = (base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode() for b in bodies)
    return " ".join(f"'sha256-{d}'" for d in digests)


def build_report(
    store: Store,
    out: Path | str = "report.html",
    max_points: int = DEFAULT_MAX_POINTS,
    title: str | None = None,
) -> Path:
    """Write the self-contained report of ``store`` to ``out`` and return its path."""
    out = Path(out)
    if out.is_dir():
        out = out / "report.html"
    if not out.parent.is_dir():  # a typo in --out should not silently create folders
        raise UsageError(
            f"cannot write the report to {out}: {out.parent} is not an existing folder; "
            "create it first or choose another --out"
        )
    html = render_html(build_payload(store, max_points, title))
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {out}: {exc.strerror}; choose another --out") from None
    return out
