"""Berths empty across passes: a second signal for the halt/resume monitor, independent of AIS.

Every pass whose footprint holds a watched place counts the ships it saw *in* that place (matched to AIS or
dark, at least ``MIN_LENGTH_M`` long): a series of observations per place. When the berths stay empty on
``n_empty`` consecutive passes and ``min_days`` after ships were last seen there, a ``berths_empty`` alert is raised at the pass
that makes it true; the first pass that sees ships again raises ``berths_filled``. Both list the passes as
their evidence. AIS plays no part (a dark ship fills a berth as much as a matched one), so a halt the AIS
monitor infers from silent routes can be checked against what the satellites saw, and a ship that loads with
its transponder off cannot fake one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.ids import stable_id
from supplyline.imagery.evidence import MIN_LENGTH_M, SOURCE


@dataclass(frozen=True)
class BerthConfig:
    n_empty: int = 6  # consecutive empty passes before berths_empty (several passes a day are not a halt)
    min_days: float = 18.0  # ... and at least this long since ships were last seen there
    min_length_m: float = MIN_LENGTH_M  # smaller detections (boats, false alarms) do not fill a berth


def berth_passes(
    scenes: pa.Table, matches: pa.Table, places: pa.Table | None, cfg: BerthConfig = BerthConfig()
) -> pa.Table:
    """schema.BERTH_PASSES: per watched maritime place, every pass over it with the ships seen in it."""
    if places is None or scenes.num_rows == 0:
        return schema.BERTH_PASSES.empty_table()
    watched = [
        p for p in places.to_pylist() if p.get("watched") and p.get("kind") in ("port", "berth", "terminal")
    ]
    big = pc.fill_null(pc.greater_equal(matches["length_m"], cfg.min_length_m), True)
    m = matches.filter(pc.and_(big, pc.is_valid(matches["in_place"])))
    counts: dict[tuple[str, str], list[int]] = {}
    for scene, place, status in zip(
        m["scene_id"].to_pylist(), m["in_place"].to_pylist(), m["status"].to_pylist(), strict=True
    ):
        c = counts.setdefault((scene, place), [0, 0])
        c[status == "dark"] += 1
    rows = []
    for p in watched:
        covers = (
            (scenes["lon_min"].to_numpy() <= p["lon"])
            & (scenes["lon_max"].to_numpy() >= p["lon"])
            & (scenes["lat_min"].to_numpy() <= p["lat"])
            & (scenes["lat_max"].to_numpy() >= p["lat"])
        )
        for sc in scenes.filter(pa.array(covers)).to_pylist():
            matched, dark = counts.get((sc["scene_id"], p["place_id"]), [0, 0])
            rows.append(
                {
                    "place_id": p["place_id"],
                    "scene_id": sc["scene_id"],
                    "ts": sc["ts"],
                    "sensor": sc["sensor"],
                    "ships": matched + dark,
                    "matched": matched,
                    "dark": dark,
                    "synthetic": sc["synthetic"],
                }
            )
    out = pa.Table.from_pylist(rows, schema=schema.BERTH_PASSES)
    return out.sort_by([("place_id", "ascending"), ("ts", "ascending"), ("scene_id", "ascending")])


@dataclass(frozen=True)
class EmptyRun:
    """A run of consecutive empty passes over one place (``end`` None: still empty at the last pass)."""

    place_id: str
    passes: list[dict[str, Any]]  # the empty passes, in time order
    last_seen: dict[str, Any]  # the pass before the run, which saw ships
    end: dict[str, Any] | None  # the pass that saw ships again


def empty_runs(series: pa.Table, cfg: BerthConfig = BerthConfig()) -> list[EmptyRun]:
    """Runs of at least ``n_empty`` consecutive empty passes lasting ``min_days`` since the last pass that saw
    ships, per place, after the place
    was seen busy (berths that were never seen in use cannot fall empty: no halt without traffic)."""
    out = []
    for place in sorted(set(series["place_id"].to_pylist())):
        rows = series.filter(pc.equal(series["place_id"], place)).to_pylist()
        ships = np.array([r["ships"] for r in rows])
        edges = np.flatnonzero(np.diff(np.r_[0, ships == 0, 0]))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            run = rows[a:b]
            if a == 0 or len(run) < cfg.n_empty or _days(rows[a - 1]["ts"], run[-1]["ts"]) < cfg.min_days:
                continue
            out.append(EmptyRun(place, run, rows[a - 1], rows[b] if b < len(rows) else None))
    return out


def _days(a: Any, b: Any) -> float:
    return float((b - a).total_seconds() / 86400.0)


def _raised_at(run: EmptyRun, cfg: BerthConfig) -> dict[str, Any]:
    """The pass that made the run an alert: the n_empty-th or later, min_days after ships were last seen."""
    first = run.last_seen["ts"]
    return next(
        p for i, p in enumerate(run.passes) if i + 1 >= cfg.n_empty and _days(first, p["ts"]) >= cfg.min_days
    )


def _evidence(passes: list[dict[str, Any]]) -> list[list[str]]:
    return [[p["scene_id"], f"{p['ts']:%Y-%m-%dT%H:%MZ}", p["sensor"]] for p in passes]


def berth_alerts(series: pa.Table, names: dict[str, str], cfg: BerthConfig = BerthConfig()) -> pa.Table:
    """schema.ALERTS of kinds ``berths_empty`` and ``berths_filled`` from the pass series."""
    rows = []
    for run in empty_runs(series, cfg):
        at = _raised_at(run, cfg)
        name = names.get(run.place_id, run.place_id)
        tag = " [SYNTHETIC]" if any(p["synthetic"] for p in run.passes) else ""
        since = run.last_seen["ts"]
        upto = [p for p in run.passes if p["ts"] <= at["ts"]]
        empty_id = stable_id("alert", "berths_empty", run.place_id, run.passes[0]["scene_id"])
        rows.append(
            {
                "alert_id": empty_id,
                "kind": "berths_empty",
                "ts": at["ts"],
                "mmsi": None,
                "route": None,
                "place_id": run.place_id,
                "probability": None,
                "message": (
                    f"berths at {name} empty on {len(upto)} consecutive satellite passes "
                    f"({run.passes[0]['ts']:%Y-%m-%d} to {at['ts']:%Y-%m-%d}); ships last seen there "
                    f"{since:%Y-%m-%d}{tag}"
                ),
                "details": json.dumps(
                    {"passes": _evidence(upto), "last_seen": _evidence([run.last_seen]), "source": SOURCE},
                ),
            }
        )
        if run.end is not None:
            rows.append(_filled_row(run, name, empty_id, tag))
    return pa.Table.from_pylist(rows, schema=schema.ALERTS)


def _filled_row(run: EmptyRun, name: str, empty_id: str, tag: str) -> dict[str, Any]:
    end = run.end
    assert end is not None
    days = _days(run.passes[0]["ts"], end["ts"])
    return {
        "alert_id": stable_id("alert", "berths_filled", run.place_id, end["scene_id"]),
        "kind": "berths_filled",
        "ts": end["ts"],
        "mmsi": None,
        "route": None,
        "place_id": run.place_id,
        "probability": None,
        "message": (
            f"{end['ships']} ship(s) at {name} again ({end['matched']} with AIS, {end['dark']} dark) in scene "
            f"{end['scene_id']} after {len(run.passes)} empty passes over {days:.0f} days{tag}"
        ),
        "details": json.dumps(
            {
                "berths_empty_alert_id": empty_id,
                "passes": _evidence(run.passes),
                "seen": _evidence([end]),
                "source": SOURCE,
            },
        ),
    }
