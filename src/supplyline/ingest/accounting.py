"""Per-input accounting: the counts one input adds up to, its result, the run's report and manifest row.

The invariant every input keeps: ``read = kept + duplicate + quarantined``, in the input's records
(physical lines for NMEA, a two-line message weighing 2; data rows for CSV/Parquet).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.errors import InputError


@dataclass
class FileResult:
    """What happened to one input; the counts are in the input's records (lines or rows)."""

    path: str
    status: str = "ingested"  # ingested | skipped | error
    format: str | None = None
    input_id: str | None = None
    read: int = 0
    kept: int = 0
    duplicate: int = 0
    quarantined: int = 0
    positions: int = 0
    statics: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def clear_counts(self) -> None:
        """Nothing of this input was stored: no counts."""
        self.read = self.kept = self.duplicate = self.quarantined = self.positions = self.statics = 0
        self.reasons = {}


@dataclass
class IngestReport:
    """Per-input results of one ``ingest`` call, with totals."""

    files: list[FileResult]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "kept", "duplicate", "quarantined", "positions", "statics")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}

    @property
    def reasons(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return dict(total)

    @property
    def exit_code(self) -> int:
        return max((f.exit_code for f in self.files), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "totals": self.totals, "reasons": self.reasons}


@dataclass
class Tally:
    """The running counts of one input, shared by the parts that stage it (records, and stored rows)."""

    read: int = 0
    kept: int = 0
    duplicate: int = 0
    positions: int = 0  # stored position rows
    statics: int = 0  # stored static runs
    reasons: Counter[str] = field(default_factory=Counter)  # quarantined records per reason

    def settle(self, res: FileResult, file: str) -> None:
        """Copy the counts into ``res``; :class:`InputError` if they do not add up (nothing is stored)."""
        res.read, res.kept, res.duplicate = self.read, self.kept, self.duplicate
        res.quarantined = sum(self.reasons.values())
        res.positions, res.statics = self.positions, self.statics
        res.reasons = dict(sorted(self.reasons.items()))
        if res.read != res.kept + res.duplicate + res.quarantined:
            raise InputError(
                f"{file}: accounting mismatch (read {res.read} != kept {res.kept} + duplicate "
                f"{res.duplicate} + quarantined {res.quarantined}); nothing stored — please report this"
            )


def manifest_row(res: FileResult, *, input_id: str, sha256: str, name: str, fmt: str, size: int) -> pa.Table:
    """The input's one manifest row (``manifest/<input_id>.parquet``), stamped with the time now (UTC)."""
    return pa.table(
        {
            "input_id": [input_id],
            "sha256": [sha256],
            "path": [name],
            "format": [fmt],
            "bytes": [size],
            "read": [res.read],
            "kept": [res.kept],
            "duplicate": [res.duplicate],
            "quarantined": [res.quarantined],
            "positions": [res.positions],
            "statics": [res.statics],
            "synthetic": ["synthetic" in name.lower()],
            "ingested_at": [dt.datetime.now(dt.UTC)],
        },
        schema=schema.MANIFEST,
    )
