"""What the Spark engine checks and bridges across pyspark versions: the Java runtime and Arrow transfer.

pyspark 3.5 runs on Java 8, 11 and 17; pyspark 4.x needs Java 17 or newer (17 and 21 are the documented
ones). A wrong Java fails deep inside the JVM gateway with an unreadable error, so it is checked before the
session starts. pyspark 3.5 has no ``DataFrame.toArrow`` nor ``createDataFrame(pyarrow.Table)`` (both came
in 4.0): :func:`to_arrow` and :func:`from_arrow` use the 3.5 equivalents there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pyarrow as pa

from supplyline.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

JAVA_RANGES: dict[int, tuple[int, int | None]] = {3: (8, 17), 4: (17, None)}
"""Java major versions each pyspark major runs on: (oldest, newest or None for no known ceiling)."""
_COLLECT_35 = "_collect_as_arrow"
"""pyspark 3.5's Arrow collection (what ``toPandas`` uses), looked up on the class: a frame's attributes are
its columns."""
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


def java_executable() -> str | None:
    """The ``java`` Spark's launcher will start: ``$JAVA_HOME/bin/java`` if JAVA_HOME is set, else PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def java_major(java: str) -> int:
    """The major version ``java -version`` reports (``1.8.0_392`` is 8, ``17.0.15`` is 17)."""
    try:
        run = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"could not run {java} -version ({exc}); set JAVA_HOME to a Java install") from exc
    match = _VERSION.search(run.stderr + run.stdout)
    if run.returncode != 0 or match is None:
        raise EngineError(
            f"{java} -version did not report a Java version (exit {run.returncode}); "
            "set JAVA_HOME to a working Java install"
        )
    first, second = int(match.group(1)), int(match.group(2) or 0)
    return second if first == 1 else first


def check_java(pyspark_version: str) -> int:
    """The Java major version, after checking it is one ``pyspark_version`` runs on (else EngineError)."""
    spark_major = int(pyspark_version.split(".")[0])
    oldest, newest = JAVA_RANGES.get(spark_major, JAVA_RANGES[max(JAVA_RANGES)])
    wanted = f"Java {oldest}-{newest}" if newest else f"Java {oldest} or newer"
    java = java_executable()
    if java is None or not os.path.exists(java):
        raise EngineError(
            f"pyspark {pyspark_version} needs {wanted} and none was found "
            f"({'JAVA_HOME/bin/java missing' if java else 'no JAVA_HOME, no java on PATH'}): "
            "install one and set JAVA_HOME"
        )
    major = java_major(java)
    if major < oldest or (newest is not None and major > newest):
        raise EngineError(
            f"pyspark {pyspark_version} needs {wanted}, but {java} is Java {major}: point JAVA_HOME at a "
            f"supported Java (pyspark 3.5: Java 8/11/17; pyspark 4.x: Java 17/21)"
        )
    return major


def to_arrow(frame: DataFrame) -> pa.Table:
    """Collect a DataFrame as an Arrow table without pandas (``toArrow`` on 4.x, its 3.5 internals else)."""
    collect = getattr(type(frame), "toArrow", None)  # on the class: a frame's attributes are its columns
    if collect is not None:
        table: pa.Table = collect(frame)
        return table
    from pyspark.sql.pandas.types import to_arrow_schema

    target = to_arrow_schema(frame.schema)
    batches: list[pa.RecordBatch] = getattr(type(frame), _COLLECT_35)(frame)
    return pa.Table.from_batches(batches, schema=target) if batches else target.empty_table()


def from_arrow(session: SparkSession, table: pa.Table) -> DataFrame:
    """A DataFrame from an Arrow table (direct on 4.x; through pandas with Arrow enabled on 3.5)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if table.num_rows == 0:
        return session.createDataFrame([], from_arrow_schema(table.schema))
    if int(session.version.split(".")[0]) >= 4:
        return session.createDataFrame(table)
    return session.createDataFrame(table.to_pandas(), schema=from_arrow_schema(table.schema))


__all__ = ["JAVA_RANGES", "check_java", "from_arrow", "java_executable", "java_major", "to_arrow"]
