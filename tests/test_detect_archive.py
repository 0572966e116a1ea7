"""The archive layout of the time-incremental detect (supplyline.engine.archive): where rows go when a run
writes, with known answers on small tables (the equality with a batch detect is in test_detect_incremental)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from supplyline.engine import archive
from supplyline.store import Store

H = archive.US_PER_H
TS = pa.timestamp("us", "UTC")


def _visits(rows: list[tuple[int, int | None]]) -> pa.Table:
    """(mmsi, departure hour) rows, arrival an hour before; None: still in port (arrived at 30 h)."""
    return pa.table(
        {
            "mmsi": pa.array([m for m, _ in rows], pa.int64()),
            "arrival_ts": pa.array([(30 if e is None else e - 1) * H for _, e in rows], TS),
            "departure_ts": pa.array([None if e is None else e * H for _, e in rows], TS),
        }
    )


def _rows(t: pa.Table | None) -> list[tuple[int, int | None]]:
    if t is None:
        return []
    ends = [None if e == archive.NEVER else e // H for e in archive.ends("visits", t).tolist()]
    return sorted(zip(t.column("mmsi").to_pylist(), ends, strict=True), key=str)


def test_boundary_trails_the_data_in_whole_steps_and_never_goes_back() -> None:
    day = 24 * H
    assert archive.boundary(None, 100 * day + 5 * H, 30 * 24, 7 * 24) == 70 * day  # 70 = 10 whole weeks
    assert archive.boundary(70 * day, 90 * day, 30 * 24, 7 * 24) == 70 * day  # older data: A stays
    assert archive.boundary(70 * day, None, 30 * 24, 7 * 24) == 70 * day
    assert archive.boundary(None, None, 30 * 24, 7 * 24) is None


def test_rows_go_to_the_part_of_their_end_and_untouched_parts_are_kept(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "store")
    store.write_table("visits", _visits([(1, 5), (2, 8)]), part=archive.part_name(10 * H))  # ends < 10 h
    store.write_table("visits", _visits([(1, 12), (2, 15)]), part=archive.part_name(20 * H))  # 10-20 h
    live = _visits([(1, 25), (2, 33), (2, 41), (3, None)])  # the run's live rows; A moves 20 -> 40 h
    parts, keep = archive.parts_after(store, "visits", live, archive.Replace(), (20 * H, 40 * H))
    assert keep == [archive.part_name(10 * H), archive.part_name(20 * H)]  # not rewritten
    assert _rows(parts[archive.part_name(40 * H)]) == [(1, 25), (2, 33)]  # ended in [20, 40) h
    assert _rows(parts[archive.LIVE]) == [(2, 41), (3, None)]  # no end yet: live


def test_a_replaced_vessel_loses_its_archived_rows_from_its_cut_and_gets_the_runs(tmp_path: Path) -> None:
    """Vessel 1 re-analysed from 11 h (a deep vessel): its archived rows ending at or after 11 h are
    replaced by the run's, in the parts of their ends; vessel 2's rows and the part before 10 h stay."""
    store = Store.create(tmp_path / "store")
    store.write_table("visits", _visits([(1, 5), (2, 8)]), part=archive.part_name(10 * H))
    store.write_table("visits", _visits([(1, 12), (1, 16), (2, 15)]), part=archive.part_name(20 * H))
    out = _visits([(1, 13), (1, 17), (1, 22), (2, 25)])  # live rows plus vessel 1's archived ones, redone
    replace = archive.Replace({1: 11 * H})
    parts, keep = archive.parts_after(store, "visits", out, replace, (20 * H, 20 * H))
    assert keep == [archive.part_name(10 * H)]
    assert _rows(parts[archive.part_name(20 * H)]) == [(1, 13), (1, 17), (2, 15)]
    assert _rows(parts[archive.LIVE]) == [(1, 22), (2, 25)]


def test_a_vessel_redone_whole_loses_every_archived_row(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "store")
    store.write_table("visits", _visits([(1, 5), (2, 8)]), part=archive.part_name(10 * H))
    out = _visits([(1, 6), (2, 25)])  # vessel 1 re-analysed from its first row (4 h): one visit now
    parts, keep = archive.parts_after(store, "visits", out, archive.Replace({1: 4 * H}), (10 * H, 10 * H))
    assert keep == []
    assert _rows(parts[archive.part_name(10 * H)]) == [(1, 6), (2, 8)]
    assert _rows(parts[archive.LIVE]) == [(2, 25)]
