"""Berths empty across satellite passes: the imagery signal for the halt/resume monitor (docs/imagery.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.case import load_case
from supplyline.demo import bundled_case_path
from supplyline.imagery.berths import BerthConfig, berth_alerts, berth_passes, empty_runs
from supplyline.imagery.run import assign_places
from supplyline.imagery.simulated import DEMO_OPTICAL, DEMO_PASSES
from supplyline.simulate.passes import Area
from supplyline.simulate.scenario import load_scenario
from supplyline.simulate.scenario_passes import scenario_passes

T0 = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)


def _series(ships: list[int], step_days: float = 2.0, place: str = "case:port") -> pa.Table:
    rows = [
        {
            "place_id": place,
            "scene_id": f"s{i:03d}",
            "ts": T0 + timedelta(days=i * step_days),
            "sensor": "optical",
            "ships": n,
            "matched": n,
            "dark": 0,
            "synthetic": True,
        }
        for i, n in enumerate(ships)
    ]
    return pa.Table.from_pylist(rows, schema=schema.BERTH_PASSES)


def test_empty_run_raises_once_then_filled() -> None:
    # busy, then 12 empty passes every 2 days (24 days), then busy again
    series = _series([2, 1, 0, 1] + [0] * 12 + [1, 1])
    alerts = berth_alerts(series, {"case:port": "Port <b>"}, BerthConfig(n_empty=6, min_days=18.0))
    assert alerts["kind"].to_pylist() == ["berths_empty", "berths_filled"]
    empty, filled = alerts.to_pylist()
    # ships last seen at pass 3 (day 6); 18 days later = day 24 = pass 12, the 9th empty pass
    assert empty["ts"] == T0 + timedelta(days=24)
    ev = json.loads(empty["details"])
    assert [p[0] for p in ev["passes"]] == [f"s{i:03d}" for i in range(4, 13)]
    assert ev["last_seen"][0][0] == "s003"
    assert filled["ts"] == T0 + timedelta(days=32) and "after 12 empty passes" in filled["message"]
    assert json.loads(filled["details"])["berths_empty_alert_id"] == empty["alert_id"]
    assert "[SYNTHETIC]" in empty["message"] and "Port <b>" in empty["message"]  # escaped where shown


def test_short_runs_and_never_busy_places_raise_nothing() -> None:
    cfg = BerthConfig(n_empty=6, min_days=18.0)
    assert not empty_runs(_series([1] + [0] * 5 + [1]), cfg)  # 5 passes: too few
    assert not empty_runs(_series([1] + [0] * 8 + [1], step_days=1.0), cfg)  # 8 passes in 9 days: too short
    assert not empty_runs(_series([0] * 30), cfg)  # never seen busy: no halt without traffic
    still = empty_runs(_series([1] + [0] * 20), cfg)  # still empty at the last pass: no berths_filled
    assert len(still) == 1 and still[0].end is None
    assert berth_alerts(_series([1] + [0] * 20), {}, cfg)["kind"].to_pylist() == ["berths_empty"]


def test_berth_passes_counts_empty_scenes_and_lengths() -> None:
    """A pass with no detection in the place still counts (from the scenes table); short detections do not."""
    places = pa.Table.from_pylist(
        [
            {
                "place_id": "case:p",
                "name": "P",
                "kind": "port",
                "lat": 42.0,
                "lon": 130.0,
                "r_in_m": 3000.0,
                "r_out_m": 4000.0,
                "watched": True,
                "source": "t",
            }
        ],
        schema=schema.PLACES,
    )
    box = {
        "lon_min": 129.5,
        "lat_min": 41.5,
        "lon_max": 130.5,
        "lat_max": 42.5,
        "source": "t",
        "synthetic": True,
    }
    scenes = pa.Table.from_pylist(
        [{"scene_id": s, "ts": T0 + timedelta(days=i), "sensor": "sar"} | box for i, s in enumerate("abc")]
        + [{"scene_id": "far", "ts": T0, "sensor": "sar"} | box | {"lon_min": 131.0, "lon_max": 132.0}],
        schema=schema.SCENES,
    )
    matches = pa.table(
        {
            "scene_id": ["a", "a", "b", "b"],
            "status": ["matched", "dark", "dark", "dark"],
            "in_place": ["case:p", "case:p", "case:p", None],
            "length_m": pa.array([120.0, 90.0, 20.0, 150.0], pa.float32()),
        }
    )
    got = berth_passes(scenes, matches, places).to_pylist()
    assert [(r["scene_id"], r["ships"], r["matched"], r["dark"]) for r in got] == [
        ("a", 2, 1, 1),
        ("b", 0, 0, 0),  # a 20 m boat does not fill a berth; the 150 m ship is outside the place
        ("c", 0, 0, 0),  # a pass with no detection at all
    ]


def _scenario_series() -> tuple[pa.Table, pa.Table]:
    """Berth series at Rajin from the dprk-russia scenario's simulated passes, each detection counted with
    its truth (transponder on = matched), so the test is about the berth signal, not the matcher."""
    path = bundled_case_path("dprk-russia")
    case = load_case(path)
    assert case.scenario_path is not None
    sc = load_scenario(case.scenario_path)
    rajin = next(p for p in case.places.to_pylist() if p["place_id"] == "case:rajin")
    area = Area("case:rajin", rajin["lat"], rajin["lon"], 20_000.0)
    dets, truths, scenes = [], [], []
    for cfg in (DEMO_PASSES, DEMO_OPTICAL):
        res = scenario_passes(sc, [area], cfg)
        d, t = res.tables()
        dets.append(d)
        truths.append(t)
        scenes.append(res.scene_table())
    det = assign_places(pa.concat_tables(dets), case.places)
    truth = pa.concat_tables(truths).filter(pc.is_valid(pa.concat_tables(truths)["det_id"]))
    on = dict(zip(truth["det_id"].to_pylist(), truth["ais_on"].to_pylist(), strict=True))
    status = ["matched" if on.get(d) else "dark" for d in det["det_id"].to_pylist()]
    matches = det.select(["scene_id", "in_place", "length_m"]).append_column("status", pa.array(status))
    return berth_passes(pa.concat_tables(scenes), matches, case.places), case.places


def test_known_halt_in_the_scenario_is_seen_from_space() -> None:
    """The scenario has no Rajin call from 12 Feb to 10 Mar 2024 (the reported halt, NK Pro) and busy berths
    before: berths_empty once inside the halt, berths_filled at the first pass with LADY R at the pier, and
    no berths_empty at Rajin during the busy months (Aug 2023 - Jan 2024)."""
    series, places = _scenario_series()
    rajin = series.filter(pc.equal(series["place_id"], "case:rajin"))
    assert rajin.num_rows > 150 and pc.sum(rajin["ships"]).as_py() > 20
    names = {p["place_id"]: p["name"] for p in places.to_pylist()}
    alerts = berth_alerts(rajin, names).to_pylist()
    halt_start, resume = datetime(2024, 2, 12, tzinfo=UTC), datetime(2024, 3, 10, tzinfo=UTC)
    assert not [a for a in alerts if a["ts"] < halt_start]
    empty = [a for a in alerts if a["kind"] == "berths_empty" and halt_start <= a["ts"] < resume]
    assert len(empty) == 1
    passes = json.loads(empty[0]["details"])["passes"]
    assert len(passes) >= 6 and all(halt_start.isoformat()[:10] <= p[1][:10] < "2024-03-10" for p in passes)
    filled = [a for a in alerts if a["kind"] == "berths_filled" and a["ts"] >= resume]
    assert filled and filled[0]["ts"] < resume + timedelta(days=4)  # LADY R at the pier 10-13 Mar
