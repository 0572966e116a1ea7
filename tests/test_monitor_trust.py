"""Alerts an analyst can act on, with known answers on hand-built data: a port shift is one route_shift,
halt messages give the computed probability, and a silence is dark only by its context."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.ids import stable_id
from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, evaluate
from supplyline.monitor.cadence import CadenceConfig
from supplyline.monitor.dark import DarkConfig, classify, gap_context
from tests.test_estimate import _full

T0 = datetime(2023, 8, 1, tzinfo=UTC)
CFG = MonitorConfig(cadence=CadenceConfig(daily_cycle=False, model="poisson"))


def _voyage_rows(legs: list[tuple[str, str, str, int, datetime]]) -> pa.Table:
    return pa.table(
        {
            "voyage_id": [stable_id("voyage", m, t) for _, _, _, m, t in legs],
            "mmsi": pa.array([m for *_, m, _ in legs], pa.int64()),
            "origin_id": [f"case:{o}" for _, o, _, _, _ in legs],
            "origin_name": [o.title() for _, o, _, _, _ in legs],
            "destination_id": [f"case:{d}" for _, _, d, _, _ in legs],
            "destination_name": [d.title() for _, _, d, _, _ in legs],
            "departure_ts": pa.array([t for *_, t in legs], schema.TS),
            "arrival_ts": pa.array([t + timedelta(days=1) for *_, t in legs], schema.TS),
            "route": [r for r, *_ in legs],
        }
    )


def _shuttle() -> MonitorInputs:
    """Rajin -> Dunai and back every 4 days for 100 days, then the same to Vostochny for 80 days."""
    legs = []
    for i in range(45):
        t = T0 + timedelta(days=4 * i)
        port = "dunai" if i < 25 else "vostochny"
        legs.append((f"rajin-{port}", "rajin", port, 1 + i % 2, t))
        legs.append((f"{port}-rajin", port, "rajin", 1 + i % 2, t + timedelta(days=2)))
    routes = ["rajin-dunai", "dunai-rajin", "rajin-vostochny", "vostochny-rajin"]
    end = T0 + timedelta(days=185)
    return MonitorInputs(voyages=_voyage_rows(legs), start=T0, end=end, routes=routes)


def test_port_shift_is_one_route_shift_not_two_halts() -> None:
    alerts = evaluate(_shuttle(), cfg=CFG).to_pylist()
    kinds = [(a["kind"], a["route"]) for a in alerts if a["kind"] in ("halt", "route_shift", "resumption")]
    assert kinds == [("route_shift", "rajin-dunai")]
    (s,) = [a for a in alerts if a["kind"] == "route_shift"]
    d = json.loads(s["details"])
    # the last Rajin -> Dunai departure is on day 96 (5 Nov 2023); the return leg's halt joins the shift
    assert d["last_departure_ts"].startswith("2023-11-05") and d["to_route"] == "rajin-vostochny"
    assert (d["old_place"], d["new_place"]) == ("case:dunai", "case:vostochny")
    assert s["probability"] == pytest.approx(0.01) and d["threshold"] == 0.01
    assert s["message"].startswith("rajin-dunai -> rajin-vostochny: traffic moved from Dunai to Vostochny.")
    assert "= 0.01 (alert below 0.01)" in s["message"] and d["n_taken"] >= 5


def test_a_halt_without_a_sibling_route_stays_a_halt() -> None:
    inputs = _shuttle()
    v = inputs.voyages
    keep = [r.startswith(("rajin-dunai", "dunai-rajin")) for r in v["route"].to_pylist()]
    inputs.voyages = v.filter(pa.array(keep))
    halts = [a for a in evaluate(inputs, cfg=CFG).to_pylist() if a["kind"] == "halt"]
    assert {a["route"] for a in halts} >= {"rajin-dunai", "dunai-rajin"}
    assert all(a["probability"] == pytest.approx(0.01) for a in halts)


def test_halt_p_per_route_day_and_day_types() -> None:
    # Hourly departures Mon 1 Jan .. Fri 5 Jan 2024 18:00, then nothing until Monday 8 Jan 06:00.
    deps = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(4 * 24 + 19)]
    deps.append(datetime(2024, 1, 8, 6, tzinfo=UTC))
    legs = [("a-b", "a", "b", 7, t) for t in deps]
    inputs = MonitorInputs(voyages=_voyage_rows(legs), start=deps[0], end=deps[-1], routes=["a-b"])
    flat = CadenceConfig(daily_cycle=False, model="poisson")
    (h,) = [a for a in evaluate(inputs, cfg=MonitorConfig(cadence=flat)).to_pylist() if a["kind"] == "halt"]
    # the window has never seen a weekend: no verdict on Sat/Sun, the halt waits for Monday 00:00, and its P
    # is the one computed then (far below the threshold, which is halt_p x 1 h / 24 h per silence)
    d = json.loads(h["details"])
    assert h["ts"] == datetime(2024, 1, 8, tzinfo=UTC)
    assert d["threshold"] == pytest.approx(0.01 / 24, rel=0.02) and h["probability"] < 1e-10
    assert f"= {h['probability']:.3g} (alert below" in h["message"]
    blind = MonitorConfig(cadence=CadenceConfig(daily_cycle=False, model="poisson", day_types=False))
    (b,) = [a for a in evaluate(inputs, cfg=blind).to_pylist() if a["kind"] == "halt"]
    # blind to day types it is called on Saturday night, 8 h into the weekend
    assert datetime(2024, 1, 5, 18, tzinfo=UTC) < b["ts"] < datetime(2024, 1, 6, 6, tzinfo=UTC)
    assert b["probability"] == pytest.approx(0.01 / 24, rel=0.05)


def _pos(mmsi: int, t0: datetime, minutes: list[float], lat: list[float], lon: list[float]) -> pa.Table:
    return pa.table(
        {
            "mmsi": pa.array([mmsi] * len(minutes), pa.int64()),
            "ts": pa.array([t0 + timedelta(minutes=m) for m in minutes], schema.TS),
            "lat": lat,
            "lon": lon,
        }
    )


def test_dark_needs_context_moored_sparse_and_underway() -> None:
    t0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
    n = 60  # an hour of fixes every minute before each gap
    mins = [float(m) for m in range(n)]
    step = 10 * 1.852 / 60 / 111.32  # 10 kn due north, in degrees of latitude per minute
    moving = _pos(1, t0, mins, [40 + step * m for m in mins], [-74.0] * n)
    moored = _pos(2, t0, mins, [40 + step * min(m, 40) for m in mins], [-74.0] * n)  # stopped at minute 40
    sparse = _pos(3, t0, [0.0, 59.0], [40.0, 40.01], [-74.0, -74.0])  # two fixes in 24 h
    positions = pa.concat_tables([moving, moored, sparse])
    start = t0 + timedelta(minutes=59)
    last = {}
    for m in (1, 2, 3):
        own = positions.filter(pa.compute.equal(positions["mmsi"], m))
        last[m] = own.slice(own.num_rows - 1, 1)
    gaps = _full(
        pa.table(
            {
                "gap_id": ["g1", "g2", "g3"],
                "mmsi": pa.array([1, 2, 3], pa.int64()),
                "start_ts": pa.array([start] * 3, schema.TS),
                "end_ts": pa.array([start + timedelta(hours=10)] * 3, schema.TS),
                "duration_h": [10.0] * 3,
                "start_lat": [last[m]["lat"][0].as_py() for m in (1, 2, 3)],
                "start_lon": [-74.0] * 3,
                "dist_km": [150.0, 0.1, 1.0],
                "near_start_place": ["case:x"] * 3,
                "likely": ["disabled"] * 3,
            }
        ),
        schema.GAPS,
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("positions", positions)
    ctx = gap_context(con, gaps, DarkConfig())
    assert classify(gaps, ctx, 6.0, DarkConfig()).tolist() == ["dark", "moored", "sparse"]
    assert ctx["speed_before_kn"].to_pylist()[0] == pytest.approx(10.0, rel=0.01)
    inputs = MonitorInputs(
        voyages=_voyage_rows([]), start=t0, end=t0 + timedelta(days=1), gaps=gaps, gap_context=ctx
    )
    dark = [a for a in evaluate(inputs).to_pylist() if a["kind"] == "dark_near_place"]
    # only the vessel that went silent underway, 6 h in; the moored one reappeared 0.1 km away (< left_km)
    assert [(a["mmsi"], a["ts"]) for a in dark] == [(1, start + timedelta(hours=6))]
    assert json.loads(dark[0]["details"])["gap_class"] == "dark"
    # had the moored vessel reappeared 150 km away, it left while silent: alerted when it reappeared
    moved = gaps.set_column(gaps.schema.get_field_index("dist_km"), "dist_km", pa.array([150.0, 150.0, 1.0]))
    inputs.gaps = moved
    dark = [a for a in evaluate(inputs).to_pylist() if a["kind"] == "dark_near_place"]
    assert [(a["mmsi"], a["ts"]) for a in dark] == [
        (1, start + timedelta(hours=6)),
        (2, start + timedelta(hours=10)),
    ]
    assert "left while dark" in dark[1]["message"] and np.isfinite(dark[0]["ts"].timestamp())
