"""Inputs at URIs (``s3://bucket/logs/``, ``hdfs://...``): listed where the ingest starts, fetched where they
are read.

The driver lists the files (a prefix is walked like a folder: hidden names ignored, documentation listed as
skipped) and the members of zip archives (read through the object store's random access, not downloaded), so
every input has its place in the call's order before any is read. A Spark task then copies its one file to
local scratch and reads it like a local file, named by its URI in reports, manifest and quarantine.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path, PurePosixPath

from supplyline import fs
from supplyline.errors import InputError, UsageError
from supplyline.ingest import readers
from supplyline.ingest.inputs import Input

_ZIP = b"PK\x03\x04"


def expand_remote(uri: str, settings: fs.S3Settings | None = None) -> list[tuple[str, list[Input]]]:
    """``(file URI, inputs)`` for every file at or under ``uri``, sorted; the inputs are placeholders named by
    the URI (their ``path`` is not a local file) with zip members listed. A URI matching nothing is a usage
    error, as a local path is."""
    where = fs.resolve(uri, settings)
    try:
        files = [where] if fs.exists(where) else fs.files_under(where)
    except OSError as exc:
        raise InputError(
            f"cannot list {uri}: {str(exc).splitlines()[0][:300]}; check the bucket, AWS_ENDPOINT_URL / "
            "AWS_REGION and the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        ) from None
    out: list[tuple[str, list[Input]]] = []
    for f in files:
        name = PurePosixPath(f.path).name
        if name.startswith("."):
            continue
        if f is not where and PurePosixPath(name).suffix.lower() in readers.DOC_SUFFIXES:
            out.append((f.uri, [_placeholder(f, skip="documentation file in a folder (pass it explicitly)")]))
            continue
        out.append((f.uri, [_placeholder(f, member=m) for m in _members(f)]))
    if not out:
        raise UsageError(f"no such file or prefix: {uri}")
    return out


def fetch(uri: str, dest: Path, settings: fs.S3Settings | None = None) -> list[Input]:
    """Copy the file at ``uri`` into the folder ``dest`` and return its inputs (as :func:`readers.expand`
    gives them), named by ``uri``."""
    local = dest / PurePosixPath(fs.resolve(uri, settings).path).name
    fs.download(fs.resolve(uri, settings), local)
    return [dataclasses.replace(i, label=uri) for i in readers.expand([local])]


def _placeholder(where: fs.Location, member: str | None = None, skip: str | None = None) -> Input:
    return Input(Path(PurePosixPath(where.path).name), member, skip=skip, label=where.uri)


def _members(where: fs.Location) -> list[str | None]:
    """Zip members in archive order (as :meth:`Input.from_path` lists them), else ``[None]``."""
    with where.fs.open_input_file(where.path) as src:
        if src.read(4) != _ZIP:
            return [None]
        src.seek(0)
        try:
            with zipfile.ZipFile(src) as zf:
                return [i.filename for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            return [f"<unreadable: {exc}>"]


__all__ = ["expand_remote", "fetch"]
