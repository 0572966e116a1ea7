"""The evidence ledger: claims and observations read from CSV or YAML, validated, and stored with provenance.

Every problem is reported as ``(file, line, message)`` with what to fix, all at once (``CaseError``). Rows
are stored in the store tables ``claims`` and ``observations``, one part per imported source file, so
re-importing a file replaces its rows and other files' rows are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.errors import CaseError, InputError
from supplyline.estimate.scope import parse_scope
from supplyline.evidence.units import (
    BASE_UNITS,
    CLAIM_UNITS,
    QUALIFIERS,
    fill_bounds,
    is_known_unit,
    normalise_qualifier,
    normalise_unit,
)
from supplyline.ids import stable_id
from supplyline.store import Store, Transaction
from supplyline.textfiles import NotUtf8Error, read_utf8
from supplyline.urls import url_problem

Problem = tuple[str, int | None, str]
OBSERVATION_KINDS = ("imagery", "rail", "trade", "statement", "ais")

_EXTRA = "\x00extra"  # key for values beyond the header in a CSV row
_DATE_FIELDS = {"published", "period_start", "period_end", "date"}
_FLOAT_FIELDS = {"quantity", "quantity_low", "quantity_high"}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) pairs from a CSV (header = line 1) or YAML file (a list of mappings, or {claims: [...]})."""
    try:
        yield from _rows_unchecked(path)
    except NotUtf8Error:
        raise  # already says where and what to do
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path}: {exc}; give a readable UTF-8 CSV or YAML file") from None


def _rows_unchecked(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        yield from _yaml_rows(path)
        return
    if suffix not in (".csv", ".tsv", ".txt"):
        raise InputError(f"{path}: expected a .csv or .yaml file, got {suffix or 'no extension'!r}")
    with io.StringIO(read_utf8(path), newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
        if reader.fieldnames is None:  # reads the header
            return
        line = reader.line_num + 1
        for row in reader:
            # extra values beyond the header land under the key None (reported by _Checker.convert)
            yield line, {(k.strip() if k is not None else _EXTRA): v for k, v in row.items()}
            line = reader.line_num + 1


def _yaml_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import yaml

    try:
        root = yaml.compose(read_utf8(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CaseError(
            f"{path} is not valid YAML",
            [(str(path), mark.line + 1 if mark else None, f"fix the YAML syntax: {exc}")],
        ) from exc
    if root is None:
        return
    if isinstance(root, yaml.MappingNode) and len(root.value) == 1:
        root = root.value[0][1]
    if not isinstance(root, yaml.SequenceNode):
        raise CaseError(
            f"{path}: expected a list of records",
            [(str(path), root.start_mark.line + 1, "write a YAML list of mappings (- claimant: ...)")],
        )
    loader = yaml.SafeLoader("")
    for node in root.value:
        value = loader.construct_document(node)
        if not isinstance(value, dict):
            raise CaseError(
                f"{path}: expected a mapping per record",
                [(str(path), node.start_mark.line + 1, "each list item must be a mapping of column: value")],
            )
        yield node.start_mark.line + 1, value


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _parse_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v).strip())


def _parse_float(v: Any) -> float:
    if isinstance(v, int | float):
        return float(v)
    return float(str(v).strip().replace(",", "").replace("_", ""))


class _Checker:
    """Collects problems for one file and converts typed fields."""

    def __init__(self, path: Path, columns: Iterable[str]) -> None:
        self.path = str(path)
        self.columns = set(columns)
        self.problems: list[Problem] = []

    def add(self, line: int | None, message: str) -> None:
        self.problems.append((self.path, line, message))

    def convert(self, line: int, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key == _EXTRA:
                self.add(
                    line,
                    f"{len(value)} more value(s) than the header has columns; "
                    'put fields that contain commas in double quotes ("...")',
                )
                continue
            if key not in self.columns:
                self.add(line, f"unknown column {key!r}; allowed: {', '.join(sorted(self.columns))}")
                continue
            if _blank(value):
                out[key] = None
            elif key in _DATE_FIELDS:
                try:
                    out[key] = _parse_date(value)
                except ValueError:
                    self.add(line, f"{key} {value!r} is not a date; write YYYY-MM-DD")
                    out[key] = None
            elif key in _FLOAT_FIELDS:
                try:
                    out[key] = _parse_float(value)
                except ValueError:
                    self.add(line, f"{key} {value!r} is not a number; write digits like 6700 or 1.6e6")
                    out[key] = None
            else:
                out[key] = str(value).strip()
        return out


def _place_id(value: str, place_ids: set[str] | None) -> str:
    """Case places may be referenced by their short id (``tumangang`` -> ``case:tumangang``)."""
    if ":" in value or place_ids is None:
        return value
    return f"case:{value}" if f"case:{value}" in place_ids else value


def _check_rows(
    path: Path | str,
    table_schema: pa.Schema,
    id_key: str,
    required: Iterable[tuple[str, str]],
    check_row: Callable[[_Checker, int, dict[str, Any], dict[str, Any]], None],
    rows: Iterable[tuple[int, dict[str, Any]]] | None = None,
) -> tuple[pa.Table, list[Problem]]:
    """Convert each row, report empty ``required`` (field, hint) pairs, run ``check_row`` (which also fills
    ``id_key`` when the file leaves it blank) and report repeated ids; the table keeps rows with no problem.
    ``rows`` (line, record) replaces reading ``path`` when the records are already in memory."""
    chk = _Checker(Path(path), table_schema.names)
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, raw in _rows(Path(path)) if rows is None else rows:
        row = chk.convert(line, raw)
        n_before = len(chk.problems)
        for req, hint in required:
            if row.get(req) is None and _blank(raw.get(req)):
                chk.add(line, f"{req} is empty; fill in {hint}")
        check_row(chk, line, raw, row)
        if row[id_key] in seen:
            chk.add(line, f"{id_key} {row[id_key]} repeats line {seen[row[id_key]]}; ids must be unique")
        seen.setdefault(row[id_key], line)
        if len(chk.problems) == n_before:
            records.append(row)
    return pa.Table.from_pylist(records, schema=table_schema), chk.problems


_CLAIM_REQUIRED = (
    ("claimant", "who made the claim (the original source, e.g. 'ROK Ministry of National Defense')"),
    ("unit", f"one of {', '.join(CLAIM_UNITS)}"),
    ("url", "the address of the copy that was read"),
)
_OBSERVATION_REQUIRED = (
    ("date", "the date observed, YYYY-MM-DD"),
    ("kind", f"one of {', '.join(OBSERVATION_KINDS)}"),
    ("source", "who observed it (e.g. 'CSIS Beyond Parallel')"),
    ("url", "the address of the copy that was read"),
)


def check_claims(path: Path | str) -> tuple[pa.Table, list[Problem]]:
    """Read and validate a claims file; returns the table (valid rows) and every problem found."""
    return _check_rows(path, schema.CLAIMS, "claim_id", _CLAIM_REQUIRED, _check_claim)


def check_claim_records(
    records: Iterable[tuple[int, dict[str, Any]]], source: Path | str
) -> tuple[pa.Table, list[Problem]]:
    """Validate claims already in memory (``claims extract --accept``) exactly as a claims file is:
    ``records`` are (number, row) pairs; problems name ``source`` and the number."""
    return _check_rows(source, schema.CLAIMS, "claim_id", _CLAIM_REQUIRED, _check_claim, rows=records)


def _check_url(chk: _Checker, line: int, row: dict[str, Any]) -> None:
    """Only http(s) addresses are stored: a URL is shown as a link in reports (rule: :mod:`supplyline.urls`)."""
    problem = url_problem(row["url"]) if row.get("url") is not None else None
    if problem:
        chk.add(line, problem)


def _check_claim(chk: _Checker, line: int, raw: dict[str, Any], row: dict[str, Any]) -> None:
    _check_url(chk, line, row)
    _, scope_problem = parse_scope(row)
    if scope_problem is not None:
        chk.add(line, scope_problem)
    if row.get("unit") is not None:
        unit = normalise_unit(row["unit"])
        if unit is None or not is_known_unit(unit, CLAIM_UNITS):
            chk.add(
                line,
                f"unit {row['unit']!r} is unknown; use one of {', '.join(CLAIM_UNITS)} (shells_152mm etc.)",
            )
        else:
            row["unit"] = unit
    if row.get("qualifier") is not None:
        q = normalise_qualifier(row["qualifier"])
        if q is None:
            chk.add(line, f"qualifier {row['qualifier']!r} is unknown; use one of {', '.join(QUALIFIERS)}")
        row["qualifier"] = q
    q = row.get("quantity")
    lo, hi = fill_bounds(q, row.get("quantity_low"), row.get("quantity_high"), row.get("qualifier"))
    row["quantity_low"], row["quantity_high"] = lo, hi
    if q is None and lo is None and hi is None:
        chk.add(line, "no quantity; fill in quantity (or quantity_low / quantity_high for a range)")
    if lo is not None and hi is not None and lo > hi:
        chk.add(line, f"quantity_low {lo:g} > quantity_high {hi:g}; swap them")
    for v, name in ((q, "quantity"), (lo, "quantity_low"), (hi, "quantity_high")):
        if v is not None and v < 0:
            chk.add(line, f"{name} is negative; quantities are counts or masses >= 0")
    ps, pe = row.get("period_start"), row.get("period_end")
    if ps is not None and pe is not None and ps > pe:
        chk.add(line, f"period_start {ps} is after period_end {pe}; swap them")
    if pe is not None and row.get("published") is not None and pe > row["published"]:
        chk.add(line, f"period_end {pe} is after the publication date {row['published']}; check both dates")
    if row.get("claim_id") is None:
        row["claim_id"] = stable_id(
            "claim",
            row.get("claimant"),
            row.get("published"),
            q,
            lo,
            hi,
            row.get("unit"),
            row.get("subject"),
        )


def check_observations(path: Path | str, place_ids: set[str] | None = None) -> tuple[pa.Table, list[Problem]]:
    """Read and validate an observations file; ``place_ids`` (when given) are the places it may name."""

    def check_row(chk: _Checker, line: int, raw: dict[str, Any], row: dict[str, Any]) -> None:
        _check_url(chk, line, row)
        if row.get("kind") is not None and row["kind"] not in OBSERVATION_KINDS:
            chk.add(line, f"kind {row['kind']!r} is unknown; use one of {', '.join(OBSERVATION_KINDS)}")
        if row.get("place_id") is not None:
            row["place_id"] = _place_id(row["place_id"], place_ids)
            if place_ids is not None and row["place_id"] not in place_ids:
                chk.add(
                    line,
                    f"place_id {raw.get('place_id')!r} is not a case place; use one of "
                    f"{', '.join(sorted(p.removeprefix('case:') for p in place_ids))}",
                )
        if row.get("unit") is not None:
            unit = normalise_unit(row["unit"])
            if unit is None or not is_known_unit(unit, BASE_UNITS):
                chk.add(line, f"unit {row['unit']!r} is unknown; use one of {', '.join(BASE_UNITS)}")
            else:
                row["unit"] = unit
        if row.get("quantity") is not None and row.get("unit") is None:
            chk.add(line, "quantity without a unit; fill in unit")
        if row.get("obs_id") is None:
            row["obs_id"] = stable_id(
                "obs",
                row.get("date"),
                row.get("place_id"),
                row.get("kind"),
                row.get("quantity"),
                row.get("unit"),
            )

    return _check_rows(path, schema.OBSERVATIONS, "obs_id", _OBSERVATION_REQUIRED, check_row)


def _raise_if(problems: list[Problem], what: str, path: Path | str) -> None:
    if problems:
        raise CaseError(f"{path}: {len(problems)} problem(s) in the {what}; fix them and retry", problems)


def read_claims(path: Path | str) -> pa.Table:
    """A validated claims table (schema.CLAIMS); raises CaseError listing every problem."""
    table, problems = check_claims(path)
    _raise_if(problems, "claims", path)
    return table


def read_observations(path: Path | str, place_ids: set[str] | None = None) -> pa.Table:
    """A validated observations table (schema.OBSERVATIONS); raises CaseError listing every problem."""
    table, problems = check_observations(path, place_ids)
    _raise_if(problems, "observations", path)
    return table


def source_part(path: Path | str) -> str:
    """The store part name for an imported file: its stem plus a hash of its resolved path (provenance)."""
    p = Path(path).resolve()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", p.stem)[:40] or "ledger"
    return f"{stem}-{stable_id('source', p)[:8]}"


def store_ledger(store: Store, name: str, table: pa.Table, part: str) -> None:
    """Write ``table`` as part ``part`` of ledger table ``name`` (claims / observations), replacing that part."""
    with store.transaction() as txn:
        stage_ledger(txn, name, table, part)


def stage_ledger(txn: Transaction, name: str, table: pa.Table, part: str) -> None:
    """:func:`store_ledger` inside a transaction the caller commits (several ledger parts at once)."""
    if name not in ("claims", "observations"):
        raise ValueError(f"not a ledger table: {name}")
    txn.put_part(name, part, table)


def read_ledger(store: Store, name: str) -> pa.Table:
    """The whole ledger table ``name`` from the store (empty with the right schema if nothing imported)."""
    schema_ = schema.CLAIMS if name == "claims" else schema.OBSERVATIONS
    table: pa.Table = store.read_table(name, schema_)
    return table
