"""tools/compare_stores.py: equal stores exit 0 whatever the part names, row order, run time and --out folder;
one changed value exits 1 and names the table."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TOOL = Path(__file__).resolve().parents[1] / "tools" / "compare_stores.py"
UTC = dt.UTC


def _store(out: Path, *, ingested: dt.datetime, shard_names: tuple[str, str], reverse: bool = False) -> Path:
    """A small store laid out like a real one: day partitions, a manifest, two-part event tables."""
    root = out / "store"
    positions = pa.table(
        {
            "mmsi": pa.array([1, 1, 2], pa.int64()),
            "ts": pa.array(
                [dt.datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)], pa.timestamp("us", "UTC")
            ),
            "lat": [1.0, 1.5, 2.0],
        }
    )
    visits = pa.table({"visit_id": ["a", "b", "c", "d"], "mmsi": pa.array([1, 1, 2, 2], pa.int64())})
    if reverse:
        positions, visits = positions.take([2, 1, 0]), visits.take([3, 2, 1, 0])
    manifest = pa.table(
        {
            "input_id": ["x1"],
            "path": [str(out / "simulated" / "ais.nmea")],
            "ingested_at": pa.array([ingested], pa.timestamp("us", "UTC")),
        }
    )
    for rel, table in (
        ("positions/day=2024-01-01/part-x1-00001.parquet", positions),
        ("manifest/x1.parquet", manifest),
        (f"tables/visits/{shard_names[0]}.parquet", visits.slice(0, 2)),
        (f"tables/visits/{shard_names[1]}.parquet", visits.slice(2)),
        ("_staging/leftover.parquet", pa.table({"junk": [int(reverse)]})),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / rel)
    report = "<script>const D = {%s};</script><p>%s</p>"
    body = json.dumps({"generated_ms": int(ingested.timestamp() * 1000), "store": str(root)})[1:-1]
    (out / "report.html").write_text(report % (body, "3 visits"), encoding="utf-8")
    return root


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def test_equal_stores_exit_0(tmp_path: Path) -> None:
    a = _store(
        tmp_path / "a", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("shard-0001", "shard-0002")
    )
    b = _store(
        tmp_path / "b",
        ingested=dt.datetime(2026, 6, 1, tzinfo=UTC),
        shard_names=("shard-0007", "all"),
        reverse=True,
    )
    res = _run(a, b, "--reports", a.parent / "report.html", b.parent / "report.html")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "equal: 3 tables and the reports"


def test_one_changed_value_exits_1_naming_the_table(tmp_path: Path) -> None:
    a = _store(tmp_path / "a", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    b = _store(tmp_path / "b", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    part = b / "tables" / "visits" / "s2.parquet"
    t = pq.read_table(part)
    pq.write_table(t.set_column(0, "visit_id", pa.array(["c", "X"])), part)
    res = _run(a, b)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0] == "tables/visits: rows differ (1 rows only in A, 1 only in B)"
    assert "'visit_id': 'd'" in res.stdout and "'visit_id': 'X'" in res.stdout
    assert "positions" not in res.stdout and "manifest" not in res.stdout

    doc = json.loads(_run(a, b, "--json").stdout)
    assert doc["equal"] is False
    assert [(d["table"], d["only_in_a"], d["only_in_b"]) for d in doc["diffs"]] == [("tables/visits", 1, 1)]


def test_schema_missing_table_and_report_differences(tmp_path: Path) -> None:
    a = _store(tmp_path / "a", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    b = _store(tmp_path / "b", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    pq.write_table(pa.table({"visit_id": ["e"], "extra": [1]}), b / "tables" / "visits" / "s3.parquet")
    (b / "statics").mkdir()
    pq.write_table(pa.table({"mmsi": [1]}), b / "statics" / "x1.parquet")
    (b.parent / "report.html").write_text("<p>4 visits</p>", encoding="utf-8")
    res = _run(a, b, "--reports", a.parent / "report.html", b.parent / "report.html")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert "statics: only in B" in lines
    assert any(
        line.startswith("tables/visits: schema differs: only in A [], only in B ['extra']") for line in lines
    )
    assert lines[-1].startswith("report.html differs at character 1 (A 85 chars, B 15)")


def test_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    res = _run(tmp_path / "nope", tmp_path / "nope2")
    assert res.returncode == 2
    assert "does not exist" in res.stderr


def _report(path: Path, rows: list[list[object]], generated_ms: int) -> Path:
    payload = {
        "meta": {"generated_ms": generated_ms},
        "tables": {"visits": {"columns": ["id"], "rows": rows}},
    }
    page = f'<h1>r</h1><script id="payload" type="application/json">{json.dumps(payload)}</script><p>end</p>'
    path.write_text(page, encoding="utf-8")
    return path


def test_report_rows_in_another_order_are_equal_other_rows_are_not(tmp_path: Path) -> None:
    a = _store(tmp_path / "a", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    b = _store(tmp_path / "b", ingested=dt.datetime(2026, 1, 1, tzinfo=UTC), shard_names=("s1", "s2"))
    ra = _report(tmp_path / "a.html", [["x"], ["y"]], 1)
    res = _run(a, b, "--reports", ra, _report(tmp_path / "b.html", [["y"], ["x"]], 2))
    assert res.returncode == 0, res.stdout
    assert res.stdout.splitlines() == [
        "equal: 3 tables and the reports",
        "report table visits: same rows in another order",
    ]
    res = _run(a, b, "--reports", ra, _report(tmp_path / "c.html", [["y"], ["z"]], 1))
    assert res.returncode == 1
    assert res.stdout.strip() == "report table visits: rows differ (1 rows only in A, 1 only in B)"
