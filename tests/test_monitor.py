"""Alert rules over hand-built event tables, the incremental store run, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from supplyline import schema
from supplyline.cli import app
from supplyline.ids import stable_id
from supplyline.monitor.alerts import ALL_ROUTES, MonitorConfig, MonitorInputs, evaluate, replay
from supplyline.monitor.cadence import CadenceConfig
from supplyline.monitor.run import run_monitor
from supplyline.store import Store, write_parquet
from tests.test_estimate import _full

START = datetime(2023, 8, 1, tzinfo=UTC)
END = datetime(2024, 3, 31, tzinfo=UTC)
ROUTE = "rajin-dunai"
SHIPS = {"ANGARA": 273100001, "MARIA": 273100002, "MAIA-1": 273100003, "LADY R": 273100004}


def _voyages() -> pa.Table:
    """A shuttle: a departure from Rajin every 5 days, 15 Aug 2023 .. 9 Feb 2024, ships in turn; LADY R joins
    in October; silence; LADY R resumes on 10 Mar 2024 (the shape of the case, not its data)."""
    rows = []
    t = datetime(2023, 8, 15, 6, tzinfo=UTC)
    i = 0
    while t <= datetime(2024, 2, 12, tzinfo=UTC):
        names = ["ANGARA", "MARIA", "MAIA-1"] + (["LADY R"] if t >= datetime(2023, 10, 1, tzinfo=UTC) else [])
        rows.append((SHIPS[names[i % len(names)]], t))
        t += timedelta(days=5)
        i += 1
    rows.append((SHIPS["LADY R"], datetime(2024, 3, 10, 8, tzinfo=UTC)))
    return pa.table(
        {
            "voyage_id": pa.array([stable_id("voyage", m, t) for m, t in rows]),
            "mmsi": pa.array([m for m, _ in rows], pa.int64()),
            "origin_id": ["case:rajin"] * len(rows),
            "destination_id": ["case:dunai"] * len(rows),
            "origin_name": ["Rajin"] * len(rows),
            "departure_ts": pa.array([t for _, t in rows], schema.TS),
            "arrival_ts": pa.array([t + timedelta(days=2) for _, t in rows], schema.TS),
            "route": [ROUTE] * len(rows),
        }
    )


def _gaps() -> pa.Table:
    rows = [
        # dark for 40 h leaving Rajin (near a watched place) / a 30 h gap in open sea (not alerted)
        ("g1", SHIPS["MARIA"], datetime(2023, 9, 1, tzinfo=UTC), 40.0, "case:rajin", None),
        ("g2", SHIPS["MARIA"], datetime(2023, 9, 20, tzinfo=UTC), 30.0, None, None),
        (
            "g3",
            SHIPS["ANGARA"],
            datetime(2024, 3, 30, 20, tzinfo=UTC),
            30.0,
            None,
            "case:dunai",
        ),  # after END-6h
    ]
    return _full(
        pa.table(
            {
                "gap_id": [r[0] for r in rows],
                "mmsi": pa.array([r[1] for r in rows], pa.int64()),
                "start_ts": pa.array([r[2] for r in rows], schema.TS),
                "end_ts": pa.array([r[2] + timedelta(hours=r[3]) for r in rows], schema.TS),
                "duration_h": [r[3] for r in rows],
                "near_start_place": pa.array([r[4] for r in rows], pa.string()),
                "near_end_place": pa.array([r[5] for r in rows], pa.string()),
            }
        ),
        schema.GAPS,
    )


def _statics() -> pa.Table:
    rows = [
        (SHIPS["LADY R"], datetime(2023, 10, 1, tzinfo=UTC), 9161003, "LADY R"),
        (SHIPS["ANGARA"], datetime(2023, 8, 2, tzinfo=UTC), 9179842, "ANGARA"),
        (SHIPS["ANGARA"], datetime(2024, 1, 5, tzinfo=UTC), 9179842, "SPARTA X"),
        (445555555, datetime(2024, 1, 20, tzinfo=UTC), None, "CHON MA SANN"),
    ]
    return _full(
        pa.table(
            {
                "mmsi": pa.array([r[0] for r in rows], pa.int64()),
                "ts": pa.array([r[1] for r in rows], schema.TS),
                "imo": pa.array([r[2] for r in rows], pa.int64()),
                "name": [r[3] for r in rows],
            }
        ),
        schema.STATICS,
    )


def _inputs() -> MonitorInputs:
    return MonitorInputs(
        voyages=_voyages(), start=START, end=END, routes=[ROUTE], gaps=_gaps(), statics=_statics()
    )


CFG = MonitorConfig(cadence=CadenceConfig(daily_cycle=False, model="poisson"))


def test_halt_and_resumption_on_a_shuttle() -> None:
    # Departures every 5 days from 15 Aug 2023 06:00; the last before the pause is 11 Feb 2024 06:00.
    # The 84-day window (19 Nov 06:00, 11 Feb 06:00] holds the departures of 23 Nov .. 11 Feb = 17, over
    # E = 2016 h, so P(no departure in tau h) = (2016 / (2016 + tau))^17.
    last = datetime(2024, 2, 11, 6, tzinfo=UTC)
    resume = datetime(2024, 3, 10, 8, tzinfo=UTC)
    # P = 0.01 at tau = 2016 (0.01^(-1/17) - 1) h = 627.25 h = 26.1 days -> 8 Mar 2024 09:14 UTC
    tau_h = 2016 * (0.01 ** (-1 / 17) - 1)
    alerts = evaluate(_inputs(), cfg=CFG).to_pylist()
    (h,) = [a for a in alerts if a["kind"] == "halt"]
    assert abs((h["ts"] - last).total_seconds() / 3600 - tau_h) < 1e-3
    assert h["ts"].strftime("%Y-%m-%d %H:%M") == "2024-03-08 09:14" and h["probability"] == pytest.approx(
        0.01
    )
    d = json.loads(h["details"])
    assert (d["n_window"], d["last_mmsi"], d["as_of_day"]) == (17, SHIPS["ANGARA"], "2024-03-08")
    assert d["rate_per_day"] == pytest.approx(17 / 84)
    assert d["expected_departures"] == pytest.approx(17 * tau_h / 2016)  # 5.3 departures expected, none came
    (r,) = [a for a in alerts if a["kind"] == "resumption"]
    assert (r["ts"], r["mmsi"], r["place_id"]) == (resume, SHIPS["LADY R"], "case:rajin")
    p_resume = (2016 / (2016 + (resume - last).total_seconds() / 3600)) ** 17  # = 0.0074
    assert r["probability"] == pytest.approx(p_resume)
    assert json.loads(r["details"])["halt_alert_id"] == h["alert_id"]
    # A 28-day window holds only 6 departures: the rate is too uncertain for P < 0.01 before the
    # resumption (tau would be 672 (0.01^(-1/6) - 1) h = 32.3 days), so no halt is called.
    short = MonitorConfig(cadence=CadenceConfig(daily_cycle=False, model="poisson", window_days=28))
    assert "halt" not in evaluate(_inputs(), cfg=short)["kind"].to_pylist()


def test_monitor_everything_once() -> None:
    alerts = evaluate(_inputs(), cfg=CFG)
    kinds = sorted(alerts["kind"].to_pylist())
    assert kinds.count("new_vessel") == 1  # LADY R joins in October, after the 14-day baseline
    nv = alerts.filter(pa.compute.equal(alerts["kind"], "new_vessel")).to_pylist()[0]
    assert nv["mmsi"] == SHIPS["LADY R"] and nv["route"] == ROUTE
    dark = alerts.filter(pa.compute.equal(alerts["kind"], "dark_near_place")).to_pylist()
    assert [(d["place_id"], d["ts"]) for d in dark] == [("case:rajin", datetime(2023, 9, 1, 6, tzinfo=UTC))]
    sanc = {
        (a["mmsi"], json.loads(a["details"])["match"])
        for a in alerts.to_pylist()
        if a["kind"] == "sanctioned"
    }
    assert sanc == {
        (SHIPS["LADY R"], "imo"),
        (SHIPS["ANGARA"], "imo"),
        (445555555, "name"),
        (445555555, "flag"),
    }
    ident = [a for a in alerts.to_pylist() if a["kind"] == "identity_change"]
    assert [(a["mmsi"], a["message"]) for a in ident] == [
        (SHIPS["ANGARA"], f"MMSI {SHIPS['ANGARA']} changed name from ANGARA to SPARTA X")
    ]
    assert len(set(alerts["alert_id"].to_pylist())) == alerts.num_rows


def test_rules_are_causal_so_the_daily_replay_is_exact() -> None:
    inputs = _inputs()
    full = evaluate(inputs, cfg=CFG)
    # evaluating as of a day gives exactly the alerts of the full run whose condition was true by then
    for as_of in [
        datetime(2023, 9, 1, 5, tzinfo=UTC),
        datetime(2023, 10, 15, tzinfo=UTC),
        datetime(2024, 1, 5, tzinfo=UTC),
        datetime(2024, 3, 10, 8, tzinfo=UTC),
    ]:
        early = {a["alert_id"] for a in evaluate(inputs, as_of=as_of, cfg=CFG).to_pylist()}
        assert early == {a["alert_id"] for a in full.to_pylist() if a["ts"] <= as_of}, as_of
    daily = replay(inputs, CFG)
    assert daily["alert_id"].to_pylist() == full["alert_id"].to_pylist()
    for a in daily.to_pylist():
        raised = datetime.fromisoformat(json.loads(a["details"])["raised_as_of"])
        assert a["ts"] <= raised < a["ts"] + timedelta(days=1) and raised.hour == 0


def test_reception_aware_rules_are_causal() -> None:
    # Hourly positions of every ship from 1 Aug 2023 (before its first departure) to 20 Feb 2024, then none
    # until LADY R's resumption: the renewal halt is still evaluated identically as of any day.
    hours = pa.array(
        [START + timedelta(hours=h) for h in range(0, int((END - START).total_seconds() // 3600))], schema.TS
    )
    rx = pa.concat_tables(
        [pa.table({"mmsi": pa.array([m] * len(hours), pa.int64()), "ts": hours}) for m in SHIPS.values()]
    )
    outage = pa.compute.and_(
        pa.compute.greater(rx["ts"], pa.scalar(datetime(2024, 2, 20, tzinfo=UTC), schema.TS)),
        pa.compute.less(rx["ts"], pa.scalar(datetime(2024, 3, 10, 8, tzinfo=UTC), schema.TS)),
    )
    inputs = _inputs()
    inputs.received = rx.filter(pa.compute.invert(outage))
    cfg = MonitorConfig(cadence=CadenceConfig(daily_cycle=False))
    full = evaluate(inputs, cfg=cfg)
    halts = [a for a in full.to_pylist() if a["kind"] == "halt"]
    # Blind to reception, the clockwork 5-day shuttle (Gamma shape at the cap, 4) is halted on 24 Feb 12:22,
    # 13.3 days into the silence (the Poisson model: 8 Mar). Counting only received time, the silence had
    # reached 8.75 days (P = 0.08) when the fleet went unheard on 20 Feb: no halt for it. LADY R's lone
    # departure of 10 Mar, with the fleet heard again, is followed by 21 silent days: halted on 24 Mar.
    blind = [a for a in evaluate(_inputs(), cfg=cfg).to_pylist() if a["kind"] == "halt"]
    assert [a["ts"].strftime("%Y-%m-%d %H:%M") for a in blind] == ["2024-02-24 12:22"]
    assert [a["ts"].strftime("%Y-%m-%d") for a in halts] == ["2024-03-24"]
    d = json.loads(halts[0]["details"])
    assert (d["model"], d["shape"], d["reception_aware"]) == ("renewal (gamma)", 4.0, True)
    assert d["last_departure_ts"].startswith("2024-03-10")
    # positions only of vessels that never sailed the route: no reception evidence, the blind halts
    inputs_other = _inputs()
    inputs_other.received = rx.filter(pa.compute.equal(rx["mmsi"], SHIPS["LADY R"])).set_column(
        0, "mmsi", pa.array([1] * len(hours), pa.int64())
    )
    assert (
        evaluate(inputs_other, cfg=cfg)["alert_id"].to_pylist()
        == evaluate(_inputs(), cfg=cfg)["alert_id"].to_pylist()
    )
    for as_of in [datetime(2024, 2, 14, tzinfo=UTC), datetime(2024, 2, 25, tzinfo=UTC), END]:
        early = {a["alert_id"] for a in evaluate(inputs, as_of=as_of, cfg=cfg).to_pylist()}
        assert early == {a["alert_id"] for a in full.to_pylist() if a["ts"] <= as_of}, as_of


def test_as_of_sees_only_the_past() -> None:
    as_of = datetime(2023, 12, 31, tzinfo=UTC)
    early = evaluate(_inputs(), as_of=as_of, cfg=CFG)
    assert all(t <= as_of for t in early["ts"].to_pylist())
    assert "identity_change" not in early["kind"].to_pylist()  # the rename is on 5 Jan


def test_combined_routes_cadence() -> None:
    v = _voyages()
    half = v.num_rows // 2
    other = v.slice(half).set_column(
        v.schema.get_field_index("route"), "route", pa.array(["rajin-vostochny"] * (v.num_rows - half))
    )
    inputs = MonitorInputs(
        voyages=pa.concat_tables([v.slice(0, half), other]),
        start=START,
        end=END,
        routes=[ROUTE, "rajin-vostochny"],
    )
    alerts = evaluate(inputs, cfg=CFG)
    # the shift of all traffic to the other route halts rajin-dunai; the combined cadence does not halt then
    halts = {(a["route"], a["ts"].date()) for a in alerts.to_pylist() if a["kind"] == "halt"}
    assert any(r == ROUTE for r, _ in halts)
    assert all(d >= datetime(2024, 2, 11).date() for r, d in halts if r == ALL_ROUTES)


def _store(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "store")
    store.replace_table("voyages", {"all": _full(_voyages(), schema.VOYAGES)})
    store.replace_table("gaps", {"all": _gaps()})
    write_parquet(_statics(), store.root / "statics" / "day=2023-08-01" / "part-test.parquet")
    pos = _full(
        pa.table(
            {
                "mmsi": pa.array([*list(SHIPS.values()), 445555555], pa.int64()),
                "ts": pa.array([START] * 4 + [END], schema.TS),
                "lat": [42.25] * 5,
                "lon": [130.3] * 5,
            }
        ),
        schema.POSITIONS,
    )
    write_parquet(pos, store.root / "positions" / "day=2023-08-01" / "part-test.parquet")
    return store


def test_store_run_emits_each_alert_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = run_monitor(store, cfg=CFG)
    assert first.num_rows > 5
    assert run_monitor(store, cfg=CFG).num_rows == 0
    assert store.read_table("alerts", schema.ALERTS).num_rows == first.num_rows


def test_cli_jsonl_since_and_fail_on_alert(tmp_path: Path) -> None:
    store = _store(tmp_path)
    runner = CliRunner()
    args = ["monitor", "--store", str(store.root), "--no-daily-cycle"]
    res = runner.invoke(app, [*args, "--since", "2024-01-01", "--jsonl", "--fail-on-alert"])
    assert res.exit_code == 10, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert lines and all(x["ts"] >= "2024-01-01" for x in lines)
    assert {"identity_change", "sanctioned"} <= {x["kind"] for x in lines}
    res = runner.invoke(app, [*args, "--json", "--fail-on-alert"])  # the older alerts, once
    assert res.exit_code == 10 and all(x["ts"] < "2024-01-01" for x in json.loads(res.stdout))
    res = runner.invoke(app, [*args, "--fail-on-alert"])
    assert res.exit_code == 0 and "no new alerts" in res.stdout
    res = runner.invoke(app, [*args, "--since", "last tuesday"])
    assert res.exit_code != 0
    # --replay --dry-run on a fresh store: every alert stamped with the day a daily run would raise it
    fresh = _store(tmp_path / "again")
    res = runner.invoke(app, ["monitor", "--store", str(fresh.root), "--replay", "--dry-run", "--json"])
    rows = json.loads(res.stdout)
    assert res.exit_code == 0 and rows and all(r["details"]["raised_as_of"] >= r["ts"] for r in rows)
    assert fresh.read_table("alerts", schema.ALERTS).num_rows == 0  # --dry-run records nothing


@pytest.mark.parametrize("bad", [["--halt-p", "2"], ["--as-of", "yesterday"], ["--model", "weibull"]])
def test_cli_bad_options(tmp_path: Path, bad: list[str]) -> None:
    store = _store(tmp_path)
    res = CliRunner().invoke(app, ["monitor", "--store", str(store.root), *bad])
    assert res.exit_code != 0


def test_replay_as_new_answers_when_each_alert_would_have_been_raised(tmp_path: Path) -> None:
    # after a run has recorded every alert, `--replay --dry-run` has nothing new to say; `--replay --as-new`
    # still answers "when would each alert have been raised", and leaves the stored alerts as they were
    store = _store(tmp_path)
    recorded = run_monitor(store, cfg=CFG)
    runner = CliRunner()
    args = ["monitor", "--store", str(store.root), "--no-daily-cycle", "--replay"]
    res = runner.invoke(app, [*args, "--dry-run"])
    assert res.exit_code == 0 and "no new alerts" in res.stdout
    res = runner.invoke(app, [*args, "--as-new", "--json"])
    rows = json.loads(res.stdout)
    assert res.exit_code == 0
    assert {r["alert_id"] for r in rows} == set(recorded["alert_id"].to_pylist())
    assert all(r["details"]["raised_as_of"] >= r["ts"] for r in rows)
    stored = store.read_table("alerts", schema.ALERTS)
    assert sorted(stored["alert_id"].to_pylist()) == sorted(recorded["alert_id"].to_pylist())
    res = runner.invoke(app, [*args, "--as-new"])
    assert "alerts as they would have been raised" in res.stdout
