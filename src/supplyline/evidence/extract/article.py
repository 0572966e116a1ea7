"""An article file: an optional ``Key: value`` header (Title, Outlet, Published, URL) and the body text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from supplyline.errors import InputError

_HEADER_KEY = re.compile(r"^(Title|Outlet|Published|URL|Date|Source):\s*", re.I)


@dataclass(frozen=True)
class Article:
    """An article's text plus what its header says (``Title:``, ``Outlet:``, ``Published:``, ``URL:``)."""

    text: str
    title: str | None = None
    outlet: str | None = None
    published: dt.date | None = None
    url: str | None = None


def _published(head: dict[str, str]) -> dt.date | None:
    value = head.get("published") or head.get("date")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise InputError(f"Published: {value!r} is not a date; write YYYY-MM-DD") from exc


def parse_article(raw: str) -> Article:
    """Split an optional ``Key: value`` header (ended by a blank line) from the body."""
    head: dict[str, str] = {}
    lines = raw.splitlines()
    i = 0
    while i < len(lines) and _HEADER_KEY.match(lines[i]):
        key, _, value = lines[i].partition(":")
        head[key.strip().lower()] = value.strip()
        i += 1
    body = "\n".join(lines[i:]).strip() if head else raw
    return Article(
        body, head.get("title"), head.get("outlet") or head.get("source"), _published(head), head.get("url")
    )
