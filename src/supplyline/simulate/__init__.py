"""supplyline.simulate: scenario -> synthetic AIS (NMEA and/or Parquet) with ground truth.

``simulate(scenario_path, out_dir, seed=..., formats=("nmea", "parquet"))`` writes the files and returns a
:class:`SimResult` whose ``truth`` holds visits, voyages, dark, encounters, identity_changes and spoofing
tables; ``score(truth, detected)`` measures how well detectors recover them. See docs/simulator.md.
"""

from supplyline.simulate.core import FORMATS, SimResult, import_truth, load_truth, simulate
from supplyline.simulate.scenario import Scenario, load_scenario

__all__ = ["FORMATS", "Scenario", "SimResult", "import_truth", "load_scenario", "load_truth", "simulate"]
