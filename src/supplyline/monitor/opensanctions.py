"""Sanctions lists in the OpenSanctions / FollowTheMoney format, and the case's own lists as one table.

OpenSanctions publishes the UN, EU, UK, US and other lists as FollowTheMoney entities (one JSON object per
line): ``Vessel`` entities (name, alias, previousName, imoNumber, mmsi, flag as ISO 3166-1 alpha-2) and
``Sanction`` entities pointing at them (authority, program, startDate / listingDate). Each (vessel,
sanction) becomes one row in the format of :func:`supplyline.monitor.sanctions.load_sanctions_list`, with
``list_name`` = the authority and ``designated`` = the earliest start or listing date (a partial date such as
``2024-06`` is read as its first day), so screening can respect designation dates. Parsing uses the
``followthemoney`` library (install the ``sanctions`` extra).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from supplyline.errors import InputError
from supplyline.monitor.sanctions import iso_for_flag, load_sanctions_list, normalise_names, number_tags

if TYPE_CHECKING:
    from supplyline.case import SanctionsList

_DIGITS = re.compile(r"\d+")


def _entities(path: Path) -> Iterator[dict[str, Any]]:
    """FollowTheMoney entities from JSON lines (OpenSanctions ``entities.ftm.json``) or one JSON list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the sanctions list {path}: {exc}") from exc
    if text.lstrip().startswith("["):
        yield from json.loads(text)
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path} line {n} is not JSON ({exc.msg}); expected one entity per line"
                ) from exc


def _date(values: Sequence[str]) -> dt.date | None:
    """The earliest of FtM dates (``2024``, ``2024-06``, ``2024-06-24``...), as its first day."""
    out = []
    for v in values:
        parts = [int(x) for x in _DIGITS.findall(v)[:3]]
        if parts:
            out.append(dt.date(parts[0], *[*parts[1:], 1, 1][:2]))
    return min(out) if out else None


def _number(value: str | None) -> int | None:
    digits = "".join(_DIGITS.findall(value or ""))
    return int(digits) if digits else None


def load_ftm_vessels(path: str | Path, list_name: str | None = None) -> pa.Table:
    """Vessels (and their designations) of an OpenSanctions / FollowTheMoney file, one row per (sanction,
    name or alias); the columns of ``load_sanctions_list``. ``list_name`` names rows whose vessel has no
    Sanction entity (default: its datasets)."""
    try:
        from followthemoney import model
    except ImportError as exc:  # pragma: no cover - the extra is in dev
        raise InputError(
            "reading OpenSanctions / FollowTheMoney lists needs the followthemoney library: "
            "pip install 'supplyline[sanctions]'"
        ) from exc
    file = Path(path)
    vessels, sanctions = [], []
    for data in _entities(file):
        proxy = model.get_proxy(data, cleaned=False)
        if proxy.schema.is_a("Vessel"):
            vessels.append((proxy, data.get("datasets") or []))
        elif proxy.schema.is_a("Sanction"):
            sanctions.append(proxy)
    by_vessel: dict[str, list[Any]] = {}
    for s in sanctions:
        for ref in s.get("entity"):
            by_vessel.setdefault(ref, []).append(s)
    rows = [
        row
        for proxy, datasets in vessels
        for row in _vessel_rows(proxy, by_vessel.get(proxy.id or "", []), list_name or ", ".join(datasets))
    ]
    return _table(rows)


def _vessel_rows(proxy: Any, sanctions: list[Any], default_list: str) -> list[dict[str, Any]]:
    names = [*proxy.get("name"), *proxy.get("alias"), *proxy.get("previousName")]
    flag = proxy.first("flag")
    base = {
        "entity_id": proxy.id,
        "listed_name": names[0] if names else None,
        "flag": flag.upper() if flag else None,
        "flag_iso": iso_for_flag(flag),
        "imo": _number(proxy.first("imoNumber")),
        "mmsi": _number(proxy.first("mmsi")),
    }
    designations = [
        {
            "list_name": s.first("authority") or default_list,
            "program": s.first("program"),
            "designated": _date([*s.get("startDate"), *s.get("listingDate")]),
        }
        for s in sanctions
    ] or [{"list_name": default_list or None, "program": None, "designated": None}]
    return [
        {**base, **d, "matched_name": n, "alias": i > 0} for d in designations for i, n in enumerate(names)
    ]


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    names = [r["matched_name"] for r in rows]
    return pa.table(
        {
            "list_name": pa.array([r["list_name"] for r in rows], pa.string()),
            "entity_id": pa.array([r["entity_id"] for r in rows], pa.string()),
            "designated": pa.array([r["designated"] for r in rows], pa.date32()),
            "flag_iso": pa.array([r["flag_iso"] for r in rows], pa.string()),
            "ent_num": pa.nulls(len(rows), pa.int64()),
            "listed_name": pa.array([r["listed_name"] for r in rows], pa.string()),
            "matched_name": pa.array(names, pa.string()),
            "key": pa.array(normalise_names(names), pa.string()),
            "numbers": pa.array(number_tags(names), pa.string()),
            "program": pa.array([r["program"] for r in rows], pa.string()),
            "flag": pa.array([r["flag"] for r in rows], pa.string()),
            "imo": pa.array([r["imo"] for r in rows], pa.int64()),
            "mmsi": pa.array([r["mmsi"] for r in rows], pa.int64()),
            "alias": pa.array([r["alias"] for r in rows], pa.bool_()),
        }
    )


def load_list(path: str | Path, list_name: str | None = None) -> pa.Table:
    """A sanctions list by its format: FollowTheMoney JSON (``.json``, ``.jsonl``) or the OFAC extract CSV."""
    p = Path(path)
    if p.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        return load_ftm_vessels(p, list_name)
    table = load_sanctions_list(str(p))
    if list_name:
        table = table.set_column(0, "list_name", pa.array([list_name] * table.num_rows, pa.string()))
    return table


def load_case_sanctions(lists: Sequence[SanctionsList]) -> pa.Table | None:
    """Every list of the case's ``[[watchlist.sanctions]]`` as one table (None when the case names none).

    A list whose file was not found raises an error that names it: screening silently against another list
    would be worse than stopping.
    """
    tables = []
    for s in lists:
        if s.path is None:
            raise InputError(
                f"sanctions list {s.name!r}: file {s.file} not found; fix [[watchlist.sanctions]]"
            )
        tables.append(load_list(s.path, s.name))
    return pa.concat_tables(tables, promote_options="default") if tables else None
