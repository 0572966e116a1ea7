"""Simulated satellite passes for a simulated case (SYNTHETIC): imaged, matched, turned into evidence.

Used by ``supplyline demo``: the scenario's ships are imaged by Sentinel-1-like passes over the origins of
the case's routes (the loading ports) and the sea around them (a ``WATCH_KM`` circle, a part of one IW
frame), matched against the simulated AIS in the store, and dark detections near watched places become
observations and ``dark_vessel`` alerts, exactly as for real detections.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.errors import UsageError
from supplyline.imagery.evidence import MIN_LENGTH_M
from supplyline.imagery.landmask import natural_earth
from supplyline.imagery.match import MatchConfig
from supplyline.imagery.run import WATCH_KM, MatchRun, match_store, store_detections, store_scenes
from supplyline.simulate.passes import Area, PassConfig
from supplyline.simulate.scenario import Scenario, load_scenario
from supplyline.simulate.scenario_passes import scenario_passes
from supplyline.store import Store

DEMO_PASSES = PassConfig(revisit_days=6.0, local_times_h=(6.0, 18.0), false_alarms_per_100km2=0.005)
# Daily commercial optical imagery as the reporting used (Planet named by NK Pro, CSIS, Yomiuri): ~10:30 local
# solar time, usable on 56 % of days (CSIS: activity at Najin "on 49 of 109 imaged days" over ~196 days),
# 3 m pixels (ships of 100 m always seen, geolocation ~10 m, lengths within ~10 %), no azimuth shift.
DEMO_OPTICAL = PassConfig(
    revisit_days=1.0,
    local_times_h=(10.5,),
    clear_p=0.56,
    l50_calm_m=8.0,
    l50_per_sea_state_m=0.0,
    false_alarms_per_100km2=0.005,
    geo_sigma_m=10.0,
    shift_s=0.0,
    length_sigma_log=0.1,
    sensor="optical",
    source="simulated-optical",
    scene_prefix="sim-optical",
)
DEMO_SETS = (DEMO_PASSES, DEMO_OPTICAL)


@dataclass
class ImagedCase:
    """What imaging a simulated case gave, with its truth."""

    areas: list[Area]
    detections: pa.Table
    truth: pa.Table
    run: MatchRun
    scenes: pa.Table  # schema.SCENES: every usable pass, empty ones included

    def summary(self) -> dict[str, Any]:
        m = self.run.matches
        dark = m.filter(pc.equal(m["status"], "dark"))
        silent = self.truth.filter(
            pc.and_(pc.is_valid(self.truth["det_id"]), pc.equal(self.truth["ais_on"], False))
        )
        dark_silent = dark.filter(pc.is_in(dark["det_id"], silent["det_id"]))
        near = dark.filter(pc.is_valid(dark["near_place"]))
        large = dark.filter(pc.fill_null(pc.greater_equal(dark["length_m"], MIN_LENGTH_M), True))
        sensors = self.scenes["sensor"].to_pylist()
        return {
            "places": [a.place_id for a in self.areas],
            "passes": self.scenes.num_rows,
            "passes_by_sensor": {k: sensors.count(k) for k in sorted(set(sensors))},
            "detections": m.num_rows,
            "matched": m.num_rows - dark.num_rows,
            "dark": dark.num_rows,
            "dark_transponder_off": dark_silent.num_rows,
            "dark_near_watched": near.num_rows,
            "dark_large": large.num_rows,
            "dark_vessel_alerts": _count(self.run.alerts, "dark_vessel"),
            "berths_empty": _count(self.run.alerts, "berths_empty"),
            "berths_filled": _count(self.run.alerts, "berths_filled"),
            "dark_ships": sorted({s for s in silent["ship"].to_pylist() if s}),
            "dark_vessel_alerts_by_place": _by_place(self.run.alerts, "dark_vessel"),
            "berth_events": _berth_events(self.run.alerts, self.areas),
        }


def image_case(
    store: Store,
    case: Any,
    scenario: Scenario | None = None,
    sets: tuple[PassConfig, ...] = DEMO_SETS,
    seed: int | None = None,
) -> ImagedCase:
    """Image the origins of the case's routes during the scenario (default: the case's own scenario.toml);
    match; record the evidence."""
    if scenario is None:
        if case.scenario_path is None:
            raise UsageError(f"case {case.name} has no scenario.toml to simulate passes over")
        scenario = load_scenario(case.scenario_path)
    if seed is not None:  # the seed the AIS was simulated with: the same timelines
        scenario = dataclasses.replace(scenario, seed=int(seed))
    places = {p["place_id"]: p for p in case.places.to_pylist()}
    origins = sorted({o if o.startswith("case:") else f"case:{o}" for r in case.routes for o in r.origins})
    areas = [Area(o, places[o]["lat"], places[o]["lon"], WATCH_KM * 1000.0) for o in origins if o in places]
    dets, truths, scenes = [], [], []
    for cfg in sets:
        passes = scenario_passes(scenario, areas, cfg, seed, natural_earth())
        det, truth = passes.tables()
        dets.append(store_detections(store, det, f"simulated-{cfg.scene_prefix}", case.places))
        store_scenes(store, passes.scene_table(), f"simulated-{cfg.scene_prefix}")
        truths.append(truth)
        scenes.append(passes.scene_table())
    run = match_store(store, MatchConfig(track_deg=None))
    return ImagedCase(areas, pa.concat_tables(dets), pa.concat_tables(truths), run, pa.concat_tables(scenes))


def _berth_events(alerts: pa.Table, areas: list[Area]) -> list[dict[str, Any]]:
    """berths_empty / berths_filled alerts at the imaged places, in time order."""
    a = alerts.filter(pc.is_in(alerts["kind"], pa.array(["berths_empty", "berths_filled"])))
    a = a.filter(pc.is_in(a["place_id"], pa.array([x.place_id for x in areas])))
    return [
        {
            "kind": r["kind"],
            "place": r["place_id"].removeprefix("case:"),
            "date": f"{r['ts']:%Y-%m-%d}",
            "passes": len(json.loads(r["details"])["passes"]),
        }
        for r in a.sort_by("ts").to_pylist()
    ]


def _count(alerts: pa.Table, kind: str) -> int:
    return int(pc.sum(pc.equal(alerts["kind"], kind)).as_py() or 0)


def _by_place(alerts: pa.Table, kind: str) -> dict[str, int]:
    places = alerts.filter(pc.equal(alerts["kind"], kind))["place_id"].to_pylist()
    return {p.removeprefix("case:"): places.count(p) for p in sorted(set(places))}


def acquisitions(truth: pa.Table) -> np.ndarray:
    """Distinct acquisition times (unix s) of the passes that saw anything."""
    return np.unique(truth["ts"].cast(pa.int64()).to_numpy() / 1e6)


def summary_lines(s: dict[str, Any]) -> list[str]:
    """Lines of the demo summary: the passes and what they saw, then the berth events (second signal)."""
    places = ", ".join(p.removeprefix("case:") for p in s["places"])
    ships = ", ".join(s["dark_ships"]) or "none"
    by_sensor = s["passes_by_sensor"]
    by_place = ", ".join(f"{k} {v}" for k, v in s["dark_vessel_alerts_by_place"].items()) or "none"
    lines = [
        f"imagery (SYNTHETIC: Sentinel-1-like SAR every 6 days, daily optical on clear days, over {places}): "
        f"{s['passes']} passes ({by_sensor.get('sar', 0)} SAR, {by_sensor.get('optical', 0)} optical), "
        f"{s['detections']} detections: {s['matched']} matched to AIS, {s['dark']} dark "
        f"({s['dark_large']} of at least {MIN_LENGTH_M:.0f} m; {s['dark_transponder_off']} the case's ships with "
        f"transponders off: {ships}); dark_vessel alerts: {by_place}"
    ]
    lines += [f"{e['kind']}: {e['place']} on {e['date']} ({e['passes']} passes)" for e in s["berth_events"]]
    return lines
