"""Numbers and times as people read them in terminal tables and summaries (not for JSON, which stays exact).

One rule everywhere: 100 and more as whole numbers with thousands separators (``4,366``), below that three
significant figures (``40.8``, ``9.27``, ``0.00091``); whole floats lose their ``.0``; NaN and None are blank.
The JavaScript of the report (``fmtNum`` in report.js) and of the workbench (app.js) follows the same rule.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from supplyline.isotime import iso_utc


def human_number(value: float | int | None) -> str:
    """``value`` for a person: ``4,365.7387`` -> ``4,366``, ``40.84`` -> ``40.8``, ``34.0`` -> ``34``.

    >>> [human_number(v) for v in (4365.738720449737, 529.23, 40.84008, 34.0, 0.00091, 1234567, None)]
    ['4,366', '529', '40.8', '34', '0.00091', '1,234,567', '']
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return "0" if value == 0 else f"{value:.3g}"


def human_cell(value: Any) -> str:
    """One table cell: numbers by :func:`human_number`, times in the one UTC spelling, None blank."""
    if value is None:
        return ""
    if isinstance(value, Decimal):  # DuckDB returns literals such as 4365.7387 as DECIMAL
        value = float(value)
    if isinstance(value, int | float):
        return human_number(value)
    if isinstance(value, dt.datetime | dt.date):
        return iso_utc(value)
    return str(value)


def is_identifier(column: str) -> bool:
    """Columns whose numbers are names, not quantities (MMSI, IMO, ids): shown without separators.

    >>> [is_identifier(c) for c in ("mmsi", "mmsi_b", "imo", "scene_id", "dwell_h")]
    [True, True, True, True, False]
    """
    return column in ("imo", "year") or column.startswith("mmsi") or column.endswith(("_id", "_mmsi", "_imo"))


def is_coordinate(column: str) -> bool:
    """Latitude/longitude columns: shown to 1e-4 degree (~11 m), never rounded like quantities."""
    return column in ("lat", "lon") or column.endswith(("_lat", "_lon"))


def column_cell(column: str, value: Any) -> str:
    """A cell of column ``column``: identifiers as they are, coordinates to 4 decimals, else :func:`human_cell`.

    >>> [column_cell(c, v) for c, v in (("mmsi", 273990003), ("lat", 42.245), ("dwell_h", 40.61))]
    ['273990003', '42.2450', '40.6']
    """
    if value is None:
        return ""
    if is_identifier(column):
        return str(value)
    if is_coordinate(column) and isinstance(value, int | float | Decimal):
        return f"{float(value):.4f}"
    return human_cell(value)


def is_numeric_column(values: list[Any]) -> bool:
    """Whether a column holds numbers only (None allowed), so a table can right-align it."""
    seen = [v for v in values if v is not None]
    return bool(seen) and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in seen)


__all__ = ["column_cell", "human_cell", "human_number", "is_coordinate", "is_identifier", "is_numeric_column"]
