"""A watch's monitor run does work for its new alerts, not the whole history, and emits the same alerts.

`run_monitor` (as the watch calls it after each micro-batch) reads only the emitted ids' column, leaves out
the dark alerts emitted before without building their rows, and merges the ``alerts`` table's run parts
once there are more than ``COMPACT_PARTS``. After every batch its alerts must equal the whole evaluation
(every alert, ``as_new``) less the ids the store held before the run, row for row (id, kind, time, message,
details). Data: the real NY Harbor week (with synthetic shared/spoofed vessels) in thirds, repeated as later
weeks so history accumulates, one day delivered late; and the synthetic dprk-russia scenario in byte chunks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.case import Case, bundled_case_path, load_case
from supplyline.engine.incremental import detect_incremental
from supplyline.ingest.pipeline import ingest_bytes
from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, _alert_rows, _dark_row, dark_alerts
from supplyline.monitor.dark import classify
from supplyline.monitor.run import (
    COMPACT_PARTS,
    RUN_PART,
    config_for_case,
    emitted_ids,
    inputs_from_store,
    read_alerts,
    record_alerts,
    run_monitor,
)
from supplyline.places import conform_places
from supplyline.store import Store
from tests.test_detect_incremental import _byte_chunks
from tests.test_monitor_incremental import _ny_with_fleet, _slices
from tests.watch_support import CASE

WEEK_S = 7 * 86_400
SORT = [("ts", "ascending"), ("kind", "ascending"), ("alert_id", "ascending")]


def _run_parts(store: Store) -> list[str]:
    return [p for p in store.parts("alerts") if p.startswith(RUN_PART)]


def _bounded_equals_whole(store: Store, blocks: Iterable[bytes], case: Case) -> list[int]:
    """Ingest each block, detect incrementally, then check the watch's monitor run against the whole
    evaluation less what the store emitted before. Returns the number of alerts each run emitted."""
    places, emitted = conform_places(case.places), []
    for k, block in enumerate(blocks):
        ingest_bytes(store, block, name=f"batch-{k:03d}", fmt="nmea")
        detect_incremental(store, places, case.thresholds, case.routes)
        every = run_monitor(store, case, as_new=True)
        before = set(store.read_table("alerts", schema.ALERTS)["alert_id"].to_pylist())
        want = every.filter(pa.array([a not in before for a in every["alert_id"].to_pylist()], pa.bool_()))
        got = run_monitor(store, case)  # records, as the watch does
        assert got.sort_by(SORT).equals(want.sort_by(SORT)), f"batch {k}"
        stored = store.read_table("alerts", schema.ALERTS)["alert_id"].to_pylist()
        assert len(stored) == len(set(stored)) and set(every["alert_id"].to_pylist()) <= set(stored)
        assert len(_run_parts(store)) <= COMPACT_PARTS
        emitted.append(got.num_rows)
    return emitted


def _weeks(rows: dict[str, np.ndarray], weeks: int) -> list[bytes]:
    """``rows`` (one week) repeated ``weeks`` times, each shifted by whole weeks, in thirds; the second
    week's middle third arrives after its last one (a late day and more)."""
    blocks: list[bytes] = []
    for w in range(weeks):
        shifted = {**rows, "ts": rows["ts"] + w * WEEK_S}
        thirds = _slices(shifted, [56.0, 112.0])
        blocks += [thirds[0], thirds[2], thirds[1]] if w == 1 else thirds
    return blocks


def test_ny_weeks_with_a_late_part_bounded_equals_whole(tmp_path: Path) -> None:
    """Three NY weeks (plus the synthetic vessels) in thirds, one third late: 9 runs, each emitting exactly
    what the whole evaluation has that the store did not; the run parts merged (9 runs > COMPACT_PARTS)."""
    case = load_case(CASE)
    store = Store.create(tmp_path / "store")
    emitted = _bounded_equals_whole(store, _weeks(_ny_with_fleet(), 3), case)
    assert sum(emitted) > 100 and sum(1 for n in emitted if n) > COMPACT_PARTS  # dark alerts every run
    kinds = set(store.read_table("alerts", schema.ALERTS)["kind"].to_pylist())
    assert {"dark_near_place", "shared_mmsi", "spoofing"} <= kinds
    assert len(store.files("alerts")) < sum(1 for n in emitted if n)  # merged, not one file per run


def test_dprk_russia_in_byte_chunks_bounded_equals_whole(tmp_path: Path) -> None:
    """dprk-russia (synthetic scenario: dark, identity, halt alerts) in uneven byte chunks."""
    from supplyline.simulate import simulate

    case_path = tmp_path / "dprk-russia"
    shutil.copytree(bundled_case_path("dprk-russia"), case_path)
    res = simulate(case_path / "scenario.toml", tmp_path / "sim", formats=("nmea",), min_interval_s=900)
    data = Path(res.paths["nmea"]).read_bytes()
    case = load_case(case_path)
    store = Store.create(tmp_path / "store")
    _bounded_equals_whole(store, _byte_chunks(data, [len(data) // 11] * 12), case)
    kinds = set(store.read_table("alerts", schema.ALERTS)["kind"].to_pylist())
    assert {"dark_near_place", "halt"} <= kinds


def _dark_row_by_row(inputs: MonitorInputs, as_of: datetime, cfg: MonitorConfig) -> pa.Table:
    """The dark rule as it was written before it was chosen on whole columns: one gap at a time."""
    g = inputs.gaps
    near = pc.or_(pc.is_valid(g["near_start_place"]), pc.is_valid(g["near_end_place"]))
    g = g.filter(pc.and_(near, pc.greater_equal(g["duration_h"], cfg.dark_min_h)))
    classes = classify(g, inputs.gap_context, cfg.dark_min_h, cfg.dark)
    classes[np.asarray(g["likely"].to_pylist(), dtype=object) == "in_port_silence"] = "moored"
    rows: list[dict[str, Any]] = []
    for r, cls in zip(g.to_pylist(), classes, strict=True):
        ended = r["end_ts"] is not None and r["end_ts"] <= as_of
        if cls in ("dark", "coverage"):
            ts = min(r["start_ts"] + timedelta(hours=cfg.dark_min_h), r["end_ts"] or r["start_ts"])
        elif cls == "moored" and ended and (r["dist_km"] or 0.0) >= cfg.dark.left_km:
            ts = r["end_ts"]
        else:
            continue
        if ts <= as_of:
            rows.append(_dark_row(r, ts, str(cls), ended))
    return _alert_rows(rows)


def test_dark_rule_on_columns_equals_row_by_row_and_skips_known(tmp_path: Path) -> None:
    """On the NY week, as of several times (gaps ending after as_of, moored vessels that left, sparse and
    coverage gaps): the same dark alerts as the row-by-row rule; ``known`` leaves out exactly those ids."""
    case = load_case(CASE)
    store = Store.create(tmp_path / "store")
    places = conform_places(case.places)
    for k, block in enumerate(_slices(_ny_with_fleet(), [72.0])):
        ingest_bytes(store, block, name=f"b{k}", fmt="nmea")
    detect_incremental(store, places, case.thresholds, case.routes)
    cfg = config_for_case(case)
    inputs = inputs_from_store(store, case, cfg)
    counts = []
    for hours in (30.0, 77.3, 1e4):
        as_of = min(inputs.start + timedelta(hours=hours), inputs.end)
        want = _dark_row_by_row(inputs, as_of, cfg)
        got = dark_alerts(inputs, as_of, cfg)
        assert got.equals(want)
        counts.append(got.num_rows)
    assert counts[0] < counts[1] < counts[2] and counts[2] >= 8  # 3, 8, 10 on this week
    assert {json.loads(d)["gap_class"] for d in got["details"].to_pylist()} == {"dark", "moored"}
    known = set(got["alert_id"].to_pylist()[::2])
    rest = dark_alerts(inputs, inputs.end, cfg, known)
    assert rest.equals(got.filter(pa.array([a not in known for a in got["alert_id"].to_pylist()])))


def _alerts(k: int, n: int = 3) -> pa.Table:
    """``n`` made-up alerts of run ``k`` (only the ids and times matter here)."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=k)
    rows = [
        {"alert_id": f"a{k:03d}-{i}", "kind": "halt", "ts": t0 + timedelta(minutes=i), "message": f"run {k}"}
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=schema.ALERTS)


def test_record_alerts_merges_run_parts_keeping_rows_and_order(tmp_path: Path) -> None:
    """20 runs: never more than COMPACT_PARTS run parts, the rows in the order recorded, another writer's
    part (imagery's) untouched."""
    store = Store.create(tmp_path / "store")
    store.write_table("alerts", _alerts(999, 2), part="imagery")
    for k in range(20):
        record_alerts(store, _alerts(k))
        assert len(_run_parts(store)) <= COMPACT_PARTS
    want = [f"a{k:03d}-{i}" for k in range(20) for i in range(3)]
    got = read_alerts(store)["alert_id"].to_pylist()
    assert got[:2] == ["a999-0", "a999-1"] and got[2:] == want  # "imagery" sorts before "run-"
    assert emitted_ids(store) == set(got) and len(store.files("alerts")) <= COMPACT_PARTS + 1


def test_read_alerts_during_a_merge_reads_each_alert_once(tmp_path: Path) -> None:
    """The moment between the merged part's rename and the old parts' removal (both listed), and a part
    removed after it was listed: every alert once, in the order recorded."""
    store = Store.create(tmp_path / "store")
    for k in range(3):
        store.write_table("alerts", _alerts(k), part=f"{RUN_PART}2024010{k}")
    merged = pa.concat_tables([_alerts(0), _alerts(1), _alerts(2), _alerts(3)])
    store.write_table("alerts", merged, part=f"{RUN_PART}20240103")  # renamed in, the old ones not yet gone
    assert read_alerts(store).equals(merged)

    class Racing(Store):
        """Lists a part that is gone when opened, once (a merge committed between listing and reading)."""

        raced = False

        def files(self, name: str) -> list[Path]:
            if not Racing.raced:
                Racing.raced = True
                return [self.table_dir(name) / "run-gone.parquet", *super().files(name)]
            return super().files(name)

    racing = Racing(store.root)
    assert read_alerts(racing).equals(merged) and Racing.raced
    assert emitted_ids(racing) == set(merged["alert_id"].to_pylist())
