"""Where each vessel's re-analysis starts, and the re-analysis itself (time-incremental detect).

**Horizon.** New rows after a vessel's last analysed time L can change only stored events that reach its
last moments: T = min(L - max(``max_gap_h``, ``loiter_min_h``), the time of its 16th-last position)
(a new position links to a parent among the previous ``segment_lookback`` rows, or to a track ending at
most ``max_gap_h`` before it; a slow run shorter than ``loiter_min_h`` is no event yet). The horizon H is
the earliest start of a stored visit, gap, loitering or draught change ending at or after T, of the
vessel's last visit with a stop (a new voyage may start there), of any voyage arriving after that, and of
a visit still under way at that point. Segments do not count: the splice rule merges the segment that
spans the cut. The cut is ``C = H - (max_gap_h + 1 h)``, so that the kernels see every track, stop window
and silence around H as the batch run does.

**Whole vessels.** A vessel is re-analysed from its first position when it is new, when new rows are not
all after L (late data), when C falls before its first position, when its speed class changes (it reaches
``fast_min_steps`` straight fast pairs, or reports a high-speed-craft ship type: that changes how every
one of its steps is judged), or when the splice rule's checks fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.detect import Route, Thresholds, run_vessel_kernels
from supplyline.detect._arrays import step_km, ts_us
from supplyline.detect.kernels import sorted_positions
from supplyline.detect.segments import bad_steps, fast_pairs
from supplyline.engine.snapshot import Snapshot

WHOLE_CUT = -(2**62)
"""Cut of a vessel analysed from its first position."""
US_PER_H = 3_600_000_000
VESSEL_STATE = schema.DETECT_INCR_VESSELS


def empty_state() -> pa.Table:
    return VESSEL_STATE.empty_table()


@dataclass
class Kernels:
    """What the kernels need besides the rows."""

    places: pa.Table
    th: Thresholds
    routes: Sequence[Route]

    def run(self, pos: pa.Table, sta: pa.Table, fast: np.ndarray) -> dict[str, pa.Table]:
        return run_vessel_kernels(pos, self.places, self.th, self.routes, statics=sta, fast_mmsi=fast)


@dataclass
class Plan:
    """Per vessel with new rows: its cut (:data:`WHOLE_CUT` = whole) and state; ``t_min``, ``t_max`` the
    earliest and latest new position (None: only static reports are new)."""

    vessels: pa.Table  # mmsi, new_min, n_new, hsc, VESSEL_STATE columns (null: new vessel), cut_us, h_us
    t_min: int | None
    counts: dict[str, int] = field(default_factory=dict)
    t_max: int | None = None  # the latest new position

    def summary(self) -> dict[str, int]:
        return dict(self.counts)


def plan(
    con: duckdb.DuckDBPyConnection,
    old: dict[str, pa.Table],
    state: pa.Table,
    th: Thresholds,
    last_stops: pa.Table | None = None,
) -> Plan:
    """The vessels the new inputs (views ``_new_positions``, ``_new_statics``) touch, each with its cut;
    ``last_stops`` (mmsi, s): the arrival of each one's last visit with a stop not in ``old`` (archived)."""
    con.register("_state", state)
    try:
        touched = con.sql(_TOUCHED_SQL).to_arrow_table()
        t_min, t_max = con.execute(
            "SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM _new_positions"
        ).fetchall()[0]
    finally:
        con.unregister("_state")
    cuts, hs = _cuts(con, touched, old, th, last_stops)
    vessels = touched.append_column("cut_us", pa.array(cuts, pa.int64()))
    vessels = vessels.append_column("h_us", pa.array(hs, pa.int64()))
    whole = int((cuts == WHOLE_CUT).sum())
    counts = {"vessels": len(cuts), "whole": whole, "cut": len(cuts) - whole}
    return Plan(vessels, None if t_min is None else int(t_min), counts, None if t_max is None else int(t_max))


_TOUCHED_SQL = """
    SELECT n.mmsi, n.new_min, n.n_new, n.hsc, s.first_us, s.last_us, s.tail_us, s.fast_pairs, s.fast
    FROM (SELECT mmsi, min(t) AS new_min, count(*) AS n_new, bool_or(hsc) AS hsc FROM (
            SELECT mmsi, epoch_us(ts) AS t, false AS hsc FROM _new_positions
            UNION ALL
            SELECT mmsi, epoch_us(ts), coalesce(ship_type BETWEEN 40 AND 49, false) FROM _new_statics
          ) GROUP BY mmsi) n
    LEFT JOIN _state s USING (mmsi)
    ORDER BY n.mmsi
"""


def _cuts(
    con: duckdb.DuckDBPyConnection,
    touched: pa.Table,
    old: dict[str, pa.Table],
    th: Thresholds,
    last_stops: pa.Table | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each touched vessel's cut C and horizon H (module docstring); :data:`WHOLE_CUT` for both where it
    is re-analysed whole."""
    n = touched.num_rows
    cuts = np.full(n, WHOLE_CUT, dtype=np.int64)
    hs = cuts.copy()
    if n == 0:
        return cuts, hs
    col = {c: touched.column(c).to_numpy(zero_copy_only=False) for c in ("last_us", "new_min", "first_us")}
    known = ~touched.column("last_us").is_null().to_numpy(zero_copy_only=False)
    hsc = touched.column("hsc").fill_null(False).to_numpy(zero_copy_only=False)
    fast = touched.column("fast").fill_null(False).to_numpy(zero_copy_only=False)
    ok = known & ~(hsc & ~fast)
    ok[ok] = col["new_min"][ok].astype(np.int64) > col["last_us"][ok].astype(np.int64)
    if ok.any():
        h = _horizons(con, touched.filter(pa.array(ok)), old, th, last_stops)
        c = h - int((th.max_gap_h + 1) * US_PER_H)
        first = col["first_us"][ok].astype(np.int64)
        cuts[np.flatnonzero(ok)] = np.where(c > first, c, WHOLE_CUT)
        hs[np.flatnonzero(ok)] = np.where(c > first, h, WHOLE_CUT)
    return cuts, hs


def _horizons(
    con: duckdb.DuckDBPyConnection,
    cand: pa.Table,
    old: dict[str, pa.Table],
    th: Thresholds,
    last_stops: pa.Table | None,
) -> np.ndarray:
    """H per candidate vessel (in ``cand``'s order), from the stored events (module docstring)."""
    reach = int(max(th.max_gap_h, th.loiter_min_h) * US_PER_H)
    names = {"_v": "visits", "_g": "gaps", "_l": "loitering", "_d": "draught_changes", "_y": "voyages"}
    con.register("_cand", cand.select(["mmsi", "last_us", "tail_us"]))
    con.register("_as", last_stops if last_stops is not None else _NO_STOPS)
    for alias, name in names.items():
        con.register(alias, old[name])
    try:
        h = con.sql(_HORIZON_SQL.format(reach=reach, stops=STOP_CLASSES)).to_arrow_table()
    finally:
        for alias in (*names, "_cand", "_as"):
            con.unregister(alias)
    by = dict(zip(h.column("mmsi").to_pylist(), h.column("h").to_pylist(), strict=True))
    return np.asarray([by[m] for m in cand.column("mmsi").to_pylist()], dtype=np.int64)


STOP_CLASSES = "('port_call', 'short_stop')"
"""Visit classes with a stop: a new voyage may start at the vessel's last one."""
_NO_STOPS = pa.table({"mmsi": pa.array([], pa.int64()), "s": pa.array([], pa.int64())})

_HORIZON_SQL = """
WITH c AS (SELECT mmsi, least(last_us - {reach}, tail_us) AS te FROM _cand),
ev AS (
    SELECT mmsi, epoch_us(arrival_ts) AS s, epoch_us(departure_ts) AS e FROM _v
    UNION ALL SELECT mmsi, epoch_us(start_ts), epoch_us(end_ts) FROM _g
    UNION ALL SELECT mmsi, epoch_us(start_ts), epoch_us(end_ts) FROM _l
    UNION ALL SELECT mmsi, epoch_us(ts), epoch_us(ts) FROM _d
),
h1 AS (SELECT c.mmsi, least(c.te, min(ev.s)) AS h FROM c LEFT JOIN ev ON ev.mmsi = c.mmsi AND ev.e >= c.te
       GROUP BY c.mmsi, c.te),
stop AS (SELECT mmsi, max(s) AS s FROM (
             SELECT mmsi, epoch_us(arrival_ts) AS s FROM _v WHERE visit_class IN {stops}
             UNION ALL SELECT mmsi, s FROM _as) GROUP BY mmsi),
h2 AS (SELECT h1.mmsi, least(h1.h, any_value(stop.s), min(epoch_us(y.departure_ts))) AS h
       FROM h1 LEFT JOIN stop ON stop.mmsi = h1.mmsi
       LEFT JOIN _y y ON y.mmsi = h1.mmsi AND epoch_us(y.arrival_ts) >= h1.h
       GROUP BY h1.mmsi, h1.h),
h3 AS (SELECT h2.mmsi, least(h2.h, min(epoch_us(v.arrival_ts))) AS h
       FROM h2 LEFT JOIN _v v ON v.mmsi = h2.mmsi AND epoch_us(v.departure_ts) >= h2.h
       GROUP BY h2.mmsi, h2.h)
SELECT mmsi, h FROM h3
"""


# --- the re-analysis --------------------------------------------------------------------------------------
@dataclass
class Rows:
    """The positions and static reports of some vessels, from their cuts on."""

    pos: pa.Table
    sta: pa.Table


def read_rows(con: duckdb.DuckDBPyConnection, snap: Snapshot, vessels: pa.Table) -> Rows:
    """Positions of ``vessels`` (mmsi, cut_us, first_us, new_min) from each cut on (a whole vessel: from its
    first row), in kernel order, and their static reports from the cut on plus the last draught report
    before it (the draught in force at the cut). Only the position files from the earliest day needed."""
    snap.view(con, "_rows_pos", "positions", since=_earliest(vessels))
    snap.view(con, "_rows_sta", "statics")
    con.register("_cut", vessels.select(["mmsi", "cut_us"]))
    try:
        pos = con.sql(
            "SELECT p.mmsi, p.ts, p.lat, p.lon, p.sog_kn FROM _rows_pos p JOIN _cut c USING (mmsi) "
            "WHERE epoch_us(p.ts) >= c.cut_us ORDER BY p.mmsi, p.ts, p.lat, p.lon"
        ).to_arrow_table()
        sta = con.sql(_STATICS_SQL).to_arrow_table()
    finally:
        con.unregister("_cut")
    return Rows(pos, sta)


def _earliest(vessels: pa.Table) -> int:
    """The earliest time any of ``vessels`` is read from: its cut, else its first analysed row, else its
    first new row (a vessel never analysed has only new rows)."""
    cut = np.asarray(vessels.column("cut_us").to_numpy(), np.int64)
    first = np.asarray(vessels.column("first_us").fill_null(WHOLE_CUT).to_numpy(), np.int64)
    new = np.asarray(vessels.column("new_min").to_numpy(), np.int64)
    known = np.where(first != WHOLE_CUT, np.minimum(first, new), new)
    return int(np.where(cut != WHOLE_CUT, cut, known).min()) if len(cut) else 0


_STATICS_SQL = """
    SELECT s.mmsi, s.ts, s.draught_m, s.ship_type FROM _rows_sta s JOIN _cut c USING (mmsi)
    WHERE epoch_us(s.ts) >= c.cut_us
    UNION ALL
    SELECT mmsi, ts, draught_m, ship_type FROM (
        SELECT s.mmsi, s.ts, s.draught_m, s.ship_type,
               row_number() OVER (PARTITION BY s.mmsi ORDER BY s.ts DESC) AS k
        FROM _rows_sta s JOIN _cut c USING (mmsi)
        WHERE epoch_us(s.ts) < c.cut_us AND s.draught_m > 0)
    WHERE k = 1
    ORDER BY mmsi, ts
"""


def per_row(mmsi: np.ndarray, keys: np.ndarray, values: np.ndarray, default: int) -> np.ndarray:
    """``values`` of each row's vessel (``keys`` sorted unique mmsi), ``default`` for vessels not in keys."""
    at = np.searchsorted(keys, mmsi)
    ok = at < len(keys)
    ok[ok] = keys[at[ok]] == mmsi[ok]
    out = np.full(len(mmsi), default, dtype=np.int64)
    out[ok] = values[at[ok]]
    return out


def until(rows: Rows, keys: np.ndarray, last: np.ndarray) -> Rows:
    """The rows of the vessels ``keys`` (sorted) up to each one's last analysed time ``last``: the old tail."""

    def cut(t: pa.Table) -> pa.Table:
        lim = per_row(np.asarray(t.column("mmsi").to_numpy(), np.int64), keys, last, WHOLE_CUT)
        return t.filter(pa.array(ts_us(t.column("ts")) <= lim))

    return Rows(cut(rows.pos), cut(rows.sta))


def pair_counts(pos: pa.Table, th: Thresholds, keys: np.ndarray, after: np.ndarray) -> dict[int, int]:
    """Straight fast pairs per vessel (:func:`supplyline.detect.segments.fast_pairs`) whose last row is
    after ``after`` of its vessel in ``keys`` (sorted; all pairs of vessels not in ``keys``)."""
    if pos.num_rows < 3:
        return {}
    pos = sorted_positions(pos)
    mmsi = np.asarray(pos.column("mmsi").to_numpy(), np.int64)
    ts = ts_us(pos.column("ts"))
    lat, lon = pos.column("lat").to_numpy(), pos.column("lon").to_numpy()
    d1 = step_km(lat, lon)
    bad = bad_steps(mmsi, ts, d1, float(th.max_implied_speed_kn), th)
    p = fast_pairs(ts, lat, lon, d1, th, bad)
    p = p[ts[p + 2] > per_row(mmsi[p], keys, after, WHOLE_CUT)]
    vessels, n = np.unique(mmsi[p], return_counts=True)
    return dict(zip(vessels.tolist(), n.tolist(), strict=True))


__all__ = ["VESSEL_STATE", "WHOLE_CUT", "Kernels", "Plan", "Rows", "empty_state", "pair_counts", "per_row", "plan",
           "read_rows", "until"]  # fmt: skip
