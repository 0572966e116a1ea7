"""The optional SQL console (``--allow-sql``): one SELECT, read-only, bounded in time and rows."""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pyarrow as pa

from supplyline.errors import UsageError
from supplyline.serve.api import BadRequest, records
from supplyline.serve.db import Reader, check_select

MAX_ROWS = 10_000
TIMEOUT_S = 10.0


def run_sql(
    reader: Reader, sql: str, max_rows: int = MAX_ROWS, timeout_s: float = TIMEOUT_S
) -> dict[str, Any]:
    """Run one SELECT on a read-only cursor; interrupted after ``timeout_s``, at most ``max_rows`` rows.

    The statement is checked alone and again wrapped in the row limit, so no text can close the wrapper
    and smuggle a second statement in."""
    text = sql.strip().rstrip(";")
    wrapped = f"SELECT * FROM (\n{text}\n) LIMIT {int(max_rows) + 1}"
    cur = reader.disk_cursor()  # the store's read-only connection: every table, positions included
    timer = threading.Timer(timeout_s, cur.interrupt)
    try:
        check_select(text)
        check_select(wrapped)
        timer.start()
        table: pa.Table = cur.execute(wrapped).to_arrow_table()
    except UsageError as exc:
        raise BadRequest(str(exc)) from None
    except duckdb.InterruptException:
        raise BadRequest(f"the query ran longer than {timeout_s:g} s and was stopped") from None
    except duckdb.Error as exc:
        raise BadRequest(f"query failed: {exc}") from None
    finally:
        timer.cancel()
        cur.close()
    return {"rows": records(table.slice(0, max_rows)), "truncated": table.num_rows > max_rows}
