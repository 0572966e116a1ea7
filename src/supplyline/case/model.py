"""What a loaded case holds: places, routes, watchlist, thresholds, priors and the evidence ledger.

Case places are ``schema.PLACES`` rows with ``place_id = "case:<id>"`` and ``watched = True``; routes and
observations may name them by the short id. The format is documented in docs/case-format.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from supplyline.detect.thresholds import Route, Thresholds
from supplyline.errors import CaseError
from supplyline.estimate.priors import PriorRange

CASE_FILE = "case.toml"
PLACE_KINDS = ("port", "anchorage", "berth", "terminal", "rail", "depot", "area", "city")
R_OUT_FACTOR = 1.5  # default r_out_m = 1.5 * r_in_m: leave-radius hysteresis so a drifting ship is one visit


@dataclass(frozen=True)
class Vessel:
    """A watched vessel with what is known of it; ``source`` says where each particular comes from."""

    name: str
    imo: int | None = None
    mmsi: int | None = None
    aliases: tuple[str, ...] = ()
    flag: str | None = None
    particulars: str | None = None
    owner: str | None = None
    notes: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class SanctionsList:
    """A reference to a sanctions extract (not inlined): ``path`` is resolved if the file is found."""

    name: str
    file: str
    path: Path | None
    source: str | None = None
    as_of: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Watchlist:
    vessels: tuple[Vessel, ...] = ()
    sanctions: tuple[SanctionsList, ...] = ()

    def table(self) -> pa.Table:
        """The watched vessels as a table: name, imo, mmsi, aliases, notes, source."""
        return pa.table(
            {
                "name": pa.array([v.name for v in self.vessels], pa.string()),
                "imo": pa.array([v.imo for v in self.vessels], pa.int64()),
                "mmsi": pa.array([v.mmsi for v in self.vessels], pa.int64()),
                "aliases": pa.array([list(v.aliases) for v in self.vessels], pa.list_(pa.string())),
                "notes": pa.array([v.notes for v in self.vessels], pa.string()),
                "source": pa.array([v.source for v in self.vessels], pa.string()),
            }
        )


# A case prior is the estimate's range (one dataclass); the loader checks it first to report file and line.
Prior = PriorRange


@dataclass
class Case:
    """A loaded case folder."""

    name: str
    root: Path
    places: pa.Table  # schema.PLACES, watched=True, place_id "case:<id>"
    routes: list[Route]
    watchlist: Watchlist
    thresholds: Thresholds
    priors: dict[str, Prior]
    claims: pa.Table  # schema.CLAIMS
    observations: pa.Table  # schema.OBSERVATIONS
    scenario_path: Path | None
    title: str | None = None
    description: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    # place_id -> {point, role, role_source, note} as written in case.toml
    place_notes: dict[str, dict[str, str]] = field(default_factory=dict)
    claims_path: Path | None = None
    observations_path: Path | None = None

    def place_id(self, short: str) -> str:
        """``rajin`` -> ``case:rajin`` (raises CaseError if the case has no such place)."""
        pid = short if short.startswith("case:") else f"case:{short}"
        if pid not in set(self.places.column("place_id").to_pylist()):
            raise CaseError(f"case {self.name} has no place {short!r}")
        return pid
