"""The Starlette application: pages, static assets, the JSON API and the alerts stream, behind the Guard.

Every page is the same shell (``static/app.html``); ``static/app.js`` reads the path and asks the API for
what to draw. d3 is the report's vendored copy (``supplyline/report/assets``); the coastlines are Natural
Earth 1:10m (``static/land-10m.json``, made by ``supplyline.report._coastlines``, finer than the report's
1:50m for port-scale views). Nothing comes from a CDN.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import supplyline
from supplyline.serve import api, openapi
from supplyline.serve.api import BadRequest, encode, json_response, threaded
from supplyline.serve.db import Reader
from supplyline.serve.security import Access, Guard
from supplyline.serve.sql import run_sql
from supplyline.serve.sse import AlertWatcher

STATIC = {  # URL name -> (package, file, media type)
    "app.js": ("supplyline.serve", "static/app.js", "text/javascript; charset=utf-8"),
    "app.css": ("supplyline.serve", "static/app.css", "text/css; charset=utf-8"),
    "d3.min.js": ("supplyline.report", "assets/d3.min.js", "text/javascript; charset=utf-8"),
    "land-10m.json": ("supplyline.serve", "static/land-10m.json", "application/json"),
}
PAGES = ("/", "/vessel/{mmsi:int}", "/place/{place_id:path}", "/route/{route}", "/alerts", "/claims")


@dataclass
class ServeConfig:
    """What ``supplyline serve`` was started with."""

    reader: Reader
    access: Access
    case: dict[str, Any] | None = None
    allow_sql: bool = False
    poll_s: float = 0.25
    basemap: Any = None  # serve.basemap.Basemap when --basemap was given


def _read(package: str, name: str) -> bytes:
    return resources.files(package).joinpath(name).read_bytes()


def _static(name: str) -> Callable[[Request], Any]:
    package, path, media = STATIC[name]
    body = _read(package, path)

    async def handler(request: Request) -> Response:
        return Response(body, media_type=media)

    return handler


def _page() -> Callable[[Request], Any]:
    body = _read("supplyline.serve", "static/app.html")

    async def handler(request: Request) -> Response:
        return Response(body, media_type="text/html; charset=utf-8")

    return handler


def _guarded(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """400 with a message for bad parameters, 404 when the body returns None."""

    async def handler(request: Request) -> Response:
        try:
            result = await fn(request)
        except BadRequest as exc:
            return json_response({"error": str(exc)}, 400)
        if isinstance(result, Response):
            return result
        return json_response({"error": "not found"}, 404) if result is None else json_response(result)

    return handler


def _cacher(r: Reader) -> Callable[..., Any]:
    async def cached(req: Request, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` as JSON bytes, computed on a worker thread and remembered per store version and URL.
        Hits go through the bounded pool too: answering them on the event loop was tried and made the warm
        phase of bench/serve.py slower (bench/RESULTS.md)."""

        def encoded() -> bytes | None:
            result = fn(*args)
            return None if result is None else encode(result)

        body = await threaded(r.cached, (req.url.path, req.url.query), encoded)
        return None if body is None else Response(body, media_type="application/json")

    return cached


def _sql_handler(cfg: ServeConfig) -> Callable[[Request], Any]:
    async def sql(req: Request) -> Any:
        if not cfg.allow_sql:
            return json_response({"error": "start the server with --allow-sql to use the SQL console"}, 403)
        try:
            text = (await req.json())["sql"]
        except (ValueError, KeyError, TypeError):
            raise BadRequest('send JSON {"sql": "SELECT ..."}') from None
        if not isinstance(text, str):
            raise BadRequest("sql must be a string")
        return await threaded(run_sql, cfg.reader, text)

    return sql


def api_routes(cfg: ServeConfig, watcher: AlertWatcher) -> list[Route]:
    """Every /api route (the OpenAPI test checks this list against openapi.PATHS)."""
    r = cfg.reader
    qp = api.parse_int
    cached = _cacher(r)

    async def meta(req: Request) -> Any:
        return await cached(req, api.meta, r, cfg.case, cfg.allow_sql, cfg.basemap is not None)

    async def basemap(req: Request) -> Any:
        if cfg.basemap is None:
            return json_response({"error": "no basemap: start serve with --basemap FILE.pmtiles"}, 404)
        return await cached(req, cfg.basemap.features, api.parse_bbox(req.query_params.get("bbox")))

    async def search(req: Request) -> Any:
        limit = qp(req.query_params.get("limit"), "limit", 20, 1, 50)
        return await cached(req, api.search, r, req.query_params.get("q", ""), limit)

    async def vessel(req: Request) -> Any:
        return await cached(req, api.vessel, r, int(req.path_params["mmsi"]))

    async def place(req: Request) -> Any:
        return await cached(req, api.place, r, str(req.path_params["place_id"]))

    async def routes(req: Request) -> Any:
        return await cached(req, api.rows, r, api.Q.routes())

    async def route(req: Request) -> Any:
        return await cached(req, api.route, r, str(req.path_params["route"]))

    async def map_data(req: Request) -> Any:
        start, end = api.window(r, req)  # no query: the data period is in the snapshot
        budget = qp(req.query_params.get("max_points"), "max_points", api.MAX_POINTS, 100, 100_000)
        return await cached(req, api.map_data, r, start, end, budget)

    async def alerts(req: Request) -> Any:
        after = api.parse_time(req.query_params.get("after"), "after")
        return await cached(
            req, api.alerts, r, after, qp(req.query_params.get("limit"), "limit", 1000, 1, 10_000)
        )

    async def stream(req: Request) -> Any:
        headers = {"x-accel-buffering": "no"}
        return StreamingResponse(watcher.events(), media_type="text/event-stream", headers=headers)

    async def claims(req: Request) -> Any:
        return await cached(req, api.claims, r)

    async def spec(req: Request) -> Any:
        return openapi.document(supplyline.__version__)

    table: list[tuple[str, Callable[[Request], Any], list[str]]] = [
        ("/api/meta", meta, ["GET"]),
        ("/api/search", search, ["GET"]),
        ("/api/vessels/{mmsi:int}", vessel, ["GET"]),
        ("/api/places/{place_id:path}", place, ["GET"]),
        ("/api/routes", routes, ["GET"]),
        ("/api/routes/{route}", route, ["GET"]),
        ("/api/map", map_data, ["GET"]),
        ("/api/alerts", alerts, ["GET"]),
        ("/api/claims", claims, ["GET"]),
        ("/api/basemap", basemap, ["GET"]),
        ("/api/sql", _sql_handler(cfg), ["POST"]),
        ("/api/openapi.json", spec, ["GET"]),
    ]
    out = [Route(path, _guarded(fn), methods=methods) for path, fn, methods in table]
    return [*out, Route("/api/alerts/stream", stream, methods=["GET"])]


def create_app(cfg: ServeConfig) -> Guard:
    """The ASGI application for ``cfg`` (the Guard wraps everything: no route is reachable without it)."""
    watcher = AlertWatcher(cfg.reader, poll_s=cfg.poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await watcher.start()
        try:
            yield
        finally:
            await watcher.stop()

    page = _page()

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/favicon.ico", no_icon, methods=["GET"]),
        *api_routes(cfg, watcher),
        *(Route(f"/static/{name}", _static(name), methods=["GET"]) for name in STATIC),
        *(Route(path, page, methods=["GET"]) for path in PAGES),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return Guard(app, cfg.access)


def case_info(case: Any) -> dict[str, Any] | None:
    """What the pages show of a case: name, title and its routes (origins and destinations)."""
    if case is None:
        return None
    return json.loads(
        json.dumps(
            {
                "name": case.name,
                "title": case.title,
                "routes": [
                    {"name": r.name, "origins": list(r.origins), "destinations": list(r.destinations)}
                    for r in case.routes
                ],
            }
        )
    )
