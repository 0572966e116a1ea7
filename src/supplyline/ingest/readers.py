"""Finding inputs and getting at their bytes: paths/folders/globs, content hashes, .gz/.bz2/.zip.

Compression is detected from the first bytes (not the file name), so a renamed file still works. Every
read is streamed in blocks so a multi-gigabyte log never has to fit in memory.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import hashlib
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from supplyline.errors import InputError, UsageError

BLOCK = 1 << 22  # 4 MiB read blocks
# documentation that sits beside data (PROVENANCE.md, README...) is skipped when walking a folder, and
# reported as skipped; pass such a file explicitly to ingest it anyway
DOC_SUFFIXES = frozenset({".md", ".rst", ".html", ".pdf", ".json", ".yaml", ".yml", ".toml", ".py", ".sh"})
_MAGIC = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"PK\x03\x04": "zip"}


@dataclass(frozen=True)
class Input:
    """One ingestible stream: a plain file, a compressed file, or one member of a zip archive."""

    path: Path  # the file on disk
    member: str | None = None  # zip member name
    compression: str | None = None  # None, "gz", "bz2" or "zip"
    skip: str | None = None  # why the input is listed but not read

    @property
    def name(self) -> str:
        """What the user sees and what the manifest and quarantine record as ``path``/``file``."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)


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
        candidates = matches or [Path(text)]
        for cand in candidates:
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
        out.extend(_open_archive(f))
    out.extend(
        Input(d, skip="documentation file in a folder (pass it explicitly to ingest it)") for d in docs
    )
    return out


def _sniff_compression(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def _open_archive(path: Path) -> list[Input]:
    kind = _sniff_compression(path)
    if kind != "zip":
        return [Input(path, None, kind)]
    try:
        with zipfile.ZipFile(path) as zf:
            members = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        # an unreadable archive still becomes an input so the error is reported per file, not for the run
        return [Input(path, f"<unreadable: {exc}>", "zip")]
    return [Input(path, m, "zip") for m in members]


def open_stream(inp: Input) -> IO[bytes]:
    """A binary stream of the decompressed content of ``inp``."""
    try:
        if inp.compression == "gz":
            return gzip.open(inp.path, "rb")  # type: ignore[return-value]
        if inp.compression == "bz2":
            return bz2.open(inp.path, "rb")
        if inp.compression == "zip":
            assert inp.member is not None
            if inp.member.startswith("<unreadable"):
                raise InputError(f"{inp.path} is not a readable zip archive {inp.member[1:-1]}")
            zf = zipfile.ZipFile(inp.path)
            return zf.open(inp.member)
        return open(inp.path, "rb")
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {inp.name}: {exc}") from exc


def iter_blocks(inp: Input, block: int = BLOCK) -> Iterator[bytes]:
    """Decompressed content in blocks; a truncated or corrupt archive raises :class:`InputError`."""
    try:
        with open_stream(inp) as fh:
            while chunk := fh.read(block):
                yield chunk
    except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
        raise InputError(
            f"{inp.name} is truncated or corrupt ({exc}); nothing from it was stored — "
            "re-download or re-compress it and ingest again"
        ) from exc


def fetch_lines(inp: Input, wanted: np.ndarray) -> dict[int, str]:
    """The text of the given 1-based physical lines, in one streamed pass (NumPy finds the newlines).

    Used to quote quarantined rows exactly as they are in the file.
    """
    want = np.unique(np.asarray(wanted, np.int64))
    out: dict[int, str] = {}
    carry = b""
    first = 1  # line number of the first line in carry + block
    for block in iter_blocks(inp):
        buf = carry + block
        nl = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
        if nl.size:
            numbers = first + np.arange(nl.size)
            starts = np.r_[0, nl[:-1] + 1]
            for i in np.flatnonzero(np.isin(numbers, want)):
                out[int(numbers[i])] = _text(buf[starts[i] : nl[i]])
            first += nl.size
            carry = buf[nl[-1] + 1 :]
        else:
            carry = buf
    if carry and first in want:
        out[first] = _text(carry)
    return out


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", "replace")


def head(inp: Input, size: int = 1 << 16) -> bytes:
    """The first ``size`` decompressed bytes (for format detection)."""
    try:
        with open_stream(inp) as fh:
            return fh.read(size)
    except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
        raise InputError(f"{inp.name} is truncated or corrupt ({exc}); cannot read its start") from exc


def sha256(inp: Input) -> str:
    """Hex SHA-256 of the bytes as stored (compressed, or the zip member's decompressed content).

    Hashing the stored file means re-ingesting it is recognised without decompressing it again.
    """
    h = hashlib.sha256()
    if inp.compression == "zip":
        for chunk in iter_blocks(inp):
            h.update(chunk)
        return h.hexdigest()
    try:
        with open(inp.path, "rb") as fh:
            while chunk := fh.read(BLOCK):
                h.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {inp.path}: {exc.strerror}") from exc
    return h.hexdigest()


def size(inp: Input) -> int:
    """Bytes on disk (the archive member's compressed size for zips)."""
    if inp.compression == "zip" and inp.member and not inp.member.startswith("<"):
        with zipfile.ZipFile(inp.path) as zf:
            return zf.getinfo(inp.member).compress_size
    return inp.path.stat().st_size


def materialise(inp: Input, dest: Path) -> Path:
    """A plain or gzip file DuckDB can read directly: the file itself, or a decompressed copy in ``dest``.

    DuckDB reads plain and .gz CSV natively (and in parallel); bz2 and zip members are decompressed to a
    temporary file in the store's staging area first.
    """
    if inp.compression in (None, "gz"):
        return inp.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        for chunk in iter_blocks(inp):
            out.write(chunk)
    return dest
