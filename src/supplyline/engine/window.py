"""The cross-vessel steps of the time-incremental detect, over the time window new positions can change.

* **Encounters** are runs of 10-minute buckets in which two vessels are close, linked across at most
  ``encounter_max_gap_h``. New positions from time T on change only buckets from T's on, so only runs with
  a bucket at or after ``T - encounter_max_gap_h`` can change (or appear, at most ``encounter_min_h``
  earlier). Those are recomputed from a start E (the earliest such stored run, bucket-aligned) over the
  buckets from ``E - encounter_max_gap_h - 1 bucket`` (so a run starting at E is seen to start there),
  plus each vessel's last bucket before that (a bucket's speed without SOG comes from the previous one);
  stored encounters starting before E are kept, those from E on replaced.
* **Gap coverage** counts positions within ``reception_window_h`` (plus the whole hours around) of a gap,
  so new positions from T on change only gaps ending after ``T - reception_window_h - 1 h``; those, and
  the gaps the kernels just made, are annotated again over the positions from their earliest window on.

Both give exactly what the batch detect gives (same SQL, over a superset of the positions it reads).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.detect import Thresholds
from supplyline.detect._arrays import ts_us
from supplyline.detect._sql import DUCKDB, encounter_bucket_us, encounter_buckets_sql, encounters_sql
from supplyline.detect.kernels import PlaceLookup
from supplyline.engine.base import finish_encounters
from supplyline.engine.local import annotate_coverage

US_PER_H = 3_600_000_000


def _day(us: int) -> str:
    return f"DATE '{np.datetime64(max(us, 0) // 86_400_000_000, 'D')}'"


def _since(us: int, positions: str = "positions") -> str:
    """SQL: the positions at or after ``us`` (the day partitions before it skipped unopened)."""
    return f"(SELECT * FROM {positions} WHERE day >= {_day(us)} AND ts >= make_timestamp({int(us)}))"


def encounter_start(old: pa.Table, t_min: int, th: Thresholds) -> int:
    """E: the first bucket (microseconds) from which encounters are recomputed for new positions from
    ``t_min`` on (module docstring)."""
    bucket = encounter_bucket_us(th)
    gap = max(1, int(np.floor(th.encounter_max_gap_h * 60 / th.encounter_bucket_min + 1e-9))) * bucket
    reach = (t_min // bucket) * bucket - gap - bucket
    shortest = reach - int(np.ceil(th.encounter_min_h * US_PER_H / bucket)) * bucket - bucket
    starts: list[int] = []
    if old.num_rows:
        starts = ts_us(old.column("start_ts"))[ts_us(old.column("end_ts")) >= reach].tolist()
    return int(min([shortest, *starts]) // bucket * bucket)


def encounters_since(
    con: duckdb.DuckDBPyConnection, old: pa.Table, t_min: int, th: Thresholds, index: PlaceLookup
) -> pa.Table:
    """The encounters table after new positions from ``t_min`` (microseconds) on: stored ones starting
    before E, recomputed ones from E on."""
    start = encounter_start(old, t_min, th)
    bucket = encounter_bucket_us(th)
    gap = max(1, int(np.floor(th.encounter_max_gap_h * 60 / th.encounter_bucket_min + 1e-9))) * bucket
    w0 = start - gap - bucket
    con.execute(f"CREATE OR REPLACE TEMP TABLE _win_b AS {encounter_buckets_sql(th, _since(w0), DUCKDB)}")
    try:
        _add_previous_buckets(con, th, w0)
        raw = con.sql(encounters_sql(th, buckets="_win_b")).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS _win_b")
    fresh = finish_encounters(raw, th, index)
    fresh = fresh.filter(pc.greater_equal(fresh.column("start_ts"), pa.scalar(start, schema.TS)))
    kept = old.filter(pc.less(old.column("start_ts"), pa.scalar(start, schema.TS))) if old.num_rows else old
    out = pa.concat_tables([kept.cast(schema.ENCOUNTERS), fresh.cast(schema.ENCOUNTERS)])
    return out.sort_by([("mmsi_a", "ascending"), ("mmsi_b", "ascending"), ("start_ts", "ascending"),
                        ("encounter_id", "ascending")])  # fmt: skip


def _add_previous_buckets(con: duckdb.DuckDBPyConnection, th: Thresholds, w0: int) -> None:
    """Append to ``_win_b`` each of its vessels' last bucket before ``w0``: looked for in the two days
    before first, then (for the vessels silent longer) in everything before."""
    before = f"(SELECT * FROM positions WHERE ts < make_timestamp({int(w0)}) {{extra}})"
    bucket = encounter_bucket_us(th)
    for extra in (f"AND day >= {_day(w0 - 2 * 86_400_000_000)}", ""):
        missing = (
            f"mmsi IN (SELECT mmsi FROM _win_b EXCEPT SELECT mmsi FROM _win_b WHERE bk < {w0 // bucket})"
        )
        last = f"""(SELECT p.* FROM {before.format(extra=extra)} p
                    JOIN (SELECT mmsi, max(ts) AS t FROM {before.format(extra=extra)} WHERE {missing}
                          GROUP BY mmsi) m
                      ON p.mmsi = m.mmsi
                     AND floor(epoch_us(p.ts) / {bucket}) = floor(epoch_us(m.t) / {bucket}))"""
        con.execute(f"INSERT INTO _win_b {encounter_buckets_sql(th, last, DUCKDB)}")


def coverage_since(con: duckdb.DuckDBPyConnection, gaps: pa.Table, t_min: int, th: Thresholds) -> pa.Table:
    """``gaps`` with coverage set again where new positions from ``t_min`` on may change it, and where
    it is missing (gaps the kernels just made)."""
    if gaps.num_rows == 0:
        return gaps
    reach = t_min - int((th.reception_window_h + 1) * US_PER_H)
    redo = pc.or_(
        pc.is_null(gaps.column("others_start")),
        pc.greater_equal(gaps.column("end_ts"), pa.scalar(reach, schema.TS)),
    )
    redo_np = np.asarray(redo.to_numpy(zero_copy_only=False), dtype=bool)
    if not redo_np.any():
        return gaps
    todo = gaps.filter(pa.array(redo_np))
    first = int(ts_us(todo.column("start_ts")).min()) - int((th.reception_window_h + 1) * US_PER_H)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cov_pos AS {_since(first)}")
    done = annotate_coverage(con, todo, th, positions="_cov_pos")
    return pa.concat_tables([gaps.filter(pa.array(~redo_np)), done.cast(gaps.schema)])


__all__ = ["coverage_since", "encounter_start", "encounters_since"]
