"""The one check of addresses that may become links: only http(s) URLs are stored, shown or linked.

A claims file, an article header or a case you were sent can carry ``javascript:`` or ``file:`` URLs that
would run or open something when clicked in the report; they are refused where they enter (``claims
import``, ``case validate``, ``claims extract``) with this module's message, and the report links only
what passes the same rule again in the browser.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from supplyline.errors import UsageError

LINK_SCHEMES = ("http", "https")


def url_problem(url: str) -> str | None:
    """None when ``url`` is an absolute http(s) URL with a host; otherwise what is wrong and what to do."""
    shown = repr(url[:80] + ("..." if len(url) > 80 else ""))
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return f"url {shown} contains spaces or control characters; give one http(s):// address"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"url {shown} is not a valid address; give the http(s):// address of the copy that was read"
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return (
            f"url {shown} is not an http(s) address; give the http:// or https:// address of the copy that "
            "was read (other schemes such as javascript: or file: are refused)"
        )
    return None


def is_link_url(url: object) -> bool:
    """True when ``url`` is a string :func:`url_problem` accepts (safe to show as a link)."""
    return isinstance(url, str) and url_problem(url) is None


def require_link_url(url: str, where: str) -> str:
    """``url`` unchanged, or :class:`UsageError` naming ``where`` it came from."""
    problem = url_problem(url)
    if problem:
        raise UsageError(f"{where}: {problem}")
    return url
