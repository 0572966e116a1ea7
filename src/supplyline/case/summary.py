"""A JSON-ready summary of a loaded case (what `supplyline case show --json` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supplyline.case.model import Case


def case_summary(case: Case) -> Mapping[str, Any]:
    """A JSON-ready summary of a case (for `case show --json`)."""
    return {
        "name": case.name,
        "title": case.title,
        "root": str(case.root),
        "period": [case.period_start, case.period_end],
        "places": case.places.to_pylist(),
        "routes": [
            {"name": r.name, "origins": list(r.origins), "destinations": list(r.destinations)}
            for r in case.routes
        ],
        "watchlist": {
            "vessels": case.watchlist.table().to_pylist(),
            "sanctions": [
                {"name": s.name, "file": s.file, "found": s.path is not None, "as_of": s.as_of}
                for s in case.watchlist.sanctions
            ],
        },
        "thresholds": case.thresholds.to_dict(),
        "priors": {k: vars(p) for k, p in case.priors.items()},
        "claims": case.claims.num_rows,
        "observations": case.observations.num_rows,
        "scenario": str(case.scenario_path) if case.scenario_path else None,
    }
