"""The inputs a time-incremental detect run sees, and DuckDB views over just the files it needs.

A run's positions are the files of the inputs whose manifest row exists when it starts (a manifest row
lands last, so its files are complete); inputs stored meanwhile (by a watch's store thread) wait for the
next run. Views are made over explicit file lists restricted to the days a step needs, so a step's cost
follows the days it reads, not how many files the store has (``union_by_name`` reads every listed file's
schema when the view is bound).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.sqlquote import literal
from supplyline.store import Store

US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class RawFile:
    input_id: str
    day: str  # YYYY-MM-DD, from the file's day=... folder
    path: str


def day_of(us: int) -> str:
    """The UTC day (YYYY-MM-DD) holding ``us`` microseconds since 1970."""
    return str(np.datetime64(max(int(us), 0) // US_PER_DAY, "D"))


@dataclass
class Snapshot:
    """The inputs of a run and their position and statics files."""

    inputs: set[str]
    files: dict[str, list[RawFile]]  # "positions" / "statics" -> the snapshot's files

    @classmethod
    def take(cls, store: Store) -> Snapshot:
        inputs = store.manifest_ids()
        files = {
            name: [
                RawFile(_input_of(p), p.parent.name.removeprefix("day="), str(p)) for p in store.files(name)
            ]
            for name in ("positions", "statics")
        }
        return cls(inputs, {name: [f for f in fs if f.input_id in inputs] for name, fs in files.items()})

    def view(
        self,
        con: duckdb.DuckDBPyConnection,
        view: str,
        table: str,
        *,
        since: int | None = None,
        days: Collection[str] | None = None,
        inputs: Collection[str] | None = None,
    ) -> None:
        """(Re)create ``view`` over ``table``'s files: from the day holding ``since`` (microseconds) on, of
        the ``days`` listed, of the ``inputs`` listed (each filter optional)."""
        first = day_of(since) if since is not None else None
        chosen = [
            f.path
            for f in self.files[table]
            if (first is None or f.day >= first)
            and (days is None or f.day in days)
            and (inputs is None or f.input_id in inputs)
        ]
        _view(con, view, table, chosen)


def _input_of(path: Path) -> str:
    """The input id in a raw file name (``part-<input_id>.parquet`` or ``part-<input_id>-<chunk>.parquet``)."""
    return path.stem.removeprefix("part-").split("-")[0]


def _view(con: duckdb.DuckDBPyConnection, view: str, table: str, files: list[str]) -> None:
    """View ``view`` over raw ``table`` files ``files`` (an empty table of its schema when none)."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [view]
    ).fetchall()
    if kind:
        con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {view}")
    if files:
        listed = ", ".join(literal(f) for f in files)
        con.execute(
            f"CREATE VIEW {view} AS SELECT * FROM read_parquet([{listed}], hive_partitioning=true, union_by_name=true)"
        )
    else:
        empty = (schema.POSITIONS if table == "positions" else schema.STATICS).empty_table()
        con.from_arrow(empty.append_column("day", pa.array([], pa.date32()))).create(view)


__all__ = ["RawFile", "Snapshot", "day_of"]
