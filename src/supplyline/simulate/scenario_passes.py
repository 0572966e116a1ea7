"""Simulated passes over a simulated scenario (SYNTHETIC): the scenario's ships, imaged where they truly are.

The ships' true positions come from the scenario's timelines (``true_state``), their transponder state from
its off windows, their MMSI from the identity broadcast at the time, so a pass over Rajin while a ship sails
out with its transponder off gives a detection no AIS can match: a dark detection with its truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from supplyline.imagery.landmask import IsLandFn
from supplyline.simulate.ais import in_windows, true_state
from supplyline.simulate.passes import Area, PassConfig, PassResult, ShipsAt, image_pass, pass_times
from supplyline.simulate.scenario import Scenario
from supplyline.simulate.timeline import ShipPlan, identity_at, plan_all


def ships_at(plans: Sequence[ShipPlan], t: float) -> ShipsAt:
    """Every scenario ship sailing at ``t`` (unix s) with its true state."""
    live = [p for p in plans if p.t_start <= t <= p.t_end]
    states = [true_state(p, np.array([t])) for p in live]
    tt = np.array([t])
    return ShipsAt(
        ship=np.array([p.ship.key for p in live], dtype=str),
        mmsi=np.array([p.ship.identities[identity_at(p, t)].mmsi for p in live], np.int64),
        lat=np.array([s.lat[0] for s in states]),
        lon=np.array([s.lon[0] for s in states]),
        sog_kn=np.array([s.sog[0] for s in states]),
        cog_deg=np.array([s.cog[0] for s in states]),
        length_m=np.array([p.ship.length_m for p in live], np.float64),
        ais_on=np.array([not in_windows(tt, p.off_a, p.off_b)[0] for p in live], bool),
    )


def scenario_passes(
    sc: Scenario,
    areas: Sequence[Area],
    cfg: PassConfig | None = None,
    seed: int | None = None,
    is_land: IsLandFn | None = None,
) -> PassResult:
    """Every pass over every area during the scenario, with detections and truth (false alarms at sea when
    ``is_land`` is given)."""
    cfg = cfg or PassConfig()
    plans = plan_all(sc)
    out = PassResult()
    rng = np.random.default_rng([sc.seed if seed is None else seed, 15])
    for area in areas:
        for t in pass_times(sc.start, sc.end, area.lon, cfg):
            image_pass(ships_at(plans, float(t)), float(t), area, cfg, rng, out, is_land)
    return out
