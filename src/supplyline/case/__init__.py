"""The case folder: case.toml (places, routes, watchlist, thresholds, priors) plus the evidence ledger
(claims.csv, observations.csv) and an optional scenario.toml for the simulator.

``model`` holds what a loaded case is, ``loader`` reads and checks a folder (one parser per section),
``problems`` finds the file and line of each problem (shared with the scenario loader), ``evidence`` writes
the case's ledger into a store and ``summary`` describes a case as JSON. The format is documented in
docs/case-format.md; a folder with its scenario checked too is ``simulate.scenario.validate_case_folder``.
"""

from supplyline.case.evidence import store_case_evidence
from supplyline.case.loader import bundled_case_path, load_case, read_case, resolve_case, validate_case
from supplyline.case.model import (
    CASE_FILE,
    PLACE_KINDS,
    R_OUT_FACTOR,
    Case,
    Prior,
    SanctionsList,
    Vessel,
    Watchlist,
)
from supplyline.case.problems import Problem, TomlProblems
from supplyline.case.summary import case_summary

__all__ = [
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
]
