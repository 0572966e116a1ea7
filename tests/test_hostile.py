"""Hostile input that is not AIS: stores you were sent, stores at odd paths, links, formula cells,
non-UTF-8 case files and every kind of wrong command line. Each gets a clear error (or is ignored with a
warning) and never runs anything, writes anything outside the store, or prints a traceback."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.case import bundled_case_path
from supplyline.errors import UsageError
from supplyline.evidence.extract import extract_claims
from supplyline.ingest.pipeline import ingest
from supplyline.report.export import export_store
from supplyline.store import Store
from supplyline.urls import is_link_url, url_problem
from tests.browser import fixture_store as fx
from tests.conftest import data_file

DMA = "dma_ais_ferry_laesoe_2022/ferry.csv"  # 734 positions of one ferry
DMA_POSITIONS = 734
RunMain = Callable[..., tuple[int, str, str]]
INJECTION = "x AS SELECT 1; COPY (SELECT 'owned' AS msg) TO 'pwned.csv'; --"


# --- store folder names ------------------------------------------------------------------------------------
def test_hostile_table_folder_is_ignored_with_a_warning(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_main: RunMain
) -> None:
    store = tmp_path / "s"
    ingest(Store.create(store), [data_file(shared_data, DMA)])
    for name in (INJECTION, "Upper", "1digit", 'quo"te'):
        (store / "tables" / name).mkdir(parents=True)
        shutil.copy(next((store / "manifest").glob("*.parquet")), store / "tables" / name / "all.parquet")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main("info", "--store", str(store), "--json")
    assert code == 0, err
    assert not (tmp_path / "pwned.csv").exists() and not list(tmp_path.rglob("pwned.csv"))
    assert "warning: ignored 4 folder(s)" in err and "Traceback" not in err
    tables = json.loads(out)["tables"]
    assert tables["positions"] == DMA_POSITIONS
    assert set(tables) == {"positions", "statics", "quarantine", "manifest"}
    code, out, _ = run_main(
        "sql", "SELECT count(*) AS n FROM information_schema.tables", "--store", str(store), "--json"
    )
    assert code == 0 and json.loads(out) == [{"n": 5}]  # 4 raw tables + vessels


# --- store paths -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["it's store", "glob[1]store", "sp ace*?", 'quo"te {x}'])
def test_store_at_any_legal_path(shared_data: Path, tmp_path: Path, name: str, run_main: RunMain) -> None:
    store = str(tmp_path / name)
    assert run_main("ingest", str(data_file(shared_data, DMA)), "--store", store)[0] == 0
    code, out, err = run_main("info", "--store", store, "--json")
    assert code == 0, err
    assert json.loads(out)["tables"]["positions"] == DMA_POSITIONS
    code, out, err = run_main("sql", "SELECT count(*) AS n FROM positions", "--store", store, "--json")
    assert (code, json.loads(out)) == (0, [{"n": DMA_POSITIONS}]), err
    code, out, err = run_main("detect", "--store", store, "--workers", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["segments"] >= 1
    code, _, err = run_main("report", "--store", store, "--out", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r.html").stat().st_size > 100_000, err
    code, _, err = run_main("export", "--format", "csv", "--store", store, "--out", str(tmp_path / "csv"))
    assert code == 0, err
    with open(tmp_path / "csv" / "positions.csv") as fh:
        assert sum(1 for _ in fh) == DMA_POSITIONS + 1


# --- links -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=1#c", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
        ("//example.org/x", False),
        ("http:/no-host", False),
        ("https://exa mple.org", False),
    ],
)
def test_only_http_urls_are_links(url: str, ok: bool) -> None:
    assert is_link_url(url) is ok
    assert (url_problem(url) is None) is ok


def _claims_csv(path: Path, url: str) -> Path:
    path.write_text(
        f'claimant,published,quantity,unit,quote,url\nNIS,2023-11-01,1000,shells,"1,000 shells",{url}\n'
    )
    return path


def test_javascript_url_refused_at_import_validate_and_extract(tmp_path: Path, run_main: RunMain) -> None:
    bad = _claims_csv(tmp_path / "claims.csv", "javascript:alert(document.domain)")
    code, _, err = run_main("claims", "import", str(bad), "--store", str(tmp_path / "s"))
    assert code == 5 and "is not an http(s) address" in err and "claims.csv:2" in err
    case = tmp_path / "case"
    shutil.copytree(bundled_case_path("dprk-russia"), case)
    _claims_csv(case / "claims.csv", "javascript:alert(1)")
    code, _, err = run_main("case", "validate", str(case))
    assert code == 5 and "claims.csv:2" in err and "is not an http(s) address" in err
    article = tmp_path / "a.txt"
    article.write_text(
        "URL: javascript:alert(1)\nPublished: 2023-11-01\n\nThe NIS said 1,000,000 shells were sent.\n"
    )
    code, _, err = run_main("claims", "extract", str(article), "--store", str(tmp_path / "s"), "--accept")
    assert code == 5 and "(candidate):1: url 'javascript:alert(1)' is not an http(s) address" in err
    with pytest.raises(UsageError, match="not an http"):
        extract_claims("The NIS said 1,000,000 shells were sent.", url="data:text/html,x")
    assert extract_claims("The NIS said 1,000,000 shells were sent.", url="https://x.org/a").num_rows == 1


# --- formula cells -----------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\tTAB", "\rCR"]


def test_csv_export_defuses_formula_cells(tmp_path: Path) -> None:
    store = fx.build_fixture_store(tmp_path / "store")
    notes = pa.table(
        {
            "text": [*FORMULAS, "plain", None],
            "value": [-73.5, 1.0, -2.0, 0.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    store.write_table("notes", notes)
    claims = store.read_table("claims", schema.CLAIMS)
    claims = claims.set_column(
        claims.schema.get_field_index("claimant"), "claimant", pa.array(["=1+1", "@x"])
    )
    store.write_table("claims", claims)
    export_store(store, "csv", tmp_path / "out", ["notes", "claims"])
    with open(tmp_path / "out" / "notes.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["text"] for r in rows] == [*("'" + f for f in FORMULAS), "plain", ""]
    assert [float(r["value"]) for r in rows][:3] == [-73.5, 1.0, -2.0]  # numbers stay numbers
    with open(tmp_path / "out" / "claims.csv", newline="") as fh:
        assert sorted(r["claimant"] for r in csv.DictReader(fh)) == ["'=1+1", "'@x"]
    # Parquet keeps the data exactly as stored
    export_store(store, "parquet", tmp_path / "pq", ["notes"])
    assert pa.parquet.read_table(tmp_path / "pq" / "notes.parquet")["text"].to_pylist()[:6] == FORMULAS


# --- non-UTF-8 case files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("file", ["case.toml", "scenario.toml", "claims.csv", "observations.csv"])
def test_non_utf8_case_file_is_a_problem_with_its_line(tmp_path: Path, file: str, run_main: RunMain) -> None:
    case = tmp_path / "case"
    shutil.copytree(bundled_case_path("dprk-russia"), case)
    text = (case / file).read_bytes()
    lines = text.count(b"\n")
    (case / file).write_bytes(text + "# Pusan caf\u00e9\n".encode("latin-1"))
    code, _, err = run_main("case", "validate", str(case))
    assert code == 5, err
    assert f"{file}:{lines + 1}: byte 0xe9" in err and "not UTF-8" in err and "Traceback" not in err
    code, out, _ = run_main("case", "validate", str(case), "--json")
    doc = json.loads(out)
    # the first problem; an unreadable evidence file also leaves the scenario's references to it unresolved
    first = doc["problems"][0]
    assert code == 5 and (Path(first["file"]).name, first["line"]) == (file, lines + 1)
    if file == "scenario.toml":
        code, _, err = run_main("simulate", str(case / file), "--out", str(tmp_path / "sim"))
        assert code == 5 and f"{file}:{lines + 1}" in err


# --- CLI errors --------------------------------------------------------------------------------------------
STORE_COMMANDS = [
    ["info"],
    ["sql", "SELECT 1"],
    ["detect", "--workers", "1"],
    ["estimate"],
    ["monitor"],
    ["report"],
    ["export", "--format", "csv", "--out", "{tmp}/x"],
    ["claims", "list"],
    ["observations", "list"],
]


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda c: c[0] + ("-" + c[1] if len(c) > 1 else ""))
@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("{tmp}/a-file", "is a file, not a store folder"),
        ("{tmp}/a-file/sub", "no supplyline store"),
        ("{tmp}/missing", "no supplyline store"),
    ],
)
def test_every_command_with_a_wrong_store(
    tmp_path: Path, command: list[str], store: str, message: str, run_main: RunMain
) -> None:
    (tmp_path / "a-file").write_text("not a store")
    args = [a.format(tmp=tmp_path) for a in command]
    code, out, err = run_main(*args, "--store", store.format(tmp=tmp_path), "--json")
    assert code == 3, err
    assert message in err and "Traceback" not in err and len(err) < 400
    assert json.loads(out)["exit_code"] == 3
    assert not (tmp_path / "missing").exists()


def _mixed_folder(root: Path) -> Path:
    root.mkdir()
    for i in range(200):
        (root / f"notes-{i:03d}.csv").write_text(f"this,is,not\nais,{i},data\n")
    (root / "photo.bin").write_bytes(bytes(range(256)) * 40)
    return root


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ingest", "{data}", "--store", "{tmp}/s", "--chunk-rows", "0"], 2, "--chunk-rows"),
        (["ingest", "{data}", "--store", "{tmp}/s", "--chunk-rows", "-1"], 2, "--chunk-rows"),
        (["ingest", "{data}", "--store", "{tmp}/a-file"], 3, "is a file, not a store folder"),
        (["ingest", "{data}", "--store", "{tmp}/a-file/sub"], 3, "cannot use the store"),
        (
            ["report", "--store", "{store}", "--out", "{tmp}/no/such/dir/r.html"],
            2,
            "is not an existing folder",
        ),
        (["report", "--store", "{store}", "--max-points", "0"], 2, "--max-points"),
        (["sql", "SELECT 1", "--store", "{store}", "--limit", "-1"], 2, "--limit"),
        (["estimate", "--store", "{store}", "--draws", "0"], 2, "--draws"),
        (["estimate", "--store", "{store}", "--about", "-1"], 2, "--about"),
        (["monitor", "--store", "{store}", "--halt-p", "2"], 2, "--halt-p"),
        (["monitor", "--store", "{store}", "--window-days", "0"], 2, "window_days"),
        (["simulate", "{scenario}", "--seed", "-1", "--out", "{tmp}/sim"], 2, "--seed"),
        (["detect", "--store", "{store}", "--workers", "0"], 2, "--workers"),
        (["demo", "--input", "/nonexistent", "--out", "{tmp}/demo"], 2, "--input is for --data nyharbor"),
        (
            ["demo", "--data", "nyharbor", "--input", "/nonexistent", "--out", "{tmp}/demo"],
            4,
            "does not exist",
        ),
        (
            ["demo", "--data", "nyharbor", "--input", "{mixed}", "--out", "{tmp}/demo"],
            4,
            "of 201 demo inputs",
        ),
    ],
)
def test_cli_error_table(
    shared_data: Path, tmp_path: Path, args: list[str], code: int, message: str, run_main: RunMain
) -> None:
    (tmp_path / "a-file").write_text("not a store")
    store = fx.build_fixture_store(tmp_path / "store").root
    mixed = _mixed_folder(tmp_path / "mixed") if "{mixed}" in args else tmp_path
    subs = {
        "tmp": tmp_path,
        "data": data_file(shared_data, DMA),
        "store": store,
        "scenario": bundled_case_path("dprk-russia") / "scenario.toml",
        "mixed": mixed,
    }
    got, out, err = run_main(*(a.format(**subs) for a in args))
    assert got == code, err
    flat = " ".join(err.split())
    assert message in flat and "Traceback" not in err
    assert len(err) < 1500, f"{len(err)} characters of stderr"
    assert not (tmp_path / "no").exists()  # report --out creates no folders
    if "{mixed}" not in args:
        assert not (tmp_path / "demo" / "store").exists()  # checked before anything is written
    else:
        got, out, err = run_main(*(a.format(**subs) for a in args), "--json")
        doc = json.loads(out)
        assert doc["exit_code"] == 4 and len(doc["details"]["files"]) == 201


def test_hostile_column_name_in_a_stored_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Column names come from the store's Parquet files too: the report quotes them."""
    from supplyline.report.builder import build_report

    store = fx.build_fixture_store(tmp_path / "store")
    places = store.read_table("places")
    column = "x\" FROM places; COPY (SELECT 1) TO 'pwned.csv'; --"
    store.write_table("places", places.append_column(column, pa.array(["a"] * places.num_rows)))
    monkeypatch.chdir(tmp_path)
    html = build_report(store, tmp_path / "r.html").read_text()
    assert not list(tmp_path.rglob("pwned.csv"))
    assert "COPY (SELECT 1)" in html  # the column is shown (escaped inside the JSON payload), not run


@pytest.mark.parametrize(
    ("args", "code", "where"),
    [
        (["detect", "--store", "{store}", "--case", "{case}", "--workers", "1"], 5, "case.toml:{n}"),
        (["estimate", "--store", "{store}", "--case", "{case}"], 5, "case.toml:{n}"),
        (["monitor", "--store", "{store}", "--case", "{case}"], 5, "case.toml:{n}"),
        (["case", "show", "{case}"], 5, "case.toml:{n}"),
        (["claims", "import", "{latin1}", "--store", "{store}"], 4, "latin1.csv:2"),
        (["observations", "import", "{latin1}", "--store", "{store}"], 4, "latin1.csv:2"),
        (["claims", "extract", "{latin1}", "--store", "{store}"], 4, "latin1.csv"),
        (["places", "search", "Rajin", "--places", "{latin1}"], 4, "latin1.csv:2"),
    ],
    ids=lambda v: v[0] + "-" + v[1] if isinstance(v, list) else None,
)
def test_every_command_reading_a_non_utf8_file(
    tmp_path: Path, args: list[str], code: int, where: str, run_main: RunMain
) -> None:
    case = tmp_path / "case"
    shutil.copytree(bundled_case_path("dprk-russia"), case)
    text = (case / "case.toml").read_bytes()
    (case / "case.toml").write_bytes(text + "# caf\u00e9\n".encode("latin-1"))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("claimant,url\nM\u00fcller,https://x.org\n".encode("latin-1"))
    store = fx.build_fixture_store(tmp_path / "store").root
    subs = {"case": case, "store": store, "latin1": latin1}
    got, _, err = run_main(*(a.format(**subs) for a in args))
    assert got == code, err
    assert where.format(n=text.count(b"\n") + 1) in err and "utf-8" in err.lower() and "Traceback" not in err


# --- Spark paths: any legal store path is read literally ------------------------------------------------------


@pytest.mark.parametrize("name", ["glob[1]store", "a*b?c", "x{y,z}", "back\\slash", "it's store", "100%"])
def test_spark_read_paths_are_glob_escaped(tmp_path: Path, name: str) -> None:
    """Spark globs read paths (Hadoop syntax): the store's own characters must match only themselves, and a
    ``file:`` URI is spelled decoded (Hadoop would look for ``%5B`` literally)."""
    from supplyline.engine.spark import _local_path, store_uri
    from supplyline.store import hadoop_glob_escape, raw_uri, table_uri

    root = tmp_path / name
    uri = store_uri(root)
    escaped = {"[": "\\[", "]": "\\]", "*": "\\*", "?": "\\?", "{": "\\{", "}": "\\}", "\\": "\\\\"}
    literal = "".join(escaped.get(c, c) for c in str(root))
    assert raw_uri(uri, "positions") == f"file://{literal}/positions"
    assert table_uri(uri, "visits", read=True) == f"file://{literal}/tables/visits"
    assert table_uri(uri, "visits") == f"file://{root}/tables/visits"  # written paths are not globbed
    assert _local_path(uri) == root
    assert hadoop_glob_escape("s3a://b/p[0]") == "s3a://b/p\\[0\\]"
