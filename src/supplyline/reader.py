"""The read-only connection: what `supplyline sql` and any server or API reader query the store through.

Two locks, because either alone leaks. DuckDB's ``allowed_directories`` lets a connection with
``enable_external_access = false`` read the store's Parquet files and nothing else, but it also lets it
*write* there (``COPY ... TO`` a positions file would replace it); so every statement is also parsed with
DuckDB's own parser (:func:`duckdb.extract_statements`) and anything that is not a query is refused before
it runs. The configuration is locked after the views are made, so a query cannot undo either.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import duckdb

from supplyline.errors import UsageError

QUERY_TYPES = frozenset({duckdb.StatementType.SELECT})
"""Statement types a read-only connection runs: SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE."""


def check_query(sql: str) -> None:
    """Raise :class:`UsageError` unless ``sql`` is one or more query statements (parsed by DuckDB)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"SQL error: {str(exc).splitlines()[0]}") from None
    if not statements:
        raise UsageError("empty SQL: give a query such as SELECT count(*) FROM positions")
    refused = sorted({s.type.name for s in statements if s.type not in QUERY_TYPES})
    if refused:
        raise UsageError(
            f"only queries run on the read-only connection (SELECT, WITH, FROM, DESCRIBE, SHOW), "
            f"not {', '.join(refused)}; `supplyline sql --unsafe` runs anything (it can change the store)"
        )


class ReadOnlyConnection:
    """A DuckDB connection over a store's views that runs queries only and reads only the store's files.

    Made by :meth:`supplyline.store.Store.reader`. ``sql`` and ``execute`` check every statement first
    (:func:`check_query`); the views read the store's Parquet files as they are when each query runs.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def sql(self, query: str) -> duckdb.DuckDBPyRelation | None:
        """Run ``query`` (checked) and return its relation (lazy: fetch with ``fetchall``/``to_arrow_table``)."""
        check_query(query)
        return self._con.sql(query)

    def execute(self, query: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """Run one parameterised ``query`` (checked); fetch the whole result before the next query."""
        check_query(query)
        return self._con.execute(query, parameters)

    def cursor(self) -> ReadOnlyConnection:
        """Another read-only connection to the same views (DuckDB's ``cursor``): one per thread or request,
        since a connection runs one result at a time (fetch it whole before the next query)."""
        return ReadOnlyConnection(self._con.cursor())

    def interrupt(self) -> None:
        """Stop the query running on this connection (from another thread): how servers bound its time."""
        self._con.interrupt()

    def tables(self) -> list[str]:
        """Names of the store's tables and views, sorted."""
        rows = self._con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ReadOnlyConnection:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
