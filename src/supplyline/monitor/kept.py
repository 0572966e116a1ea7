"""The monitor's position facts kept in the store and updated from new positions only.

`supplyline monitor` and the watch's analysis derive five things from positions (:mod:`.facts`): the
span, the first sighting per vessel, shared-MMSI/spoofing events, the reception of routed vessels and
each gap's context. Read from every position they cost time and memory growing with the store; kept here
they cost what the new positions cost (plus a row per vessel and per gap):

* **New positions** are those of the inputs not in the state, found as time-incremental detect finds
  them (:class:`supplyline.engine.snapshot.Snapshot`: inputs whose manifest row exists when the run
  starts); inputs stored meanwhile wait for the next run. They are read a share of the MMSIs at a time.
* **Span, first seen**: min/max merged. **Reception**: the last position per vessel and 10 minutes of
  every vessel (one part per day, the days the new rows touch merged with their kept bucket rows), the
  routed vessels' read when the monitor runs (a vessel routed later has its whole reception).
* **Identity events**: per vessel with new rows, from a horizon (:mod:`.identity_state`).
* **Gap context**: computed for gaps that are new or changed (another start) and for gaps of vessels with
  new rows at or before their start (late data); the others are kept.

The state is rebuilt from every position (the same code with every input new) when it is missing, of
another version, built with other places or dark-gap settings, or inconsistent with the positions it was
built from (an input analysed is gone, or its files' sizes or times changed: positions rewritten or
compacted, a state copied from another store). It is written in one transaction under the store's lock.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from supplyline import schema
from supplyline.detect.identity import EVENTS, IdentityThresholds
from supplyline.engine.snapshot import Snapshot
from supplyline.monitor import identity_state as ids
from supplyline.monitor.dark import CONTEXT, DarkConfig
from supplyline.store import WHOLE, Store

VERSION = 2
STATE = "monitor_kept"
VESSELS = "monitor_kept_vessels"
IDENTITY = "monitor_kept_identity"
RECEPTION = "monitor_kept_reception"
CONTEXT_TABLE = "monitor_kept_context"
assert {STATE, VESSELS, IDENTITY, RECEPTION, CONTEXT_TABLE} <= schema.INTERNAL_TABLES  # never exported
META = pa.schema(
    [
        pa.field("version", pa.int64()),
        pa.field("params", pa.string()),  # hash of the places and dark-gap settings
        pa.field("files", pa.string()),  # hash of the analysed inputs' position files (path, size, mtime)
        pa.field("inputs", pa.list_(pa.string())),
        pa.field("start_us", pa.int64()),  # span of the positions, microseconds since 1970
        pa.field("end_us", pa.int64()),
    ]
)
GAP_KEY = ["gap_id", "mmsi", "start_ts", "start_lat", "start_lon", "near_start_place"]
"""What a gap's context is computed from (besides positions before its start)."""
KEPT_CONTEXT = pa.schema([*(schema.GAPS.field(c) for c in GAP_KEY[1:]), *CONTEXT])
US_PER_H = 3_600_000_000


@dataclass
class RunStats:
    """What one update did (for logs and the bench)."""

    rebuilt: str = ""  # why the state was rebuilt ("" when it was not)
    new_inputs: int = 0
    new_positions: int = 0
    vessels: dict[str, int] = field(default_factory=dict)  # counts-only / tail / whole / new
    rows_read: int = 0  # positions re-read from the store for tails and whole vessels
    contexts: int = 0  # gap contexts computed
    facts_s: float = 0.0  # wall time of the update (the rest of a monitor run is the rules)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Kept:
    """The state in memory: meta values, per-vessel state (sorted by mmsi), identity events, contexts."""

    inputs: set[str]
    span: tuple[int | None, int | None]
    vessels: pa.Table
    events: pa.Table
    contexts: pa.Table
    reception: dict[str, pa.Table] = field(default_factory=dict)  # day parts rewritten by this run
    rebuilt: bool = False

    @classmethod
    def empty(cls) -> Kept:
        return cls(
            set(),
            (None, None),
            ids.VESSELS.empty_table(),
            EVENTS.empty_table(),
            KEPT_CONTEXT.empty_table(),
            rebuilt=True,
        )


def params_hash(places: pa.Table | None, dark: DarkConfig) -> str:
    """Hash of what the kept facts depend on besides positions and gaps."""
    h = hashlib.sha256(json.dumps([VERSION, asdict(dark), asdict(IdentityThresholds())]).encode())
    if places is not None:
        h.update(str(places.select(["place_id", "lat", "lon", "r_out_m"]).to_pylist()).encode())
    return h.hexdigest()[:32]


def files_hash(store: Store, snap: Snapshot, inputs: set[str]) -> str:
    """Hash of the position files of ``inputs`` (path in the store, size, modification time)."""
    rows = []
    for f in snap.files["positions"]:
        if f.input_id in inputs:
            st = os.stat(f.path)
            rows.append((os.path.relpath(f.path, store.root), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(sorted(rows)).encode()).hexdigest()[:32]


def load(store: Store, snap: Snapshot, params: str) -> tuple[Kept, str]:
    """The kept state, or an empty one and why it is rebuilt."""
    meta = store.read_part(STATE, WHOLE)
    if meta is None or meta.num_rows != 1 or meta.schema.names != META.names:
        return Kept.empty(), "no state"
    row = meta.to_pylist()[0]
    inputs = set(row["inputs"])
    why = (
        "another version" if row["version"] != VERSION
        else "other places or dark-gap settings" if row["params"] != params
        else "inputs analysed are gone" if not inputs <= snap.inputs
        else "position files changed" if row["files"] != files_hash(store, snap, inputs)
        else ""
    )  # fmt: skip
    parts = [store.read_part(t, WHOLE) for t in (VESSELS, IDENTITY, CONTEXT_TABLE)]
    if not why and any(p is None for p in parts):
        why = "state tables missing"
    if why:
        return Kept.empty(), why
    vessels, events, contexts = (p for p in parts if p is not None)
    span = (row["start_us"], row["end_us"])
    return Kept(inputs, span, vessels.cast(ids.VESSELS), events.cast(EVENTS), contexts.cast(KEPT_CONTEXT)), ""


def commit(store: Store, kept: Kept, snap: Snapshot, params: str) -> None:
    """Every state table in one transaction (a rebuild drops the old reception days)."""
    meta = {
        "version": [VERSION], "params": [params], "files": [files_hash(store, snap, kept.inputs)],
        "inputs": [sorted(kept.inputs)], "start_us": [kept.span[0]], "end_us": [kept.span[1]],
    }  # fmt: skip
    with store.transaction() as txn:
        if kept.rebuilt:
            txn.replace_parts(RECEPTION, kept.reception)
        else:
            for day, table in kept.reception.items():
                txn.put_part(RECEPTION, day, table)
        txn.put_part(VESSELS, WHOLE, kept.vessels)
        txn.put_part(IDENTITY, WHOLE, kept.events)
        txn.put_part(CONTEXT_TABLE, WHOLE, kept.contexts)
        txn.put_part(STATE, WHOLE, pa.table(meta, schema=META))


__all__ = ["CONTEXT_TABLE", "IDENTITY", "META", "RECEPTION", "STATE", "VERSION", "VESSELS", "Kept", "RunStats",
           "commit", "files_hash", "load", "params_hash"]  # fmt: skip
