"""Locations as URIs: a local path, ``s3://bucket/prefix`` or ``hdfs://host:port/path``, read and written with
``pyarrow.fs`` (so no Hadoop S3 connector is needed to ingest into object storage).

S3 settings come from the standard environment variables, read where the filesystem is made:
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (else the SDK's own chain: profile,
instance role), ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``) and ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``
for an S3-compatible server (MinIO, Ceph, a test server). :class:`S3Settings` carries them to Spark executors;
its secrets never appear in a repr, a log line or an error message.

``hdfs://`` goes through :class:`pyarrow.fs.HadoopFileSystem`, which needs a Hadoop client with libhdfs on the
machine (``HADOOP_HOME``, ``ARROW_LIBHDFS_DIR``, ``CLASSPATH``); without one the error says so.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from supplyline.errors import StoreError

REMOTE_SCHEMES = ("s3", "s3a", "hdfs")
"""URI schemes read and written through pyarrow.fs (``s3a://`` is the same bucket as ``s3://``)."""
_COPY_BLOCK = 8 << 20
_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def scheme(location: str | Path) -> str | None:
    """The URI scheme of ``location`` (lower case), or None for a plain local path."""
    match = _URI.match(str(location))
    return match.group(1).lower() if match else None


def is_remote(location: str | Path) -> bool:
    """True for ``s3://``, ``s3a://`` and ``hdfs://`` locations (not for local paths or ``file://``)."""
    return scheme(as_text(location)) in REMOTE_SCHEMES


_MANGLED = re.compile(r"^(s3|s3a|hdfs):/(?!/)", re.IGNORECASE)


def as_text(location: str | Path) -> str:
    """``location`` as the user wrote it: a ``Path`` made of ``s3://bucket/p`` reads ``s3:/bucket/p``, and
    the ``//`` is restored (command-line options arrive as paths)."""
    text = str(location)
    return _MANGLED.sub(r"\1://", text) if isinstance(location, Path) else text


@dataclass(frozen=True)
class S3Settings:
    """What an S3 client needs, taken from the environment of the process that reads it (the driver) so
    executors started elsewhere use the same endpoint and keys. Secrets are excluded from ``repr``."""

    endpoint: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> S3Settings:
        env = os.environ
        return cls(
            endpoint=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def filesystem(self) -> pafs.S3FileSystem:
        """An S3 filesystem with these settings (keys left to the SDK's chain when none are set)."""
        kwargs: dict[str, object] = {"region": self.region or "us-east-1"}
        if self.endpoint:
            parts = urlsplit(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
            kwargs |= {"endpoint_override": parts.netloc, "scheme": parts.scheme or "https"}
        if self.access_key and self.secret_key:
            kwargs |= {"access_key": self.access_key, "secret_key": self.secret_key}
            if self.session_token:
                kwargs["session_token"] = self.session_token
        return pafs.S3FileSystem(**kwargs)


@dataclass(frozen=True)
class Location:
    """A folder or file: its URI as the user wrote it (``s3://b/p``), its filesystem and its path there."""

    uri: str
    fs: pafs.FileSystem
    path: str

    def join(self, *parts: str) -> Location:
        """The location ``parts`` below this one (``/``-separated, as object keys are)."""
        rel = "/".join(p.strip("/") for p in parts if p)
        return Location(f"{self.uri.rstrip('/')}/{rel}", self.fs, f"{self.path.rstrip('/')}/{rel}")

    def __str__(self) -> str:
        return self.uri


def resolve(location: str | Path, settings: S3Settings | None = None) -> Location:
    """The :class:`Location` of ``location`` (a local path, ``file://``, ``s3://``, ``s3a://`` or ``hdfs://``).

    ``settings``: the S3 settings to use (default: this process's environment).
    """
    text = as_text(location)
    kind = scheme(text)
    if kind in ("s3", "s3a"):
        parts = urlsplit(text)
        if not parts.netloc:
            raise StoreError(f"{text} names no bucket; write s3://BUCKET/PREFIX")
        path = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        settings = settings or S3Settings.from_env()
        if settings.region is None and settings.endpoint is None:  # AWS itself: ask where the bucket is
            settings = dataclasses.replace(settings, region=_bucket_region(parts.netloc))
        return Location(text.rstrip("/"), _s3(settings), path)
    if kind == "hdfs":
        return Location(text.rstrip("/"), *_hdfs(text))
    if kind not in (None, "file"):
        raise StoreError(f"unsupported location {text!r}: use a local path, s3://BUCKET/PREFIX or hdfs://...")
    local = Path(urlsplit(text).path if kind == "file" else text).absolute()
    return Location(str(local), pafs.LocalFileSystem(), local.as_posix())


@lru_cache(maxsize=64)
def _bucket_region(bucket: str) -> str | None:
    """The AWS region of ``bucket`` (one anonymous request), or None to let the SDK's default stand."""
    try:
        return str(pafs.resolve_s3_region(bucket))
    except (OSError, pa.ArrowException):
        return None


@lru_cache(maxsize=8)
def _s3(settings: S3Settings) -> pafs.S3FileSystem:
    return settings.filesystem()


def _hdfs(uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        hdfs, path = pafs.HadoopFileSystem.from_uri(uri)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(
            f"cannot open {uri}: {str(exc).splitlines()[0][:200]}; hdfs:// needs a Hadoop client with libhdfs on this machine "
            "(set HADOOP_HOME or ARROW_LIBHDFS_DIR, and CLASSPATH from `hadoop classpath --glob`)"
        ) from None
    return hdfs, path


def read_parquet(file: str, columns: list[str] | None = None, settings: S3Settings | None = None) -> pa.Table:
    """One Parquet file at a local path or URI (only ``columns`` when given)."""
    if not is_remote(file):
        return pq.read_table(file, columns=columns)
    where = resolve(file, settings)
    return pq.read_table(where.path, columns=columns, filesystem=where.fs)


def files_under(where: Location, suffix: str = "") -> list[Location]:
    """Files below ``where`` (recursively, sorted; none if it does not exist) whose names end in ``suffix``."""
    selector = pafs.FileSelector(where.path, recursive=True, allow_not_found=True)
    infos = where.fs.get_file_info(selector)
    base = where.path.rstrip("/") + "/"
    found = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(suffix))
    return [where.join(p.removeprefix(base)) for p in found]


def exists(where: Location) -> bool:
    return bool(where.fs.get_file_info(where.path).type == pafs.FileType.File)


def write_bytes(where: Location, data: bytes) -> None:
    """Write one object whole (an object store makes it visible only once complete)."""
    with where.fs.open_output_stream(where.path) as out:
        out.write(data)


def read_bytes(where: Location) -> bytes:
    with where.fs.open_input_stream(where.path) as src:
        return bytes(src.read())


def upload(local: Path, where: Location) -> None:
    """Copy the local file ``local`` to ``where`` (streamed: no folder-marker objects are made on S3, as
    ``pyarrow.fs.copy_files`` would)."""
    with open(local, "rb") as src, where.fs.open_output_stream(where.path) as out:
        shutil.copyfileobj(src, out, _COPY_BLOCK)


def download(where: Location, local: Path) -> None:
    """Copy the file at ``where`` to the local path ``local`` (its folder created)."""
    local.parent.mkdir(parents=True, exist_ok=True)
    with where.fs.open_input_stream(where.path) as src, open(local, "wb") as out:
        shutil.copyfileobj(src, out, _COPY_BLOCK)


__all__ = [
    "REMOTE_SCHEMES",
    "Location",
    "S3Settings",
    "as_text",
    "download",
    "exists",
    "files_under",
    "is_remote",
    "read_bytes",
    "read_parquet",
    "resolve",
    "scheme",
    "upload",
    "write_bytes",
]
