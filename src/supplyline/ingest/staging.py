"""Staging one input's files in its store transaction: its id, its DuckDB connection, part names, day files.

Everything an input writes goes through :class:`Staging` into ``txn`` (visible only when the input's
transaction commits); the de-duplication, static-run and quarantine steps share one ``Staging``.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.ingest.run import StorePrints
from supplyline.store import Store, Transaction

# low-cardinality columns worth dictionary-encoding in position / static files
DICTIONARY = [
    "source",
    "input_id",
    "nav_status",
    "msg_type",
    "ship_type",
    "name",
    "callsign",
    "destination",
    "eta",
]


class AlreadyIngested(Exception):
    """Raised inside an input's transaction once its content hash turns out to be in the manifest."""


class Staging:
    """One input's transaction, connection, id and part counter (shared by the writer's steps)."""

    def __init__(
        self,
        store: Store,
        txn: Transaction,
        connecting: Future[duckdb.DuckDBPyConnection],
        hashing: Future[str],
        file: str,
        known_ids: set[str] | None = None,
        prints: StorePrints | None = None,
    ):
        self.store, self.txn, self.file = store, txn, file
        self._connecting, self._hashing, self._input_id = connecting, hashing, ""
        self._chunk = 0
        # the run's manifest ids (listed once per call) and its fingerprints of stored positions
        self._known_ids, self.prints = known_ids, prints

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The input's DuckDB connection (opened in a thread beside the first decode; waits for it)."""
        return self._connecting.result()

    @property
    def input_id(self) -> str:
        """The input's id (its content hash's first 16 hex digits); waits for the hash the first time.

        Raises :class:`AlreadyIngested` if the manifest has it, before anything of the input is staged.
        """
        if not self._input_id:
            input_id = self._hashing.result()[:16]
            known = self.store.manifest_ids() if self._known_ids is None else self._known_ids
            if input_id in known:
                raise AlreadyIngested(input_id)
            self._input_id = input_id
        return self._input_id

    def next_part(self) -> str:
        """The next part file name of this input (one per staged chunk and table)."""
        self._chunk += 1
        return f"part-{self.input_id}-{self._chunk:05d}.parquet"

    def put(self, name: str, table: pa.Table) -> Path:
        """Stage one file (e.g. ``quarantine/<part>``)."""
        return self.txn.put(name, table)

    def by_day(self, table_name: str, table: pa.Table, target: pa.Schema) -> list[tuple[str, Path, int, int]]:
        """Split a table sorted by (day, mmsi, ts) into one staged file per UTC day.

        Returns (day, staged file, first row, end row) of each file.
        """
        if table.num_rows == 0:
            return []
        days = table["day"].cast(pa.int32()).to_numpy()
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], len(days)]
        part = self.next_part()
        data = table.select(target.names).cast(target)
        bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
        day_of = [str(np.datetime64("1970-01-01") + np.timedelta64(days[s], "D")) for s, _ in bounds]
        paths = self.txn.put_many(
            [
                (f"{table_name}/day={d}/{part}", data.slice(s, e - s))
                for d, (s, e) in zip(day_of, bounds, strict=True)
            ],
            DICTIONARY,
        )
        return [(d, p, s, e) for d, p, (s, e) in zip(day_of, paths, bounds, strict=True)]

    def stored(self, table: str, days: list[str]) -> list[str]:
        """Files of ``table`` the store holds for ``days``, and those other inputs of the transaction staged."""
        files: list[Path] = []
        for day in days:
            files.extend(sorted((self.store.root / table / f"day={day}").glob("*.parquet")))
        # ... and what other inputs staged in the same transaction (a batch of small inputs)
        own = f"/part-{self.input_id}-"
        prefixes = tuple(f"{table}/day={day}/" for day in days)
        for staged, final in self.txn.moves:
            if final.startswith(prefixes) and own not in final:
                files.append(self.store.root / staged)
        return [str(f) for f in files]

    def with_input_id(self, table: pa.Table) -> pa.Table:
        """``table`` with an ``input_id`` column of this input's id appended."""
        ids = pa.repeat(pa.scalar(self.input_id, pa.string()), table.num_rows)
        return table.append_column("input_id", ids)


def days_of(rows: pa.Table) -> list[str]:
    """The distinct UTC days (YYYY-MM-DD) of a table with a date ``day`` column."""
    return [d.isoformat() for d in pc.unique(rows["day"]).to_pylist()]
