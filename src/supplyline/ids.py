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
    """Vectorised-by-row :func:`stable_id` for event tables (events are few, so a comprehension is fine)."""
    cols = [c.to_pylist() if isinstance(c, pa.Array | pa.ChunkedArray) else list(c) for c in columns]
    return pa.array([stable_id(kind, *row) for row in zip(*cols, strict=True)], pa.string())
