"""Positions held in memory for the map and vessel tracks, decimated with NumPy instead of a Parquet scan.

Every map answer needs the positions in its window, thinned to a point budget: on the store's files that
is two scans (count, then first point per vessel and time bucket) of 5-10 ms of CPU each even for the NY
Harbor week. A store of up to :data:`MAX_IN_MEMORY` positions is instead read once per ingest into four
NumPy arrays sorted by (MMSI, time) (32 bytes a position: 5.5 MB for the NY Harbor week's 172,679), and a
window is a mask and a group-first over those arrays. Larger stores keep the SQL path
(:func:`supplyline.serve.queries.track`); both keep the first position of each vessel in each bucket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from supplyline.reader import ReadOnlyConnection
from supplyline.report.data import Tracks
from supplyline.serve import queries as Q

MAX_IN_MEMORY = 4_000_000  # positions (128 MB of arrays); above this the map reads the store's files
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(value: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def bucket_s(n: int, vessels: int, start: dt.datetime, end: dt.datetime, budget: int) -> int:
    """Seconds per decimation bucket so ``n`` positions of ``vessels`` vessels fit about ``budget`` points
    (0 when they fit already; :data:`Q.MIN_BUCKET_S` is the floor either way)."""
    span_s = max((end - start).total_seconds(), 1.0)
    return int(span_s * max(vessels, 1) / max(budget, 1)) if n > budget else 0


@dataclass(frozen=True)
class Positions:
    """Every position of the store as arrays sorted by (mmsi, ts), with each vessel's row range."""

    mmsi: np.ndarray  # int64
    ts_us: np.ndarray  # int64, epoch µs
    lat: np.ndarray  # float64 degrees
    lon: np.ndarray  # float64 degrees
    vessels: np.ndarray  # sorted distinct MMSIs
    bounds: np.ndarray  # rows of vessels[i] are bounds[i]:bounds[i + 1]

    def window(self, mmsi: int | None, start: dt.datetime, end: dt.datetime) -> np.ndarray:
        """Row numbers of the positions in [start, end] (both included), of one vessel or all."""
        lo, hi = 0, len(self.mmsi)
        if mmsi is not None:
            i = int(np.searchsorted(self.vessels, mmsi))
            if i == len(self.vessels) or self.vessels[i] != mmsi:
                return np.empty(0, np.int64)
            lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        t = self.ts_us[lo:hi]
        return lo + np.flatnonzero((t >= epoch_us(start)) & (t <= epoch_us(end)))

    def tracks(self, mmsi: int | None, start: dt.datetime, end: dt.datetime, budget: int) -> Tracks:
        """The first position of each vessel in each bucket of the window (the SQL path's answer)."""
        rows = self.window(mmsi, start, end)
        ids = self.mmsi[rows]
        new_vessel = np.r_[True, ids[1:] != ids[:-1]] if len(rows) else np.empty(0, bool)
        n_vessels = int(new_vessel.sum())
        size_us = max(bucket_s(len(rows), n_vessels, start, end, budget), Q.MIN_BUCKET_S) * 1_000_000
        bucket = self.ts_us[rows] // size_us
        first = new_vessel.copy()
        first[1:] |= bucket[1:] != bucket[:-1]
        kept = rows[first]
        kept_ids = self.mmsi[kept]
        starts = np.flatnonzero(np.r_[True, kept_ids[1:] != kept_ids[:-1]]) if len(kept) else kept[:0]
        return Tracks(
            mmsi=kept_ids,
            ts_us=self.ts_us[kept],
            lat=self.lat[kept],
            lon=self.lon[kept],
            starts=np.r_[starts, len(kept)].astype(np.int64),
            n_positions=len(rows),
        )


def load_positions(disk: ReadOnlyConnection, n: int) -> Positions | None:
    """The store's positions in memory, or None when there are more than :data:`MAX_IN_MEMORY`."""
    if n > MAX_IN_MEMORY:
        return None
    relation = disk.sql(Q.all_positions()[0])
    assert relation is not None  # a query always has a relation
    table = relation.to_arrow_table()
    mmsi = table["mmsi"].to_numpy().astype(np.int64)
    firsts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]]) if len(mmsi) else np.empty(0, np.int64)
    return Positions(
        mmsi=mmsi,
        ts_us=table["t"].to_numpy().astype(np.int64),
        lat=table["lat"].to_numpy().astype(np.float64),
        lon=table["lon"].to_numpy().astype(np.float64),
        vessels=mmsi[firsts],
        bounds=np.r_[firsts, len(mmsi)].astype(np.int64),
    )
