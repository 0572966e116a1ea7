"""Quoting for the few identifiers and paths that must be spelled inside SQL text.

DuckDB cannot bind a table name, a view's file list or a ``SET`` value as a parameter, so those are quoted
here, in one place. A store can live at any legal path (``it's store``, ``glob[1]store``) and a store you
were sent can hold any folder name: nothing from either reaches SQL unquoted.
"""

from __future__ import annotations

import re
from pathlib import Path

_GLOB_CHARS = re.compile(r"([\[*?])")


def literal(text: str | Path) -> str:
    """``text`` as a SQL string literal (``it's`` -> ``'it''s'``)."""
    return "'" + str(text).replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (``a"b`` -> ``"a""b"``)."""
    return '"' + name.replace('"', '""') + '"'


def glob_escape(path: str | Path) -> str:
    """``path`` with DuckDB's glob characters (``[``, ``*``, ``?``) matched literally (``[[]``, ``[*]``...).

    Append the wildcard part after escaping: ``glob_escape(root) + "/*.parquet"``.
    """
    return _GLOB_CHARS.sub(r"[\1]", str(path))


def glob_literal(folder: str | Path, pattern: str) -> str:
    """A SQL string literal globbing ``pattern`` (e.g. ``day=*/*.parquet``) under the literal ``folder``."""
    return literal(f"{glob_escape(folder)}/{pattern}")
