"""Static reports -> static runs: one stored row per run of identical static values per MMSI and UTC day.

A report inside a run the store (or this input) already has for that day is a duplicate, as are exact
repeats of one report (several receivers).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.ingest._sql import sql_list
from supplyline.ingest.accounting import Tally
from supplyline.ingest.csv_formats import STATIC_FIELDS
from supplyline.ingest.staging import Staging, days_of

_GROUP_STATICS = (
    f"SELECT mmsi, ts, hash({', '.join(STATIC_FIELDS)}) AS _h, "
    f"any_value(COLUMNS('^({'|'.join(STATIC_FIELDS)}|msg_type|source)$')), "
    "sum(_lines) AS w_all, any_value(_lines) AS w_kept, min(_line) AS _line, CAST(ts AS DATE) AS day "
    "FROM {table} GROUP BY mmsi, ts, _h"
)


def group_statics(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """Kept static reports -> one row per (mmsi, ts, values), sorted by (day, mmsi, ts, line).

    ``w_all`` weighs all repeats in input lines, ``w_kept`` one of them (the others are duplicates).
    """
    con.register("c", table)
    try:
        return con.sql(_GROUP_STATICS.format(table="c") + " ORDER BY day, mmsi, ts, _line").to_arrow_table()
    finally:
        con.unregister("c")


class StaticRuns:
    """One input's static reports -> staged runs, with counts; the runs it staged are kept in memory."""

    def __init__(self, staging: Staging, tally: Tally):
        self.staging, self.tally = staging, tally
        self._own: list[pa.Table] = []  # runs this input staged (mmsi, ts, last_ts, _h, day): few rows

    def add_groups(self, rows: pa.Table) -> None:
        """Grouped static reports (see :func:`group_statics`) -> runs, with counts.

        Exact repeats of one report (several receivers) count as duplicates, as do reports a stored run
        already covers.
        """
        if rows.num_rows == 0:
            return
        keep = self.add_runs(rows, rows, np.arange(rows.num_rows), np.ones(rows.num_rows, bool))
        kept = int(rows["w_kept"].to_numpy()[keep].sum())
        self.tally.kept += kept
        self.tally.duplicate += int(rows["w_all"].to_numpy().sum()) - kept

    def add_reports(self, table: pa.Table) -> None:
        """Kept static reports (records of their own, weighed in lines) -> runs, with counts."""
        self.add_groups(group_statics(self.staging.con, table))

    def add_row_statics(self, table: pa.Table, rows: pa.Table, order: np.ndarray) -> None:
        """The static fields CSV position rows carry -> runs (rows without any static value are no report).

        ``rows`` are the kept rows in store order (mmsi, ts, day), row k being row ``order[k]`` of ``table``.
        """
        info = " OR ".join(f"{f} IS NOT NULL" for f in STATIC_FIELDS)
        con = self.staging.con
        con.register("c", table)
        try:
            static = con.sql(
                f"SELECT hash({', '.join(STATIC_FIELDS)}) AS _h, ({info}) AS _info FROM c"
            ).to_arrow_table()
        finally:
            con.unregister("c")
        static = static.take(pa.array(order))
        keyed = pa.table({"mmsi": rows["mmsi"], "ts": rows["ts"], "day": rows["day"], "_h": static["_h"]})
        self.add_runs(keyed, table, order, static["_info"].to_numpy(zero_copy_only=False))

    def add_runs(self, keyed: pa.Table, full: pa.Table, rows_of: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Static reports -> one stored row per run of identical values per MMSI and day.

        ``keyed`` (mmsi, ts, day, ``_h`` = hash of the static fields) is sorted by (day, mmsi, ts); row k is
        row ``rows_of[k]`` of ``full``, which holds the static fields (only run starts are gathered from
        it). ``keep`` marks the rows that are reports at all (CSV: some static value present). Reports
        inside a run the store, or this input, already has for that day are dropped. Returns ``keep``.
        """
        keep = keep.copy()
        stored = self.staging.stored("statics", days_of(keyed))
        own = self._own_runs(keyed)
        if stored or own is not None:
            keep[self._covered(keyed, stored, own)] = False
        if not keep.any():
            return keep
        idx = np.flatnonzero(keep)
        starts, ends = _run_bounds(keyed, idx)
        first, last = pa.array(idx[starts]), pa.array(idx[ends])
        runs = full.select([*STATIC_FIELDS, "msg_type", "source"]).take(pa.array(rows_of[idx[starts]]))
        runs = runs.append_column("mmsi", keyed["mmsi"].take(first))
        runs = runs.append_column("ts", keyed["ts"].take(first))
        runs = runs.append_column("day", keyed["day"].take(first))
        runs = runs.append_column("last_ts", keyed["ts"].take(last))
        runs = runs.append_column("n_reports", pa.array(ends - starts + 1, pa.int64()))
        runs = self.staging.with_input_id(runs)
        self.tally.statics += runs.num_rows
        self.staging.by_day("statics", runs, schema.STATICS)
        own_cols = {c: runs[c] for c in ("mmsi", "ts", "last_ts")}
        self._own.append(pa.table({**own_cols, "_h": keyed["_h"].take(first), "day": runs["day"]}))
        return keep

    def _own_runs(self, keyed: pa.Table) -> pa.Table | None:
        """The runs this input staged for the days of ``keyed`` (None if none)."""
        if not self._own:
            return None
        own = pa.concat_tables(self._own)
        own = own.filter(pc.is_in(own["day"], value_set=keyed["day"].unique()))
        return own if own.num_rows else None

    def _covered(self, rows: pa.Table, files: list[str], own: pa.Table | None) -> np.ndarray:
        """Row indices of ``rows`` inside a run stored in ``files`` or staged by this input (``own``)."""
        con = self.staging.con
        con.register(
            "r",
            rows.append_column("_i", pa.array(np.arange(rows.num_rows))).select(["mmsi", "ts", "_h", "_i"]),
        )
        if own is not None:
            con.register("own", own)
        try:
            cond = "r.mmsi = e.mmsi AND r._h = e._h AND r.ts BETWEEN e.ts AND e.last_ts"
            parts = [
                f"SELECT mmsi, ts, coalesce(last_ts, ts) AS last_ts, hash({', '.join(STATIC_FIELDS)}) AS _h "
                f"FROM read_parquet({sql_list(files)}, union_by_name=true)"
            ][: 1 if files else 0]
            if own is not None:
                parts.append("SELECT mmsi, ts, last_ts, _h FROM own")
            stored = "SELECT * FROM (" + " UNION ALL ".join(parts) + ")"
            lo_hi = "mmsi BETWEEN (SELECT min(mmsi) FROM r) AND (SELECT max(mmsi) FROM r)"
            found = con.sql(f"SELECT r._i FROM r SEMI JOIN ({stored} WHERE {lo_hi}) e ON {cond}").fetchnumpy()
        finally:
            con.unregister("r")
            if own is not None:
                con.unregister("own")
        return np.asarray(found["_i"], np.int64)


def _run_bounds(keyed: pa.Table, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) positions in ``idx`` of each run of equal (mmsi, static hash, day)."""
    mmsi, h = keyed["mmsi"].to_numpy()[idx], keyed["_h"].to_numpy()[idx]
    day = keyed["day"].cast(pa.int32()).to_numpy()[idx]
    change = (mmsi[1:] != mmsi[:-1]) | (h[1:] != h[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(np.r_[True, change])
    ends = np.r_[starts[1:], idx.size] - 1
    return starts, ends
