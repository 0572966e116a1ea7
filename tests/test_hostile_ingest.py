"""Hostile and odd inputs (issue 21): bounded memory, one bad line quarantined (not the input), strict MMSIs,
simulator folders, many small files. Every big input is generated in tmp_path, never committed.

Memory is asserted on a ``supplyline ingest`` child process: its own peak RSS (VmHWM), which it writes at exit.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyline.ingest.accounting import FileResult
from supplyline.ingest.detect_format import binary
from supplyline.ingest.nmea_split import clip_long_lines
from supplyline.ingest.pipeline import ingest
from supplyline.simulate.nmea import encode_positions
from supplyline.store import Store
from tests.conftest import data_file

RSS_CEILING_KB = 1 << 20  # 1 GiB
T0 = 1_600_000_000  # 2020-09-13 UTC


def nmea_lines(n: int, first_mmsi: int = 367_000_000, t0: int = T0) -> list[bytes]:
    """``n`` distinct, valid one-sentence position reports (tag block time, one MMSI each), no newlines."""
    k = np.arange(n, dtype=np.int64)
    rows = encode_positions(
        first_mmsi + k % 500,
        t0 + k,
        np.full(n, 40.5),
        np.full(n, -74.0),
        np.full(n, 10.0),
        np.full(n, 90.0),
        np.full(n, 90.0),
        np.zeros(n, np.int64),
        np.ones(n, np.int64),
    )
    return [bytes(r).rstrip(b"\n") for r in rows]


# The child writes its own peak at exit: VmHWM of its process image after exec. Not the rusage figures:
# Linux carries the pre-exec image's high-water mark (here the test process's, which subprocess vforks)
# into ru_maxrss, so a child of a 1 GB pytest process "peaks" at 1 GB whatever it does.
_PEAK_WRAPPER = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["SUPPLYLINE_TEST_PEAK_FILE"], "w") as out:
        out.write(kb)
atexit.register(_peak)
sys.argv = ["supplyline", *sys.argv[1:]]
from supplyline.cli import main
main()
"""


def run_ingest(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """``supplyline ingest ARGS --json`` as a child process; (result, that child's own peak RSS in KB)."""
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak_kb"
        env = {**os.environ, "SUPPLYLINE_TEST_PEAK_FILE": str(peak_file)}
        cmd = [sys.executable, "-c", _PEAK_WRAPPER, "ingest", *args, "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        return out, int(peak_file.read_text())


def only_file(out: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert "Traceback" not in out.stderr, out.stderr
    files = json.loads(out.stdout)["files"]
    assert len(files) == 1
    f: dict[str, object] = files[0]
    assert f["read"] == f["kept"] + f["duplicate"] + f["quarantined"]  # type: ignore[operator]
    return f


def quarantine(store: Path) -> list[tuple[int, str]]:
    con = duckdb.connect()
    rows = con.execute(f"SELECT line, reason FROM read_parquet('{store}/quarantine/*.parquet') ORDER BY line")
    return [(int(a), str(b)) for a, b in rows.fetchall()]


def positions(store: Path) -> int:
    return int(
        duckdb.connect()
        .execute(f"SELECT count(*) FROM read_parquet('{store}/positions/*/*.parquet')")
        .fetchall()[0][0]
    )


# --- one bad line: quarantined with its line number, the rest stored ------------------------------------------


def test_nul_byte_quarantines_the_line_not_the_file(tmp_path: Path) -> None:
    lines = nmea_lines(4500)
    lines[1] = lines[1][:30] + b"\x00" + lines[1][31:]  # byte ~100 of the file, in line 2
    path = tmp_path / "log.nmea"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "s"
    out, _ = run_ingest(str(path), "--store", str(store))
    assert out.returncode == 0, out.stderr
    f = only_file(out)
    assert (f["read"], f["kept"], f["duplicate"], f["quarantined"]) == (4500, 4499, 0, 1)
    assert quarantine(store) == [(2, "nul_byte")]


def test_binary_files_are_still_rejected() -> None:
    assert binary(bytes(range(256)) * 64)  # every byte value: ~11 % control bytes
    assert binary(os.urandom(1 << 16))
    assert binary("AIS log".encode("utf-16"))  # every other byte NUL
    text = b"\n".join(nmea_lines(1000))
    assert not binary(text[:100] + b"\x00" + text[100:])  # one NUL in 70 kB of text


def test_long_line_is_quarantined_with_its_line_number(tmp_path: Path) -> None:
    lines = nmea_lines(50)
    lines.insert(2, b"!" + b"A" * 100_000)  # line 3
    path = tmp_path / "long.nmea"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "s"
    f = ingest(Store.create(store), [path]).files[0]
    assert (f.read, f.kept, f.duplicate, f.quarantined, f.reasons) == (51, 50, 0, 1, {"line_too_long": 1})
    assert quarantine(store) == [(3, "line_too_long")]
    raw = (
        duckdb.connect()
        .execute(f"SELECT raw FROM read_parquet('{store}/quarantine/*.parquet')")
        .fetchall()[0][0]
    )
    assert raw == "!" + "A" * 255  # only the start of the line is kept


def test_clip_long_lines_matches_a_line_by_line_cut() -> None:
    """Every line cut after max_line + 1 bytes, whatever the block boundaries (newlines kept)."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        max_line = int(rng.choice([3, 5, 10, 64]))
        parts = [b"a" * int(rng.integers(0, 200)) if rng.random() < 0.5 else b"\n" for _ in range(60)]
        data = b"".join(parts)
        size = int(rng.integers(1, 50))
        blocks = [data[i : i + size] for i in range(0, len(data), size)]
        expected = b"\n".join(line[: max_line + 1] for line in data.split(b"\n"))
        assert b"".join(clip_long_lines(blocks, max_line)) == expected


# --- bounded memory on floods (child process, RSS ceiling) ------------------------------------------------------


def test_one_256mb_line_in_a_small_gz_has_bounded_memory(tmp_path: Path) -> None:
    head, tail = nmea_lines(20), nmea_lines(10, t0=T0 + 1000)
    path = tmp_path / "oneline.nmea.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"\n".join(head) + b"\n")
        block = b"B" * (1 << 20)
        for _ in range(256):
            fh.write(block)
        fh.write(b"\n" + b"\n".join(tail) + b"\n")
    assert path.stat().st_size < 400_000
    store = tmp_path / "s"
    out, rss_kb = run_ingest(str(path), "--store", str(store))
    assert out.returncode == 0, out.stderr
    f = only_file(out)
    assert (f["read"], f["kept"], f["duplicate"], f["quarantined"]) == (31, 30, 0, 1)
    assert quarantine(store) == [(21, "line_too_long")]
    assert rss_kb < RSS_CEILING_KB, f"peak RSS {rss_kb} kB"


def test_newline_floods_have_bounded_memory(tmp_path: Path) -> None:
    """24 M empty lines in a plain file, and a small zip of a valid start + 256 MB of newlines."""
    good = nmea_lines(1000)
    flood = tmp_path / "empty_lines.nmea"
    with open(flood, "wb") as fh:
        fh.write(b"\n".join(good[:10]) + b"\n")
        fh.write(b"\n" * 24_000_000)
        fh.write(b"\n".join(good[10:20]) + b"\n")
    archive = tmp_path / "flood.zip"
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("f.nmea", "w") as fh,
    ):
        fh.write(b"\n".join(good[20:]) + b"\n")
        block = b"\n" * (1 << 20)
        for _ in range(256):
            fh.write(block)
        fh.write(good[0][:40])  # a cut last line: quarantined
    assert archive.stat().st_size < 1_000_000
    store = tmp_path / "s"
    out, rss_kb = run_ingest(str(flood), str(archive), "--store", str(store))
    assert out.returncode == 0, out.stderr
    files = {Path(f["path"].split("!")[0]).name: f for f in json.loads(out.stdout)["files"]}
    counts = {name: (f["read"], f["kept"], f["duplicate"], f["quarantined"]) for name, f in files.items()}
    assert counts == {"empty_lines.nmea": (20, 20, 0, 0), "flood.zip": (981, 980, 0, 1)}
    assert quarantine(store) == [(981 + (256 << 20), "unparsable")]  # the cut line, after the newlines
    assert rss_kb < RSS_CEILING_KB, f"peak RSS {rss_kb} kB"


# --- MMSIs: decimal integers of up to 9 digits only -------------------------------------------------------------

ODD_MMSIS = ["3.67e8", "0x15E0A9C4", "367000140.7", "1234567890", "", "-367000140"]


def test_odd_mmsis_in_csv_are_bad_mmsi(tmp_path: Path) -> None:
    rows = ["367000140", " 367000141 ", *ODD_MMSIS]
    path = tmp_path / "odd.csv"
    path.write_text(
        "mmsi,ts,lat,lon\n" + "".join(f"{m},2020-01-01T00:0{i}:00Z,40.1,-74.1\n" for i, m in enumerate(rows))
    )
    store = tmp_path / "s"
    f = ingest(Store.create(store), [path]).files[0]
    assert (f.read, f.kept, f.quarantined, f.reasons) == (8, 2, 6, {"bad_mmsi": 6})
    assert quarantine(store) == [(line, "bad_mmsi") for line in range(4, 10)]
    mmsis = (
        duckdb.connect()
        .execute(f"SELECT mmsi FROM read_parquet('{store}/positions/*/*.parquet') ORDER BY 1")
        .fetchall()
    )
    assert mmsis == [(367000140,), (367000141,)]


def test_odd_mmsis_in_parquet_are_bad_mmsi(tmp_path: Path) -> None:
    n = 2 + len(ODD_MMSIS)
    common = {
        "ts": pa.array([f"2020-01-01T00:0{i}:00Z" for i in range(n)]),
        "lat": pa.array([40.1] * n),
        "lon": pa.array([-74.1] * n),
    }
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({"mmsi": ["367000140", "367000141", *ODD_MMSIS], **common}), text)
    floats = tmp_path / "floats.parquet"
    values = [367000140.0, 367000141.0, 367000140.7, 3.67e9, None, 1e12, -1.0, 0.5]
    pq.write_table(pa.table({"mmsi": pa.array(values, pa.float64()), **common}), floats)
    report = ingest(Store.create(tmp_path / "s"), [text, floats])
    got = [(f.read, f.kept, f.duplicate, f.quarantined, f.reasons) for f in report.files]
    # integral floats (how a float column holds an MMSI) are read; the second file's two are duplicates
    assert got == [(8, 2, 0, 6, {"bad_mmsi": 6}), (8, 0, 2, 6, {"bad_mmsi": 6})]


def test_nmea_mmsi_over_nine_digits_is_bad_mmsi(tmp_path: Path) -> None:
    k = np.arange(3, dtype=np.int64)
    ones = np.ones(3)
    rows = encode_positions(
        np.array([367000140, 999999999, 1_000_000_000]),
        T0 + k,
        40.5 * ones,
        -74.0 * ones,
        10 * ones,
        90 * ones,
        90 * ones,
        np.zeros(3, np.int64),
        np.ones(3, np.int64),
    )
    path = tmp_path / "m.nmea"
    path.write_bytes(rows.tobytes())
    f = ingest(Store.create(tmp_path / "s"), [path]).files[0]
    assert (f.read, f.kept, f.quarantined, f.reasons) == (3, 2, 1, {"bad_mmsi": 1})


# --- a folder written by `supplyline simulate` -------------------------------------------------------------------

SCENARIO = """
[scenario]
name = "tiny"
start = 2024-03-01T00:00:00Z
end = 2024-03-01T12:00:00Z
seed = 3

[[place]]
id = "west"
name = "West"
kind = "port"
lon = 4.0
lat = 54.0
r_in_m = 3000

[[place]]
id = "east"
name = "East"
kind = "port"
lon = 4.6
lat = 54.0
r_in_m = 3000

[[ship]]
key = "a"
name = "Alpha"
mmsi = 211000001
start_place = "west"
speed_kn = 12
[[ship.shuttle]]
load = "west"
unload = "east"
first = 2024-03-01T01:00:00Z
count = 1
load_dwell_h = 1
unload_dwell_h = 1
"""


def test_simulator_folder_ingests_its_ais_and_skips_the_rest(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO)
    out_dir = tmp_path / "sim"
    made = subprocess.run(
        [sys.executable, "-m", "supplyline", "simulate", str(scenario), "--out", str(out_dir), "-f", "both"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    truth = sorted(p.name for p in out_dir.glob("truth_*"))
    assert len(truth) == 6
    out, _ = run_ingest(str(out_dir), "--store", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    files = {Path(f["path"]).name: f for f in json.loads(out.stdout)["files"]}
    ingested = sorted(n for n, f in files.items() if f["status"] == "ingested")
    assert ingested == ["ais.synthetic.nmea", "positions.synthetic.parquet", "statics.synthetic.parquet"]
    for name in [*truth, "README.txt"]:
        assert files[name]["status"] == "skipped"
        assert "supplyline simulate" in files[name]["message"]
    renamed = tmp_path / "ais_renamed.txt"  # skipped by content, never by name: a renamed AIS file is read
    renamed.write_bytes((out_dir / "ais.synthetic.nmea").read_bytes())
    again, _ = run_ingest(str(renamed), "--store", str(tmp_path / "s2"))
    assert only_file(again)["status"] == "ingested"


# --- many small inputs: one connection and pool per run, batched transactions ------------------------------------


def test_many_small_files_exact_counts_and_a_failing_one(tmp_path: Path) -> None:
    lines = nmea_lines(300)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, line in enumerate(lines):
        (folder / f"m{i:04d}.nmea").write_bytes(line + b"\n")
    (folder / "m0100z-copy.nmea").write_bytes(lines[100] + b"\n")  # same bytes: skipped
    (folder / "m0200z-crlf.nmea").write_bytes(lines[200] + b"\r\n")  # same report: a duplicate
    # readable at its start, truncated later: fails inside a batch, the others are still stored
    big = b"\n".join(nmea_lines(3000, t0=T0 + 10_000)) + b"\n"
    (folder / "m0150z-broken.nmea.gz").write_bytes(gzip.compress(big)[:-200])
    store = tmp_path / "s"
    report = ingest(Store.create(store), [folder])
    by_name = {Path(f.path).name: f for f in report.files}
    assert len(by_name) == 303
    broken = by_name.pop("m0150z-broken.nmea.gz")
    assert broken.status == "error" and "truncated" in (broken.message or "")
    assert by_name.pop("m0100z-copy.nmea").status == "skipped"
    crlf = by_name.pop("m0200z-crlf.nmea")
    assert (crlf.status, crlf.read, crlf.kept, crlf.duplicate) == ("ingested", 1, 0, 1)
    assert all((f.status, f.read, f.kept) == ("ingested", 1, 1) for f in by_name.values())
    s = Store.open(store)
    assert s.read_table("manifest").num_rows == 301
    assert positions(store) == 300
    again = ingest(s, [folder])  # every input again: skipped by content hash, nothing added
    assert sum(f.status == "skipped" for f in again.files) == 302
    assert positions(store) == 300


@pytest.mark.parametrize("n", [2, 7])
def test_small_files_repeating_each_other_within_a_batch(tmp_path: Path, n: int) -> None:
    """The same reports in several small files of one batch: stored once, the rest duplicates."""
    lines = nmea_lines(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(n):  # each file differs (a comment line) but holds the same five reports
        (folder / f"f{i}.nmea").write_bytes(f"# copy {i}\n".encode() + b"\n".join(lines) + b"\n")
    report = ingest(Store.create(tmp_path / "s"), [folder])
    got = [(f.read, f.kept, f.duplicate) for f in report.files]
    assert got == [(5, 5, 0)] + [(5, 0, 5)] * (n - 1)


# --- CSV: RFC 4180 quoting, unterminated quotes, oversized fields ------------------------------------------------

NOAA_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,"
    "Cargo,TranscieverClass\n"
)


def noaa_rows(n: int, names: dict[int, str] | None = None, mmsis: dict[int, str] | None = None) -> list[str]:
    """``n`` distinct NOAA rows (one a second); ``names`` / ``mmsis``: row index -> raw cell text."""
    names, mmsis = names or {}, mmsis or {}
    return [
        f"{mmsis.get(i, str(367_000_000 + i % 50))},2020-06-30T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},"
        f"40.5,-74.0,1.0,90.0,90,{names.get(i, 'SHIP')},IMO1234567,WDC1,70,0,100,20,5,70,A\n"
        for i in range(n)
    ]


def stored_names(store: Path) -> list[str]:
    con = duckdb.connect()
    return [
        r[0] for r in con.execute(f"SELECT name FROM read_parquet('{store}/statics/*/*.parquet')").fetchall()
    ]


def test_csv_quoted_newline_is_one_row_and_lines_stay_physical(tmp_path: Path) -> None:
    """A quoted value holding a newline (and a blank line) shifts physical lines: later quarantine rows
    still name their own line; ``read`` counts data rows."""
    rows = noaa_rows(12, names={3: '"MULTI\nLINE, ""QUOTED"""'}, mmsis={8: "3.67e8"})
    rows[5] = rows[5] + "\n"  # a blank line after row 5
    rows[10] = rows[10].replace("40.5", "north")  # a CAST error DuckDB refuses
    path = tmp_path / "quoted.csv"
    path.write_text(NOAA_HEADER + "".join(rows))
    store = tmp_path / "s"
    f = ingest(Store.create(store), [path]).files[0]
    assert (f.read, f.kept, f.duplicate, f.quarantined) == (12, 10, 0, 2)
    assert f.reasons == {"bad_mmsi": 1, "unparsable": 1}
    # header 1, rows 0-2 on 2-4, row 3 on 5-6, rows 4-5 on 7-8, blank 9, row 6 on 10, ..., row 8 on 12
    assert quarantine(store) == [(12, "bad_mmsi"), (14, "unparsable")]
    assert 'MULTI\nLINE, "QUOTED"' in stored_names(store)


def test_csv_unterminated_quote_costs_one_line(tmp_path: Path) -> None:
    """DuckDB reads all after an unterminated quote as one value; the line is quarantined, the rest kept."""
    rows = noaa_rows(3000, names={1000: '"NEVER CLOSED', 2000: '"CLOSED"'}, mmsis={2500: "0x15E0A9C4"})
    path = tmp_path / "open_quote.csv"
    path.write_text(NOAA_HEADER + "".join(rows))
    store = tmp_path / "s"
    f = ingest(Store.create(store), [path]).files[0]
    assert (f.read, f.kept, f.duplicate, f.quarantined) == (3000, 2998, 0, 2)
    assert f.reasons == {"bad_mmsi": 1, "unterminated_quote": 1}
    assert quarantine(store) == [(1002, "unterminated_quote"), (2502, "bad_mmsi")]
    assert positions(store) == 2998


def test_csv_unterminated_quote_in_a_mapped_gz_csv(tmp_path: Path) -> None:
    """Generic CSV read with --map, gzip: the same recovery (the copy re-read is decompressed)."""
    lines = [
        f"{367_000_000 + i},2020-01-01 00:{i // 60:02d}:{i % 60:02d},{40 + i / 1000},-74,x{i}\n"
        for i in range(500)
    ]
    lines[7] = lines[7].replace(",x7", ',"x7')
    path = tmp_path / "mapped.csv.gz"
    path.write_bytes(gzip.compress(("id,when,la,lo,note\n" + "".join(lines)).encode()))
    store = tmp_path / "s"
    mapping = {"mmsi": "id", "ts": "when", "lat": "la", "lon": "lo"}
    f = ingest(Store.create(store), [path], mapping=mapping).files[0]
    assert (f.read, f.kept, f.quarantined, f.reasons) == (500, 499, 1, {"unterminated_quote": 1})
    assert quarantine(store) == [(9, "unterminated_quote")]


def test_csv_oversized_field_is_quarantined_with_its_line(tmp_path: Path) -> None:
    """One 3 MB field in a 2,000-row NOAA CSV, and a 64 MB one (past DuckDB's 32 MB read buffer, where it
    would drop the line without a word) in a small gzip: line_too_long, right line, the rest kept, bounded
    memory."""
    plain = tmp_path / "field.csv"
    plain.write_text(NOAA_HEADER + "".join(noaa_rows(2000, names={1000: "X" * 3_000_000})))
    packed = tmp_path / "field.csv.gz"
    with gzip.open(packed, "wt", compresslevel=6) as fh:
        fh.write(NOAA_HEADER)
        fh.writelines(
            r.replace("2020-06-30", "2020-07-01") for r in noaa_rows(1500, names={700: "Y" * (64 << 20)})
        )
    assert packed.stat().st_size < 1_000_000
    store = tmp_path / "s"
    out, rss_kb = run_ingest(str(plain), str(packed), "--store", str(store))
    assert out.returncode == 0, out.stderr
    files = {Path(f["path"]).name: f for f in json.loads(out.stdout)["files"]}
    counts = {
        n: (f["read"], f["kept"], f["duplicate"], f["quarantined"], f["reasons"]) for n, f in files.items()
    }
    assert counts == {
        "field.csv": (2000, 1999, 0, 1, {"line_too_long": 1}),
        "field.csv.gz": (1500, 1499, 0, 1, {"line_too_long": 1}),
    }
    con = duckdb.connect()
    got = con.execute(
        f"SELECT file, line, reason, length(raw) FROM read_parquet('{store}/quarantine/*.parquet') ORDER BY file"
    ).fetchall()
    assert [(Path(a).name, b, c, d) for a, b, c, d in got] == [
        ("field.csv", 1002, "line_too_long", 256),
        ("field.csv.gz", 702, "line_too_long", 256),
    ]
    assert positions(store) == 1999 + 1499
    assert rss_kb < RSS_CEILING_KB, f"peak RSS {rss_kb} kB"


def test_csv_record_scan_is_independent_of_block_boundaries() -> None:
    """scan_records on random CSV text cut into random blocks gives the same map as one whole block."""
    from supplyline.ingest.csv_records import scan_records

    rng = np.random.default_rng(5)
    cells = ["a", "", '"q,1"', '"two\nlines"', '"open', '""', "b\r", '"x""y"']
    for _ in range(100):
        lines = [",".join(rng.choice(cells, 3)) if rng.random() < 0.9 else "" for _ in range(40)]
        data = ("h1,h2,h3\n" + "\n".join(lines)).encode()
        whole = scan_records([data], 3, max_record=64)
        size = int(rng.integers(1, 30))
        cut = scan_records([data[i : i + size] for i in range(0, len(data), size)], 3, max_record=64)
        assert (cut.cont, cut.skip, cut.bad) == (whole.cont, whole.skip, whole.bad)


def test_batched_small_inputs_count_as_each_alone(shared_data: Path, tmp_path: Path) -> None:
    """Real NMEA (positions, static reports, two-sentence messages cut at file ends, bad lines) split into
    small files: ingested as one batch (normalised together) or each in its own call, every file has the
    same counts and reasons, and the stores hold the same positions and quarantine."""
    text = gzip.decompress(
        data_file(shared_data, "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz").read_bytes()
    )
    lines = text.splitlines(keepends=True)[:1500]
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(0, len(lines), 37):  # 41 files, cut anywhere (two-sentence messages too)
        (folder / f"part{i:05d}.nmea").write_bytes(b"".join(lines[i : i + 37]))
    batched = ingest(Store.create(tmp_path / "a"), [folder])
    alone_store = Store.create(tmp_path / "b")
    alone = [ingest(alone_store, [p]).files[0] for p in sorted(folder.iterdir())]

    def counts(files: list[FileResult]) -> list[tuple[object, ...]]:
        return [(Path(f.path).name, f.read, f.kept, f.duplicate, f.quarantined, f.reasons) for f in files]

    assert counts(batched.files) == counts(alone)
    assert sum(f.quarantined for f in alone) > 0 and sum(f.statics for f in alone) > 0
    con = duckdb.connect()
    for table in ("positions/*/*", "statics/*/*", "quarantine/*"):
        q = "SELECT * EXCLUDE (input_id) FROM read_parquet('{}/" + table + ".parquet') ORDER BY ALL"
        assert (
            con.execute(q.format(tmp_path / "a")).fetchall()
            == con.execute(q.format(tmp_path / "b")).fetchall()
        )


def test_csv_unterminated_quote_with_text_vessel_ids(tmp_path: Path) -> None:
    """Text ids are listed from the rows actually read (the repaired copy), so none after the bad quote
    is lost."""
    lines = [f"boat-{i},2020-01-01T00:{i // 60:02d}:{i % 60:02d}Z,40.{i:03d},-74.0,n{i}\n" for i in range(60)]
    lines[10] = lines[10].replace(",n10", ',"n10')
    path = tmp_path / "ids.csv"
    path.write_text("ship,ts,lat,lon,note\n" + "".join(lines))
    store = tmp_path / "s"
    mapping = {"vessel_id": "ship", "ts": "ts", "lat": "lat", "lon": "lon"}
    f = ingest(Store.create(store), [path], mapping=mapping).files[0]
    assert (f.read, f.kept, f.quarantined, f.reasons) == (60, 59, 1, {"unterminated_quote": 1})
    ids = Store.open(store).read_table("vessel_ids")["source_id"].to_pylist()
    assert sorted(ids) == sorted(f"boat-{i}" for i in range(60) if i != 10)
