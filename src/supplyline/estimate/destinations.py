"""Destinations against sites: where the observed cargo went, and how many of those sites lie near a depot.

Records (observations, trade records) name a ``destination``: a case place id (``tikhoretsk``), a place name or
alias (``Tikhoretsk 719th Artillery Ammunition Base``, case-insensitive), or ``lat,lon``. Each distinct
destination is a *site*; its distance (great circle, km) to the nearest case place of kind ``depot`` is
computed, and the figure "N of M sites within X km of a depot" lists the records and the depots' sources it
rests on. A destination that cannot be geocoded is listed as such, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from supplyline.geo import haversine_km

SITES = pa.schema(
    [
        pa.field("site", pa.string()),  # the destination as written
        pa.field("place_id", pa.string()),  # the case place it resolved to (null for lat,lon or unresolved)
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("nearest_depot", pa.string()),
        pa.field("depot_km", pa.float64()),
        pa.field("near_depot", pa.bool_()),
        pa.field("obs_ids", pa.list_(pa.string())),
        pa.field("urls", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class DepotFigure:
    """ "N of M sites within X km of a depot", with the sites table behind it."""

    near: int
    total: int
    km: float
    sites: pa.Table  # SITES
    depot_sources: dict[str, str]  # depot place id -> its source
    not_geocoded: list[str]

    def sentence(self) -> str:
        names = ", ".join(sorted(self.depot_sources)) or "none"
        text = f"{self.near} of {self.total} sites within {self.km:g} km of a depot (case depots: {names})"
        if self.not_geocoded:
            text += f"; not geocoded: {', '.join(self.not_geocoded)}"
        return text


def _gazetteer(places: pa.Table) -> dict[str, dict[str, Any]]:
    """Lookup key (short id, full id, name, alias; lower case) -> place row."""
    out: dict[str, dict[str, Any]] = {}
    for p in places.to_pylist():
        keys = [
            p["place_id"],
            p["place_id"].removeprefix("case:"),
            p["name"],
            *(p.get("aliases") or "").split("|"),
        ]
        for k in keys:
            if k:
                out.setdefault(k.strip().lower(), p)
    return out


def geocode(site: str, gazetteer: Mapping[str, dict[str, Any]]) -> tuple[str | None, float, float] | None:
    """(place id or None, lat, lon) of a destination, or None when it cannot be placed."""
    p = gazetteer.get(site.strip().lower())
    if p is not None:
        return p["place_id"], float(p["lat"]), float(p["lon"])
    parts = site.split(",")
    if len(parts) == 2:
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            return None
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return None, lat, lon
    return None


def depot_figure(records: pa.Table, places: pa.Table, km: float = 20.0) -> DepotFigure:
    """Every distinct destination of ``records`` (schema.OBSERVATIONS) against the case places of kind depot."""
    gaz = _gazetteer(places)
    depots = [p for p in places.to_pylist() if p["kind"] == "depot"]
    by_site: dict[str, list[dict[str, Any]]] = {}
    for r in records.to_pylist():
        if r.get("destination"):
            by_site.setdefault(r["destination"].strip(), []).append(r)
    rows, missing = [], []
    for site, recs in sorted(by_site.items()):
        where = geocode(site, gaz)
        if where is None:
            missing.append(site)
            continue
        rows.append(_site_row(site, where, depots, km, recs))
    sites = pa.Table.from_pylist(rows, schema=SITES)
    near = sum(1 for r in rows if r["near_depot"])
    sources = {d["place_id"].removeprefix("case:"): d.get("source") or "" for d in depots}
    return DepotFigure(near, len(rows) + len(missing), km, sites, sources, missing)


def _site_row(
    site: str,
    where: tuple[str | None, float, float],
    depots: list[dict[str, Any]],
    km: float,
    recs: list[dict[str, Any]],
) -> dict[str, Any]:
    pid, lat, lon = where
    dist = haversine_km(lat, lon, np.array([d["lat"] for d in depots]), np.array([d["lon"] for d in depots]))
    i = int(np.argmin(dist)) if len(depots) else -1
    return {
        "site": site,
        "place_id": pid,
        "lat": lat,
        "lon": lon,
        "nearest_depot": depots[i]["place_id"].removeprefix("case:") if i >= 0 else None,
        "depot_km": float(dist[i]) if i >= 0 else None,
        "near_depot": bool(i >= 0 and dist[i] <= km),
        "obs_ids": [r["obs_id"] for r in recs],
        "urls": [r["url"] for r in recs if r.get("url")],
    }
