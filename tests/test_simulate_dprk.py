"""The bundled dprk-russia scenario, once detected, shows what it encodes: 32 loaded trips by four ships
(Angara 11, Maria 8, Maia-1 9, Lady R 4) Aug 2023 - 12 Feb 2024, the shift from Dunai to Vostochny in late
December 2023, no Rajin calls 13 Feb - 10 Mar 2024, Lady R's resumption, and dark loaded legs."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from supplyline.case import bundled_case_path, load_case
from supplyline.detect import run_vessel_kernels
from supplyline.simulate import simulate
from supplyline.simulate.score import score

UTC = dt.UTC
ANGARA, MARIA, MAIA1, LADY_R = 273990001, 273990002, 273990003, 273990004
HALT_START = dt.datetime(2024, 2, 13, tzinfo=UTC)
HALT_END = dt.datetime(2024, 3, 10, tzinfo=UTC)
SHIFT = dt.datetime(2023, 12, 25, tzinfo=UTC)


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, pa.Table]]:
    case = load_case(bundled_case_path("dprk-russia"))
    assert case.scenario_path is not None
    out: Path = tmp_path_factory.mktemp("dprk")
    res = simulate(case.scenario_path, out, formats=("parquet",))
    pos = pq.read_table(res.paths["positions"])
    sta = pq.read_table(res.paths["statics"])
    found = run_vessel_kernels(pos, res.scenario.places_table, case.thresholds, case.routes, statics=sta)
    return res, found


def _loaded(voyages: pa.Table) -> list[dict[str, object]]:
    """Detected voyages from Rajin to a Russian port (the case routes rajin-dunai / rajin-vostochny)."""
    rows = voyages.filter(
        pc.is_in(voyages["route"], pa.array(["rajin-dunai", "rajin-vostochny"]))
    ).to_pylist()
    return sorted(rows, key=lambda r: r["departure_ts"])


def test_detection_matches_the_scenario_truth(detected) -> None:  # type: ignore[no-untyped-def]
    res, found = detected
    s = score(res.truth, found, ("visits", "voyages", "dark"))
    for kind in ("visits", "voyages"):
        assert s[kind].precision >= 0.98 and s[kind].recall >= 0.98, (kind, s[kind])
    assert s["dark"].recall >= 0.98  # every dark loaded leg is a detected gap


def test_trip_counts_per_ship_before_the_halt(detected) -> None:  # type: ignore[no-untyped-def]
    _, found = detected
    before = [r for r in _loaded(found["voyages"]) if r["departure_ts"] < HALT_START]
    assert len(before) == 32  # NK Pro: >= 32 trips by the four ships, Aug 2023 - Feb 2024
    assert Counter(r["mmsi"] for r in before) == {ANGARA: 11, MARIA: 8, MAIA1: 9, LADY_R: 4}
    # every loaded leg departs Rajin laden and arrives laden: draught up at Rajin (from static reports)
    assert all(r["draught_departure_m"] > 5.9 for r in before)


def test_unloading_port_shifts_from_dunai_to_vostochny(detected) -> None:  # type: ignore[no-untyped-def]
    _, found = detected
    loaded = _loaded(found["voyages"])
    assert {r["destination_id"] for r in loaded if r["departure_ts"] < SHIFT} == {"case:dunai"}
    assert {r["destination_id"] for r in loaded if r["departure_ts"] >= SHIFT} == {"case:vostochny"}
    # by hand from scenario.toml: Angara 9 (its 10th load, 25 Dec 00:00, is not before the switch),
    # Maria 6 (20 Aug + k x 21.5 d up to 5 Dec), Maia-1 6 (21 Sep + k x 18 d up to 20 Dec),
    # Lady R 2 (31 Oct, 2 Dec)
    assert sum(r["departure_ts"] < SHIFT for r in loaded) == 23


def test_halt_and_resumption(detected) -> None:  # type: ignore[no-untyped-def]
    _, found = detected
    visits = found["visits"].filter(pc.equal(found["visits"]["place_id"], "case:rajin")).to_pylist()
    in_halt = [v for v in visits if HALT_START <= v["arrival_ts"] < HALT_END]
    assert in_halt == []  # no Rajin calls 13 Feb - 10 Mar 2024
    loaded = _loaded(found["voyages"])
    deps = [r["departure_ts"] for r in loaded]
    gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(deps)]
    i = max(k for k, d in enumerate(deps) if d < HALT_START)  # the silence spanning the halt
    assert deps[i].date() == dt.date(2024, 2, 12)  # Maia-1, last call before the pause
    assert deps[i + 1].date() == dt.date(2024, 3, 13)  # Lady R, first loaded departure after it
    assert gaps[i] > 29
    assert max(gaps[:i]) < 12  # while the shuttle ran, a loaded departure at least every 12 days
    after = [r for r in loaded if r["departure_ts"] >= HALT_END]
    assert [(r["mmsi"], r["departure_ts"].date()) for r in after] == [
        (LADY_R, dt.date(2024, 3, 13)),  # Rason 10-12 Mar, Vostochny 14 Mar
        (LADY_R, dt.date(2024, 4, 16)),  # Rajin 14 Apr
    ]


def test_loaded_legs_are_dark_from_rajin_to_the_russian_port(detected) -> None:  # type: ignore[no-untyped-def]
    _, found = detected
    gaps = found["gaps"].to_pylist()
    dark = [
        g
        for g in gaps
        if g["near_start_place"] == "case:rajin" and g["near_end_place"] in ("case:dunai", "case:vostochny")
    ]
    assert len(dark) == 34  # 32 before the halt + 2 after
    assert all(7 < g["duration_h"] < 14 for g in dark)


def test_sea_lanes_stay_at_sea() -> None:
    # Natural Earth 50 m land (the report's shipped coastlines): the scenario's lanes cross no land except
    # the last few km into the case's port reference points, which themselves lie on land (city/port
    # reference coordinates, not berths).
    import json
    from importlib import resources

    import numpy as np
    import shapely

    from supplyline.simulate.lanes import make_path
    from supplyline.simulate.scenario import load_scenario

    land_json = json.loads(resources.files("supplyline.report").joinpath("assets/land-50m.json").read_text())
    polys = []
    for ring in land_json["rings"]:
        xy = np.cumsum(np.asarray(ring, dtype=float).reshape(-1, 2), axis=0) / land_json["scale"]
        if (
            len(xy) > 3
            and xy[:, 0].max() > 120
            and xy[:, 0].min() < 140
            and xy[:, 1].max() > 28
            and xy[:, 1].min() < 46
        ):
            polys.append(shapely.make_valid(shapely.Polygon(xy)))
    land = shapely.union_all(polys)
    shapely.prepare(land)
    case = load_case(bundled_case_path("dprk-russia"))
    assert case.scenario_path is not None
    sc = load_scenario(case.scenario_path)
    assert len(sc.lanes) == 14  # 7 lanes, both directions
    for (a, b), via in sc.lanes.items():
        pa_, pb = sc.places[a], sc.places[b]
        path = make_path((pa_.lon, pa_.lat), (pb.lon, pb.lat), tuple(map(tuple, via.tolist())))
        on_land = shapely.contains_xy(land, path.lon, path.lat)
        inner = (path.km > 6.0) & (path.km < path.length_km - 6.0)
        assert not on_land[inner].any(), (a, b, path.km[inner & on_land][:5])
