"""supplyline.engine: where the detection kernels run (local: DuckDB + process pool; spark: mapInArrow),
both implementing the contract in :mod:`supplyline.engine.base`."""

from __future__ import annotations

import typing

from supplyline import errors

if typing.TYPE_CHECKING:  # module imports only, so the package's namespace holds just its public names
    from collections.abc import Callable

    from supplyline.engine.base import DetectResult

ENGINES = ("local", "spark")


def select(name: str) -> Callable[..., DetectResult]:
    """The detect function of engine ``name``; imported here on use, as spark's pulls in pyspark."""
    if name == "local":
        from supplyline.engine.local import detect

        return detect
    if name == "spark":
        from supplyline.engine.spark import detect_spark

        return detect_spark
    raise errors.UsageError(f"unknown --engine {name!r}; choose {' or '.join(ENGINES)}")


__all__ = ["ENGINES", "select"]
