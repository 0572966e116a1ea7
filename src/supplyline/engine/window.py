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

from dataclasses import dataclass

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
from supplyline.engine.snapshot import US_PER_DAY, Snapshot, day_of

US_PER_H = 3_600_000_000


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


@dataclass
class Prior:
    """What the last run left: the vessel state (``last_pos_us``) and this run's new inputs."""

    state: pa.Table
    new_inputs: set[str]


def encounters_since(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    old: pa.Table,
    t_min: int,
    th: Thresholds,
    index: PlaceLookup,
    prior: Prior,
) -> pa.Table:
    """The encounters table after new positions from ``t_min`` (microseconds) on: stored ones starting
    before E, recomputed ones from E on."""
    start = encounter_start(old, t_min, th)
    w0 = start - _gap_us(th) - encounter_bucket_us(th)
    snap.view(con, "_enc_pos", "positions", since=w0)
    window = f"(SELECT * FROM _enc_pos WHERE ts >= make_timestamp({int(w0)}))"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _win_b AS {encounter_buckets_sql(th, window, DUCKDB)}")
    try:
        _add_previous_buckets(con, snap, th, w0, prior)
        raw = con.sql(encounters_sql(th, buckets="_win_b")).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS _win_b")
    fresh = finish_encounters(raw, th, index)
    fresh = fresh.filter(pc.greater_equal(fresh.column("start_ts"), pa.scalar(start, schema.TS)))
    kept = old.filter(pc.less(old.column("start_ts"), pa.scalar(start, schema.TS))) if old.num_rows else old
    out = pa.concat_tables([kept.cast(schema.ENCOUNTERS), fresh.cast(schema.ENCOUNTERS)])
    return out.sort_by([("mmsi_a", "ascending"), ("mmsi_b", "ascending"), ("start_ts", "ascending"),
                        ("encounter_id", "ascending")])  # fmt: skip


def _gap_us(th: Thresholds) -> int:
    bucket = encounter_bucket_us(th)
    return max(1, int(np.floor(th.encounter_max_gap_h * 60 / th.encounter_bucket_min + 1e-9))) * bucket


def _add_previous_buckets(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, th: Thresholds, w0: int, prior: Prior
) -> None:
    """Append to ``_win_b`` each of its vessels' last bucket before ``w0``: from the two days before w0;
    for vessels silent longer, the bucket of their last analysed position (every position before w0 was
    analysed: new ones are all after it); a vessel that reappeared within the stored positions after a
    two-day silence is looked for further back, 2 weeks, then 2 months, then in every file (so a run's
    cost does not grow with the history for a vessel away for a week)."""
    bucket = encounter_bucket_us(th)
    snap.view(con, "_prev_pos", "positions", since=w0 - 2 * US_PER_DAY)
    _insert_last_buckets(con, th, "_prev_pos", w0, None)
    missing = _missing(con, w0 // bucket)
    if not missing:
        return
    st = prior.state
    last = dict(zip(st.column("mmsi").to_pylist(), st.column("last_pos_us").to_pylist(), strict=True))
    known = {m: last[m] for m in missing if m in last and last[m] is not None and last[m] < w0}
    if known:
        snap.view(con, "_prev_pos", "positions", days={day_of(t) for t in known.values()})
        _insert_last_buckets(con, th, "_prev_pos", w0, sorted(known))
    first = dict(zip(st.column("mmsi").to_pylist(), st.column("first_us").to_pylist(), strict=True))
    # analysed rows after w0: look back, unless the vessel was first seen after w0 (nothing before it)
    rest = sorted(
        m for m in missing if m in last and m not in known and (first[m] if first[m] is not None else w0) < w0
    )
    for days in (14, 61, None):
        if not rest:
            return
        snap.view(con, "_prev_pos", "positions", since=None if days is None else w0 - days * US_PER_DAY)
        _insert_last_buckets(con, th, "_prev_pos", w0, rest)
        rest = sorted(set(rest) & set(_missing(con, w0 // bucket)))


def _missing(con: duckdb.DuckDBPyConnection, w0_bucket: int) -> list[int]:
    rows = con.execute(
        f"SELECT DISTINCT mmsi FROM _win_b EXCEPT SELECT mmsi FROM _win_b WHERE bk < {int(w0_bucket)}"
    ).fetchall()
    return [int(r[0]) for r in rows]


def _insert_last_buckets(
    con: duckdb.DuckDBPyConnection, th: Thresholds, view: str, w0: int, only: list[int] | None
) -> None:
    """Insert into ``_win_b`` the last bucket before ``w0`` in ``view`` of each vessel of ``_win_b`` (or of
    ``only``)."""
    bucket = encounter_bucket_us(th)
    who = f"IN ({', '.join(str(int(m)) for m in only)})" if only else "IN (SELECT DISTINCT mmsi FROM _win_b)"
    before = f"(SELECT * FROM {view} WHERE ts < make_timestamp({int(w0)}) AND mmsi {who})"
    last = f"""(SELECT p.* FROM {before} p
                JOIN (SELECT mmsi, max(ts) AS t FROM {before} GROUP BY mmsi) m
                  ON p.mmsi = m.mmsi AND floor(epoch_us(p.ts) / {bucket}) = floor(epoch_us(m.t) / {bucket}))"""
    con.execute(f"INSERT INTO _win_b {encounter_buckets_sql(th, last, DUCKDB)}")


def coverage_reach(t_min: int, th: Thresholds) -> int:
    """The earliest gap end whose coverage new positions from ``t_min`` on can change (microseconds)."""
    return t_min - int((th.reception_window_h + 1) * US_PER_H)


def coverage_since(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, gaps: pa.Table, t_min: int, th: Thresholds
) -> pa.Table:
    """``gaps`` with coverage set again where new positions from ``t_min`` on may change it, and where
    it is missing (gaps the kernels just made); the positions read are those of the days the gaps' windows
    touch."""
    if gaps.num_rows == 0:
        return gaps
    reach = coverage_reach(t_min, th)
    redo = pc.or_(
        pc.is_null(gaps.column("others_start")),
        pc.greater_equal(gaps.column("end_ts"), pa.scalar(reach, schema.TS)),
    )
    redo_np = np.asarray(redo.to_numpy(zero_copy_only=False), dtype=bool)
    if not redo_np.any():
        return gaps
    todo = gaps.filter(pa.array(redo_np))
    snap.view(con, "_cov_pos", "positions", days=_window_days(todo, th))
    done = annotate_coverage(con, todo, th, positions="_cov_pos")
    return pa.concat_tables([gaps.filter(pa.array(~redo_np)), done.cast(gaps.schema)])


def _window_days(gaps: pa.Table, th: Thresholds) -> set[str]:
    """The UTC days of the positions the coverage of ``gaps`` counts (their windows, plus an hour)."""
    s, e = ts_us(gaps.column("start_ts")), ts_us(gaps.column("end_ts"))
    win, path, hour = int(th.coverage_window_h * US_PER_H), int(th.reception_window_h * US_PER_H), US_PER_H
    spans = [(s, np.minimum(e, s + win)), (np.maximum(s, e - win), e)]
    for f in (0.25, 0.5, 0.75):
        p = s + (f * (e - s)).astype(np.int64)
        spans.append((p - path, p + path))
    days: set[str] = set()
    for a, b in spans:
        for lo, hi in zip((a - hour).tolist(), (b + hour).tolist(), strict=True):
            first, last = lo // US_PER_DAY, hi // US_PER_DAY
            days.update(day_of(d * US_PER_DAY) for d in range(first, last + 1))
    return days


__all__ = ["Prior", "coverage_since", "encounter_start", "encounters_since"]
