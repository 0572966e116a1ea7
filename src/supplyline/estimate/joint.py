"""One Monte Carlo over every mode: sea voyages (with the voyages detection missed), rail and trade records.

Parts, each drawn with the same draws as the sea estimate (systematic unknowns shared per draw):

* **sea, detected**: the voyages' containers and tonnes (draught or ``containers_per_voyage``, see shipments);
* **sea, missed**: voyages the detectors did not find. With ``n`` detected and recall ``r`` (prior
  ``voyage_recall``, from the simulator's measured recall) the missed count is negative-binomial
  NB(n, r) (failures before the n-th success), at least the imaged calls no detected voyage explains
  (:func:`~supplyline.estimate.shipments.assign_imaged_calls`, so an imaged call is never counted twice);
  each carries the draw's mean detected load;
* **rail**: rail-car counts at places of kind ``rail`` (border crossings; depots are destinations of the sea
  cargo and are left out), one count a day (the larger where both ends of a crossing were imaged that day)
  x ``rail_cargo_share`` x ``containers_per_railcar``. Counts are cars seen in an image, not cars that
  passed: the rail part is a lower bound of rail flow;
* **trade**: ``trade`` records in tonnes at places that are not ports of a laden route (trade records at
  those ports measure the same cargo as the voyages and are listed as cross-checks, not added).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from supplyline.estimate.priors import PriorRange, prior_ranges
from supplyline.estimate.shipments import VoyageDraws, _row

RAIL_PRIORS = ("rail_cargo_share", "containers_per_railcar")
PARTS = ("sea_detected", "sea_missed", "rail", "trade")
JOINT_ROUTE = "joint: all modes"


@dataclass
class JointDraws:
    """Sea draws plus what the joint model adds; :meth:`parts` gives each part's draws over a window."""

    sea: VoyageDraws
    recall: np.ndarray  # (n_draws,)
    imaged: list[tuple[date, str | None]]  # unmatched imaged calls (date, route)
    rail_obs: list[dict[str, Any]]  # one per day: date, quantity (cars), obs_ids
    rail_factor: np.ndarray | None  # (n_draws,) containers per counted car (share x containers/car)
    trade_obs: list[dict[str, Any]]
    cross_checks: list[dict[str, Any]]
    priors: dict[str, PriorRange] = field(default_factory=dict)
    seed: int = 0

    @property
    def modes(self) -> frozenset[str]:
        return frozenset({"sea", "rail"} if self.rail_factor is not None and self.rail_obs else {"sea"})

    def parts(
        self,
        mask: np.ndarray,
        start: date | None,
        end: date | None,
        unit: str,
        *,
        other_modes: bool = True,
    ) -> dict[str, np.ndarray]:
        """Draws (n_draws,) of each part in ``unit`` (containers, tonnes, voyages or a product unit) for the
        voyages in ``mask`` and the rail/trade records dated start..end (``other_modes`` False: sea only)."""
        d = self.sea
        n = int(mask.sum())
        routes = set(d.voyages["route"].filter(pa.array(mask)).to_pylist()) if n else set()
        floor = sum(1 for day, r in self.imaged if r in routes and _within(day, start, end))
        rng = np.random.default_rng([self.seed, n, floor])
        missed = rng.negative_binomial(n, self.recall) if n else np.zeros(d.n_draws)
        missed = np.maximum(missed, floor).astype(np.float64)
        out: dict[str, np.ndarray] = {"sea_detected": d.draws(mask, "voyages" if unit == "voyages" else unit)}
        if unit == "voyages":
            return out | {"sea_missed": missed}
        per_voyage = d.draws(mask, "containers") / n if n else np.zeros(d.n_draws)
        cont = {"sea_missed": missed * per_voyage}
        zero = np.zeros(d.n_draws)
        cont["rail"] = zero
        cont["trade"] = zero
        if other_modes:
            cars = sum(o["quantity"] for o in self.rail_obs if _within(o["date"], start, end))
            if self.rail_factor is not None:
                cont["rail"] = cars * self.rail_factor
            tpc = d.tonnes_per_container
            tonnes = sum(o["quantity"] for o in self.trade_obs if _within(o["date"], start, end))
            if tpc is not None:
                cont["trade"] = tonnes / tpc
        for name, c in cont.items():
            out[name] = _in_unit(d, c, unit)
        return out


def _within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _in_unit(d: VoyageDraws, containers: np.ndarray, unit: str) -> np.ndarray:
    if unit == "containers":
        return containers
    if unit == "tonnes":
        if d.tonnes_per_container is None:
            raise KeyError(unit)
        return containers * d.tonnes_per_container
    return containers * d.factors[unit]


def joint_draws(
    sea: VoyageDraws,
    priors: Mapping[str, Any] | None,
    *,
    observations: pa.Table | None,
    place_kinds: Mapping[str, str],
    route_ports: set[str],
    imaged: Sequence[tuple[Mapping[str, Any], str | None]] = (),
    seed: int = 0,
) -> JointDraws:
    """The joint model's draws. ``place_kinds``: short place id -> kind (port, rail, depot...);
    ``route_ports``: short ids of the laden routes' ports; ``imaged``: the unmatched imaged calls with their
    route (from :func:`~supplyline.estimate.shipments.assign_imaged_calls`)."""
    pr = prior_ranges(priors)
    rng = np.random.default_rng([seed, 7])
    recall = pr["voyage_recall"].sample(rng, sea.n_draws)
    obs = observations.to_pylist() if observations is not None else []
    rail = _rail_per_day([o for o in obs if _is_rail(o, place_kinds)])
    factor = None
    used = {"voyage_recall": pr["voyage_recall"]}
    if rail and all(k in pr for k in RAIL_PRIORS):
        factor = pr["rail_cargo_share"].sample(rng, sea.n_draws) * pr["containers_per_railcar"].sample(
            rng, sea.n_draws
        )
        used |= {k: pr[k] for k in RAIL_PRIORS}
    trade = [o for o in obs if o["kind"] == "trade" and o["unit"] == "tonnes" and o["quantity"] is not None]
    return JointDraws(
        sea=sea,
        recall=recall,
        imaged=[(o["date"], r) for o, r in imaged],
        rail_obs=rail,
        rail_factor=factor,
        trade_obs=[o for o in trade if _short(o["place_id"]) not in route_ports],
        cross_checks=[o for o in trade if _short(o["place_id"]) in route_ports],
        priors=used,
        seed=seed,
    )


def _short(place: str | None) -> str:
    return (place or "").removeprefix("case:")


def _is_rail(o: Mapping[str, Any], place_kinds: Mapping[str, str]) -> bool:
    counted = o["unit"] == "railcars" and o["quantity"] is not None and o["date"] is not None
    return counted and place_kinds.get(_short(o["place_id"])) == "rail"


def _rail_per_day(obs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One count a day: both ends of one crossing imaged on one day show largely the same cars."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for o in obs:
        by_day.setdefault(o["date"], []).append(o)
    return [
        {
            "date": day,
            "quantity": max(float(o["quantity"]) for o in group),
            "obs_ids": sorted(o["obs_id"] for o in group),
        }
        for day, group in sorted(by_day.items())
    ]


def joint_rows(
    j: JointDraws, start: date, end: date, units: Sequence[str] = ("containers", "tonnes")
) -> list[dict[str, Any]]:
    """ESTIMATES rows for the whole span: the joint total per unit, and each part with its share of the
    total's median (``inputs.share_of_median``), from one set of draws."""
    mask = np.ones(j.sea.voyages.num_rows, dtype=bool)
    rows: list[dict[str, Any]] = []
    for unit in [u for u in units if u in j.sea.units]:
        parts = j.parts(mask, start, end, unit)
        total = np.sum(list(parts.values()), axis=0)
        t05, t50, t95 = (float(x) for x in np.percentile(total, [5, 50, 95]))
        inputs = _inputs(j, parts, t50)
        rows.append(_row(JOINT_ROUTE, start, end, unit, t05, t50, t95, _method(j), inputs))
        for name, draws in parts.items():
            p05, p50, p95 = (float(x) for x in np.percentile(draws, [5, 50, 95]))
            part_inputs = {"share_of_median": p50 / t50 if t50 else None, "part": name}
            rows.append(_row(f"joint part: {name}", start, end, unit, p05, p50, p95, _method(j), part_inputs))
    return rows


def _method(j: JointDraws) -> str:
    return f"monte carlo joint ({' + '.join(sorted(j.modes))}{' + trade' if j.trade_obs else ''}), see estimate.joint"


def _inputs(j: JointDraws, parts: Mapping[str, np.ndarray], t50: float) -> dict[str, Any]:
    return {
        "parts": {
            k: {"p50": float(np.median(v)), "share_of_median": float(np.median(v)) / t50 if t50 else None}
            for k, v in parts.items()
        },
        "rail_observations": [x for o in j.rail_obs for x in o["obs_ids"]],
        "trade_observation_ids": [o["obs_id"] for o in j.trade_obs],
        "trade_cross_checks": [o["obs_id"] for o in j.cross_checks],
        "imaged_unmatched_calls": [[str(d), r] for d, r in j.imaged],
        "priors": [p.as_dict() for p in j.priors.values()],
        "n_draws": j.sea.n_draws,
        "seed": j.seed,
    }


def parts_summary(medians: Mapping[str, float]) -> str:
    """``sea_detected 5,100 + rail 300`` from the parts' medians (for messages; zero parts left out)."""
    return " + ".join(f"{k} {v:,.0f}" for k, v in medians.items() if v > 0) or "0"


__all__ = ["JOINT_ROUTE", "PARTS", "JointDraws", "joint_draws", "joint_rows", "parts_summary"]
