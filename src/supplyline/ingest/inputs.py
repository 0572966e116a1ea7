"""One ingestible input that knows how to read itself: open, size, content hash, blocks, lines, format.

An :class:`Input` is a plain file, a compressed file (.gz/.bz2), one member of a zip archive, or a block of
bytes held in memory (spooled live-feed lines). Compression is detected from the first bytes (not the file
name), so a renamed file still works. Every read is streamed in blocks so a multi-gigabyte log never has to
fit in memory. Finding inputs from command-line arguments is :func:`supplyline.ingest.readers.expand`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from supplyline.errors import InputError
from supplyline.ingest.detect_format import detect

BLOCK = 1 << 22  # 4 MiB read blocks
HEAD_BYTES = 1 << 16  # decompressed bytes format detection looks at
QUOTE_BYTES = 1 << 16  # bytes of a quarantined line kept as its text
_MAGIC = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"PK\x03\x04": "zip"}


@dataclass(frozen=True)
class Input:
    """One ingestible stream: a plain file, a compressed file, one member of a zip archive, or bytes.

    ``name`` is what the user sees and what the manifest and quarantine record as ``path``/``file``.
    """

    path: Path  # the file on disk (for in-memory data: its name, never opened)
    member: str | None = None  # zip member name
    compression: str | None = None  # None, "gz", "bz2" or "zip"
    skip: str | None = None  # why the input is listed but not read
    data: bytes | None = None  # in-memory content (already decompressed); then nothing is read from disk
    label: str | None = None  # the name to show instead of ``path`` (a local copy of an s3:// input: its URI)

    @classmethod
    def from_path(cls, path: Path) -> list[Input]:
        """The inputs of one file on disk: itself (compression sniffed), or each member of a zip."""
        kind = sniff_compression(path)
        if kind != "zip":
            return [cls(path, None, kind)]
        try:
            with zipfile.ZipFile(path) as zf:
                members = [i.filename for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            # an unreadable archive still becomes an input so the error is reported per file, not for the run
            return [cls(path, f"<unreadable: {exc}>", "zip")]
        return [cls(path, m, "zip") for m in members]

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Input:
        """An in-memory input (e.g. a batch of spooled NMEA lines) named ``name`` in manifest and quarantine."""
        return cls(Path(name), data=bytes(data))

    @property
    def name(self) -> str:
        where = self.label or str(self.path)
        return f"{where}!{self.member}" if self.member else where

    @property
    def in_memory(self) -> bool:
        return self.data is not None

    def open(self) -> IO[bytes]:
        """A binary stream of the decompressed content."""
        if self.data is not None:
            return io.BytesIO(self.data)
        try:
            if self.compression == "gz":
                return gzip.open(self.path, "rb")  # type: ignore[return-value]
            if self.compression == "bz2":
                return bz2.open(self.path, "rb")
            if self.compression == "zip":
                assert self.member is not None
                if self.member.startswith("<unreadable"):
                    raise InputError(f"{self.path} is not a readable zip archive {self.member[1:-1]}")
                return zipfile.ZipFile(self.path).open(self.member)
            return open(self.path, "rb")
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read {self.name}: {exc}") from exc

    def blocks(self, block: int = BLOCK) -> Iterator[bytes]:
        """Decompressed content in blocks; a truncated or corrupt archive raises :class:`InputError`."""
        try:
            with self.open() as fh:
                while chunk := fh.read(block):
                    yield chunk
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise InputError(
                f"{self.name} is truncated or corrupt ({exc}); nothing from it was stored — "
                "re-download or re-compress it and ingest again"
            ) from exc

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first ``size`` decompressed bytes (for format detection)."""
        try:
            with self.open() as fh:
                return fh.read(size)
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise InputError(f"{self.name} is truncated or corrupt ({exc}); cannot read its start") from exc

    def detect_format(self, sample: bytes | None = None) -> str:
        """The format detected from the first bytes (:func:`detect_format.detect`); FormatError if unknown."""
        return detect(self.head() if sample is None else sample, self.name)

    def lines(self, wanted: np.ndarray | list[int]) -> dict[int, str]:
        """The text of the given 1-based physical lines, in one streamed pass (NumPy finds the newlines).

        Used to quote quarantined rows exactly as they are in the file (their first ``QUOTE_BYTES`` bytes).
        """
        want = np.unique(np.asarray(wanted, np.int64))
        out: dict[int, str] = {}
        carry = b""
        first = 1  # line number of the first line in carry + block
        for block in self.blocks():
            buf = carry + block
            nl = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
            if nl.size:
                numbers = first + np.arange(nl.size)
                starts = np.r_[0, nl[:-1] + 1]
                for i in np.flatnonzero(np.isin(numbers, want)):
                    out[int(numbers[i])] = _text(buf[starts[i] : nl[i]])
                first += nl.size
                carry = buf[nl[-1] + 1 :][:QUOTE_BYTES]
            else:
                carry = buf[:QUOTE_BYTES]  # a line longer than that is quoted by its start, never held whole
        if carry and first in want:
            out[first] = _text(carry)
        return out

    def sha256(self) -> str:
        """Hex SHA-256 of the bytes as stored (compressed, or the zip member's / in-memory content).

        Hashing the stored file means re-ingesting it is recognised without decompressing it again.
        """
        h = hashlib.sha256()
        if self.data is not None:
            h.update(self.data)
            return h.hexdigest()
        if self.compression == "zip":
            for chunk in self.blocks():
                h.update(chunk)
            return h.hexdigest()
        try:
            with open(self.path, "rb") as fh:
                while chunk := fh.read(BLOCK):
                    h.update(chunk)
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from exc
        return h.hexdigest()

    def size(self) -> int:
        """Bytes as stored (the archive member's compressed size for zips; in-memory: the data's length)."""
        if self.data is not None:
            return len(self.data)
        if self.compression == "zip" and self.member and not self.member.startswith("<"):
            with zipfile.ZipFile(self.path) as zf:
                return zf.getinfo(self.member).compress_size
        return self.path.stat().st_size

    def exists(self) -> bool:
        return self.data is not None or self.path.exists()

    def materialise(self, dest: Path) -> Path:
        """A plain or gzip file DuckDB can read directly: the file itself, or a decompressed copy in ``dest``.

        DuckDB reads plain and .gz CSV natively (and in parallel); bz2, zip members and in-memory data are
        written to a temporary file in the store's staging area first.
        """
        if self.data is None and self.compression in (None, "gz"):
            return self.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            for chunk in self.blocks():
                out.write(chunk)
        return dest


def sniff_compression(path: Path) -> str | None:
    """ "gz", "bz2", "zip" or None, from the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", "replace")
