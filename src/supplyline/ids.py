"""Stable identifiers: the same event gets the same id on every engine and every re-run."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa


def stable_id(kind: str, *parts: object) -> str:
    """16 hex characters of SHA-1 over ``kind`` and ``parts`` joined by '|'.

    >>> stable_id("visit", 367000140, 1606780800000000, "wpi:123")
    '3cb8d1b45031b749'
    """
    text = "|".join([kind, *(str(p) for p in parts)])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def stable_ids(kind: str, *columns: np.ndarray | pa.Array | list[object]) -> pa.Array:
    """Vectorised-by-row :func:`stable_id` for event tables (events are few, so a comprehension is fine):
    the same text and hash per row, without a function call per row."""
    cols = [_py_values(c) for c in columns]
    sha1, head = hashlib.sha1, kind + "|"
    texts = ("|".join(row) for row in zip(*cols, strict=True))
    return pa.array([sha1((head + t).encode()).hexdigest()[:16] for t in texts], pa.string())


def _py_values(column: np.ndarray | pa.Array | list[object]) -> list[str]:
    """A column's values as the strings :func:`stable_id` joins (``str`` of each value). Integer and
    object NumPy arrays go through ``tolist`` (Python ints print as NumPy's do, and faster); other
    NumPy dtypes keep their scalars (a float32 prints shorter than the float64 it widens to)."""
    if isinstance(column, pa.Array | pa.ChunkedArray):
        values: list[object] = column.to_pylist()
    elif isinstance(column, np.ndarray) and column.dtype.kind in "iuO":
        values = column.tolist()
    else:
        values = list(column)
    return [str(v) for v in values]
