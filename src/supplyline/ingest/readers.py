"""Finding inputs: command-line paths, folders and globs -> :class:`~supplyline.ingest.inputs.Input` objects.

Reading an input is the input's own job (:mod:`supplyline.ingest.inputs`); the functions below the
expansion are the same reads as plain functions, for callers that hold an ``Input``.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from supplyline.errors import UsageError
from supplyline.ingest.inputs import BLOCK, HEAD_BYTES, Input

__all__ = ["BLOCK", "DOC_SUFFIXES", "Input", "expand", "fetch_lines", "head", "iter_blocks", "size"]

# documentation that sits beside data (PROVENANCE.md, README...) is skipped when walking a folder, and
# reported as skipped; pass such a file explicitly to ingest it anyway
DOC_SUFFIXES = frozenset({".md", ".rst", ".html", ".pdf", ".json", ".yaml", ".yml", ".toml", ".py", ".sh"})


def expand(paths: list[str] | list[Path]) -> list[Input]:
    """Turn command-line arguments (files, folders, globs) into inputs, sorted, zip members expanded.

    Folders are walked recursively; hidden files (``.name``) are ignored and documentation files
    (``DOC_SUFFIXES``) are listed as skipped. A path that matches nothing is a usage error so a typo is
    never silently an empty ingest.
    """
    files: list[Path] = []
    docs: list[Path] = []
    for arg in paths:
        text = str(arg)
        matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))] if glob.has_magic(text) else []
        for cand in matches or [Path(text)]:
            if cand.is_dir():
                for p in sorted(cand.rglob("*")):
                    if p.is_file() and not p.name.startswith("."):
                        (docs if p.suffix.lower() in DOC_SUFFIXES else files).append(p)
            elif cand.is_file():
                files.append(cand)
            else:
                raise UsageError(f"no such file, folder or glob match: {text}")
    seen: set[Path] = set()
    out: list[Input] = []
    for f in files:
        key = f.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.extend(Input.from_path(f))
    out.extend(
        Input(d, skip="documentation file in a folder (pass it explicitly to ingest it)") for d in docs
    )
    return out


def iter_blocks(inp: Input, block: int = BLOCK) -> Iterator[bytes]:
    """:meth:`Input.blocks`."""
    return inp.blocks(block)


def head(inp: Input, size: int = HEAD_BYTES) -> bytes:
    """:meth:`Input.head`."""
    return inp.head(size)


def fetch_lines(inp: Input, wanted: np.ndarray | list[int]) -> dict[int, str]:
    """:meth:`Input.lines`."""
    return inp.lines(wanted)


def size(inp: Input) -> int:
    """:meth:`Input.size`."""
    return inp.size()
