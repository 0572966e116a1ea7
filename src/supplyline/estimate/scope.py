"""What a claim is about, so that its verdict compares like with like.

A claim's scope has three parts, each a column of claims.csv (blank = the default shown):

* ``scope``: ``all`` (every laden route), ``route:<name>``, ``ship:<name or IMO>`` (several joined by ``|``) or
  ``port:<place id>`` (voyages leaving or reaching that place);
* ``mode``: ``sea`` (default), ``rail``, ``air`` or ``all`` (the claimant counts every mode; a sea-only estimate
  is then a lower bound of it);
* ``window``: ``period`` (default: everything moved in the claim's period), ``loading`` (cargo loaded in the
  period: departures up to ``loading_lag_days`` after its end) or ``single`` (one consignment: compared with
  one voyage's load, not with a total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

SCOPE_KINDS = ("all", "route", "ship", "port")
MODES = ("sea", "rail", "air", "all")
WINDOWS = ("period", "loading", "single")


@dataclass(frozen=True)
class ClaimScope:
    """A claim's subject (kind and values), transport mode and window kind."""

    kind: str = "all"
    values: tuple[str, ...] = ()
    mode: str = "sea"
    window: str = "period"

    def label(self) -> str:
        """Short human form, e.g. ``ship ANGARA``, ``route rajin-dunai``, ``all routes``."""
        if self.kind == "all":
            return "all routes"
        return f"{self.kind} {' | '.join(self.values)}"


def parse_scope(row: Mapping[str, Any]) -> tuple[ClaimScope | None, str | None]:
    """(scope, None) from a claim row's ``scope``/``mode``/``window``, or (None, the problem in words)."""
    raw = (row.get("scope") or "all").strip()
    kind, _, rest = raw.partition(":")
    kind = kind.strip().lower()
    values = tuple(v.strip() for v in rest.split("|") if v.strip())
    mode = (row.get("mode") or "sea").strip().lower()
    window = (row.get("window") or "period").strip().lower()
    if kind not in SCOPE_KINDS:
        return None, f"scope {raw!r} is unknown; write all, route:<name>, ship:<name or IMO> or port:<place>"
    if kind != "all" and not values:
        return None, f"scope {raw!r} names no {kind}; write {kind}:<value>"
    if mode not in MODES:
        return None, f"mode {mode!r} is unknown; use one of {', '.join(MODES)}"
    if window not in WINDOWS:
        return None, f"window {window!r} is unknown; use one of {', '.join(WINDOWS)}"
    return ClaimScope(kind, values, mode, window), None


def ship_key(name_or_imo: str | int) -> str:
    """Normalised key of a ship: ``IMO9179842`` for an IMO number, else the upper-cased name without
    punctuation (``Maia-1`` and ``MAIA 1`` are one key)."""
    s = str(name_or_imo).strip().upper()
    digits = s.removeprefix("IMO").strip()
    if digits.isdigit() and len(digits) == 7:
        return f"IMO{digits}"
    return "".join(ch for ch in s if ch.isalnum())


def scope_mask(
    scope: ClaimScope,
    voyages: pa.Table,
    ships: Mapping[str, Sequence[int]],
) -> tuple[np.ndarray | None, str | None]:
    """(bool mask over ``voyages`` of the voyages in scope, None) or (None, why no voyage can be in scope).

    ``ships``: ship key (see :func:`ship_key`) -> the MMSIs that ship was seen with.
    """
    n = voyages.num_rows
    if scope.kind == "all":
        return np.ones(n, dtype=bool), None
    if scope.kind == "route":
        routes = voyages["route"].to_pylist()
        known = set(routes)
        missing = [v for v in scope.values if v not in known]
        if len(missing) == len(scope.values):
            return None, f"no detected voyage on route {', '.join(missing)}"
        return np.array([r in scope.values for r in routes], dtype=bool), None
    if scope.kind == "ship":
        mmsis: set[int] = set()
        for v in scope.values:
            mmsis.update(ships.get(ship_key(v), ()))
        if not mmsis:
            return None, f"no ship named {' | '.join(scope.values)} was identified in the AIS data"
        return np.isin(np.asarray(voyages["mmsi"].to_numpy(zero_copy_only=False)), list(mmsis)), None
    places = {v if ":" in v else f"case:{v}" for v in scope.values}
    ends = zip(voyages["origin_id"].to_pylist(), voyages["destination_id"].to_pylist(), strict=True)
    return np.array([o in places or d in places for o, d in ends], dtype=bool), None
