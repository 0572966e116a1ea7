"""supplyline: monitor shipments between ports from public evidence.

The public API is small on purpose; everything else is private to its module. The verbs take the same
options as the CLI (``ingest``, ``detect``, ``estimate``, ``monitor``, ``report``, ``export``, ``demo``);
``open_store`` reads a store's tables as DuckDB relations, Arrow, pandas, GeoDataFrames or a MovingPandas
``TrajectoryCollection`` (the last two need ``pip install 'supplyline[geo]'``). See ``supplyline._api`` for
a runnable example.
"""

from supplyline._api import (
    StoreData,
    detect_events,
    estimate_shipments,
    export_files,
    ingest_files,
    monitor_alerts,
    open_store,
    run_demo,
    write_report,
)
from supplyline.errors import (
    CaseError,
    DependencyError,
    EngineError,
    FormatError,
    InputError,
    StoreError,
    SupplylineError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "CaseError",
    "DependencyError",
    "EngineError",
    "FormatError",
    "InputError",
    "StoreData",
    "StoreError",
    "SupplylineError",
    "UsageError",
    "__version__",
    "detect_events",
    "estimate_shipments",
    "export_files",
    "ingest_files",
    "monitor_alerts",
    "open_store",
    "run_demo",
    "write_report",
]
