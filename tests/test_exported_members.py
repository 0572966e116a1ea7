"""Each package's public names are locked: ``__all__`` lists exactly the public names the package holds (as
httpx's tests/test_exported_members.py does), and a change to a package's API shows up here as a diff."""

from __future__ import annotations
import __future__

import importlib
import inspect

import pytest

PUBLIC = {
    "supplyline": [
        "CaseError",
        "DependencyError",
        "EngineError",
        "FormatError",
        "InputError",
        "StoreError",
        "SupplylineError",
        "UsageError",
        "__version__",
    ],
    "supplyline.case": [
        "CASE_FILE",
        "PLACE_KINDS",
        "R_OUT_FACTOR",
        "Case",
        "Prior",
        "Problem",
        "SanctionsList",
        "TomlProblems",
        "Vessel",
        "Watchlist",
        "bundled_case_path",
        "case_summary",
        "load_case",
        "read_case",
        "resolve_case",
        "store_case_evidence",
        "validate_case",
    ],
    "supplyline.cli": ["app", "main"],
    "supplyline.detect": ["KERNEL_TABLES", "Route", "Thresholds", "place_indexes", "run_vessel_kernels"],
    "supplyline.engine": ["ENGINES", "select"],
    "supplyline.estimate": [
        "ClaimTestConfig",
        "PriorRange",
        "VoyageDraws",
        "assess_claims",
        "cargo_moved_t",
        "claim_interval",
        "displacement_t",
        "estimate",
        "load_t",
        "outbound_routes",
        "prior_ranges",
        "voyage_draws",
    ],
    "supplyline.evidence": [],
    "supplyline.imagery": [],
    "supplyline.ingest": [],
    "supplyline.monitor": [
        "CadenceConfig",
        "MonitorConfig",
        "MonitorInputs",
        "daily_profile",
        "evaluate",
        "find_halts",
        "flag_from_mmsi",
        "identity_changes",
        "load_sanctions_list",
        "replay",
        "replay_days",
        "run_monitor",
        "screen_vessels",
        "valid_imo",
    ],
    "supplyline.evidence.extract": [
        "Article",
        "Candidate",
        "claim_rows",
        "extract_candidates",
        "extract_claims",
        "extract_file",
        "find_claimant",
        "find_period",
        "parse_article",
        "read_article",
        "segments",
        "sentences",
    ],
    "supplyline.places": [
        "SOURCES",
        "PlaceIndex",
        "assemble_places",
        "conform_places",
        "load_gazetteer",
        "normalise_name",
        "places_from_geojson",
        "places_from_records",
    ],
    "supplyline.report": ["build_payload", "build_report", "export_store", "map_layers"],
    "supplyline.serve": [],  # modules only: importing the package must not need the optional `serve` extra
    "supplyline.simulate": [
        "FORMATS",
        "Scenario",
        "SimResult",
        "import_truth",
        "load_scenario",
        "load_truth",
        "simulate",
    ],
    "supplyline.watch": [],
    "supplyline.watch.deliver": ["Deliverer", "DeliveryError", "Retry", "Sink", "parse_sink"],
    "supplyline.watch.sources": ["Source", "SourceStats", "parse_source"],
}
"""The public names of every package, in ``__all__`` order (a package without ``__all__`` exports none)."""

DUNDER_EXPORTS = {"__version__"}


def _public_members(package: object) -> set[str]:
    """Names a user sees with ``dir()``: not private, not a submodule, not ``from __future__`` features."""
    return {
        name
        for name, value in vars(package).items()
        if (not name.startswith("_") or name in DUNDER_EXPORTS)
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)
    }


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_package_exports_exactly_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    exported = list(getattr(package, "__all__", []))
    assert exported == PUBLIC[name], f"{name}.__all__ changed: update PUBLIC here if the API change is meant"
    assert _public_members(package) == set(exported), (
        f"{name} holds public names not in __all__ (or lacks some)"
    )
    for member in exported:
        assert hasattr(package, member), f"{name}.__all__ names {member!r}, which the package does not define"


def test_every_package_is_locked() -> None:
    """A new package must be added to PUBLIC, so its API is locked from the start."""
    import pkgutil

    import supplyline

    packages = {"supplyline"} | {
        m.name for m in pkgutil.walk_packages(supplyline.__path__, "supplyline.") if m.ispkg
    }
    assert packages == set(PUBLIC)
