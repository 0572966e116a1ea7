"""The server's per-store-version indexes give the rows the per-request SQL gave (fixture store, real DuckDB).

The vessel page and the map no longer run a query per table per request (:mod:`supplyline.serve.snapshot`,
:mod:`supplyline.serve.positions`); these tests hold the indexes to the plain per-vessel and per-window SQL
that the server ran before, run here on the same in-memory tables as the reference answer.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")

from supplyline.serve import api, positions, snapshot
from supplyline.serve import queries as Q
from supplyline.serve.db import Reader, open_reader
from supplyline.serve.snapshot import records
from tests.browser import fixture_store as fx
from tests.serve.hostile import HOSTILE_MMSI, add_hostile_rows

MMSIS = [fx.MMSI_A, fx.MMSI_B, fx.MMSI_C, HOSTILE_MMSI, 999_999_999]
WINDOWS = [  # hours from T0: whole days, a partial overlap, a window with no data
    (0, 24 * 9),
    (73, 119),
    (96, 97),
    (-48, -24),
]
# The per-vessel SQL the vessel page ran before the indexes (the reference answers).
PER_VESSEL = {
    "identities": ("SELECT * FROM vessel_identities WHERE mmsi = ? ORDER BY first_seen", 1),
    "visits": ('SELECT * FROM "visits" WHERE mmsi = ? ORDER BY arrival_ts', 1),
    "voyages": ('SELECT * FROM "voyages" WHERE mmsi = ? ORDER BY departure_ts', 1),
    "gaps": ('SELECT * FROM "gaps" WHERE mmsi = ? ORDER BY start_ts', 1),
    "loitering": ('SELECT * FROM "loitering" WHERE mmsi = ? ORDER BY start_ts', 1),
    "draught_changes": ('SELECT * FROM "draught_changes" WHERE mmsi = ? ORDER BY ts', 1),
    "alerts": ('SELECT * FROM "alerts" WHERE mmsi = ? ORDER BY ts', 1),
    "encounters": ("SELECT * FROM encounters WHERE mmsi_a = ? OR mmsi_b = ? ORDER BY start_ts", 2),
    "sanctions": ("SELECT * FROM alerts WHERE kind = 'sanctioned' AND mmsi = ? ORDER BY ts", 1),
    "same_imo": (
        """SELECT DISTINCT mmsi, imo, name FROM vessel_identities
           WHERE imo IN (SELECT imo FROM vessel_identities WHERE mmsi = ? AND imo IS NOT NULL) AND mmsi <> ?
           ORDER BY mmsi""",
        2,
    ),
    "route_counts": (
        """SELECT route, count(*) AS trips, min(departure_ts) AS first_departure,
                  max(departure_ts) AS last_departure
           FROM voyages WHERE mmsi = ? GROUP BY route ORDER BY route NULLS LAST""",
        1,
    ),
    "places": (
        """SELECT place_id, name, kind, lat, lon, r_in_m, watched FROM places
           WHERE place_id IN (SELECT place_id FROM visits WHERE mmsi = ?) ORDER BY place_id""",
        1,
    ),
}


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Reader:
    root = tmp_path_factory.mktemp("snapshot") / "store"
    add_hostile_rows(fx.build_fixture_store(root))
    return open_reader(root)


def memory_rows(reader: Reader, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = reader.cursor()
    try:
        return records(cur.sql(sql, params=params).to_arrow_table())
    finally:
        cur.close()


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def at(hours: float) -> dt.datetime:
    return fx.T0 + dt.timedelta(hours=hours)


@pytest.mark.parametrize("mmsi", MMSIS)
def test_vessel_rows_match_the_per_vessel_queries(reader: Reader, mmsi: int) -> None:
    snap = reader.current()
    for name, (sql, n_params) in PER_VESSEL.items():
        assert snap.vessel[name].rows(mmsi) == memory_rows(reader, sql, [mmsi] * n_params), name
    assert api.vessel(reader, fx.MMSI_A) is not None and api.vessel(reader, 999_999_999) is None


def test_vessel_page_known_rows(reader: Reader) -> None:
    page = api.vessel(reader, fx.MMSI_A)
    assert page is not None
    assert len(page["visits"]) == 3 and len(page["voyages"]) == 2 and len(page["encounters"]) == 1
    encounter = page["encounters"][0]
    other = encounter["mmsi_b"] if encounter["mmsi_a"] == fx.MMSI_A else encounter["mmsi_a"]
    other_page = api.vessel(reader, other)
    assert other_page is not None and other_page["encounters"] == [encounter]  # listed under both vessels


@pytest.mark.parametrize(("h0", "h1"), WINDOWS)
def test_layers_match_the_window_queries(reader: Reader, h0: float, h1: float) -> None:
    start, end = at(h0), at(h1)
    a, b = positions.epoch_us(start), positions.epoch_us(end)
    snap = reader.current()
    for name, (t0, t1) in Q.LAYERS.items():
        key = "mmsi_a" if name == "encounters" else "mmsi"
        sql = f"""SELECT e.*, n.name AS vessel_name FROM "{name}" e LEFT JOIN vessel_names n ON n.mmsi = e.{key}
                  WHERE coalesce(e."{t1}", e."{t0}") >= ? AND e."{t0}" <= ? ORDER BY e."{t0}" LIMIT ?"""
        want, got = memory_rows(reader, sql, [start, end, 100]), snap.layers[name].rows(a, b, 100)
        assert [r[t0] for r in got] == [r[t0] for r in want], name  # same rows in time order
        assert sorted(map(_key, got)) == sorted(map(_key, want)), name  # (rows tied in time: any order)
        assert [r[t0] for r in snap.layers[name].rows(a, b, 2)] == [r[t0] for r in want[:2]]
    if (h0, h1) == (73, 119):  # the known answer of tests/test_serve.py::test_map_window_narrows
        assert [v["voyage_id"] for v in snap.layers["voyages"].rows(a, b, 100)] == ["y1"]


@pytest.mark.parametrize("budget", [100, 500, 20_000])
@pytest.mark.parametrize(("h0", "h1"), WINDOWS)
def test_tracks_in_memory_match_the_sql_decimation(reader: Reader, budget: int, h0: float, h1: float) -> None:
    snap = reader.current()
    assert snap.positions is not None
    for mmsi in [None, fx.MMSI_A, fx.MMSI_B, 999_999_999]:
        mem = snap.positions.tracks(mmsi, at(h0), at(h1), budget)
        disk = api._tracks_on_disk(reader, mmsi, at(h0), at(h1), budget)
        assert mem.n_positions == disk.n_positions
        for field in ("mmsi", "ts_us", "lat", "lon", "starts"):
            np.testing.assert_array_equal(getattr(mem, field), getattr(disk, field), err_msg=field)
    whole = snap.positions.tracks(None, at(-1000), at(1000), 100)
    assert 0 < len(whole.mmsi) < whole.n_positions  # thinned to about the budget


def test_large_store_answers_from_the_files(reader: Reader, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store over MAX_IN_MEMORY positions keeps them on disk, tables over CONVERT_ONCE_ROWS rows are
    converted per answer: the same answers."""
    start, end = at(0), at(24 * 9)
    monkeypatch.setattr(positions, "MAX_IN_MEMORY", 10)
    monkeypatch.setattr(snapshot, "CONVERT_ONCE_ROWS", 1)
    large = open_reader(reader.store.root)
    try:
        assert large.current().positions is None and reader.current().positions is not None
        assert api.map_data(large, start, end, 500) == api.map_data(reader, start, end, 500)
        for mmsi in MMSIS:
            assert api.vessel(large, mmsi) == api.vessel(reader, mmsi)
    finally:
        large.close()


def test_encode_escapes_and_matches_the_standard_encoder() -> None:
    payload = {"name": "<script>alert(1)</script>", "n": 3, "x": 0.1, "list": [None, True, "é"]}
    body = api.encode(payload)
    assert b"<" not in body and json.loads(body) == payload
    big = {"n": 2**70}
    assert json.loads(api.encode(big)) == big  # beyond 64 bits: the standard encoder's answer
    when = {"t": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    assert json.loads(api.encode(when)) == {"t": "2024-01-02 03:04:05+00:00"}  # str(), as before


def test_sanctions_details_decoded_without_changing_shared_rows(reader: Reader) -> None:
    shared = reader.current().vessel["sanctions"].rows(HOSTILE_MMSI)
    assert [type(r["details"]) for r in shared] == [str]
    for _ in range(2):  # the second answer decodes the same text again
        page = api.vessel(reader, HOSTILE_MMSI)
        assert page is not None
        assert page["sanctions"][0]["details"] == {"match": "<img src=x onerror=alert(1)>"}
    assert [type(r["details"]) for r in reader.current().vessel["sanctions"].rows(HOSTILE_MMSI)] == [str]


def test_empty_store_answers_empty(tmp_path: Path) -> None:
    """A store with nothing ingested yet: no positions, no tables; the server still answers."""
    from supplyline.store import Store

    Store.create(tmp_path / "store")
    empty = open_reader(tmp_path / "store")
    try:
        snap = empty.current()
        assert snap.span.n == 0 and snap.positions is not None and len(snap.positions.mmsi) == 0
        assert api.vessel(empty, fx.MMSI_A) is None
        answer = api.map_data(empty, at(0), at(24), 100)
        assert answer["n_positions"] == 0 and answer["tracks"] == []
        assert all(rows == [] for rows in answer["layers"].values())
    finally:
        empty.close()
