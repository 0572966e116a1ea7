"""Detector thresholds and routes of interest.

Defaults follow Global Fishing Watch's published pipelines (port visits: stop/move speeds, 4 h port gap;
gaps: 6 h; encounters: 0.5 km, 2 h, 2 kn, 10 km from port on a 10-min grid;
loitering: below 2 kn; gpsdio-segment: 24 h) unless noted. Our own choices, with no GFW counterpart:
``max_implied_speed_kn`` 30 (GFW 25, raised for fast harbour ferries), ``dark_disabled_h`` 6 (GFW counts
disabling from 12 h; the simulator's switched-off legs last 8-12 h and the class now rests on reception
evidence instead), ``gap_shore_km``, ``gap_stationary_km``, ``reception_window_h``, ``noise_dist_km``, ``segment_lookback``,
``min_segment_positions``, ``watch_radius_km``, the ``coverage_*`` grid (GFW uses distance from shore),
``encounter_max_gap_h``, ``loiter_min_h``, ``loiter_port_km``, ``voyage_min_confidence`` and
``draught_min_change_m``. Every value can be overridden in the case file's ``[thresholds]`` table (see
:meth:`Thresholds.from_mapping`). Units are in the names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supplyline.errors import CaseError

# Thresholds that are counts rather than real quantities (validated as positive integers).
_INT_FIELDS = frozenset(
    {"segment_lookback", "min_segment_positions", "coverage_min_others", "fast_min_steps"}
)
# Thresholds that are switches (validated as booleans).
_BOOL_FIELDS = frozenset({"include_non_vessels"})


@dataclass(frozen=True)
class Thresholds:
    """Every detector threshold, with units in the names.

    Segments (gpsdio-segment idea):
      ``max_gap_h`` split a segment when a vessel is silent longer than this;
      ``max_implied_speed_kn`` a position that would need more than this speed to reach from the open
      segment starts a new one (GFW uses 25 kn; 30 keeps fast harbour ferries whole);
      ``noise_dist_km`` GPS jitter allowed on top of ``speed x time`` (so 0 s apart is not "infinite speed");
      ``segment_lookback`` how many earlier positions a position may attach to (interleaved ships);
      ``min_segment_positions`` shorter segments of a vessel that also has a longer one are noise;
      ``fast_max_speed_kn`` the limit instead of ``max_implied_speed_kn`` for high-speed craft (AIS ship
      type 40-49) and for vessels whose own track shows ``fast_min_steps`` straight pairs of steps faster
      than ``max_implied_speed_kn`` (35 kn fast ferries). A lone fix unreachable from both neighbours at
      the vessel's limit is an outlier: dropped and counted (``n_outliers``), never a segment.
    Stations: MMSIs that are not vessels (ITU-R M.585: coast stations, AtoN, SAR aircraft, SART/MOB/EPIRB,
      craft associated with a parent ship, handhelds, fishing-gear buoys) are left out of every per-vessel
      detector and of encounters unless ``include_non_vessels`` (see :mod:`supplyline.detect.stations`).
    Port visits (GFW): enter within the place's ``r_in_m``, leave beyond ``r_out_m``; ``stop_speed_kn``
      and ``move_speed_kn`` give the stopped/moving hysteresis; a silence of ``visit_gap_h`` inside the
      port counts as a port gap (raises confidence, does not end the visit) when the vessel moved at most
      ``port_gap_max_km`` across it and it lasted at most ``port_gap_max_h`` (a week: data files years
      apart are not one port call). Without reported SOG, speed for stops is the displacement over at least
      ``stop_window_min`` minutes (point-to-point speeds of a moored vessel's GPS jitter reach 2 kn).
      A visit is a ``port_call`` when one continuous stop (port gaps included) lasts ``port_call_min_h``,
      a ``short_stop`` when stopped for less, a ``pass_through`` when never stopped; a run of fixes within
      ``short_stop_radius_m`` of its first fix for ``short_stop_min_min`` or more is a stop too (a ferry
      docked for minutes, below the speed window). Gazetteer places
      sharing a name and country within ``port_group_km`` of each other form one port (GFW's anchorage
      grouping). Voyages join consecutive visits with a stop, port calls or short stops (and, when
      ``voyage_min_confidence`` > 0, only those of at least that confidence).
    Dark gaps (GFW): ``dark_gap_h`` reported; ``dark_disabled_h`` long enough to call "switched_off" when
      other vessels were still heard nearby (at least ``coverage_min_others`` positions in the
      ``coverage_cell_deg`` grid cells around the start (3 x 3, widened in longitude towards the poles)
      during the first ``coverage_window_h`` of the gap,
      or around the end during its last ``coverage_window_h``), the silent path was in reception (some
      vessel heard in its cells within ``reception_window_h``) and the vessel was not moored; moored =
      moved less than ``gap_stationary_km`` with an end in port or within ``gap_shore_km`` of the coast
      (both ends in port: "in_port_silence"); ``watch_radius_km`` "near" a watched place.
    Encounters (GFW): two vessels within ``encounter_dist_km`` on an ``encounter_bucket_min`` time grid for
      at least ``encounter_min_h``, median speed below ``encounter_speed_kn``, at least ``encounter_port_km``
      from any place; close buckets up to ``encounter_max_gap_h`` apart belong to the same encounter.
    Loitering (GFW): speed below ``loiter_speed_kn`` for ``loiter_min_h`` or more, at least
      ``loiter_port_km`` from any place.
    Draught: a reported change of at least ``draught_min_change_m`` is an event (AIS steps are 0.1 m).
    """

    max_gap_h: float = 24.0
    max_implied_speed_kn: float = 30.0
    noise_dist_km: float = 0.2
    segment_lookback: int = 8
    min_segment_positions: int = 3
    fast_max_speed_kn: float = 60.0
    fast_min_steps: int = 3
    include_non_vessels: bool = False
    stop_speed_kn: float = 0.2
    move_speed_kn: float = 0.5
    visit_gap_h: float = 4.0
    port_gap_max_km: float = 1.0
    port_gap_max_h: float = 168.0
    stop_window_min: float = 10.0
    port_call_min_h: float = 0.5
    short_stop_radius_m: float = 200.0
    short_stop_min_min: float = 5.0
    port_group_km: float = 10.0
    voyage_min_confidence: float = 0.0
    dark_gap_h: float = 6.0
    dark_disabled_h: float = 6.0
    gap_shore_km: float = 10.0
    gap_stationary_km: float = 2.0
    watch_radius_km: float = 30.0
    coverage_cell_deg: float = 0.5
    coverage_min_others: int = 1
    coverage_window_h: float = 12.0
    reception_window_h: float = 72.0
    encounter_dist_km: float = 0.5
    encounter_min_h: float = 2.0
    encounter_speed_kn: float = 2.0
    encounter_port_km: float = 10.0
    encounter_bucket_min: float = 10.0
    encounter_max_gap_h: float = 1.0
    loiter_speed_kn: float = 2.0
    loiter_min_h: float = 2.0
    loiter_port_km: float = 10.0
    draught_min_change_m: float = 0.3

    def __post_init__(self) -> None:
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _BOOL_FIELDS:
                if not isinstance(value, bool):
                    problems.append(f"{f.name} must be true or false, got {value!r}")
            elif f.name in _INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    problems.append(f"{f.name} must be a whole number >= 1, got {value!r}")
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                problems.append(f"{f.name} must be a finite number >= 0, got {value!r}")
        if not problems and self.move_speed_kn < self.stop_speed_kn:
            problems.append("move_speed_kn must be >= stop_speed_kn (hysteresis)")
        if not problems and self.voyage_min_confidence > 1:
            problems.append("voyage_min_confidence is a confidence between 0 and 1")
        if not problems and (self.encounter_bucket_min <= 0 or self.coverage_cell_deg <= 0):
            problems.append("encounter_bucket_min and coverage_cell_deg must be > 0")
        if problems:
            raise CaseError(
                "invalid detector thresholds: " + "; ".join(problems),
                [("thresholds", None, p) for p in problems],
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Thresholds:
        """Defaults overridden by ``values`` (the case file's ``[thresholds]``); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            problems: list[tuple[str, int | None, str]] = [
                ("thresholds", None, f"unknown threshold {k!r}; known: {', '.join(sorted(known))}")
                for k in unknown
            ]
            raise CaseError(f"unknown detector threshold(s): {', '.join(unknown)}", problems)
        coerced: dict[str, Any] = {}
        for key, value in values.items():
            # TOML gives ints for "4"; accept them for float fields, keep counts as ints.
            if (
                key not in _INT_FIELDS | _BOOL_FIELDS
                and isinstance(value, int)
                and not isinstance(value, bool)
            ):
                value = float(value)
            coerced[key] = value
        return cls(**coerced)

    def to_dict(self) -> dict[str, float | int | bool]:
        """Plain dict (for JSON output and provenance)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Route:
    """A route of interest: a voyage from any of ``origins`` to any of ``destinations`` (place ids)."""

    name: str
    origins: tuple[str, ...]
    destinations: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise CaseError("a route needs a name", [("routes", None, "route without a name")])
        if not self.origins or not self.destinations:
            raise CaseError(
                f"route {self.name!r} needs at least one origin and one destination place id",
                [("routes", None, f"route {self.name!r} has no origins or no destinations")],
            )
        # Accept lists from TOML without making callers convert.
        object.__setattr__(self, "origins", tuple(self.origins))
        object.__setattr__(self, "destinations", tuple(self.destinations))
