"""The monitor's kept position facts equal a whole-store pass, run after run (supplyline.monitor.kept).

Data arrives in micro-batches (the real NY Harbor week with synthetic shared/spoofed vessels added, a
day delivered late; the synthetic dprk-russia scenario in byte chunks); after each, the time-incremental
detect and the monitor on its kept facts run, and the facts (span, first seen, reception, identity
events, gap contexts) and the alerts must equal what `monitor --full` derives from every position.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supplyline.case import Case, bundled_case_path, load_case
from supplyline.engine.incremental import detect_incremental
from supplyline.ingest.pipeline import ingest_bytes
from supplyline.monitor import kept
from supplyline.monitor.alerts import MonitorInputs
from supplyline.monitor.run import config_for_case, inputs_from_store, run_monitor
from supplyline.places import conform_places
from supplyline.store import Store
from tests.identity_fleet import PENDING, SHARED, SPOOFED, TWO_WINDOWS, fleet
from tests.test_detect_incremental import _byte_chunks, _nmea, _week
from tests.watch_support import CASE


def _slices(rows: dict[str, np.ndarray], edges_h: list[float], order: list[int] | None = None) -> list[bytes]:
    """``rows`` cut at ``edges_h`` hours after the first, as NMEA blocks (in ``order`` if given)."""
    t0 = int(rows["ts"].min())
    edges = [t0, *(t0 + int(h * 3600) for h in edges_h), int(rows["ts"].max()) + 1]
    blocks = [_nmea(rows, (rows["ts"] >= a) & (rows["ts"] < b)) for a, b in itertools.pairwise(edges)]
    return [blocks[k] for k in order] if order else blocks


def _same_inputs(got: MonitorInputs, want: MonitorInputs) -> None:
    assert (got.start, got.end) == (want.start, want.end)
    assert got.seen is not None and got.seen.equals(want.seen)
    assert got.identity_events is not None and got.identity_events.equals(want.identity_events)
    assert (got.received is None) == (want.received is None)
    assert got.received is None or got.received.equals(want.received)
    assert got.gap_context is not None and want.gap_context is not None
    assert got.gap_context.sort_by("gap_id").equals(want.gap_context.sort_by("gap_id"))


def _replay(
    store: Store, blocks: Iterable[bytes], case: Case, *, detect: bool = True
) -> list[dict[str, object]]:
    """Ingest each block, detect incrementally, monitor on the kept facts; after each, the facts and the
    alerts equal a monitor over every position. Returns each update's stats."""
    places, cfg, runs = conform_places(case.places), config_for_case(case), []
    for k, block in enumerate(blocks):
        ingest_bytes(store, block, name=f"batch-{k:03d}", fmt="nmea")
        if detect:
            detect_incremental(store, places, case.thresholds, case.routes)
        stats: dict[str, object] = {}
        run_monitor(store, case, stats=stats)  # records its alerts, as the watch does
        runs.append(stats)
        _same_inputs(inputs_from_store(store, case, cfg), inputs_from_store(store, case, cfg, full=True))
    kept_alerts = run_monitor(store, case, as_new=True).sort_by("alert_id")
    assert kept_alerts.equals(run_monitor(store, case, as_new=True, full=True).sort_by("alert_id"))
    return runs


def _events(store: Store, case: Case) -> pa.Table:
    got = inputs_from_store(store, case).identity_events
    assert got is not None
    return got


def _ny_with_fleet() -> dict[str, np.ndarray]:
    rows = _week()
    extra = fleet(int(rows["ts"].min()))
    return {k: np.concatenate([rows[k], extra[k]]) for k in rows}


def test_identity_fleet_in_uneven_batches_equals_whole_pass(tmp_path: Path) -> None:
    """Synthetic vessels only (no detect): cuts inside the shared episode (hours 12-24), inside the
    excursions (the third one, at hour 40, closes with the sixth jump: a sparse vessel's tail), during the
    pending vessel's turn to shared (hour 32-35), and a slice delivered late."""
    case = load_case(CASE)
    rows = fleet(1_700_000_000)
    edges = [6.0, 10.1, 12.5, 13.0, 16.0, 20.2, 24.0, 30.5, 32.2, 33.0, 34.0, 40.0, 40.1, 41.0, 55.0]
    order = [*range(0, 14), 15, 14]  # 41-55 h arrives after 55-72 h
    store = Store.create(tmp_path / "store")
    runs = _replay(store, _slices(rows, edges, order), case, detect=False)
    events = _events(store, case)
    kinds = dict(zip(events["mmsi"].to_pylist(), events["kind"].to_pylist(), strict=True))
    assert kinds[SHARED] == "shared_mmsi" and kinds[PENDING] == "shared_mmsi"
    assert kinds[SPOOFED] == "spoofing" and kinds[TWO_WINDOWS] == "spoofing"
    total = {k: sum(int(r["vessels"].get(k, 0)) for r in runs) for k in ("tail", "whole", "counts")}  # type: ignore[attr-defined]
    assert total["tail"] >= 2 and total["whole"] >= 3 and total["counts"] > 20


def test_ny_week_with_fleet_and_a_late_day_equals_batch_monitor(tmp_path: Path) -> None:
    """The real NY Harbor week plus the synthetic vessels, daily with a cut at hour 12.5 (inside the shared
    episode) and day 3 delivered after day 4; detect and monitor after each batch."""
    case = load_case(CASE)
    edges = [12.5, 24.0, 48.0, 72.0, 96.0, 120.0, 144.0]
    order = [0, 1, 2, 4, 3, 5, 6, 7]
    store = Store.create(tmp_path / "store")
    runs = _replay(store, _slices(_ny_with_fleet(), edges, order), case)
    assert runs[4]["vessels"]["whole"] > 10  # type: ignore[index]  # the late day: its vessels judged whole
    assert inputs_from_store(store, case).gap_context.num_rows > 200  # type: ignore[union-attr]
    assert SHARED in _events(store, case)["mmsi"].to_pylist()


def test_dprk_russia_in_byte_chunks_equals_batch_monitor(tmp_path: Path) -> None:
    """dprk-russia (synthetic scenario) in uneven byte chunks at message boundaries, as a watch cuts them."""
    from supplyline.simulate import simulate

    case_path = tmp_path / "dprk-russia"
    shutil.copytree(bundled_case_path("dprk-russia"), case_path)
    res = simulate(case_path / "scenario.toml", tmp_path / "sim", formats=("nmea",), min_interval_s=900)
    data = Path(res.paths["nmea"]).read_bytes()
    sizes = [len(data) // 23, len(data) // 7, len(data) // 31, len(data) // 5] * 4
    case = load_case(case_path)
    store = Store.create(tmp_path / "store")
    _replay(store, _byte_chunks(data, sizes), case)
    assert run_monitor(store, case, as_new=True).num_rows > 0


def _kept_store(tmp_path: Path) -> tuple[Store, Case]:
    case = load_case(CASE)
    store = Store.create(tmp_path / "store")
    for k, block in enumerate(_slices(fleet(1_700_000_000), [12.5, 24.0, 36.0])[:3]):
        ingest_bytes(store, block, name=f"b{k}", fmt="nmea")
        run_monitor(store, case)
    return store, case


def _rebuilt(store: Store, case: Case) -> str:
    stats: dict[str, object] = {}
    got = inputs_from_store(store, case, stats=stats)
    _same_inputs(got, inputs_from_store(store, case, full=True))
    return str(stats["rebuilt"])


def test_state_is_rebuilt_when_missing_stale_or_foreign(tmp_path: Path) -> None:
    store, case = _kept_store(tmp_path)
    assert _rebuilt(store, case) == ""  # valid: kept
    shutil.rmtree(store.table_dir(kept.VESSELS))
    assert _rebuilt(store, case) == "state tables missing"
    victim = store.files("positions")[0]  # positions rewritten (a compaction would do this)
    table = pq.read_table(victim)
    pq.write_table(table.slice(0, table.num_rows - 1), victim)
    assert _rebuilt(store, case) == "position files changed"
    other = Store.create(tmp_path / "other")  # a state copied into another store
    shutil.copytree(store.root / "tables", other.root / "tables", dirs_exist_ok=True)
    ingest_bytes(other, _slices(fleet(1_700_000_000), [6.0])[0], name="x", fmt="nmea")
    assert _rebuilt(other, case) == "inputs analysed are gone"
    moved = load_case(CASE)
    at = moved.places.schema.get_field_index("lat")
    moved.places = moved.places.set_column(at, "lat", pc.add(moved.places["lat"], 0.01))
    assert _rebuilt(store, moved) == "other places or dark-gap settings"


def test_cli_monitor_uses_kept_facts_and_full_recomputes(tmp_path: Path) -> None:
    """`supplyline monitor` updates the kept facts (the state tables appear) and gives the alerts `--full`
    gives; `--full` leaves the kept facts untouched."""
    from typer.testing import CliRunner

    from supplyline.cli import app

    store, _ = _kept_store(tmp_path)
    ingest_bytes(store, _slices(fleet(1_700_000_000), [12.5, 24.0, 36.0])[3], name="b3", fmt="nmea")
    args = ["monitor", "--store", str(store.root), "--case", str(CASE), "--as-new", "--jsonl"]
    state = store.table_dir(kept.STATE) / "all.parquet"
    before = state.stat().st_mtime_ns
    full = CliRunner().invoke(app, [*args, "--full"])
    assert full.exit_code == 0, full.output
    assert state.stat().st_mtime_ns == before
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert state.stat().st_mtime_ns > before
    assert sorted(res.output.splitlines()) == sorted(full.output.splitlines())
    assert '"kind": "shared_mmsi"' in res.output or '"shared_mmsi"' in res.output
