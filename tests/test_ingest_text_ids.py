"""Text vessel ids (``--id-column``) get stable surrogate ids; an input quarantined whole is an error."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from supplyline.errors import InputError
from supplyline.ingest.csv_formats import SURROGATE_BASE, TEXT_ID, surrogate_id
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store

ROWS = (
    "ship-9e3779b1,2024-01-01T00:00:00Z,54.0,3.0\n"
    "ship-9e3779b1,2024-01-01T00:10:00Z,54.01,3.0\n"
    "ship-7f4a7c15,2024-01-01T00:00:00Z,55.0,4.0\n"
)


def _csv(tmp_path: Path, id_header: str = "ship_id") -> Path:
    path = tmp_path / f"tracks-{id_header}.csv"
    path.write_text(f"{id_header},ts,lat,lon\n" + ROWS)
    return path


def test_surrogate_id_known_answer() -> None:
    # 10^12 + (MD5 of the text, read little-endian) mod 10^15: computed here from hashlib by hand
    digest = hashlib.md5(b"ship-9e3779b1").digest()
    assert surrogate_id("ship-9e3779b1") == 10**12 + int.from_bytes(digest, "little") % 10**15
    assert surrogate_id("ship-9e3779b1") == 562_942_087_986_385
    assert SURROGATE_BASE > 999_999_999 and surrogate_id("x") < 2**53


def test_text_ids_get_stable_surrogates_and_a_mapping(tmp_path: Path) -> None:
    ids = {}
    for k in (1, 2):  # two stores: the same text gets the same id
        store = Store.create(tmp_path / f"s{k}")
        (f,) = ingest(store, [_csv(tmp_path)], mapping={TEXT_ID: "ship_id"}).files
        assert (f.status, f.read, f.kept, f.quarantined, f.exit_code) == ("ingested", 3, 3, 0, 0)
        con = store.connect()
        ids[k] = con.sql("SELECT mmsi, count(*) FROM positions GROUP BY 1 ORDER BY 1").fetchall()
        mapping = con.sql("SELECT vessel_id, source_id, input_id FROM vessel_ids ORDER BY 1").fetchall()
        assert mapping == [
            (surrogate_id("ship-7f4a7c15"), "ship-7f4a7c15", f.input_id),
            (surrogate_id("ship-9e3779b1"), "ship-9e3779b1", f.input_id),
        ]
    assert ids[1] == ids[2] == [(surrogate_id("ship-7f4a7c15"), 1), (surrogate_id("ship-9e3779b1"), 2)]


def test_text_ids_in_parquet(tmp_path: Path) -> None:
    table = pa.table(
        {
            "vessel": ["a-1", "a-1", "b-2"],
            "ts": [1.7e9, 1.7e9 + 60, 1.7e9],
            "lat": [1.0, 1.1, 2.0],
            "lon": [3.0] * 3,
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [tmp_path / "t.parquet"], mapping={TEXT_ID: "vessel"}, ts_format="epoch").files
    assert (f.kept, f.quarantined) == (3, 0)
    got = store.connect().sql("SELECT DISTINCT mmsi FROM positions ORDER BY 1").fetchall()
    assert got == sorted([(surrogate_id("a-1"),), (surrogate_id("b-2"),)])


def test_all_quarantined_input_is_an_error_and_stores_nothing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "mmsi")  # canonical header, but the ids are text
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    assert (f.status, f.exit_code, f.kept) == ("error", InputError.exit_code, 0)
    assert "all 3 records were quarantined (unparsable 3)" in (f.message or "")
    assert "--id-column" in (f.message or "")
    assert not list((tmp_path / "s" / "quarantine").glob("*.parquet")) and not store.manifest_ids()
    # the CLI exits 4 with the reason, and the same file then ingests with --id-column
    run = [sys.executable, "-m", "supplyline", "ingest", str(path), "--store", str(tmp_path / "s")]
    bad = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 4 and "all 3 records were quarantined" in " ".join(bad.stderr.split())
    good = subprocess.run([*run, "--id-column", "mmsi"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr


def test_partly_quarantined_input_is_still_ingested(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "mmsi,ts,lat,lon\n257000001,2024-01-01T00:00:00Z,54.0,3.0\nship-x,2024-01-01T00:00:00Z,1,1\n"
    )
    (f,) = ingest(Store.create(tmp_path / "s"), [path]).files
    assert (f.status, f.exit_code, f.kept, f.quarantined) == ("ingested", 0, 1, 1)
