"""`supplyline sql` and Store.reader(): queries only, no file outside the store, nothing changed; --unsafe
runs anything. Every refused statement is also checked not to have touched the disk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyline.errors import UsageError
from supplyline.ingest.pipeline import ingest
from supplyline.reader import check_query
from supplyline.sqlquote import glob_escape
from supplyline.store import Store
from tests.conftest import data_file

DMA = "dma_ais_ferry_laesoe_2022/ferry.csv"
N = 734
RunMain = Callable[..., tuple[int, str, str]]


@pytest.fixture
def store(shared_data: Path, tmp_path: Path) -> Path:
    root = tmp_path / "it's [a] store"
    ingest(Store.create(root), [data_file(shared_data, DMA)])
    pq.write_table(pa.table({"secret": [42]}), tmp_path / "outside.parquet")
    (tmp_path / "outside.csv").write_text("secret\n42\n")
    return root


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


REFUSED = [
    # writes into the store (allowed_directories alone would let these through)
    ("COPY (SELECT 1 AS mmsi) TO {part} (FORMAT parquet)", "not COPY"),
    ("COPY positions TO {tmp_out}", "not COPY"),
    ("SELECT 1; COPY (SELECT 1) TO {tmp_out}", "not COPY"),
    ("EXPORT DATABASE {tmp_dir}", "not EXPORT"),
    ("CREATE TABLE t AS SELECT 1", "not CREATE"),
    ("INSERT INTO manifest SELECT * FROM manifest", "not INSERT"),
    ("DROP VIEW positions", "not DROP"),
    ("ATTACH {tmp_db} AS x", "not ATTACH"),
    ("INSTALL httpfs", "not LOAD"),
    ("LOAD httpfs", "not LOAD"),
    ("SET enable_external_access = true", "not SET"),
    ("PRAGMA enable_profiling", "not PRAGMA"),
    ("CALL pragma_version()", "not CALL"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO {tmp_out}", "not EXPLAIN"),
    ("PREPARE p AS SELECT 1", "not PREPARE"),
    # reads outside the store
    ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
    ("SELECT * FROM read_text('/etc/hostname')", "Permission Error"),
    ("SELECT * FROM glob('/etc/*')", "Permission Error"),
    ("SELECT * FROM read_parquet({outside})", "Permission Error"),
    ("SELECT * FROM read_csv({outside_csv})", "Permission Error"),
    ("SELECT * FROM read_parquet({store_q} || '/../outside.parquet')", "Permission Error"),
    ("SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/x.csv''')", "SQL error"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_sql_refuses_without_unsafe(
    store: Path, tmp_path: Path, sql: str, message: str, run_main: RunMain
) -> None:
    part = next((store / "positions").rglob("*.parquet"))
    subs = {
        "part": _q(part),
        "tmp_out": _q(tmp_path / "out.csv"),
        "tmp_dir": _q(tmp_path / "exported"),
        "tmp_db": _q(tmp_path / "x.duckdb"),
        "outside": _q(tmp_path / "outside.parquet"),
        "outside_csv": _q(tmp_path / "outside.csv"),
        "store_q": _q(store),
    }
    before = _fingerprint(tmp_path)
    code, out, err = run_main("sql", sql.format(**subs), "--store", str(store))
    assert code == 2, (out, err)
    assert message in " ".join(err.split()) and "Traceback" not in err and "42" not in out
    assert _fingerprint(tmp_path) == before  # nothing written, in the store or beside it
    code, out, _ = run_main("sql", "SELECT count(*) AS n FROM positions", "--store", str(store), "--json")
    assert (code, json.loads(out)) == (0, [{"n": N}])


def test_queries_still_run(store: Path, run_main: RunMain) -> None:
    for sql, expect in (
        ("WITH p AS (SELECT * FROM positions) SELECT count(*) AS n FROM p", [{"n": N}]),
        ("FROM positions SELECT count(DISTINCT mmsi) AS n", [{"n": 1}]),
        ("SELECT count(*) AS n FROM read_parquet({store_glob} || '/positions/*/*.parquet')", [{"n": N}]),
        ("SELECT name FROM vessels", [{"name": "ANE LAESOE"}]),
    ):
        query = sql.format(store_glob=_q(glob_escape(store.resolve())))
        code, out, err = run_main("sql", query, "--store", str(store), "--json")
        assert code == 0, err
        assert json.loads(out) == expect
    code, out, _ = run_main("sql", "SHOW TABLES", "--store", str(store))
    assert code == 0 and "positions" in out


def test_unsafe_runs_anything(store: Path, tmp_path: Path, run_main: RunMain) -> None:
    target = tmp_path / "copy.csv"
    code, _, err = run_main(
        "sql", f"COPY (SELECT mmsi FROM positions) TO {_q(target)}", "--store", str(store), "--unsafe"
    )
    assert code == 0, err
    assert len(target.read_text().splitlines()) == N + 1
    code, out, err = run_main(
        "sql",
        f"SELECT * FROM read_csv({_q(tmp_path / 'outside.csv')})",
        "--store",
        str(store),
        "--unsafe",
        "--json",
    )
    assert (code, json.loads(out)) == (0, [{"secret": 42}]), err


def test_reader_api(store: Path) -> None:
    """What a server uses: parameterised queries run, anything else raises UsageError before running."""
    with Store.open(store).reader() as con:
        assert con.execute("SELECT count(*) FROM positions WHERE mmsi = ?", [219000734]).fetchall() == [(N,)]
        with con.cursor() as other:  # one per thread or request
            assert other.execute("SELECT count(*) FROM manifest").fetchall() == [(1,)]
            with pytest.raises(UsageError, match="not COPY"):
                other.execute("COPY positions TO 'x.csv'")
        rel = con.sql("SELECT max(ts) FROM positions")
        assert rel is not None and rel.fetchall()[0][0] is not None
        assert {"positions", "statics", "quarantine", "manifest", "vessels"} <= set(con.tables())
        with pytest.raises(UsageError, match="not CREATE"):
            con.execute("CREATE TABLE x AS SELECT 1")
        with pytest.raises(UsageError, match="empty SQL"):
            con.sql("  ;  ")


@pytest.mark.parametrize("sql", ["", "SELEC 1", "SELECT 1; DELETE FROM positions"])
def test_check_query_rejects(sql: str) -> None:
    with pytest.raises(UsageError):
        check_query(sql)
