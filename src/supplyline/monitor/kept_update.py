"""One update of the kept position facts (:mod:`.kept`) from the new positions, and the facts it gives."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline.detect.identity import EVENTS, IdentityThresholds, find_identities
from supplyline.engine.snapshot import US_PER_DAY, Snapshot, day_of
from supplyline.errors import StoreError
from supplyline.monitor import identity_state as ids
from supplyline.monitor.dark import CONTEXT, DarkConfig, gap_context
from supplyline.monitor.facts import (
    RECEIVED,
    ROWS_PER_PASS,
    SEEN,
    PositionFacts,
    received_of,
    reception_sql,
    sort_identity,
)
from supplyline.monitor.kept import (
    GAP_KEY,
    KEPT_CONTEXT,
    RECEPTION,
    US_PER_H,
    Kept,
    RunStats,
    commit,
    load,
    params_hash,
)
from supplyline.sqlquote import literal
from supplyline.store import Store

WHOLE_FROM = -(2**62)
"""Read-from time of a vessel re-read from its first position."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def refresh(
    store: Store,
    voyages: pa.Table,
    gaps: pa.Table,
    dark: DarkConfig,
    places: pa.Table | None,
    *,
    rows_per_pass: int = ROWS_PER_PASS,
) -> tuple[PositionFacts, RunStats]:
    """Bring the kept facts up to the store's committed inputs (under its lock) and return them."""
    params, t0 = params_hash(places, dark), time.perf_counter()
    with store.lock():
        snap = Snapshot.take(store)
        kept, why = load(store, snap, params)
        stats = RunStats(rebuilt=why)
        con = _connect(store)
        try:
            new = snap.inputs - kept.inputs
            touched = pa.table({"mmsi": pa.array([], pa.int64()), "new_min_us": pa.array([], pa.int64())})
            if new:
                stats.new_inputs = len(new)
                snap.view(con, "_mk_new", "positions", inputs=new)
                touched = _add_positions(con, store, snap, kept, stats, rows_per_pass)
                kept.inputs = set(snap.inputs)
            _update_contexts(con, snap, kept, gaps, touched, dark, places, stats)
            commit(store, kept, snap, params)
            facts = _facts(con, store, kept, voyages)
            stats.facts_s = round(time.perf_counter() - t0, 3)
            return facts, stats
        finally:
            con.close()


def _connect(store: Store) -> duckdb.DuckDBPyConnection:
    """A bare connection (views over just the files each step needs are made on it)."""
    con = store.connect(memory_limit="512MB", threads=1, views=False)
    con.execute(f"SET temp_directory = {literal(str(store.scratch_dir('duckdb-tmp')))}")
    return con


# --- positions -------------------------------------------------------------------------------------------
def _add_positions(
    con: duckdb.DuckDBPyConnection, store: Store, snap: Snapshot, kept: Kept, stats: RunStats, per_pass: int
) -> pa.Table:
    """Merge the new positions (view ``_mk_new``) into ``kept``; returns each touched vessel's earliest
    new time (mmsi, new_min_us)."""
    n, t0, t1 = con.execute("SELECT count(*), epoch_us(min(ts)), epoch_us(max(ts)) FROM _mk_new").fetchall()[
        0
    ]
    stats.new_positions = int(n)
    if t0 is not None:
        lo, hi = kept.span
        kept.span = (min(t0, lo) if lo is not None else t0, max(t1, hi) if hi is not None else t1)
    kept.reception = _reception_days(con, store, kept.rebuilt)
    touched = con.sql(
        "SELECT mmsi, epoch_us(min(ts)) AS new_min_us FROM _mk_new GROUP BY mmsi"
    ).to_arrow_table()
    passes = max(1, -(-int(n) // per_pass))
    for k in range(passes):
        _identity_pass(con, snap, kept, (k, passes), stats)
    return touched


def _reception_days(con: duckdb.DuckDBPyConnection, store: Store, rebuilt: bool) -> dict[str, pa.Table]:
    """The reception day parts the new positions touch, merged with their kept rows (the bucket at each
    end of the new rows may hold kept positions too)."""
    new = con.sql(reception_sql("_mk_new")).to_arrow_table().cast(RECEIVED)
    if new.num_rows == 0:
        return {}
    day = pc.divide(pc.cast(pc.cast(new["ts"], pa.int64()), pa.int64()), US_PER_DAY)
    out = {}
    for d in pc.unique(day).to_pylist():
        part = "d" + day_of(int(d) * US_PER_DAY).replace("-", "")
        rows = [new.filter(pc.equal(day, d))]
        old = None if rebuilt else store.read_part(RECEPTION, part)
        if old is not None:
            rows.append(old.cast(RECEIVED))
        con.register("_mk_bucket", pa.concat_tables(rows))
        out[part] = (
            con.sql(f"{reception_sql('_mk_bucket')} ORDER BY mmsi, ts").to_arrow_table().cast(RECEIVED)
        )
        con.unregister("_mk_bucket")
    return out


_APPEND_SQL = """
    WITH n AS (SELECT mmsi, epoch_us(ts) AS t, lat, lon FROM _mk_new WHERE mmsi % {passes} = {k})
    SELECT mmsi, t AS ts, lat, lon, true AS new FROM n
    UNION ALL
    SELECT mmsi, last_us, last_lat, last_lon, false FROM _mk_state WHERE mmsi IN (SELECT DISTINCT mmsi FROM n)
    ORDER BY mmsi, ts, lat, lon, new
"""


def _identity_pass(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, kept: Kept, share: tuple[int, int], stats: RunStats
) -> None:
    """The new rows of the MMSIs ``mmsi % passes == k`` after each known vessel's last fix: counts for most
    vessels, a tail or the whole history re-read for those that need it (:mod:`.identity_state`)."""
    th = IdentityThresholds()
    con.register("_mk_state", kept.vessels.select(["mmsi", "last_us", "last_lat", "last_lon"]))
    try:
        p = con.sql(_APPEND_SQL.format(k=share[0], passes=share[1])).fetchnumpy()
    finally:
        con.unregister("_mk_state")
    rows = _rows(p, np.asarray(p["new"], bool))
    if len(rows.ts) == 0:
        return
    starts, _ = ids.groups(rows.mmsi)
    vessel = rows.mmsi[starts]
    old, known = _align(kept.vessels, vessel)
    summary = ids.summarise(rows, np.where(known, _col(old, "n_fixes") - 1, 0), old, th)
    new_min = np.minimum.reduceat(np.where(rows.new, rows.ts, np.iinfo(np.int64).max), starts)
    new_jumps = _col(summary, "n_jumps") - _col(old, "n_jumps")
    late = known & (new_min <= _col(old, "last_us"))
    shared_before = np.asarray(old.column("shared").to_numpy(zero_copy_only=False), bool)
    may_share = shared_before | ids.enough_jumps(summary, th)
    whole = late | (known & (((new_jumps > 0) & may_share) | ids.may_turn_shared(summary, shared_before, th)))
    tail = known & ~whole & (new_jumps > 0)
    fresh = ~known
    states, events = [summary.filter(pa.array(~whole & ~tail))], []
    if fresh.any():
        f = rows.take(np.isin(rows.mmsi, vessel[fresh]))
        events.append(find_identities(f.mmsi, f.ts, f.lat, f.lon, th).events)
    for todo, step in ((tail, _tails), (whole, _wholes)):
        if todo.any():
            s, e = step(con, snap, old.filter(pa.array(todo)), th, stats)
            states.append(s)
            events.append(e)
    stats.vessels = _count(stats.vessels, fresh=fresh, tail=tail, whole=whole, counts=~whole & ~tail & known)
    _merge(kept, vessel, vessel[whole], states, events)


def _rows(p: dict[str, np.ndarray], new: np.ndarray) -> ids.Rows:
    return ids.Rows(
        np.asarray(p["mmsi"], np.int64), np.asarray(p["ts"], np.int64),
        np.asarray(p["lat"], np.float64), np.asarray(p["lon"], np.float64), new,
    )  # fmt: skip


def _col(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t.column(name).to_numpy(), np.int64)


def _count(acc: dict[str, int], **masks: np.ndarray) -> dict[str, int]:
    return {k: acc.get(k, 0) + int(m.sum()) for k, m in masks.items()}


def _align(state: pa.Table, mmsi: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """The state rows of ``mmsi`` (sorted) in that order, "no state" rows for vessels without one; and
    which had one. ``state`` is sorted by mmsi."""
    have = _col(state, "mmsi")
    at = np.searchsorted(have, mmsi)
    known = at < len(have)
    known[known] = have[at[known]] == mmsi[known]
    rows = pa.concat_tables([state, ids.empty_state(1)]).take(pa.array(np.where(known, at, len(have))))
    return rows, known


def _history(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, mmsi: np.ndarray, from_us: np.ndarray
) -> ids.Rows:
    """The stored positions of ``mmsi`` from each one's ``from_us`` on, sorted; only the files from the
    earliest day needed."""
    lo = int(from_us.min())
    snap.view(con, "_mk_hist", "positions", since=lo if lo > WHOLE_FROM else None)
    con.register("_mk_from", pa.table({"mmsi": mmsi, "from_us": from_us}))
    try:
        p = con.sql(
            "SELECT p.mmsi, epoch_us(p.ts) AS ts, p.lat, p.lon FROM _mk_hist p JOIN _mk_from f USING (mmsi) "
            "WHERE epoch_us(p.ts) >= f.from_us ORDER BY 1, 2, 3, 4"
        ).fetchnumpy()
    finally:
        con.unregister("_mk_from")
    return _rows(p, np.ones(len(p["ts"]), bool))


def _tails(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, old: pa.Table, th: IdentityThresholds, stats: RunStats
) -> tuple[pa.Table, pa.Table]:
    """Vessels re-read from the fix before their last jump (their last fix if none): their state, and the
    spoofed windows a new fix completed."""
    last, run_from = _col(old, "last_us"), _col(old, "run_from_us")
    rows = _history(con, snap, _col(old, "mmsi"), np.where(run_from >= 0, run_from, last))
    stats.rows_read += len(rows.ts)
    starts, grp = ids.groups(rows.mmsi)
    if len(starts) != old.num_rows:
        raise StoreError(
            "the monitor's kept facts do not match the stored positions; run `supplyline monitor --full`, "
            "or delete the store's tables/monitor_kept* folders so they are rebuilt"
        )
    rows.new = rows.ts > last[grp]
    base = _col(old, "n_fixes") - np.bincount(grp, weights=~rows.new, minlength=len(starts)).astype(np.int64)
    events = find_identities(rows.mmsi, rows.ts, rows.lat, rows.lon, th).events
    looks_shared = np.isin(
        _col(old, "mmsi"), _col(events.filter(pc.equal(events["kind"], "shared_mmsi")), "mmsi")
    )
    if looks_shared.any():  # the tail alone looks shared (the whole is not): judge those whole
        parts = [_wholes(con, snap, old.filter(pa.array(looks_shared)), th, stats)]
        if not looks_shared.all():
            parts.append(_tails(con, snap, old.filter(pa.array(~looks_shared)), th, stats))
        return pa.concat_tables([p[0] for p in parts]), pa.concat_tables([p[1] for p in parts])
    if events.num_rows:
        at = np.searchsorted(_col(old, "mmsi"), _col(events, "mmsi"))
        detected = np.asarray(pc.cast(events["detected_ts"], pa.int64()).to_numpy(), np.int64)
        events = events.filter(pa.array(detected > last[at]))
    state = ids.summarise(rows, base, old, th)
    for name in ids.SIDES:  # the tail does not hold the tracks' earlier steps (not needed below min_switches)
        state = state.set_column(
            state.schema.get_field_index(name), name, pa.array(np.full(len(starts), ids.UNKNOWN))
        )
    return state, events


def _wholes(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, old: pa.Table, th: IdentityThresholds, stats: RunStats
) -> tuple[pa.Table, pa.Table]:
    """Vessels judged again over their whole history: their state and events."""
    mmsi = _col(old, "mmsi")
    rows = _history(con, snap, mmsi, np.full(len(mmsi), WHOLE_FROM, np.int64))
    stats.rows_read += len(rows.ts)
    starts, _ = ids.groups(rows.mmsi)
    state = ids.summarise(rows, np.zeros(len(starts), np.int64), ids.empty_state(len(starts)), th)
    return state, find_identities(rows.mmsi, rows.ts, rows.lat, rows.lon, th).events


def _merge(
    kept: Kept, touched: np.ndarray, redone: np.ndarray, states: list[pa.Table], events: list[pa.Table]
) -> None:
    """Replace the touched vessels' state rows and the re-judged vessels' events; set ``shared``."""
    ev = kept.events.filter(pa.array(~np.isin(_col(kept.events, "mmsi"), redone)))
    kept.events = pa.concat_tables([ev, *(e.cast(EVENTS) for e in events)])
    shared = kept.events.filter(pc.equal(kept.events["kind"], "shared_mmsi"))["mmsi"]
    new = pa.concat_tables([s.cast(ids.VESSELS) for s in states])
    new = new.set_column(new.schema.get_field_index("shared"), "shared", pc.is_in(new["mmsi"], shared))
    keep = kept.vessels.filter(pa.array(~np.isin(_col(kept.vessels, "mmsi"), touched)))
    kept.vessels = pa.concat_tables([keep, new]).sort_by("mmsi")


# --- gap contexts ----------------------------------------------------------------------------------------
_KEEP_SQL = """
    SELECT c.* FROM _mk_ctx c JOIN _mk_gaps g
      ON g.gap_id = c.gap_id AND g.mmsi = c.mmsi AND g.start_ts = c.start_ts AND g.start_lat = c.start_lat
     AND g.start_lon = c.start_lon AND g.near_start_place IS NOT DISTINCT FROM c.near_start_place
    WHERE NOT EXISTS (SELECT 1 FROM _mk_touched t WHERE t.mmsi = c.mmsi AND t.new_min_us <= epoch_us(c.start_ts))
"""


def _update_contexts(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    kept: Kept,
    gaps: pa.Table,
    touched: pa.Table,
    dark: DarkConfig,
    places: pa.Table | None,
    stats: RunStats,
) -> None:
    """Keep the contexts of unchanged gaps; compute the rest from the positions before them."""
    for name, table in (
        ("_mk_gaps", gaps.select(GAP_KEY)),
        ("_mk_ctx", kept.contexts),
        ("_mk_touched", touched),
    ):
        con.register(name, table)
    try:
        keep = con.sql(_KEEP_SQL).to_arrow_table().cast(KEPT_CONTEXT)
    finally:
        for name in ("_mk_gaps", "_mk_ctx", "_mk_touched"):
            con.unregister(name)
    todo = gaps.filter(pc.invert(pc.is_in(gaps["gap_id"], keep["gap_id"])))
    stats.contexts = todo.num_rows
    parts = [keep]
    if todo.num_rows:
        reach = int(max(dark.context_h, dark.berth_lookback_h) * US_PER_H)
        since = int(pc.min(pc.cast(todo["start_ts"], pa.int64())).as_py()) - reach
        snap.view(con, "_mk_ctx_pos", "positions", since=since)
        ctx = gap_context(con, todo, dark, places, positions="_mk_ctx_pos")
        keyed = ctx.join(todo.select(GAP_KEY), "gap_id")
        parts.append(keyed.select(KEPT_CONTEXT.names).cast(KEPT_CONTEXT))
    kept.contexts = pa.concat_tables(parts)


# --- the facts -------------------------------------------------------------------------------------------
def _facts(con: duckdb.DuckDBPyConnection, store: Store, kept: Kept, voyages: pa.Table) -> PositionFacts:
    """The kept facts in the form :func:`supplyline.monitor.facts.whole_store_facts` gives them."""
    v = kept.vessels
    seen = pa.table(
        [v["mmsi"], pc.cast(v["first_seen_us"], pa.int64()).cast(SEEN.field(1).type)], schema=SEEN
    )
    files = [str(f) for f in store.files(RECEPTION)]
    received = None
    if files and voyages.num_rows:
        con.execute(
            f"CREATE OR REPLACE VIEW _mk_rec AS SELECT * FROM read_parquet([{', '.join(literal(f) for f in files)}])"
        )
        received = received_of(con, "_mk_rec", voyages)
    return PositionFacts(
        span=tuple(None if t is None else _EPOCH + timedelta(microseconds=t) for t in kept.span),  # type: ignore[arg-type]
        seen=seen,
        identity_events=sort_identity(kept.events),
        received=received,
        gap_context=kept.contexts.select(CONTEXT.names).cast(CONTEXT),
    )


__all__ = ["WHOLE_FROM", "refresh"]
