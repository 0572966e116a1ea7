"""The report builder: payload contents, track decimation and encoding, offline-only HTML."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.errors import UsageError
from supplyline.report.builder import build_payload, build_report
from supplyline.report.data import (
    COORD_SCALE,
    Tracks,
    decimate_tracks,
    encode_tracks,
    fair_shares,
    report_table,
    table_json,
    track_breaks,
)
from supplyline.store import Store
from tests.browser import fixture_store as fx


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fx.build_fixture_store(tmp_path_factory.mktemp("report") / "store")


def _payload_from_html(html: str) -> dict:
    m = re.search(r'<script id="payload" type="application/json">(.*?)</script>', html, re.S)
    assert m, "payload script element missing"
    return json.loads(m.group(1))


def test_payload_counts_match_fixture(store: Store) -> None:
    p = build_payload(store)
    assert p["meta"]["synthetic"] is True
    assert p["meta"]["n_positions"] == fx.positions().num_rows
    assert len(p["tracks"]) == fx.N_VESSELS
    assert {t["name"] for t in p["tracks"]} == {"ANGARA", "LADY R", "MARIA"}
    rows = {name: len(t["rows"]) for name, t in p["tables"].items()}
    assert rows["places"] == fx.N_PLACES  # watched or referenced only; the unvisited Nakhodka is left out
    assert "wpi:nakhodka" not in {r[0] for r in p["tables"]["places"]["rows"]}
    assert p["tables"]["places"]["total"] == fx.N_PLACES
    assert rows["visits"] == fx.N_VISITS
    assert rows["voyages"] == fx.N_VOYAGES
    assert rows["gaps"] == fx.N_GAPS
    assert rows["encounters"] == fx.N_ENCOUNTERS
    assert rows["alerts"] == fx.N_ALERTS
    assert rows["claims"] == fx.N_CLAIMS
    assert p["tables"]["claim_tests"]["present"] is True
    vessels = p["tables"]["vessels"]  # the identity view over statics
    assert sorted(r[vessels["columns"].index("name")] for r in vessels["rows"]) == [
        "ANGARA",
        "LADY R",
        "MARIA",
    ]
    src = p["meta"]["sources"]
    assert len(src) == 1 and src[0]["synthetic"] is True
    # 2024-01-20 00:00 UTC is the first position of the fixture, in epoch milliseconds
    assert src[0]["first_ms"] == 1_705_708_800_000


def test_timestamps_are_epoch_ms_and_types_tagged(store: Store) -> None:
    t = build_payload(store)["tables"]["alerts"]
    row = dict(zip(t["columns"], t["rows"][0], strict=True))
    types = dict(zip(t["columns"], t["types"], strict=True))
    assert types["ts"] == "ts" and types["probability"] == "num" and types["mmsi"] == "int"
    halt = next(dict(zip(t["columns"], r, strict=True)) for r in t["rows"] if r[1] == "halt")
    assert halt["ts"] == int((fx.T0 + dt.timedelta(hours=300)).timestamp() * 1000)
    assert row["alert_id"] in {"a1", "a2"}


def test_report_is_one_offline_file(store: Store, tmp_path: Path) -> None:
    out = build_report(store, tmp_path / "r.html", title="Fixture <case>")
    html = out.read_text()
    assert "<title>Fixture &lt;case></title>" in html
    # Nothing loaded from elsewhere: no src/href to scripts, styles or images, and a CSP forbidding fetches.
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "<link" not in html and "<img" not in html
    assert "default-src 'none'" in html
    assert "https://cdn" not in html and "unpkg.com" not in html
    # The claim quote contains "</script>"; it must not close the payload element early.
    p = _payload_from_html(html)
    quotes = [r[p["tables"]["claims"]["columns"].index("quote")] for r in p["tables"]["claims"]["rows"]]
    assert "more than 10,000 containers </script>" in quotes
    assert out.stat().st_size < 2_000_000


def test_empty_store_renders(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "empty")
    p = build_payload(store)
    assert p["tracks"] == [] and p["meta"]["n_positions"] == 0 and p["meta"]["synthetic"] is False
    assert p["tables"]["voyages"]["present"] is False
    assert p["tables"]["visits"]["rows"] == []
    out = build_report(store, tmp_path / "empty.html")
    assert out.stat().st_size > 100_000  # the page with its vendored assets, no data


def _one_vessel_store(root: Path, n: int, step_s: int) -> Store:
    store = Store.create(root)
    t = (1_700_000_000 + np.arange(n, dtype=np.int64) * step_s) * 1_000_000
    pos = pa.table(
        {
            "mmsi": np.full(n, 1, np.int64),
            "ts": pa.array(t).cast(schema.TS),
            "lat": np.linspace(10, 11, n),
            "lon": np.linspace(20, 21, n),
        }
    )
    with store.transaction() as txn:
        txn.put("positions/day=2023-11-14/part-x.parquet", pos)
    return store


def test_decimation_keeps_one_point_per_bucket(tmp_path: Path) -> None:
    # 100,000 positions 10 s apart; budget 1,000 -> bucket = span // 1000 = 999.99 s -> 1,000 or 1,001 buckets.
    store = _one_vessel_store(tmp_path / "s", 100_000, 10)
    con = store.connect()
    tr = decimate_tracks(con, max_points=1000)
    assert tr.n_positions == 100_000
    assert 1000 <= len(tr.mmsi) <= 1001
    assert tr.ts_us[0] == 1_700_000_000 * 1_000_000  # the first position of the first bucket is kept
    assert np.all(np.diff(tr.ts_us) > 0)
    # a budget above the count keeps every point that is >= MIN_BUCKET_S (60 s) apart: 10 s spacing -> 1 in 6
    tr_all = decimate_tracks(con, max_points=10_000_000)
    assert len(tr_all.mmsi) == int(np.ceil(100_000 / 6))


def test_encode_tracks_round_trips() -> None:
    ts = np.array([10, 20, 40, 5, 6], np.int64) * 1_000_000
    lat = np.array([1.0, 1.00005, 1.2, -3.3333, -3.3332])
    lon = np.array([179.9, -179.9, 179.0, 0.0, 0.0001])
    tracks = Tracks(np.array([7, 7, 7, 9, 9]), ts, lat, lon, np.array([0, 3, 5]), 5)
    enc = encode_tracks(tracks, {9: "NINE"})
    assert [e["mmsi"] for e in enc] == [7, 9] and enc[1]["name"] == "NINE" and enc[0]["name"] is None
    for e, sl in zip(enc, (slice(0, 3), slice(3, 5)), strict=True):
        assert np.array_equal(np.cumsum(e["t"]), ts[sl] // 1_000_000)
        assert np.array_equal(np.cumsum(e["y"]), np.rint(lat[sl] * COORD_SCALE))
        assert np.array_equal(np.cumsum(e["x"]), np.rint(lon[sl] * COORD_SCALE))


def test_track_breaks_at_silence_antimeridian_and_vessel() -> None:
    h = 3_600_000_000
    ts = np.array([0, 1, 2, 9, 10, 0, 1], np.int64) * h  # 7 h silence between points 2 and 3
    lon = np.array([0.0, 0, 0, 0, 0, 179.9, -179.9])  # antimeridian between points 5 and 6
    tracks = Tracks(np.array([1, 1, 1, 1, 1, 2, 2]), ts, np.zeros(7), lon, np.array([0, 5, 7]), 7)
    assert track_breaks(tracks, break_h=6.0).tolist() == [0, 3, 5, 6, 7]
    assert track_breaks(tracks, break_h=8.0).tolist() == [0, 5, 6, 7]


def test_table_json_caps_rows_and_keeps_total() -> None:
    t = pa.table(
        {"x": [1.0, float("nan"), float("inf")], "d": pa.array([0, 1, 2], pa.int32()).cast(pa.date32())}
    )
    j = table_json(t, max_rows=2)
    assert j["total"] == 3 and len(j["rows"]) == 2
    assert j["types"] == ["num", "date"]
    assert j["rows"] == [[1.0, 0], [None, 86_400_000]]  # NaN -> null, dates -> epoch ms
    assert table_json(t)["rows"][2][0] is None  # inf (an open-ended claim) -> null, JSON has no infinity


def test_fair_shares_water_filling() -> None:
    # 10 + 100 + 200 = 310: the small vessels keep everything, the big one gets what is left
    assert fair_shares(np.array([10, 100, 1000]), 310) == 200.0
    assert fair_shares(np.array([1000, 10, 100]), 2000) == float("inf")
    assert fair_shares(np.array([5, 5, 5]), 6) == 2.0


def test_decimation_shares_budget_between_vessels(tmp_path: Path) -> None:
    # vessel 1: 50,000 points 10 s apart (kept at most 1 a minute); vessel 2: 100 points 10 min apart (all kept)
    store = Store.create(tmp_path / "s")
    n1, n2 = 50_000, 100
    t = np.r_[np.arange(n1) * 10, np.arange(n2) * 600].astype(np.int64) + 1_700_000_000
    pos = pa.table(
        {
            "mmsi": np.r_[np.full(n1, 1), np.full(n2, 2)].astype(np.int64),
            "ts": pa.array(t * 1_000_000).cast(schema.TS),
            "lat": np.zeros(n1 + n2),
            "lon": np.zeros(n1 + n2),
        }
    )
    with store.transaction() as txn:
        txn.put("positions/day=2023-11-14/part-x.parquet", pos)
    tr = decimate_tracks(store.connect(), max_points=2_100)
    per_vessel = np.diff(tr.starts)
    assert per_vessel[1] == n2  # the short track keeps every point
    assert 1_990 <= per_vessel[0] <= 2_000  # the long one gets the remaining 2,000
    assert tr.n_positions == n1 + n2


def test_report_table_orders_by_time_and_limits_in_sql(store: Store) -> None:
    con = store.connect()
    voy = report_table(con, "voyages")
    assert [r[0] for r in voy["rows"]] == ["y1", "y3", "y2"]  # departures at 72 h, 120 h, 168 h
    two = report_table(con, "voyages", max_rows=2)
    assert two["total"] == 3 and [r[0] for r in two["rows"]] == ["y1", "y3"]
    assert report_table(con, "no_such_table") == {
        "columns": [],
        "types": [],
        "rows": [],
        "present": False,
        "total": 0,
    }


def test_out_may_be_a_folder_and_unwritable_paths_are_usage_errors(store: Store, tmp_path: Path) -> None:
    assert build_report(store, tmp_path, max_points=100) == tmp_path / "report.html"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UsageError, match="cannot write the report"):
        build_report(store, tmp_path / "a-file" / "r.html", max_points=100)


def test_synthetic_flag_sources(tmp_path: Path) -> None:
    real = fx.build_fixture_store(tmp_path / "real", synthetic=False)
    assert build_payload(real, max_points=100)["meta"]["synthetic"] is False
    assert "SYNTHETIC DATA" not in build_report(real, tmp_path / "real.html", max_points=100).read_text()
    # imported simulator truth marks the store synthetic even when the manifest does not
    real.write_table("truth_visits", pa.table({"mmsi": [1]}))
    assert build_payload(real, max_points=100)["meta"]["synthetic"] is True
    assert 'id="synthetic-banner"' in build_report(real, tmp_path / "synth.html", max_points=100).read_text()
