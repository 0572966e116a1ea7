"""Who may talk to the server and what a page may load: token, Host check and security headers.

* Loopback by default. A non-loopback ``--host`` is refused unless a token was set on purpose
  (``$SUPPLYLINE_TOKEN`` or ``--generate-token``).
* Every request carries the token: ``Authorization: Bearer <token>``, the ``supplyline_token`` cookie, or
  ``?token=`` once (the server then sets the cookie, HttpOnly and SameSite=Strict, and redirects to the
  same URL without it, so the token leaves the address bar and history). Wrong or missing: 401.
* On loopback, the Host header must name the address the server listens on (stops DNS-rebinding pages
  from reaching it through the victim's browser). On other addresses any Host is accepted (the server is
  reached by whatever name the network gives it); the token is what guards it there.
* Every response gets a strict Content-Security-Policy (scripts, styles and data from this origin only,
  no inline script, no other origin), ``nosniff``, no framing and no referrer.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supplyline.errors import UsageError

TOKEN_ENV = "SUPPLYLINE_TOKEN"
COOKIE = "supplyline_token"
MIN_TOKEN_LEN = 16
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; every other name or address is non-loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The token the server requires and the Host header values it accepts (None: any, see below)."""

    token: str
    hosts: frozenset[str] | None
    generated: bool


def resolve_access(host: str, port: int, generate: bool = False, env: dict[str, str] | None = None) -> Access:
    """The token (from ``$SUPPLYLINE_TOKEN``, else generated) and accepted Host values for ``host:port``.

    A non-loopback ``host`` needs a deliberate token: ``$SUPPLYLINE_TOKEN`` or ``generate=True``.
    """
    env = dict(os.environ) if env is None else env
    token = env.get(TOKEN_ENV, "")
    if token and len(token) < MIN_TOKEN_LEN:
        raise UsageError(f"${TOKEN_ENV} is shorter than {MIN_TOKEN_LEN} characters; use a long random token")
    if not is_loopback(host) and not token and not generate:
        raise UsageError(
            f"refusing to listen on {host}, which is not a loopback address, without a token: set "
            f"${TOKEN_ENV} to a long random string or pass --generate-token (then share it with care)"
        )
    generated = not token
    token = token or secrets.token_urlsafe(24)
    if not is_loopback(host):
        # reached by whatever name or address the network gives it: any Host, the token guards it
        return Access(token=token, hosts=None, generated=generated)
    names = {host, "localhost", "127.0.0.1", "[::1]"}
    if ":" in host and not host.startswith("["):
        names.add(f"[{host}]")
    hosts = frozenset({f"{n}:{port}" for n in names} | names)
    return Access(token=token, hosts=hosts, generated=generated)


def _token_of(request: Request) -> tuple[str, bool]:
    """(token offered, whether it came in the query string)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    if "token" in request.query_params:  # a fresh link wins over an old cookie
        return request.query_params["token"], True
    return request.cookies.get(COOKIE, ""), False


def _without_token(request: Request) -> str:
    query = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "token"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


class Guard:
    """ASGI middleware: Host check, token check, and the security headers on every response."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send))

    def _refusal(self, request: Request) -> Response | None:
        hosts = self.access.hosts
        if hosts is not None and request.headers.get("host", "") not in hosts:
            return _secure(PlainTextResponse("unknown Host header", status_code=400))
        offered, in_query = _token_of(request)
        if not offered or not hmac.compare_digest(offered.encode(), self.access.token.encode()):
            return _secure(
                PlainTextResponse(
                    "401: a valid token is required (open the URL printed by `supplyline serve`, or send "
                    "`Authorization: Bearer <token>`)",
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
            )
        if in_query:  # swap the token in the address bar for a cookie
            response = RedirectResponse(_without_token(request), status_code=303)
            response.set_cookie(COOKIE, offered, httponly=True, samesite="strict", path="/")
            return _secure(response)
        return None


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def _with_headers(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
            headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
