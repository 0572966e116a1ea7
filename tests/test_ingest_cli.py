"""The real CLI (``python -m supplyline``): repeat, garbage, interruption (SIGKILL) and the store commands."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from bench.ingest_data import dma_copies
from typer.testing import CliRunner

from supplyline.cli import app
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from tests.conftest import data_file

DMA = "dma_ais_ferry_laesoe_2022/ferry.csv"
NY_WEEK = "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supplyline", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_ingest_twice_adds_nothing(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, DMA)
    store = tmp_path / "s"
    first = run_cli("ingest", str(path), "--store", str(store), "--json")
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["totals"] == {
        "read": 735,
        "kept": 734,
        "duplicate": 1,
        "quarantined": 0,
        "positions": 734,
        "statics": 1,
    }
    second = run_cli("ingest", str(path), "--json", env={"SUPPLYLINE_STORE": str(store)})
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    assert two["files"][0]["status"] == "skipped" and two["totals"]["kept"] == 0
    info = json.loads(run_cli("info", "--store", str(store), "--json").stdout)
    assert info["tables"]["positions"] == 734 and info["tables"]["manifest"] == 1
    assert (info["days"], info["vessels"], info["identities"]) == (1, 1, 1)
    assert info["inputs"] == {"dma": {"files": 1, "read": 735, "kept": 734}}
    # a copy under another name has the same content hash: also skipped
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    third = json.loads(run_cli("ingest", str(copy), "--store", str(store), "--json").stdout)
    assert third["files"][0]["status"] == "skipped"


def test_garbage_inputs(shared_data: Path, tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    truncated = tmp_path / "week.csv.gz"
    truncated.write_bytes(data_file(shared_data, NY_WEEK).read_bytes()[:300_000])
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("colour,size\nred,3\n")
    lines = data_file(shared_data, DMA).read_text().splitlines()
    bad_lines = tmp_path / "bad_lines.csv"
    bad_lines.write_text("\n".join([*lines[:20], "not,a,row", *lines[20:40]]) + "\n")
    store = tmp_path / "s"

    out = run_cli(
        "ingest", str(binary), str(truncated), str(wrong), str(bad_lines), "--store", str(store), "--json"
    )
    assert out.returncode == 4, out.stderr  # unreadable inputs -> exit 4; the readable one is stored
    assert "Traceback" not in out.stderr
    files = {Path(f["path"]).name: f for f in json.loads(out.stdout)["files"]}
    assert files["blob.bin"]["status"] == "error" and "binary" in files["blob.bin"]["message"]
    week = files["week.csv.gz"]
    assert week["status"] == "error" and "truncated or corrupt" in week["message"]
    assert files["wrong.csv"]["status"] == "error" and "--map" in files["wrong.csv"]["message"]
    good = files["bad_lines.csv"]
    assert (good["status"], good["read"], good["kept"], good["duplicate"], good["quarantined"]) == (
        "ingested",
        40,
        38,
        1,  # the ferry file's one exact duplicate is among its first 39 rows
        1,
    )
    assert "3 of 4 inputs could not be ingested" in out.stderr
    # nothing of the unreadable inputs is visible: one manifest row, one input's positions
    s = Store.open(store)
    assert s.read_table("manifest")["path"].to_pylist() == [str(bad_lines)]

    # a readable file with bad lines alone: quarantined, exit 0
    bad2 = tmp_path / "bad2.csv"
    bad2.write_text("\n".join([*lines[:5], "x,y,z"]) + "\n")
    ok = run_cli("ingest", str(bad2), "--store", str(store))
    assert ok.returncode == 0, ok.stderr
    assert "quarantined by reason" in ok.stdout


def test_sql_and_errors(shared_data: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    ingest(Store.create(store), [data_file(shared_data, DMA)])
    runner = CliRunner()
    res = runner.invoke(
        app, ["sql", "SELECT mmsi, count(*) AS n FROM positions GROUP BY 1", "--store", str(store), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == [{"mmsi": 219000734, "n": 734}]
    res = runner.invoke(app, ["sql", "SELECT name FROM vessels", "--store", str(store)])
    assert res.exit_code == 0 and "ANE LAESOE" in res.output
    res = runner.invoke(app, ["info", "--store", str(store)])
    assert res.exit_code == 0 and "positions" in res.output
    bad = run_cli("sql", "SELECT * FROM nowhere", "--store", str(store))
    assert bad.returncode == 2 and "SQL error" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("info", "--store", str(tmp_path / "none"))
    assert missing.returncode == 3 and "no supplyline store" in missing.stderr


def _counts(root: Path) -> dict[str, int]:
    con = Store.open(root).connect()
    out = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("positions", "statics", "quarantine", "manifest")
    }
    out["kept"] = con.execute("SELECT coalesce(sum(kept), 0) FROM manifest").fetchall()[0][0]
    return out


def _check_consistent(root: Path) -> None:
    """Readable, nothing staged or journaled, and every visible input complete with its manifest row."""
    store = Store.open(root)  # recovers
    assert not any((root / "_journal").glob("*")) if (root / "_journal").exists() else True
    assert not any((root / "_staging").iterdir()) if (root / "_staging").exists() else True
    manifest = set(store.read_table("manifest")["input_id"].to_pylist())
    for table in ("positions", "statics", "quarantine"):
        for f in (root / table).rglob("*.parquet"):
            pq.read_metadata(f)  # a whole Parquet file (footer present)
            assert f.name.split("-")[1] in manifest, f"{f} visible without its manifest row"
    for row in store.read_table("manifest").to_pylist():
        got = (
            store.connect()
            .execute("SELECT count(*) FROM positions WHERE input_id = ?", [row["input_id"]])
            .fetchall()[0][0]
        )
        assert got == row["positions"]


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun(shared_data: Path, tmp_path: Path) -> None:
    src = data_file(shared_data, DMA)
    inputs = []
    for i in range(3):
        p = tmp_path / f"part{i}.csv"
        dma_copies(src, p, copies=12 + i, shift_h=2)
        text = p.read_text()
        if i == 1:  # make the middle file gzip, with a few bad rows
            text = text.replace("Class A,219000734,57.29678", "Class A,219000734,97.29678")
            p.unlink()
            p = tmp_path / "part1.csv.gz"
            p.write_bytes(gzip.compress(text.encode()))
        inputs.append(str(p))
    args = ["ingest", *inputs, "--chunk-rows", "400"]

    reference = tmp_path / "ref"
    ingest(Store.create(reference), inputs, chunk_rows=400)
    want = _counts(reference)
    assert want["manifest"] == 3 and want["quarantine"] > 0

    # kill at different moments: while the first file is staged, after some inputs are committed
    for wait_for in ("staging", "manifest1", "manifest2"):
        root = tmp_path / f"kill-{wait_for}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "supplyline", *args, "--store", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            n_manifest = len(list((root / "manifest").glob("*.parquet")))
            try:  # the run removes staging folders while we look
                staged = list((root / "_staging").rglob("*.parquet")) if (root / "_staging").exists() else []
            except FileNotFoundError:
                staged = []
            if (wait_for == "staging" and staged) or (wait_for == f"manifest{n_manifest}" and n_manifest):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _check_consistent(root)
        partial = _counts(root)
        assert partial["manifest"] < 3, "the run finished before it could be killed; make the input bigger"
        rerun = run_cli(*args, "--store", str(root))
        assert rerun.returncode == 0, rerun.stderr
        _check_consistent(root)
        assert _counts(root) == want
