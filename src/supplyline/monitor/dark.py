"""Which silences near a watched place are worth a `dark_near_place` alert: the gap's context.

A gap is only a silence between two positions. On real AIS most long ones are not a transponder switched
off: a ferry moored overnight at its terminal, a vessel reported every few hours by a sparse feed, a hole in
reception. Each gap gets a class from what was known when it started (causal, so the alert can be raised
``dark_min_h`` into the silence):

* ``sparse``: the vessel's own reports in the ``context_h`` before the gap were rarer than one per
  ``dark_min_h / sparse_factor``: a silence this long is its normal sampling, not a switch-off.
* ``moored``: the vessel came into the silence slower than ``moored_kn`` (its speed from the fix two
  reports before the last, within ``still_h``): berthed, berthing or at anchor; or the silence starts
  within ``berth_km`` of where the vessel already was ``berth_gap_h`` to ``berth_lookback_h`` earlier (its
  own berth: a harbour boat that arrives at speed and powers down for the night), or inside the place's
  outer radius (``r_out_m``) while heading in (closer to its centre than two fixes before: berthing, not
  leaving). A vessel silent in port is not dark. It is alerted only if it **reappears**
  ``left_km`` or more away (it left while silent), at the time it reappears.
* ``coverage``: nobody else was heard near its ends either (``gaps.likely``): maybe a reception hole, but in
  a quiet sea nobody else is the norm, so it is alerted like ``dark``, with the class in the details.
* ``dark``: none of these: alerted ``dark_min_h`` into the silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from supplyline.detect._sql import hav_km

CONTEXT = pa.schema(
    [
        pa.field("gap_id", pa.string()),
        pa.field("n_before", pa.int64()),  # the vessel's own positions in the context_h before the gap
        # speed (knots) into the gap's start fix from the fix two reports earlier (or the earliest within
        # still_h); null when no earlier fix is that recent
        pa.field("speed_before_kn", pa.float64()),
        pa.field("in_place", pa.bool_()),  # the gap starts inside its near place's outer radius (r_out_m)
        pa.field("arriving", pa.bool_()),  # closer to the place's centre at the start than two fixes before
        pa.field("own_berth", pa.bool_()),  # the vessel was within berth_km of the gap's start earlier
    ]
)


@dataclass(frozen=True)
class DarkConfig:
    """Settings of the dark-gap classes (units in names); defaults documented in docs/monitor.md."""

    context_h: float = 24.0  # how far back the vessel's own sampling rate is measured
    sparse_factor: float = 10.0  # sparse if fewer than this many own reports expected in dark_min_h
    still_h: float = 0.5  # the stretch before the gap that shows whether the vessel was moving
    moored_kn: float = 2.0  # slower than this into the silence: moored, berthing or at anchor
    left_km: float = 10.0  # a moored silence that ends this far away was a voyage while silent (nearer:
    # a late switch-on after leaving the berth, ~30 min at 10 kn; routine in harbours)
    berth_km: float = 1.0  # a gap starting this close to where the vessel was before starts at its own berth
    berth_lookback_h: float = 72.0  # ... before, within this many hours
    berth_gap_h: float = 2.0  # ... but not in the last hours (that is the arrival itself)
    berth_min_fixes: int = 5  # ... with at least this many fixes there (passing by gives one or two)
    berth_min_h: float = 0.33  # ... spanning at least this long


def gap_context(
    con: duckdb.DuckDBPyConnection,
    gaps: pa.Table,
    cfg: DarkConfig,
    places: pa.Table | None = None,
    positions: str = "positions",
) -> pa.Table:
    """Per gap, from ``positions`` (a view or table of ``con``) before its start: the vessel's own report
    count in ``context_h``, how far it moved in ``still_h``, and whether it starts inside its near place
    (``places``: place_id, lat, lon, r_out_m; None: never) (CONTEXT)."""
    if gaps.num_rows == 0:
        return CONTEXT.empty_table()
    if places is None:
        empty = pa.array([], pa.float64())
        places = pa.table(
            {"place_id": pa.array([], pa.string()), "lat": empty, "lon": empty, "r_out_m": empty}
        )
    cols = ["gap_id", "mmsi", "start_ts", "start_lat", "start_lon", "near_start_place"]
    con.register("_dark_gaps", gaps.select(cols))
    con.register("_dark_places", places.select(["place_id", "lat", "lon", "r_out_m"]))
    still_s, context_s = int(cfg.still_h * 3600), int(cfg.context_h * 3600)
    berth_s, berth_gap_s = int(cfg.berth_lookback_h * 3600), int(cfg.berth_gap_h * 3600)
    dist = hav_km("g.start_lat", "g.start_lon", "p.lat", "p.lon")
    inside = f"1000 * {hav_km('g.start_lat', 'g.start_lon', 'pl.lat', 'pl.lon')} <= pl.r_out_m"
    try:
        out = con.sql(
            f"""WITH p AS (
                  SELECT g.gap_id, p.ts, p.lat, p.lon, {dist} AS km, epoch(g.start_ts) - epoch(p.ts) AS dt_s,
                         row_number() OVER (PARTITION BY g.gap_id ORDER BY p.ts DESC) AS rn
                  FROM _dark_gaps g JOIN {positions} p
                    ON p.mmsi = g.mmsi AND p.ts <= g.start_ts AND p.ts >= g.start_ts - INTERVAL {context_s} SECONDS),
                c AS (
                  SELECT gap_id, count(*) AS n_before,
                         arg_max(km / 1.852 / dt_s * 3600, rn) FILTER (WHERE rn BETWEEN 2 AND 3 AND dt_s <= {still_s}
                                                                      AND dt_s > 0) AS speed_before_kn,
                         arg_max(lat, rn) FILTER (WHERE rn BETWEEN 2 AND 3 AND dt_s <= {still_s}) AS lat1,
                         arg_max(lon, rn) FILTER (WHERE rn BETWEEN 2 AND 3 AND dt_s <= {still_s}) AS lon1
                  FROM p GROUP BY gap_id),
                b AS (
                  SELECT g.gap_id, count(*) AS n_berth, epoch(max(p.ts)) - epoch(min(p.ts)) AS span_s
                  FROM _dark_gaps g JOIN {positions} p
                    ON p.mmsi = g.mmsi AND p.ts < g.start_ts - INTERVAL {berth_gap_s} SECONDS
                   AND p.ts >= g.start_ts - INTERVAL {berth_s} SECONDS
                  WHERE {dist} <= {cfg.berth_km}
                  GROUP BY g.gap_id)
                SELECT g.gap_id, coalesce(c.n_before, 1) AS n_before, c.speed_before_kn,
                       coalesce({inside}, false) AS in_place,
                       coalesce({hav_km("g.start_lat", "g.start_lon", "pl.lat", "pl.lon")}
                                < {hav_km("c.lat1", "c.lon1", "pl.lat", "pl.lon")}, false) AS arriving,
                       coalesce(b.n_berth >= {cfg.berth_min_fixes} AND b.span_s >= {int(cfg.berth_min_h * 3600)}, false)
                         AS own_berth
                FROM _dark_gaps g LEFT JOIN c USING (gap_id) LEFT JOIN b USING (gap_id)
                LEFT JOIN _dark_places pl ON pl.place_id = g.near_start_place"""
        ).to_arrow_table()
    finally:
        con.unregister("_dark_gaps")
        con.unregister("_dark_places")
    return out.cast(CONTEXT)


def classify(gaps: pa.Table, context: pa.Table | None, dark_min_h: float, cfg: DarkConfig) -> np.ndarray:
    """The class of each gap (``sparse`` / ``moored`` / ``coverage`` / ``dark``); without context only
    ``coverage`` and ``dark`` can be told apart."""
    n = gaps.num_rows
    likely = np.array(gaps["likely"].to_pylist() if n else [], dtype=object)
    out = np.where(likely == "coverage", "coverage", "dark").astype(object)
    if context is None or n == 0:
        return out
    at = {g: i for i, g in enumerate(context["gap_id"].to_pylist())}
    rows = np.array([at.get(g, -1) for g in gaps["gap_id"].to_pylist()], dtype=np.int64)
    have = rows >= 0
    n_before = np.where(have, context["n_before"].to_numpy()[np.maximum(rows, 0)], 1)
    speed = context["speed_before_kn"].to_numpy(zero_copy_only=False).astype(np.float64)
    speed_kn = np.where(have, np.append(speed, np.nan)[np.where(have, rows, -1)], np.nan)
    in_place = np.where(have, context["in_place"].to_numpy(zero_copy_only=False)[np.maximum(rows, 0)], False)
    # reports per hour before the gap (the gap's own start report excluded); sparse below sparse_factor
    # expected reports in dark_min_h
    rate_h = (n_before - 1) / cfg.context_h
    sparse = rate_h * dark_min_h < cfg.sparse_factor
    own_berth = np.where(
        have, context["own_berth"].to_numpy(zero_copy_only=False)[np.maximum(rows, 0)], False
    )
    arriving = np.where(have, context["arriving"].to_numpy(zero_copy_only=False)[np.maximum(rows, 0)], False)
    # unknown speed (no recent fix) is not evidence; inside the place and heading in is berthing
    moored = (speed_kn < cfg.moored_kn) | own_berth | (in_place & arriving)
    return np.where(sparse, "sparse", np.where(moored, "moored", out)).astype(object)
