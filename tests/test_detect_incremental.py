"""Time-incremental detect equals a batch detect: the same rows, ids and values in every event table.

Data arrives in micro-batches (6-hour and daily slices of the real NY Harbor week, an uneven split, and
the synthetic dprk-russia scenario in byte chunks, as the watch cuts them); after each the incremental
detect runs; at the end a batch `detect --full` over the same store must give the same tables. The one
documented difference: ``segments.dist_km`` of a segment that spans a cut is the stored sum plus the new
part, equal to the batch sum to float rounding (docs/detect.md, "Time-incremental detect").
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.case import bundled_case_path, load_case
from supplyline.detect.kernels import sort_events
from supplyline.engine.incremental import detect_incremental
from supplyline.engine.local import detect
from supplyline.ingest.nmea_split import message_boundary
from supplyline.ingest.pipeline import ingest_bytes
from supplyline.places import conform_places
from supplyline.simulate.nmea import encode_positions
from supplyline.store import Store
from tests.conftest import SHARED_DATA
from tests.watch_support import CASE, WEEK, assert_same_events, nyharbor_rows


def _week() -> dict[str, np.ndarray]:
    if not (SHARED_DATA / WEEK).exists():
        pytest.skip(f"real data not found: {SHARED_DATA / WEEK} (set SUPPLYLINE_SHARED_DATA to their folder)")
    return nyharbor_rows(SHARED_DATA / WEEK, 24 * 7)


def _nmea(rows: dict[str, np.ndarray], sel: np.ndarray) -> bytes:
    n = int(sel.sum())
    nan = np.full(n, np.nan)
    lines = encode_positions(
        rows["mmsi"][sel], rows["ts"][sel], rows["lat"][sel], rows["lon"][sel], nan, nan, nan,
        np.full(n, 15), np.ones(n, dtype=np.int64), source="ny",
    )  # fmt: skip
    return bytes(lines.ravel().tobytes())


def _time_slices(rows: dict[str, np.ndarray], edges_h: list[float]) -> Iterator[bytes]:
    """The week cut at ``edges_h`` hours after its first position, as NMEA blocks."""
    t0 = int(rows["ts"].min())
    edges = [t0 + int(h * 3600) for h in edges_h] + [int(rows["ts"].max()) + 1]
    for a, b in zip([t0, *edges[:-1]], edges, strict=True):
        sel = (rows["ts"] >= a) & (rows["ts"] < b)
        if sel.any():
            yield _nmea(rows, sel)


def _byte_chunks(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """``data`` cut near each of the cumulative ``sizes`` at a message boundary (as the watch's batches)."""
    start = 0
    for size in sizes:
        end = start + message_boundary(data[start : start + size])
        if end > start:
            yield data[start:end]
            start = end
    if start < len(data):
        yield data[start:]


def _live_rows(store: Store, name: str) -> int:
    live = store.read_part(name, "incr")
    return 0 if live is None else live.num_rows


def _events(store: Store) -> dict[str, pa.Table]:
    return {name: sort_events(name, store.read_table(name)) for name in schema.EVENT_TABLES}


def _assert_equal(inc: dict[str, pa.Table], batch: dict[str, pa.Table]) -> None:
    for name in schema.EVENT_TABLES:
        assert_same_events(name, inc[name], batch[name])


ARCHIVE_SOON = {"archive_after_h": 80.0, "archive_step_h": 6.0}
"""Events archived 80 hours behind the data (default 30 days; at least the 72-hour reception window of gap
coverage, or every run re-reads the archive), so a week exercises it."""


def _replay(
    tmp: Path,
    blocks: Iterator[bytes],
    case_path: Path,
    chunk_rows: int | None = None,
    archiving: dict[str, float] | None = None,
) -> tuple[dict[str, pa.Table], dict[str, pa.Table], list[dict[str, int]]]:
    """Ingest each block and detect incrementally; then a batch detect of the same store."""
    case = load_case(case_path)
    places = conform_places(case.places)
    store = Store.create(tmp / "store")
    runs = []
    for k, block in enumerate(blocks):
        ingest_bytes(store, block, name=f"batch-{k:03d}", fmt="nmea")
        res = detect_incremental(
            store, places, case.thresholds, case.routes, chunk_rows=chunk_rows, **(archiving or {})
        )
        arch = [p for p in store.parts("visits") if p.startswith("arch-")]
        runs.append(res.incremental | {"live_visits": _live_rows(store, "visits"), "arch_parts": len(arch)})
    inc = _events(store)
    detect(store, places, case.thresholds, case.routes, workers=1, full=True)
    return inc, _events(store), runs


@pytest.mark.parametrize("hours", [6, 24], ids=["6-hour", "daily"])
def test_ny_week_in_micro_batches_equals_batch_detect(tmp_path: Path, hours: int) -> None:
    rows = _week()
    inc, batch, runs = _replay(tmp_path, _time_slices(rows, list(range(hours, 24 * 7, hours))), CASE)
    _assert_equal(inc, batch)
    assert batch["visits"].num_rows > 1000 and batch["gaps"].num_rows > 100  # the tables are not trivial
    assert sum(r.get("cut", 0) for r in runs) > 100  # most later runs re-analysed tails, not whole vessels
    assert sum(r.get("failed", 0) for r in runs) <= sum(r.get("cut", 0) for r in runs) // 10


def test_ny_week_with_events_archived_after_80_hours_equals_batch_detect(tmp_path: Path) -> None:
    """Events ending 80 h before the data are archived: runs read the live part, and all archived events
    only of the vessels whose cut reaches back before the boundary; still equal to a batch detect."""
    rows = _week()
    slices = _time_slices(rows, list(range(6, 24 * 7, 6)))
    inc, batch, runs = _replay(tmp_path, slices, CASE, archiving=ARCHIVE_SOON)
    _assert_equal(inc, batch)
    assert runs[-1]["live_visits"] < 0.6 * batch["visits"].num_rows  # what ended 80-86 h before the end
    assert sum(r["failed"] for r in runs) == 0  # the archived rows deep vessels need were read (else: 4 fail)
    assert runs[-1]["arch_parts"] >= 10  # one per 6 hours of data archived


def test_ny_week_uneven_split_equals_batch_detect(tmp_path: Path) -> None:
    rows = _week()
    edges = [0.5, 1, 7, 30, 31.5, 50, 51, 52, 80, 120, 121, 160]  # half an hour to two days apart
    # small vessel groups (a few thousand new positions each), as a run far behind a fast feed makes
    inc, batch, _ = _replay(tmp_path, _time_slices(rows, edges), CASE, chunk_rows=3000)
    _assert_equal(inc, batch)


_MEETINGS = """
[[encounter]]
ships = ["angara", "maria"]
lat = 41.3
lon = 131.2
start = 2023-09-20T06:00:00Z
hours = 6

[[encounter]]
ships = ["maia-1", "lady-r"]
lat = 41.0
lon = 131.6
start = 2024-01-10T12:00:00Z
hours = 5
"""


def test_simulated_encounters_and_gaps_in_byte_chunks_equal_batch_detect(tmp_path: Path) -> None:
    """dprk-russia (synthetic) with two ship-to-ship meetings at sea added: encounters, dark legs, static
    reports with draught; NMEA cut into uneven byte chunks at message boundaries, as a watch's batches
    are (so chunks also end mid-way through the ships' interleaved reports)."""
    from supplyline.simulate import simulate

    case_path = tmp_path / "dprk-russia"
    shutil.copytree(bundled_case_path("dprk-russia"), case_path)
    with open(case_path / "scenario.toml", "a", encoding="utf-8") as fh:
        fh.write(_MEETINGS)
    res = simulate(case_path / "scenario.toml", tmp_path / "sim", formats=("nmea",), min_interval_s=900)
    data = Path(res.paths["nmea"]).read_bytes()
    sizes = [len(data) // 23, len(data) // 7, len(data) // 31, len(data) // 5] * 6
    inc, batch, _ = _replay(tmp_path, _byte_chunks(data, sizes), case_path)
    _assert_equal(inc, batch)
    assert batch["encounters"].num_rows > 0 and batch["gaps"].num_rows > 0
    assert batch["draught_changes"].num_rows > 0


def test_late_slice_reanalyses_the_vessels_it_touches_whole(tmp_path: Path) -> None:
    """A day delivered after the next one (late data): its vessels are re-analysed whole; still equal."""
    rows = _week()
    days = list(_time_slices(rows, [24.0 * d for d in range(1, 7)]))
    order = [0, 1, 3, 2, 4, 5, 6]  # day 3 arrives after day 4
    for archiving in (None, ARCHIVE_SOON):  # late beyond the archive boundary: every archived row re-read
        inc, batch, runs = _replay(
            tmp_path / str(archiving), iter([days[k] for k in order]), CASE, None, archiving
        )
        _assert_equal(inc, batch)
        assert runs[3]["whole"] >= runs[3]["vessels"] // 2  # most vessels of the late day had later positions


def _fast_ferry() -> dict[str, np.ndarray]:
    """Synthetic: a vessel at 10 kn to and fro for three days, then straight 35 kn legs (it becomes a
    learned fast vessel only on day 4), beside a slow one; a fix every 2 minutes."""
    t = np.arange(0, 4 * 86400, 120, dtype=np.int64) + 1_606_780_800
    k = np.arange(len(t))
    leg = (k // 60) % 2  # turn every 2 h
    step_deg = 10 * 1.852 / 111.2 / 30  # 10 kn for 2 minutes, in degrees of latitude
    lat_slow = 40.0 + np.where(leg == 0, k % 60, 60 - k % 60) * step_deg
    fast = t >= t[0] + 3 * 86400
    lat = np.where(fast, 40.0 + (k - k[fast][0]) * step_deg * 3.5 % 1.5, lat_slow)
    mmsi = np.r_[np.full(len(t), 366000001), np.full(len(t), 366000002)]
    order = np.lexsort((mmsi, np.r_[t, t]))
    cols = {
        "mmsi": mmsi,
        "ts": np.r_[t, t],
        "lat": np.r_[lat, lat_slow],
        "lon": np.r_[np.full(len(t), -70.0), np.full(len(t), -69.5)],
    }
    return {name: c[order] for name, c in cols.items()}


def test_vessel_turning_fast_is_reanalysed_whole(tmp_path: Path) -> None:
    rows = _fast_ferry()
    for archiving in (None, ARCHIVE_SOON):  # with archived events: they are replaced too
        slices = _time_slices(rows, [24, 48, 60, 72, 84])
        inc, batch, runs = _replay(tmp_path / str(archiving), slices, CASE, None, archiving)
        _assert_equal(inc, batch)
        assert sum(r["speed"] for r in runs) >= 1  # its speed class changed once: re-read whole


def test_splice_fingerprints_stored_events_only_from_each_vessels_cut() -> None:
    """The splice compares a vessel's stored events from its cut on; turning the rest of the history into
    Python objects made each run's time and memory grow with the store (bench/watch_memory.py --phases), so
    events keyed before the cut, and of vessels not re-analysed, get no print."""
    from supplyline.engine import splice

    hour = 3_600_000_000
    keys = [0, 2, 4, 6, 8, 1, 3, 9]
    mmsi = [1, 1, 1, 1, 1, 2, 2, 2]
    stored = pa.table(
        {
            "visit_id": [f"v{k}" for k in range(8)],
            "mmsi": pa.array(mmsi, pa.int64()),
            "arrival_ts": pa.array([k * hour for k in keys], pa.timestamp("us", "UTC")),
        }
    )
    rows = splice._Rows.of("visits", stored, splice._cut_per_row(stored, {1: (4 * hour, 5 * hour)}))
    assert [p is not None for p in rows.prints] == [False, False, True, True, True, False, False, False]
    assert rows.by_mmsi == {1: [0, 1, 2, 3, 4], 2: [5, 6, 7]}
