"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json`` (written by hand, kept
beside the handlers; a test checks every documented path answers and every API route is documented)."""

from __future__ import annotations

from typing import Any

_TIME = {"type": "string", "description": "ISO 8601 date or date-time, UTC unless an offset is given"}
_MS = {"type": ["integer", "null"], "description": "epoch milliseconds, UTC"}
_ROWS = {"type": "array", "items": {"type": "object"}, "description": "table rows; times as epoch ms"}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


def _get(
    summary: str, params: list[dict] | None = None, body: dict | None = None, missing: bool = False
) -> dict:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": body or {"type": "object"}}}},
        "400": {"description": "a parameter cannot be used (message in `error`)"},
        "401": {"description": "missing or wrong token"},
    }
    if missing:
        responses["404"] = {"description": "not in the store"}
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


_WINDOW = [
    _param("start", "query", _TIME, "window start (default: first position)"),
    _param("end", "query", _TIME, "window end (default: last position)"),
]

PATHS: dict[str, Any] = {
    "/api/meta": _get("Store summary: data period, positions per day, table counts, routes, case"),
    "/api/search": _get(
        "Vessels whose name, call sign, MMSI or IMO contains `q` (any identity they ever reported)",
        [
            _param("q", "query", {"type": "string"}, "text to look for", required=True),
            _param(
                "limit", "query", {"type": "integer", "minimum": 1, "maximum": 50}, "at most (default 20)"
            ),
        ],
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "mmsi": {"type": "integer"},
                    "name": {"type": ["string", "null"]},
                    "imo": {"type": ["integer", "null"]},
                    "callsign": {"type": ["string", "null"]},
                    "names": {"type": ["string", "null"]},
                    "first_seen": _MS,
                    "last_seen": _MS,
                },
            },
        },
    ),
    "/api/vessels/{mmsi}": _get(
        "A vessel: identity history, flag (from the MMSI's MID), other MMSIs with its IMO, sanctions matches "
        "with their basis, track, voyages per route with trip counts, visits, voyages, gaps with their class "
        "(`likely`), encounters, loitering, draught reports and changes, alerts",
        [_param("mmsi", "path", {"type": "integer"}, "the vessel's MMSI")],
        {
            "type": "object",
            "properties": {
                "mmsi": {"type": "integer"},
                "flag": {"type": ["string", "null"]},
                "identities": _ROWS,
                "same_imo": _ROWS,
                "sanctions": _ROWS,
                "track": _ROWS,
                "route_counts": _ROWS,
                "visits": _ROWS,
                "voyages": _ROWS,
                "gaps": _ROWS,
                "encounters": _ROWS,
                "loitering": _ROWS,
                "draught": _ROWS,
                "draught_changes": _ROWS,
                "alerts": _ROWS,
            },
        },
        missing=True,
    ),
    "/api/places/{place_id}": _get(
        "A place: its record, calls per month with median dwell, vessels that called, every visit",
        [_param("place_id", "path", {"type": "string"}, "e.g. case:rajin")],
        missing=True,
    ),
    "/api/routes": _get("Routes of interest with trips, vessels and first/last departure", body=_ROWS),
    "/api/routes/{route}": _get(
        "A route: departures with the interval since the previous one, trips per vessel, cadence, halts",
        [_param("route", "path", {"type": "string"}, "route name from the case")],
        missing=True,
    ),
    "/api/map": _get(
        "Map data for a time window: decimated tracks (delta-encoded: `t` s, `y`/`x` in 1/coord_scale "
        "degrees, first value absolute) and the visits, voyages, gaps, encounters, loitering, alerts and "
        "satellite detections (with their AIS match) overlapping the window, plus the places they name",
        [
            *_WINDOW,
            _param(
                "max_points",
                "query",
                {"type": "integer", "minimum": 100, "maximum": 100000},
                "track points in all (default 20000)",
            ),
        ],
    ),
    "/api/alerts": _get(
        "Alerts in data-time order, with `details` decoded",
        [
            _param("after", "query", _TIME, "only alerts after this data time"),
            _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000}, "default 1000"),
        ],
        _ROWS,
    ),
    "/api/alerts/stream": {
        "get": {
            "summary": "Server-sent events: one `alert` event (JSON data) per alert written after connecting",
            "responses": {
                "200": {"description": "text/event-stream"},
                "401": {"description": "missing or wrong token"},
            },
        }
    },
    "/api/claims": _get(
        "Claims with their test (verdict, interval, implied factor) and estimates with their working "
        "(`inputs`: voyage ids, observations, priors with sources), the voyages they cite and observations"
    ),
    "/api/basemap": {
        **_get(
            "Only with `supplyline serve --basemap FILE.pmtiles`: the local vector basemap's features in a view, "
            "as a GeoJSON FeatureCollection in lon/lat (each feature's `layer` names its tile layer; at most "
            "16 tiles, at the deepest zoom of the archive that fits)",
            [_param("bbox", "query", {"type": "string"}, "west,south,east,north in degrees", required=True)],
            missing=True,
        )
    },
    "/api/sql": {
        "post": {
            "summary": "Only with `supplyline serve --allow-sql`: one read-only SELECT, limited in time and rows",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["sql"],
                            "properties": {"sql": {"type": "string"}},
                        }
                    }
                }
            },
            "responses": {
                "200": {"description": "rows and whether they were truncated"},
                "400": {"description": "not one SELECT, failed, or too slow"},
                "403": {"description": "the server was started without --allow-sql"},
                "401": {"description": "missing or wrong token"},
            },
        }
    },
    "/api/openapi.json": _get("This document"),
}


def document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "supplyline serve",
            "version": version,
            "description": "Read-only JSON API over a supplyline store. Every request needs the token "
            "(`Authorization: Bearer <token>` or the cookie set when the printed URL is opened).",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": PATHS,
    }
