"""supplyline: monitor shipments between ports from public evidence.

The public API is small on purpose; everything else is private to its module.
"""

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
    "StoreError",
    "SupplylineError",
    "UsageError",
    "__version__",
]
