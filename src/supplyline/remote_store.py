"""A store on object storage (``s3://bucket/prefix``) or HDFS: the same layout as a store folder, written with
``pyarrow.fs`` and committed without renames.

An object store has no atomic rename, so a commit cannot move a staged file into place. Instead every raw file
is named after its input (``part-<input_id>-<chunk>.parquet``) and an input becomes visible when its manifest
row ``manifest/<input_id>.parquet`` is written, after all its data files: the rule readers from outside
already follow for a store folder (docs/architecture.md, "Reading the store from outside"), and the one
:meth:`RemoteStore.read_table` applies. So a run killed at any moment leaves only files of inputs that have no
manifest row: invisible to readers, removed by the next writer (:meth:`RemoteStore.sweep`), and replaced when
the input is ingested again. Each input is atomic, as with the local ingest (one transaction per input).

Writers take a lease instead of ``flock`` (:meth:`RemoteStore.lock`): an object under ``_locks/`` refreshed while
the writer runs; a second writer that sees a fresh lease other than its own backs off. Object stores with
read-after-write consistent listings (S3 since 2020, MinIO, GCS) make that exclusive.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from supplyline import fs
from supplyline.errors import StoreError
from supplyline.ingest.tables import VESSEL_IDS_TABLE
from supplyline.store import _MARKER, RAW_TABLES, TABLES, Store

LEASE_S = 300.0
"""A writer's lease lasts this long past its last refresh (refreshed every third of it while the writer runs)."""
_LOCKS = "_locks"
_STAGING = "_staging"
_RAW_ID = re.compile(r"(?:^|/)part-([0-9a-zA-Z_]+)-\d+\.parquet$")
_HIVE = ("positions", "statics")
_IDS = f"{TABLES}/{VESSEL_IDS_TABLE}"
"""Per-input parts of the text vessel ids (``<input_id>.parquet``), written with the input's raw files."""
_DATA = ("positions", "statics", "quarantine", _IDS)


def input_id_of(relpath: str) -> str | None:
    """The input a raw file belongs to (``.../part-<input_id>-<chunk>.parquet``; manifest and vessel ids:
    the file's stem)."""
    if relpath.startswith(("manifest/", f"{_IDS}/")):
        return Path(relpath).stem
    match = _RAW_ID.search(relpath)
    return match.group(1) if match else None


class RemoteStore:
    """A supplyline store at a URI. Open with :meth:`open` (existing) or :meth:`create`."""

    def __init__(self, root: fs.Location, settings: fs.S3Settings | None = None) -> None:
        self.root = root
        self.uri = root.uri
        self.settings = settings

    @classmethod
    def create(cls, uri: str, settings: fs.S3Settings | None = None) -> RemoteStore:
        """Open the store at ``uri``, creating an empty one if nothing is there yet."""
        root = _root(uri, settings)
        marker = root.join(_MARKER)
        if not fs.exists(marker):
            if fs.files_under(root):
                raise StoreError(f"{uri} holds files and is not a supplyline store; choose an empty prefix")
            fs.write_bytes(marker, b"supplyline store v1\n")
        return cls(root, settings)

    @classmethod
    def open(cls, uri: str, settings: fs.S3Settings | None = None) -> RemoteStore:
        """Open an existing store; a clear error if there is none."""
        root = _root(uri, settings)
        if not fs.exists(root.join(_MARKER)):
            raise StoreError(
                f"no supplyline store at {uri}; ingest into it first (`supplyline ingest --engine spark`)"
            )
        return cls(root, settings)

    def location(self, relpath: str) -> fs.Location:
        return self.root.join(relpath)

    # --- reading (committed data only) --------------------------------------------------------------------
    def manifest_ids(self) -> set[str]:
        """Input ids with a manifest row: the committed inputs."""
        return {Path(f.path).stem for f in fs.files_under(self.root.join("manifest"), ".parquet")}

    def files(self, table: str, days: Iterable[str] | None = None, *, committed: bool = True) -> list[str]:
        """Store-relative paths of raw ``table``'s files (only those of ``days``, ``YYYY-MM-DD``, when given);
        ``committed``: only files of inputs with a manifest row."""
        # the manifest is listed first: an input whose row is in it had all its data files before
        known = self.manifest_ids() if committed else set()
        folders = [f"{table}/day={d}" for d in sorted(set(days))] if days is not None else [table]
        base = self.root.path.rstrip("/") + "/"
        rels = [
            f.path.removeprefix(base) for d in folders for f in fs.files_under(self.root.join(d), ".parquet")
        ]
        return [r for r in rels if input_id_of(r) in known] if committed else rels

    def read_table(self, name: str) -> pa.Table:
        """A raw table whole, committed inputs only (small stores and tests; Spark reads big ones)."""
        if name not in RAW_TABLES:
            raise StoreError(f"{name!r} is not a raw table of the store ({', '.join(RAW_TABLES)})")
        files = self.files(name)
        if not files:
            return RAW_TABLES[name].empty_table()
        tables = [pq.read_table(self.location(r).path, filesystem=self.root.fs) for r in files]
        return pa.concat_tables(tables, promote_options="default")

    def mirror(self, dest: Store, days: Iterable[str]) -> Store:
        """Copy the committed positions and statics of ``days`` (``YYYY-MM-DD``) into the local store
        ``dest``: what the local pipeline de-duplicates an input on those days against."""
        rels = [r for t in _HIVE for r in self.files(t, days)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda r: fs.download(self.location(r), dest.root / r), rels))
        return dest

    def pull(self, dest: Store) -> tuple[int, int]:
        """Copy the committed inputs ``dest`` does not have yet (their raw files and manifest rows) into the
        local store ``dest`` in one transaction: a local copy to run ``detect`` on, brought up to date
        incrementally (raw files are never rewritten, so an input is copied once). Returns (inputs, files)."""
        have = dest.manifest_ids()
        todo = sorted(self.manifest_ids() - have)
        wanted = set(todo)
        rels = [r for t in _DATA for r in self.files(t, committed=False) if input_id_of(r) in wanted]
        rels += [f"manifest/{i}.parquet" for i in todo]
        with dest.lock(), dest.transaction() as txn:
            staged = [txn.staging / f"pull-{k:06d}.parquet" for k in range(len(rels))]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda k: fs.download(self.location(rels[k]), staged[k]), range(len(rels))))
            for path, rel in zip(staged, rels, strict=True):
                txn.adopt(path, rel)
        return len(todo), len(rels)

    # --- writing ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lease (see the module docstring); a clear error while another writer holds one."""
        token = f"{uuid.uuid4().hex}.json"
        mine = self.root.join(_LOCKS, token)
        body = json.dumps({"host": socket.gethostname(), "pid": os.getpid()}).encode()
        fs.write_bytes(mine, body)
        try:
            self._check_alone(mine)
        except BaseException:
            mine.fs.delete_file(mine.path)
            raise
        stop = threading.Event()
        beat = threading.Thread(target=_refresh, args=(mine, body, stop), daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with contextlib.suppress(OSError):
                mine.fs.delete_file(mine.path)

    def _check_alone(self, mine: fs.Location) -> None:
        infos = mine.fs.get_file_info(pafs.FileSelector(self.root.join(_LOCKS).path, allow_not_found=True))
        own = next((i for i in infos if i.path == mine.path), None)
        if own is None:
            raise StoreError(
                f"the listing of {self.uri} does not show the lease just written; this object store's listings "
                "are not read-after-write consistent, so one writer cannot be guaranteed: use another store"
            )
        fresh = [
            i for i in infos
            if i.path != mine.path and i.mtime is not None and own.mtime is not None
            and (own.mtime - i.mtime).total_seconds() < LEASE_S
            and not _dead_here(self.root.join(_LOCKS, i.base_name))
        ]  # fmt: skip
        if fresh:
            raise StoreError(
                f"another supplyline process is writing to {self.uri} (lease {fresh[0].base_name}); wait for it "
                f"to finish (a lease of a process that died expires {LEASE_S:.0f} s after its last refresh)"
            )

    def sweep(self) -> int:
        """Remove what killed runs left (raw files of inputs with no manifest row, and ``_staging/``); call it
        under the lock. Returns the number of files removed."""
        known = self.manifest_ids()
        debris = [r for t in _DATA for r in self.files(t, committed=False) if input_id_of(r) not in known]
        staged = fs.files_under(self.root.join(_STAGING))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda r: self.root.fs.delete_file(self.location(r).path), debris))
        self.remove(self.root.join(_STAGING))
        return len(debris) + len(staged)

    def staging(self, name: str) -> fs.Location:
        """A working prefix under ``_staging/`` (removed by :meth:`sweep` if a run dies before removing it)."""
        return self.root.join(_STAGING, name)

    def remove(self, where: fs.Location) -> None:
        """Remove everything below ``where`` (a staging prefix), folder markers included."""
        with contextlib.suppress(FileNotFoundError):
            where.fs.delete_dir(where.path)

    def commit(self, inputs: dict[str, list[tuple[str, str]]]) -> None:
        """Make each input's files visible: ``{input_id: [(source, relpath)]}`` with ``source`` a URI in this
        store (server-side copy) or a local file (upload). Per input: its old files removed (a killed earlier
        attempt's), its data files written, then its manifest row last (readers see all of it or none)."""
        held = {t: self.files(t, committed=False) for t in _DATA}
        for input_id, moves in inputs.items():
            stale = {r for rels in held.values() for r in rels if input_id_of(r) == input_id}
            stale -= {rel for _, rel in moves}
            data = [m for m in moves if not m[1].startswith("manifest/")]
            rows = [m for m in moves if m[1].startswith("manifest/")]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda r: self.root.fs.delete_file(self.location(r).path), sorted(stale)))
                list(pool.map(lambda m: self._put(*m), data))
            for move in rows:
                self._put(*move)

    def _put(self, source: str, relpath: str) -> None:
        target = self.location(relpath)
        if fs.is_remote(source):
            target.fs.copy_file(fs.resolve(source, self.settings).path, target.path)
        else:
            fs.upload(Path(source), target)


def _root(uri: str, settings: fs.S3Settings | None) -> fs.Location:
    if not fs.is_remote(uri):
        raise StoreError(
            f"{uri} is not an s3:// or hdfs:// URI; a local store is a folder (supplyline.store)"
        )
    root = fs.resolve(uri, settings)
    if root.path.count("/") == 0:
        raise StoreError(f"{uri} is a whole bucket; give the store a prefix of its own (s3://BUCKET/PREFIX)")
    try:  # one request: a wrong endpoint, bucket or key fails here, saying what to check (never the keys)
        root.fs.get_file_info(root.join(_MARKER).path)
    except OSError as exc:
        raise StoreError(
            f"cannot reach the store at {uri}: {str(exc).splitlines()[0][:300]}; check the bucket, "
            "AWS_ENDPOINT_URL / AWS_REGION and the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        ) from None
    return root


def _dead_here(lease: fs.Location) -> bool:
    """True when ``lease`` was taken by a process of this machine that is gone (a killed run: its lease need
    not be waited out); such a lease is removed."""
    try:
        owner = json.loads(fs.read_bytes(lease))
        if owner.get("host") != socket.gethostname():
            return False
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        with contextlib.suppress(OSError):
            lease.fs.delete_file(lease.path)
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return False


def _refresh(lease: fs.Location, body: bytes, stop: threading.Event) -> None:
    """Rewrite the lease (its modification time is the refresh) until ``stop`` is set."""
    while not stop.wait(LEASE_S / 3):
        with contextlib.suppress(OSError):
            fs.write_bytes(lease, body)


__all__ = ["LEASE_S", "RemoteStore", "input_id_of"]
