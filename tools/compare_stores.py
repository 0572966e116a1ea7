"""Compare two supplyline stores table by table (and optionally two report.html files).

Used to show that a refactor changed no output: run the same command on two branches, then

    python tools/compare_stores.py OLD/store NEW/store --reports OLD/report.html NEW/report.html

Every Parquet table of a store is compared: ``positions`` (with its ``day`` partition column), ``statics``,
``quarantine``, ``manifest`` and each ``tables/<name>``. A table is the union of all its part files, so part
file names (shard numbers, run timestamps) do not matter; rows are compared as multisets with DuckDB
(``EXCEPT ALL`` both ways), so row order does not matter either. Folders starting with ``_`` (journal,
staging) are transient and skipped.

Only these differences are allowed, all listed here:
  * :data:`WALL_CLOCK` columns, which hold the time a command ran;
  * :data:`LOCATION` columns, which hold paths: a path inside the folder that holds the store is compared
    relative to that folder, so ``demo --out A`` and ``demo --out B`` compare equal;
  * in a report, the :data:`REPORT_WALL_CLOCK` JSON fields, the report's own folder in paths, and the order
    of rows within one embedded table (see :func:`compare_reports`).

Exit codes: 0 equal; 1 different (a summary names each table and what differs); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

WALL_CLOCK: dict[str, tuple[str, ...]] = {
    "manifest": ("ingested_at",),  # when the input was ingested
}
"""Columns ignored because their value is the wall-clock time of the run, by table."""

LOCATION: dict[str, tuple[str, ...]] = {
    "manifest": ("path",),  # the input file, which `demo --out DIR` writes under DIR
}
"""Path columns compared relative to the folder holding the store, by table."""

REPORT_WALL_CLOCK = ("generated_ms", "ingested_ms")
"""JSON fields of report.html that hold wall-clock times (the report's build time, the inputs' ingest time)."""

EXAMPLES = 5  # differing rows shown per table and direction


@dataclass
class TableDiff:
    """How one table differs: missing on a side, schema, or rows present on one side only."""

    table: str
    problem: str
    only_in_a: int = 0
    only_in_b: int = 0
    examples_a: list[dict[str, Any]] = field(default_factory=list)
    examples_b: list[dict[str, Any]] = field(default_factory=list)


def store_tables(root: Path) -> dict[str, list[Path]]:
    """Parquet files of each table of a store: top-level folders and ``tables/<name>``, ``_*`` skipped."""
    out: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.parquet")):
        parts = path.relative_to(root).parts
        if parts[0].startswith("_"):
            continue
        name = "/".join(parts[:2]) if parts[0] == "tables" and len(parts) > 2 else parts[0]
        out.setdefault(name, []).append(path)
    return out


def _relation_sql(
    con: duckdb.DuckDBPyConnection, name: str, files: list[Path], base: Path
) -> tuple[str, dict[str, str]]:
    """A SELECT over one table's files, wall-clock columns dropped and location columns made relative."""
    listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    source = f"read_parquet([{listing}], union_by_name = true, hive_partitioning = true)"
    columns = {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    prefix = str(base).rstrip("/") + "/"
    select = []
    for col in columns:
        if col in WALL_CLOCK.get(name, ()):
            continue
        quoted = '"' + col.replace('"', '""') + '"'
        if col in LOCATION.get(name, ()):
            p = prefix.replace("'", "''")
            select.append(
                f"CASE WHEN starts_with({quoted}, '{p}') THEN '<out>/' || {quoted}[{len(prefix) + 1}:] "
                f"ELSE {quoted} END AS {quoted}"
            )
        else:
            select.append(quoted)
    kept = {c: t for c, t in columns.items() if c not in WALL_CLOCK.get(name, ())}
    return f"SELECT {', '.join(select) or '1 AS no_columns'} FROM {source}", kept


def compare_table(
    name: str, files_a: list[Path], files_b: list[Path], base_a: Path, base_b: Path
) -> TableDiff | None:
    """None when both sides hold the same multiset of rows with the same columns, else what differs."""
    con = duckdb.connect()
    sql_a, cols_a = _relation_sql(con, name, files_a, base_a)
    sql_b, cols_b = _relation_sql(con, name, files_b, base_b)
    if cols_a != cols_b:
        missing = sorted(set(cols_a) - set(cols_b))
        extra = sorted(set(cols_b) - set(cols_a))
        retyped = sorted(c for c in set(cols_a) & set(cols_b) if cols_a[c] != cols_b[c])
        order = "" if missing or extra or retyped else " (same columns, other order)"
        return TableDiff(
            name, f"schema differs{order}: only in A {missing}, only in B {extra}, type changed {retyped}"
        )
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in cols_a)
    diff = TableDiff(name, "rows differ")
    for side, left, right in (("a", sql_a, sql_b), ("b", sql_b, sql_a)):
        only = con.sql(f"SELECT {names} FROM ({left}) EXCEPT ALL SELECT {names} FROM ({right})")
        count = con.sql(f"SELECT count(*) FROM ({only.sql_query()})").fetchall()[0][0]
        rows = only.limit(EXAMPLES).fetchall()
        examples = [dict(zip(cols_a, r, strict=True)) for r in rows]
        setattr(diff, f"only_in_{side}", int(count))
        setattr(diff, f"examples_{side}", examples)
    return diff if diff.only_in_a or diff.only_in_b else None


def compare_stores(a: Path, b: Path) -> list[TableDiff]:
    """Every difference between the tables of store ``a`` and store ``b`` (empty when they are equal)."""
    tables_a, tables_b = store_tables(a), store_tables(b)
    diffs = []
    for name in sorted(set(tables_a) | set(tables_b)):
        if name not in tables_b:
            diffs.append(TableDiff(name, "only in A"))
        elif name not in tables_a:
            diffs.append(TableDiff(name, "only in B"))
        elif (d := compare_table(name, tables_a[name], tables_b[name], a.parent, b.parent)) is not None:
            diffs.append(d)
    return diffs


def normalised_report(path: Path) -> str:
    """A report's text with wall-clock fields zeroed and its own folder written as ``<out>``."""
    text = path.read_text(encoding="utf-8")
    for key in REPORT_WALL_CLOCK:
        text = re.sub(rf'"{key}":\s*-?\d+', f'"{key}":0', text)
    return text.replace(str(path.resolve().parent), "<out>")


PAYLOAD_OPEN = '<script id="payload" type="application/json">'
"""Where the report's JSON payload starts (it ends at the next ``</script>``)."""


def _split_payload(text: str) -> tuple[str, Any]:
    """(the page without its payload, the payload parsed); the payload is None when there is none."""
    start = text.find(PAYLOAD_OPEN)
    if start < 0:
        return text, None
    body = start + len(PAYLOAD_OPEN)
    end = text.index("</script>", body)
    return text[:body] + text[end:], json.loads(text[body:end])


def _first_difference(ta: str, tb: str, what: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y), min(len(ta), len(tb)))
    return (
        f"{what} differs at character {at:,} (A {len(ta):,} chars, B {len(tb):,}): "
        f"A {ta[max(at - 40, 0) : at + 60]!r} / B {tb[max(at - 40, 0) : at + 60]!r}"
    )


def compare_reports(a: Path, b: Path) -> tuple[str | None, list[str]]:
    """(None when the reports are equal after normalising, else where they differ; notes).

    The page outside the JSON payload must be equal character for character. Inside it, each table's rows
    are compared as a multiset, as store tables are: the report lists rows ``ORDER BY`` one column, and
    rows tied on it come in whatever order DuckDB's threads give (so two runs of one build can differ
    there). A table whose rows differ only in order is named in the notes.
    """
    ta, tb = normalised_report(a), normalised_report(b)
    if ta == tb:
        return None, []
    page_a, payload_a = _split_payload(ta)
    page_b, payload_b = _split_payload(tb)
    if page_a != page_b or payload_a is None or payload_b is None:
        return _first_difference(ta, tb, "report.html"), []
    tables_a, tables_b = payload_a.pop("tables", {}), payload_b.pop("tables", {})
    if payload_a != payload_b:
        return _first_difference(
            json.dumps(payload_a), json.dumps(payload_b), "report payload (not tables)"
        ), []
    notes = []
    for name in sorted(set(tables_a) | set(tables_b)):
        ra, rb = dict(tables_a.get(name) or {}), dict(tables_b.get(name) or {})
        rows_a, rows_b = ra.pop("rows", []), rb.pop("rows", [])
        if ra != rb:
            return f"report table {name}: columns or counts differ: A {ra} / B {rb}", notes
        if rows_a == rows_b:
            continue
        if sorted(map(json.dumps, rows_a)) != sorted(map(json.dumps, rows_b)):
            only_a = len(rows_a) - sum(1 for r in rows_a if r in rows_b)
            only_b = len(rows_b) - sum(1 for r in rows_b if r in rows_a)
            return f"report table {name}: rows differ ({only_a} rows only in A, {only_b} only in B)", notes
        notes.append(f"report table {name}: same rows in another order")
    return None, notes


def _summary(
    diffs: list[TableDiff], report: str | None, notes: list[str], n_tables: int, with_reports: bool
) -> str:
    if not diffs and report is None:
        return "\n".join([f"equal: {n_tables} tables" + (" and the reports" if with_reports else ""), *notes])
    lines = []
    for d in diffs:
        counts = (
            f" ({d.only_in_a:,} rows only in A, {d.only_in_b:,} only in B)"
            if d.only_in_a or d.only_in_b
            else ""
        )
        lines.append(f"{d.table}: {d.problem}{counts}")
        lines += [f"    A: {row}" for row in d.examples_a]
        lines += [f"    B: {row}" for row in d.examples_b]
    if report is not None:
        lines.append(report)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store_a", type=Path)
    ap.add_argument("store_b", type=Path)
    ap.add_argument(
        "--reports", nargs=2, type=Path, metavar=("A.html", "B.html"), help="also compare two reports"
    )
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    for p in (args.store_a, args.store_b, *(args.reports or [])):
        if not p.exists():
            ap.error(f"{p} does not exist")
    a, b = args.store_a.resolve(), args.store_b.resolve()
    diffs = compare_stores(a, b)
    report, notes = compare_reports(*args.reports) if args.reports else (None, [])
    equal = not diffs and report is None
    n_tables = len(set(store_tables(a)) | set(store_tables(b)))
    if args.json:
        doc = {
            "equal": equal,
            "tables": n_tables,
            "diffs": [asdict(d) for d in diffs],
            "report": report,
            "notes": notes,
        }
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        print(_summary(diffs, report, notes, n_tables, with_reports=bool(args.reports)))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
