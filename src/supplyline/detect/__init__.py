"""supplyline.detect: pure, vectorised per-vessel detection kernels (segments, visits, voyages, gaps,
loitering, draught changes) plus the cross-vessel steps (encounters, gap coverage) as SQL text the engines
run; nothing here imports DuckDB or Spark."""

from supplyline.detect.kernels import KERNEL_TABLES, place_indexes, run_vessel_kernels
from supplyline.detect.thresholds import Route, Thresholds

__all__ = ["KERNEL_TABLES", "Route", "Thresholds", "place_indexes", "run_vessel_kernels"]
