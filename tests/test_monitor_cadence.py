"""Cadence model and halts: closed-form answers on hand-built departures, and the real Staten Island Ferry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplyline.errors import UsageError
from supplyline.geo import haversine_km
from supplyline.monitor.cadence import CadenceConfig, _Clock, daily_profile, find_halts, replay_days
from tests.conftest import data_file

T0 = np.datetime64("2024-01-01T00:00", "us")
# the model's mechanics, per silence and blind to day types (the real-data tests use the defaults)
MECH: dict[str, Any] = {"halt_p_per_day": False, "day_types": False}
HOMOG = CadenceConfig(daily_cycle=False, model="poisson", **MECH)


def _every(hours: float, n: int, start: np.datetime64 = T0) -> np.ndarray:
    return start + (np.arange(n) * hours * 3600e6).astype("timedelta64[us]")


def test_regular_cadence_halt_time_is_closed_form() -> None:
    # 40 departures 6 h apart (Jan 1 00:00 .. Jan 10 18:00), then one on Jan 13 12:00.
    deps = np.append(_every(6, 40), T0 + np.timedelta64(300, "h"))
    halts = find_halts(deps, datetime(2024, 1, 13, 23, tzinfo=UTC), HOMOG)
    assert halts.num_rows == 1
    h = halts.to_pylist()[0]
    # Window: 39 departures after the first in E = 234 h. Gamma(39, 234) posterior predictive:
    # P(no departure in tau) = (234 / (234 + tau))^39 = 0.01  ->  tau = 234 * (0.01^(-1/39) - 1) = 29.33 h.
    tau = 234 * (0.01 ** (-1 / 39) - 1)
    assert h["last_departure_ts"] == datetime(2024, 1, 10, 18, tzinfo=UTC)
    assert abs((h["halt_ts"] - h["last_departure_ts"]).total_seconds() / 3600 - tau) < 1e-6
    assert h["halt_ts"].strftime("%Y-%m-%d %H:%M") == "2024-01-11 23:19"
    assert h["n_window"] == 39 and h["rate_per_day"] == pytest.approx(4.0)
    assert h["resume_ts"] == datetime(2024, 1, 13, 12, tzinfo=UTC) and h["resume_index"] == 40
    assert h["p_at_resume"] == pytest.approx((234 / (234 + 66)) ** 39)


def test_no_halt_before_enough_history_or_departures() -> None:
    deps = _every(6, 4)  # 3 departures in the window < min_departures = 5
    assert find_halts(deps, datetime(2024, 3, 1, tzinfo=UTC), HOMOG).num_rows == 0
    # enough departures but less than min_history_days of history
    cfg = CadenceConfig(**MECH, daily_cycle=False, min_history_days=3)
    assert find_halts(_every(6, 10), datetime(2024, 3, 1, tzinfo=UTC), cfg).num_rows == 0


def test_daily_cycle_absorbs_the_night_timetable() -> None:
    # A day-only timetable: hourly departures 06:00..18:00 for 14 days; the 11-hour night gap recurs daily.
    days = [_every(1, 13, T0 + np.timedelta64(d * 24 + 6, "h")) for d in range(14)]
    deps = np.concatenate(days)
    end = datetime(2024, 1, 14, 23, tzinfo=UTC)
    assert find_halts(deps, end, CadenceConfig(**MECH)).num_rows == 0  # the night is expected
    homog = find_halts(deps, end, HOMOG)
    assert homog.num_rows >= 10  # a flat-rate model calls nearly every night a halt
    prof = daily_profile(deps)
    assert prof[6:19].min() > 10 * prof[np.r_[0:6, 19:24]].max()
    assert prof.mean() == pytest.approx(1.0)


def test_profile_integral_inverts_exactly() -> None:
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0, 2000, 300))
    prof = _Clock(t, 0.0, 2000.0, CadenceConfig(**MECH), None)
    rows = np.arange(len(t)) + 1  # profile row i + 1 is learned as of departure i
    assert np.abs(prof.F_inv(rows, prof.F(rows, t)) - t).max() < 1e-9
    # one day of profile-weighted time is 24 h whatever the profile
    assert np.allclose(prof.F(rows, t + 24.0) - prof.F(rows, t), 24.0)


def test_replay_days_agrees_with_the_exact_halt() -> None:
    deps = np.append(_every(6, 40), T0 + np.timedelta64(300, "h"))
    days = pa.array(
        [datetime(2024, 1, 2, tzinfo=UTC) + timedelta(days=i) for i in range(14)],
        pa.timestamp("us", tz="UTC"),
    )
    r = replay_days(deps, days, HOMOG).to_pylist()
    halted_days = [x["as_of"].date().isoformat() for x in r if x["halted"]]
    # halt at Jan 11 23:19 -> first halted end-of-day is Jan 12 00:00; resumption on Jan 13 12:00
    assert halted_days[:2] == ["2024-01-12", "2024-01-13"]
    jan12 = next(x for x in r if x["as_of"].date().isoformat() == "2024-01-12")
    assert jan12["silence_h"] == pytest.approx(30.0)
    assert jan12["p_silence"] == pytest.approx((234 / (234 + 30)) ** 39)
    assert jan12["expected_departures"] == pytest.approx(39 * 30 / 234)


def test_silence_counts_only_while_the_fleet_is_received() -> None:
    # Hourly departures for 3 days, then a 6 h silence during which no position came from the fleet at all
    # (a receiver outage), then departures again. Positions every 10 min except in the outage.
    deps = np.concatenate([_every(1, 72), _every(1, 24, T0 + np.timedelta64(78, "h"))])
    pos = _every(1 / 6, 6 * 102)
    out = (pos > T0 + np.timedelta64(71, "h")) & (pos < T0 + np.timedelta64(78, "h"))
    end = datetime(2024, 1, 5, 6, tzinfo=UTC)
    cfg = CadenceConfig(**MECH, daily_cycle=False)
    blind = find_halts(deps, end, cfg).to_pylist()
    assert [h["last_departure_ts"] for h in blind] == [datetime(2024, 1, 3, 23, tzinfo=UTC)]
    assert blind[0]["model"] == "renewal (gamma)" and blind[0]["shape"] == 4.0  # the dispersion floor
    # received until 72:00 (last position 71:00 + 1 h), so the silence counts 1 h of 7: no halt
    assert find_halts(deps, end, cfg, received=pos[~out]).num_rows == 0
    r = replay_days(deps, np.array([T0 + np.timedelta64(77, "h")]), cfg, received=pos[~out]).to_pylist()[0]
    assert r["operational_h"] == pytest.approx(1.0) and r["silence_h"] == pytest.approx(6.0)


def test_renewal_with_shape_one_is_the_poisson_formula() -> None:
    # Exponential-looking intervals: with min_shape = max_shape = 1 the renewal predictive is (S/(S+u))^n.
    rng = np.random.default_rng(3)
    deps = T0 + (np.cumsum(rng.exponential(5.0, 60)) * 3600e6).astype("timedelta64[us]")
    cfg = CadenceConfig(**MECH, daily_cycle=False, min_shape=1.0, max_shape=1.0)
    q = np.array([deps[-1] + np.timedelta64(7, "h")])
    r = replay_days(deps, q, cfg).to_pylist()[0]
    h = np.maximum(np.diff(deps.astype(np.int64)) / 3600e6, cfg.min_interval_h)  # simultaneous: floored
    assert r["model"] == "renewal (gamma)"
    assert r["p_silence"] == pytest.approx((h.sum() / (h.sum() + 7.0)) ** len(h))


def test_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="between 0 and 1"):
        CadenceConfig(**MECH, halt_p=1.5)
    with pytest.raises(UsageError):
        CadenceConfig(**MECH, window_days=0)
    with pytest.raises(UsageError, match="renewal"):
        CadenceConfig(**MECH, model=cast(Any, "weibull"))


# --- real data: Staten Island Ferry, NY Harbor, 1-7 Dec 2020 ----------------------------------------------

WHITEHALL = (40.7013, -74.0131)
ST_GEORGE = (40.6437, -74.0730)
# The two boats that shuttle Whitehall <-> St George in the week file: ANDREW J BARBERI (367000150, named in
# PROVENANCE.md) and 366952790 (no name in the data; 66 crossings each way).
SI_FERRIES = [366952790, 367000150]


def ferry_departures(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Departures Whitehall->St George and back: a vessel's last point within 0.6 km of one terminal
    followed (within 2 h, next terminal point) by a point within 0.6 km of the other. Returns
    route -> (departure times, mmsi)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    t = con.sql(
        f"SELECT mmsi::BIGINT AS mmsi, epoch_us(timestamp::TIMESTAMP) AS ts, lat, lon "
        f"FROM read_csv('{path}', types={{'mmsi': 'VARCHAR'}}) ORDER BY mmsi, ts"
    ).fetchnumpy()
    lat, lon, mmsi, ts = t["lat"], t["lon"], t["mmsi"], t["ts"]
    zone = np.where(
        haversine_km(lat, lon, *WHITEHALL) < 0.6, 1, np.where(haversine_km(lat, lon, *ST_GEORGE) < 0.6, 2, 0)
    )
    k = zone > 0
    m, tk, z = mmsi[k], ts[k], zone[k]
    cross = (m[1:] == m[:-1]) & (z[1:] != z[:-1]) & (tk[1:] - tk[:-1] < 2 * 3600e6)
    cross &= np.isin(m[:-1], SI_FERRIES)  # a few NYC Ferry / tug passages also touch both zones
    dep, org, vm = tk[:-1][cross], z[:-1][cross], m[:-1][cross]
    out = {}
    for o, name in ((1, "Whitehall->St George"), (2, "St George->Whitehall")):
        sel = org == o
        order = np.argsort(dep[sel])
        out[name] = (dep[sel][order].astype("datetime64[us]"), vm[sel][order])
    return out


@pytest.fixture(scope="module")
def ferry(shared_data: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return ferry_departures(
        data_file(shared_data, "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz")
    )


@pytest.fixture(scope="module")
def ferry_rx(shared_data: Path) -> np.ndarray:
    """Position times of the two ferries (the routes' fleet), sorted."""
    path = data_file(shared_data, "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz")
    ts = (
        duckdb.connect()
        .sql(
            f"SELECT epoch_us(timestamp::TIMESTAMP) AS ts FROM read_csv('{path}', types={{'mmsi': 'VARCHAR'}}) "
            f"WHERE mmsi::BIGINT IN {tuple(SI_FERRIES)} ORDER BY ts"
        )
        .fetchnumpy()["ts"]
    )
    return np.asarray(ts).astype("datetime64[us]")


START = datetime(2020, 12, 1, 4, 49, 45, tzinfo=UTC)
END = datetime(2020, 12, 7, 23, 29, 51, tzinfo=UTC)


def test_ferry_cadence_is_learned(ferry: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    wh, wh_mmsi = ferry["Whitehall->St George"]
    sg, _ = ferry["St George->Whitehall"]
    # 367000150 makes 52 + 52 = 104 crossings: the count PROVENANCE.md verified by hand for that boat.
    assert int((wh_mmsi == 367000150).sum()) == 52
    assert (len(wh), len(sg)) == (118, 118)
    # Headways (minutes): 30 min in the local daytime peak (UTC 12-15), 60 min overnight (UTC 5-11).
    hw = np.diff(wh).astype(np.int64) / 60e6
    hour = (wh[:-1].astype(np.int64) // 3_600_000_000) % 24
    assert np.median(hw[(hour >= 12) & (hour <= 14)]) == pytest.approx(30, abs=2)
    assert np.median(hw[(hour >= 5) & (hour <= 11)]) == pytest.approx(60, abs=2)
    # The learned daily profile: the daytime peak is ~2x the overnight hours.
    prof = daily_profile(wh[wh < np.datetime64("2020-12-05")])
    assert prof[12:15].mean() / prof[5:12].mean() > 1.5
    # Learned rate before the weekend: about 30 departures a day in each direction.
    r = replay_days(
        wh, np.array(["2020-12-04T23:59"], "datetime64[us]"), CadenceConfig(), start=START
    ).to_pylist()[0]
    assert 28 <= r["rate_per_day"] <= 32


def test_ferry_no_false_halt_on_weekday_nights(ferry: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    for route, (deps, _) in ferry.items():
        # every 5 minutes from the end of the first day (warm-up) to Friday midnight: never improbable
        q = np.arange(
            np.datetime64("2020-12-02T05:00"), np.datetime64("2020-12-05T00:00"), np.timedelta64(5, "m")
        )
        r = replay_days(deps, q.astype("datetime64[us]"), CadenceConfig(), start=START)
        p = r["p_silence"].to_numpy(zero_copy_only=False)
        assert np.nanmin(p) > 0.05, route  # worst case: a ~2 h daytime gap, P = 0.056 / 0.060 (renewal)
        halts = find_halts(deps, END, CadenceConfig(**MECH), start=START)
        # Per silence and blind to day types, the only halts are on the weekend: BARBERI's overnight
        # layover from ~01:00 UTC on Sat 5 Dec (12.5 h silence) and the end of the data that evening.
        assert all(h >= datetime(2020, 12, 5, tzinfo=UTC) for h in halts["last_departure_ts"].to_pylist()), (
            route
        )


def test_ferry_outage_flagged_later_at_night_than_a_flat_model(
    ferry: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    deps, _ = ferry["Whitehall->St George"]
    renewal = find_halts(deps, END, CadenceConfig(**MECH), start=START).to_pylist()[0]
    daily = find_halts(deps, END, CadenceConfig(**MECH, model="poisson"), start=START).to_pylist()[0]
    flat = find_halts(deps, END, HOMOG, start=START).to_pylist()[0]
    for h in (renewal, daily, flat):
        assert h["last_departure_ts"] == datetime(2020, 12, 5, 1, 34, 19, tzinfo=UTC)
        assert h["resume_ts"] == datetime(2020, 12, 5, 14, 3, 19, tzinfo=UTC)
    # The outage starts at 20:34 local: the night-aware Poisson model waits for the thin overnight timetable
    # (07:26) where the flat one calls it at 05:30; the renewal model, which knows the ferry's headways are
    # regular (shape at the cap of 4), calls it at 05:17, 3.7 h into the silence.
    assert daily["halt_ts"].strftime("%H:%M") == "07:26" and flat["halt_ts"].strftime("%H:%M") == "05:30"
    assert renewal["halt_ts"].strftime("%H:%M") == "05:17"
    assert (renewal["model"], renewal["shape"]) == ("renewal (gamma)", 4.0)
    assert daily["p_at_resume"] < 1e-5 and renewal["p_at_resume"] < 1e-5


def test_ferry_leaving_the_data_is_not_a_halt(
    ferry: dict[str, tuple[np.ndarray, np.ndarray]], ferry_rx: np.ndarray
) -> None:
    # 366952790 is last received on 4 Dec 19:56 UTC and ANDREW J BARBERI on 5 Dec 21:04: after that the
    # fleet is not received at all. Blind to reception, the model calls a second halt after the last
    # departure (5 Dec 20:33 UTC -> halt 6 Dec 03:41); counting only received time, it does not. The morning
    # silence of 5 Dec stays a halt: BARBERI was received all along (no reception gap > 14 min that week),
    # moored, so that one is in the data, not in the receiver.
    deps, _ = ferry["Whitehall->St George"]
    blind = find_halts(deps, END, CadenceConfig(**MECH), start=START)
    aware = find_halts(deps, END, CadenceConfig(**MECH), start=START, received=ferry_rx)
    assert blind["last_departure_ts"].to_pylist() == [
        datetime(2020, 12, 5, 1, 34, 19, tzinfo=UTC),
        datetime(2020, 12, 5, 20, 33, 43, tzinfo=UTC),
    ]
    assert aware["last_departure_ts"].to_pylist() == blind["last_departure_ts"].to_pylist()[:1]
    assert aware["halt_ts"].to_pylist() == blind["halt_ts"].to_pylist()[:1]


@settings(max_examples=40, deadline=None)
@given(
    headways=st.lists(st.floats(0.05, 30.0), min_size=8, max_size=120),
    outage=st.floats(1.0, 400.0),
    at=st.integers(0, 200),
    daily=st.booleans(),
    halt_p=st.sampled_from([0.001, 0.01, 0.05]),
)
def test_halt_time_is_where_the_replayed_probability_reaches_halt_p(
    headways: list[float], outage: float, at: int, daily: bool, halt_p: float
) -> None:
    # Two code paths: the closed-form halt time (find_halts) and the direct probability (replay_days).
    h = np.array(headways)
    h[at % len(h)] += outage
    deps = T0 + (np.cumsum(h) * 3600e6).astype("timedelta64[us]")
    cfg = CadenceConfig(**MECH, daily_cycle=daily, halt_p=halt_p, window_days=7)
    end = datetime(2024, 3, 1, tzinfo=UTC)
    halts = find_halts(deps, end, cfg).to_pylist()
    for x in halts:
        assert x["last_departure_ts"] < x["halt_ts"] and (
            x["resume_ts"] is None or x["halt_ts"] < x["resume_ts"]
        )
        q = pa.array([x["halt_ts"]], pa.timestamp("us", tz="UTC"))
        p = replay_days(deps, q, cfg).to_pylist()[0]["p_silence"]
        assert p == pytest.approx(halt_p, rel=1e-6)
    # and P(silence) never increases while no departure comes
    q = deps[-1] + np.arange(1, 50) * np.timedelta64(3, "h")
    p = replay_days(deps, q, cfg)["p_silence"].to_numpy(zero_copy_only=False)
    p = p[~np.isnan(p)]
    assert np.all(np.diff(p) <= 1e-12)


def test_monitor_over_detected_ferry_voyages(shared_data: Path) -> None:
    """The same week through the detection kernels (terminals and routes as in test_detect_nyharbor)."""
    from supplyline.detect import Thresholds, run_vessel_kernels
    from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, evaluate
    from tests.test_detect_nyharbor import SIF, TERMINALS, WEEK, load_week

    week = load_week(data_file(shared_data, WEEK))
    voyages = run_vessel_kernels(week, TERMINALS, Thresholds(port_call_min_h=0.0), SIF)[
        "voyages"
    ]  # ferry slips
    inputs = MonitorInputs(
        voyages=voyages,
        start=START,
        end=END,
        routes=[r.name for r in SIF],
        received=week.select(["mmsi", "ts"]),
    )
    alerts = evaluate(inputs).to_pylist()
    # The ferry ran 24/7 all week: no halt. The week's 140 MMSIs hold two of the ~8 boats: BARBERI works
    # day shifts (no departure between ~02:00 and ~11:30 UTC), 366952790 the nights until it leaves the data
    # on Fri 4 Dec 19:56; the Saturday morning silence is BARBERI's overnight layover with the night boat
    # unheard, and Saturday's service starts later than any weekday's; on 6-7 Dec only boats with one
    # crossing each are heard. Each vessel's share of the profile counts only while it is heard, a weekend
    # verdict needs a weekend in the window, and on a route with ~30 departures a day each silence is
    # judged at halt_p x (mean interval / 24 h).
    assert not [a for a in alerts if a["kind"] in ("halt", "resumption")], [
        (a["route"], a["ts"], a["probability"]) for a in alerts if a["kind"] == "halt"
    ]
    # both boats served the routes from the first day: no "new vessel"
    assert not [a for a in alerts if a["kind"] == "new_vessel"]
    # per silence and blind to day types (the vessel shares alone) it still raises halts from Saturday on
    old = MonitorConfig(cadence=CadenceConfig(**MECH))
    blind = [a for a in evaluate(inputs, cfg=old).to_pylist() if a["kind"] == "halt"]
    assert blind and min(a["ts"] for a in blind) >= datetime(2020, 12, 5, 2, tzinfo=UTC)


def test_each_vessels_share_counts_only_while_it_is_heard() -> None:
    # A day boat (departures 07:00-18:00, 10 days) and a night boat (19:00-06:00, 4 nights), hourly; the
    # night boat leaves the data after its last night (its last departure 4 Jan 06:00, last position 06:30) while the day boat, heard every 10 minutes
    # around the clock, keeps its timetable. The service is intact: only the night boat is unheard.
    day = np.concatenate([_every(1, 12, T0 + np.timedelta64(24 * d + 7, "h")) for d in range(10)])
    night = np.concatenate([_every(1, 12, T0 + np.timedelta64(24 * d + 19, "h")) for d in range(4)])
    deps = np.concatenate([day, night])
    vessels = np.concatenate([np.full(len(day), 1), np.full(len(night), 2)])
    order = np.argsort(deps)
    deps, vessels = deps[order], vessels[order]
    pos_day = _every(1 / 6, 6 * 240)
    pos_night = pos_day[pos_day <= T0 + np.timedelta64(78, "h") + np.timedelta64(30, "m")]
    rx = pa.table(
        {
            "mmsi": pa.array(np.r_[np.full(len(pos_day), 1), np.full(len(pos_night), 2)], pa.int64()),
            "ts": pa.array(np.r_[pos_day, pos_night], pa.timestamp("us", tz="UTC")),
        }
    )
    end = datetime(2024, 1, 11, tzinfo=UTC)
    cfg = CadenceConfig(**MECH)
    # one fleet heard as a whole: every night after the night boat left is a halt (the day boat is heard)
    blind = find_halts(deps, end, cfg, received=rx.column("ts"))
    # (until the 84-day profile has learned the quiet nights: 4 false halts, after 18:00 on 5-8 Jan)
    assert blind["last_departure_ts"].to_pylist() == [
        datetime(2024, 1, d, 18, tzinfo=UTC) for d in (5, 6, 7, 8)
    ]
    # per vessel: the night boat's share of the night does not count while it is unheard: no halt
    assert find_halts(deps, end, cfg, received=rx, vessels=vessels).num_rows == 0
    # the same clock with every vessel heard is the single-fleet clock (the day boat stops on day 8: halted)
    stop = deps[~((vessels == 1) & (deps >= T0 + np.timedelta64(7 * 24, "h")))]
    v_stop = vessels[~((vessels == 1) & (deps >= T0 + np.timedelta64(7 * 24, "h")))]
    halts = find_halts(stop, end, cfg, received=rx, vessels=v_stop)
    assert halts["last_departure_ts"].to_pylist() == [datetime(2024, 1, 7, 18, tzinfo=UTC)]
