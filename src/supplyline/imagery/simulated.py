"""Simulated satellite passes for a simulated case (SYNTHETIC): imaged, matched, turned into evidence.

Used by ``supplyline demo``: the scenario's ships are imaged by Sentinel-1-like passes over the origins of
the case's routes (the loading ports) and the sea around them (a ``WATCH_KM`` circle, a part of one IW
frame), matched against the simulated AIS in the store, and dark detections near watched places become
observations and ``dark_vessel`` alerts, exactly as for real detections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.errors import UsageError
from supplyline.imagery.evidence import MIN_LENGTH_M
from supplyline.imagery.landmask import natural_earth
from supplyline.imagery.match import MatchConfig
from supplyline.imagery.run import WATCH_KM, MatchRun, match_store, store_detections
from supplyline.simulate.passes import Area, PassConfig
from supplyline.simulate.scenario import Scenario, load_scenario
from supplyline.simulate.scenario_passes import scenario_passes
from supplyline.store import Store

DEMO_PASSES = PassConfig(revisit_days=6.0, local_times_h=(6.0, 18.0), false_alarms_per_100km2=0.005)


@dataclass
class ImagedCase:
    """What imaging a simulated case gave, with its truth."""

    areas: list[Area]
    detections: pa.Table
    truth: pa.Table
    run: MatchRun

    def summary(self) -> dict[str, Any]:
        m = self.run.matches
        dark = m.filter(pc.equal(m["status"], "dark"))
        silent = self.truth.filter(
            pc.and_(pc.is_valid(self.truth["det_id"]), pc.equal(self.truth["ais_on"], False))
        )
        dark_silent = dark.filter(pc.is_in(dark["det_id"], silent["det_id"]))
        near = dark.filter(pc.is_valid(dark["near_place"]))
        large = dark.filter(pc.fill_null(pc.greater_equal(dark["length_m"], MIN_LENGTH_M), True))
        return {
            "places": [a.place_id for a in self.areas],
            "passes": len(set(self.truth["scene_id"].to_pylist())),
            "detections": m.num_rows,
            "matched": m.num_rows - dark.num_rows,
            "dark": dark.num_rows,
            "dark_transponder_off": dark_silent.num_rows,
            "dark_near_watched": near.num_rows,
            "dark_large": large.num_rows,
            "dark_vessel_alerts": self.run.alerts.num_rows,
            "dark_ships": sorted({s for s in silent["ship"].to_pylist() if s}),
        }


def image_case(
    store: Store,
    case: Any,
    scenario: Scenario | None = None,
    cfg: PassConfig = DEMO_PASSES,
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
    passes = scenario_passes(scenario, areas, cfg, seed, natural_earth())
    det, truth = passes.tables()
    det = store_detections(store, det, "simulated-passes", case.places)
    run = match_store(store, MatchConfig(track_deg=None))
    return ImagedCase(areas, det, truth, run)


def acquisitions(truth: pa.Table) -> np.ndarray:
    """Distinct acquisition times (unix s) of the passes that saw anything."""
    return np.unique(truth["ts"].cast(pa.int64()).to_numpy() / 1e6)


def summary_line(s: dict[str, Any]) -> str:
    """One line of the demo summary."""
    places = ", ".join(p.removeprefix("case:") for p in s["places"])
    ships = ", ".join(s["dark_ships"]) or "none"
    return (
        f"imagery (SYNTHETIC Sentinel-1-like passes every 6 days over {places}): {s['passes']} passes, "
        f"{s['detections']} detections: {s['matched']} matched to AIS, {s['dark']} dark "
        f"({s['dark_large']} of at least {MIN_LENGTH_M:.0f} m; {s['dark_transponder_off']} the case's ships with "
        f"transponders off: {ships}); {s['dark_vessel_alerts']} dark_vessel alerts"
    )
