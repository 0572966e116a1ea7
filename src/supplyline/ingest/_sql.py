"""Quoting Python values into DuckDB SQL text (paths, strings, lists of strings)."""

from __future__ import annotations

from pathlib import Path


def sql_path(path: Path) -> str:
    """``path`` for use inside single quotes."""
    return str(path).replace("'", "''")


def sql_str(text: str) -> str:
    """``text`` as a quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_list(items: list[str]) -> str:
    """A SQL list literal of strings."""
    return "[" + ", ".join(sql_str(i) for i in items) + "]"
