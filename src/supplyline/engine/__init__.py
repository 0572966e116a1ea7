"""supplyline.engine: where the detection kernels run (local: DuckDB + process pool; spark: mapInArrow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from supplyline.errors import UsageError

if TYPE_CHECKING:
    from supplyline.engine.local import DetectResult

ENGINES = ("local", "spark")


def select(name: str) -> Callable[..., DetectResult]:
    """The detect function of engine ``name``; imported here on use, as spark's pulls in pyspark."""
    if name == "local":
        from supplyline.engine.local import detect

        return detect
    if name == "spark":
        from supplyline.engine.spark import detect_spark

        return detect_spark
    raise UsageError(f"unknown --engine {name!r}; choose {' or '.join(ENGINES)}")


__all__ = ["ENGINES", "select"]
