"""The Input object (files, archive members, bytes in memory) and the batch entry points built on it.

A block of NMEA or CSV held in memory (as a live feed spools it) must be ingested exactly as the same
bytes in a file: same counts, same stored rows, same quarantine, skipped the second time.
"""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import duckdb
import pytest

from supplyline.ingest.inputs import Input
from supplyline.ingest.pipeline import ingest, ingest_bytes, ingest_inputs, message_boundary
from supplyline.store import Store
from tests.conftest import data_file

STREAM = "dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt"
FERRY = "dma_ais_ferry_laesoe_2022/ferry.csv"
COUNTS = ("read", "kept", "duplicate", "quarantined", "positions", "statics")


def _rows(store: Store, table: str, columns: str) -> list[tuple[object, ...]]:
    files = sorted(str(p) for p in (store.root / table).rglob("*.parquet"))
    sql = f"SELECT {columns} FROM read_parquet({files!r}, hive_partitioning=false) ORDER BY ALL"
    return duckdb.connect().execute(sql).fetchall()


def test_input_reads_itself_the_same_from_disk_gzip_zip_and_memory(tmp_path: Path) -> None:
    text = b"line one\nline two\r\nline three"
    plain, gz, zp = tmp_path / "a.txt", tmp_path / "b.dat", tmp_path / "c.zip"
    plain.write_bytes(text)
    gz.write_bytes(gzip.compress(text))
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("inner.txt", text)
    inputs = [
        *Input.from_path(plain),
        *Input.from_path(gz),
        *Input.from_path(zp),
        Input.from_bytes("mem", text),
    ]
    assert [i.compression for i in inputs] == [None, "gz", "zip", None]
    assert [i.name for i in inputs][2:] == [f"{zp}!inner.txt", "mem"]
    for inp in inputs:
        assert b"".join(inp.blocks(4)) == text
        assert inp.head(8) == b"line one"
        assert inp.lines([2, 3, 7]) == {2: "line two", 3: "line three"}
    assert inputs[0].sha256() == inputs[3].sha256() == hashlib.sha256(text).hexdigest()
    assert inputs[1].sha256() == hashlib.sha256(gz.read_bytes()).hexdigest()  # the stored (compressed) bytes
    assert inputs[3].size() == len(text) and inputs[0].size() == len(text)
    assert inputs[3].exists() and inputs[3].materialise(tmp_path / "m.tmp").read_bytes() == text


def test_detect_format_hook(shared_data: Path) -> None:
    nmea = Input.from_path(data_file(shared_data, STREAM))[0]
    assert nmea.detect_format() == "nmea"
    assert Input.from_bytes("f.csv", data_file(shared_data, FERRY).read_bytes()).detect_format() == "dma"


@pytest.mark.parametrize("rel", [STREAM, FERRY])
def test_bytes_in_memory_ingest_like_the_file(shared_data: Path, tmp_path: Path, rel: str) -> None:
    path = data_file(shared_data, rel)
    from_file = ingest(Store.create(tmp_path / "file"), [path]).files[0]
    mem_store = Store.create(tmp_path / "mem")
    res = ingest_bytes(mem_store, path.read_bytes(), name=str(path), fmt=None, chunk_bytes=1 << 20)
    assert res.status == "ingested" and res.format == from_file.format
    assert [getattr(res, k) for k in COUNTS] == [getattr(from_file, k) for k in COUNTS]
    assert res.read == res.kept + res.duplicate + res.quarantined > 0
    assert res.input_id == from_file.input_id  # same bytes, same content hash
    key = "mmsi, ts, lat, lon, sog_kn, cog_deg, heading_deg, nav_status, msg_type, source"
    assert _rows(mem_store, "positions", key) == _rows(Store(tmp_path / "file"), "positions", key)
    if res.quarantined:
        quoted = "line, raw, reason, detail"
        assert _rows(mem_store, "quarantine", quoted) == _rows(Store(tmp_path / "file"), "quarantine", quoted)
    again = ingest_bytes(mem_store, path.read_bytes(), name="spool-2", fmt=None)
    assert again.status == "skipped" and again.read == 0


def test_ingest_inputs_batch_of_spooled_blocks(shared_data: Path, tmp_path: Path) -> None:
    lines = data_file(shared_data, STREAM).read_bytes().splitlines(keepends=True)
    rest = b"".join(lines[:3000])
    blocks = []  # cut as a spooler must: after a line that completes a message ($PGHP rides with the next)
    for _ in range(2):
        cut = message_boundary(rest[: len(rest) // 2])
        blocks.append(rest[:cut])
        rest = rest[cut:]
    blocks.append(rest)
    store = Store.create(tmp_path / "s")
    report = ingest_inputs(
        store, [Input.from_bytes(f"spool-{i}", b) for i, b in enumerate(blocks)], fmt="nmea"
    )
    assert [f.path for f in report.files] == ["spool-0", "spool-1", "spool-2"]
    assert (
        report.totals["read"]
        == report.totals["kept"] + report.totals["duplicate"] + report.totals["quarantined"]
    )
    whole = ingest_bytes(Store.create(tmp_path / "whole"), b"".join(blocks), name="whole", fmt="nmea")
    assert report.totals["read"] == whole.read > 1000 and report.exit_code == 0  # every line counted once
    manifest = _rows(store, "manifest", "path, read, bytes")
    assert [(p, b) for p, _, b in manifest] == [(f"spool-{i}", len(b)) for i, b in enumerate(blocks)]
    assert [r for _, r, _ in manifest] == [f.read for f in report.files]
