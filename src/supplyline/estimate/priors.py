"""Conversion priors (ranges with sources) and their Monte Carlo draws.

A prior is anything with ``low``, ``high``, ``unit``, ``source`` and optionally ``mode`` and
``distribution`` (uniform | triangular | loguniform) — the case file's ``[priors.<name>]``
(:class:`PriorRange`, which ``supplyline.case.Prior`` names) or a plain mapping. Draws come from one seeded
``numpy.random.Generator`` so an estimate is reproducible; every prior used is written into the estimate's
``inputs`` JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from supplyline.errors import CaseError

DISTRIBUTIONS = ("uniform", "triangular", "loguniform")


@dataclass(frozen=True)
class PriorRange:
    """One conversion factor as a range with its source (e.g. shells per container, 250..480).

    The case file's ``[priors.<name>]`` are loaded as this class (``supplyline.case.Prior``); ``note``
    is the case author's remark and is not part of the estimate's inputs.
    """

    name: str
    low: float
    high: float
    unit: str
    source: str
    mode: float | None = None
    distribution: str = "uniform"
    note: str | None = field(default=None, repr=False)  # repr=False: error messages show the range only

    def __post_init__(self) -> None:
        bad = not (0 <= self.low <= self.high)
        bad |= self.distribution not in DISTRIBUTIONS
        bad |= self.distribution == "triangular" and (
            self.mode is None or not self.low <= self.mode <= self.high
        )
        bad |= self.distribution == "loguniform" and self.low <= 0
        if bad:
            raise CaseError(
                f"prior {self.name}: need 0 <= low <= high, a distribution of uniform, triangular (with a mode "
                f"inside the range) or loguniform (low > 0); got {self}",
                [("case.toml", None, f"[priors.{self.name}] is invalid")],
            )

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draws from the range (a point prior, low == high, gives that value)."""
        if self.high == self.low:
            return np.full(size, float(self.low))
        if self.distribution == "triangular":
            return rng.triangular(
                self.low, float(self.mode if self.mode is not None else 0.0), self.high, size
            )
        if self.distribution == "loguniform":
            return np.exp(rng.uniform(np.log(self.low), np.log(self.high), size))
        return rng.uniform(self.low, self.high, size)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "mode": self.mode,
            "distribution": self.distribution,
            "unit": self.unit,
            "source": self.source,
        }


# Used only when the case does not give them; each says where it comes from so the estimate's inputs show it.
DEFAULT_PRIORS: dict[str, PriorRange] = {
    "block_coefficient": PriorRange(
        "block_coefficient",
        0.60,
        0.80,
        "1",
        "assumed range for general-cargo / Ro-Ro hulls (C_B of full-bodied cargo ships 0.6-0.8); "
        "override with [priors.block_coefficient]",
    ),
    "voyage_recall": PriorRange(
        "voyage_recall",
        0.947,
        1.0,
        "1",
        "measured voyage recall of the detectors (docs/simulator.md, bench/sim_recall.py, SYNTHETIC): 0.947 at "
        "one AIS report per 4 h, 0.954 at 99 % random loss, 0.987 satellite-only, 1.000 at full reception; "
        "override with [priors.voyage_recall]",
    ),
    "seawater_density": PriorRange(
        "seawater_density", 1.025, 1.025, "t/m3", "standard seawater density used by Arslanalp et al. (2021)"
    ),
}


def prior_ranges(priors: Mapping[str, Any] | None) -> dict[str, PriorRange]:
    """Case priors (objects or mappings) as :class:`PriorRange`, with the defaults for missing names."""
    out = dict(DEFAULT_PRIORS)
    for name, p in (priors or {}).items():
        values: Mapping[str, Any] = p if isinstance(p, Mapping) else vars(p)
        get = values.get
        out[name] = PriorRange(
            name=name,
            low=float(values["low"]),
            high=float(values["high"]),
            unit=str(get("unit", "") or ""),
            source=str(get("source", "") or ""),
            mode=None if values.get("mode") is None else float(values["mode"]),
            distribution=str(get("distribution", "uniform") or "uniform"),
        )
    return out
