"""The headless Debian Chromium used by the report benchmark and the browser tests (one set of flags)."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
# headless, no sandbox (containers), no GPU, and no background traffic that would disturb timings
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(pw: Any) -> Any:
    """A Chromium browser from a running ``sync_playwright()`` context."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
