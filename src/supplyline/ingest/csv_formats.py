"""CSV and Parquet layouts: which source column feeds which store column, and how to type it in DuckDB.

A layout is a mapping *target -> source column* plus a few per-source quirks. DuckDB reads the file
(``read_csv`` all-varchar, in parallel, or ``read_parquet``); typing and quirks are SQL expressions, so no
Python touches individual rows. Every layout goes through the same normaliser afterwards
(:mod:`supplyline.ingest.normalise`).

Known layouts:

``noaa``       MarineCadastre / NOAA AIS CSV (BaseDateTime, LAT, LON, MMSI, SOG, COG, Heading, VesselName...).
               COG quirk: values are the raw 12-bit field read as *signed* (range -204.8..204.7), so a negative
               COG is ``cog + 409.6`` and -49.6 is the 360 "not available" code.
``dma``        Danish Maritime Authority ``aisdk`` CSV (``# Timestamp`` dd/mm/yyyy, text nav status / ship type).
``points``     flat track points ``traj_id,mmsi,timestamp,lon,lat`` (tracktable exports).
``canonical``  any CSV/Parquet already using the store's column names (mmsi, ts, lat, lon, sog_kn, ...).
``mapped``     any CSV/Parquet with ``--map target=Source,...``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from supplyline.errors import FormatError, UsageError

# target column -> SQL type family
REQUIRED = ("mmsi", "ts", "lat", "lon")
DYNAMIC = ("sog_kn", "cog_deg", "heading_deg", "nav_status")
STATIC_FIELDS = (
    "imo",
    "name",
    "callsign",
    "ship_type",
    "length_m",
    "width_m",
    "draught_m",
    "destination",
    "eta",
)
TARGETS = (*REQUIRED, *DYNAMIC, *STATIC_FIELDS)
PASSTHROUGH = ("msg_type", "source")  # kept from canonical/mapped files when present (else 0 / layout name)
TEXT_ID = "vessel_id"
"""Pseudo-target of ``--map vessel_id=Column`` / ``--id-column Column``: the vessel id is text, not an MMSI."""
SURROGATE_BASE = 10**12
SURROGATE_SPAN = 10**15
"""Text vessel ids get the integer ``SURROGATE_BASE + md5(text) mod SURROGATE_SPAN`` (little-endian MD5,
DuckDB's ``md5_number``): stable across runs and files, never an MMSI (those are below 10^9), below 2^53
so JavaScript shows it exactly. The store's ``vessel_ids`` table maps it back to the text."""
_FLOAT = {"lat", "lon", "sog_kn", "cog_deg", "heading_deg", "length_m", "width_m", "draught_m"}
_TEXT = {"name", "callsign", "destination", "eta"}

# DMA writes navigational status and ship type as text; map them back to the AIS codes.
DMA_NAV_STATUS = {
    "under way using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted manoeuverability": 3,
    "restricted maneuverability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13,
    "ais-sart": 14,
    "unknown value": 15,
}
DMA_SHIP_TYPE = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towing long/wide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "port tender": 53,
    "anti-pollution": 54,
    "law enforcement": 55,
    "medical": 58,
    "not party to conflict": 59,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}


@dataclass(frozen=True)
class CsvFormat:
    """One tabular layout: target -> source column, the time format and per-source quirks."""

    name: str
    columns: Mapping[str, str]  # target -> source column name as in the header
    signature: frozenset[str] = frozenset()  # lower-case header names that identify the layout
    ts_format: str | None = None  # strptime format; None = ISO 8601; "epoch" / "epoch_ms" = Unix time
    text_codes: bool = False  # nav status / ship type written as text (DMA)
    cog_signed12: bool = False  # NOAA's signed 12-bit COG
    statics_only: bool = False  # no position columns: every row is a static report (identity history)
    text_id: bool = False  # the mmsi column holds text vessel ids: surrogate integers (SURROGATE_BASE)


CSV_FORMATS: dict[str, CsvFormat] = {
    "noaa": CsvFormat(
        name="noaa",
        signature=frozenset({"basedatetime", "lat", "lon", "mmsi"}),
        columns={
            "ts": "BaseDateTime",
            "lat": "LAT",
            "lon": "LON",
            "mmsi": "MMSI",
            "sog_kn": "SOG",
            "cog_deg": "COG",
            "heading_deg": "Heading",
            "nav_status": "Status",
            "name": "VesselName",
            "imo": "IMO",
            "callsign": "CallSign",
            "ship_type": "VesselType",
            "length_m": "Length",
            "width_m": "Width",
            "draught_m": "Draft",
            # no "eta": MarineCadastre has none; the ETA column in tracktable's copy was added by
            # tracktable and changes on every row, so it is not AIS data
        },
        cog_signed12=True,
    ),
    "dma": CsvFormat(
        name="dma",
        signature=frozenset({"# timestamp", "mmsi", "latitude", "longitude"}),
        columns={
            "ts": "# Timestamp",
            "mmsi": "MMSI",
            "lat": "Latitude",
            "lon": "Longitude",
            "nav_status": "Navigational status",
            "sog_kn": "SOG",
            "cog_deg": "COG",
            "heading_deg": "Heading",
            "imo": "IMO",
            "callsign": "Callsign",
            "name": "Name",
            "ship_type": "Ship type",
            "width_m": "Width",
            "length_m": "Length",
            "draught_m": "Draught",
            "destination": "Destination",
            "eta": "ETA",
        },
        ts_format="%d/%m/%Y %H:%M:%S",
        text_codes=True,
    ),
    "points": CsvFormat(
        name="points",
        signature=frozenset({"mmsi", "timestamp", "lon", "lat"}),
        columns={"mmsi": "mmsi", "ts": "timestamp", "lon": "lon", "lat": "lat"},
    ),
    "canonical": CsvFormat(
        name="canonical",
        signature=frozenset(REQUIRED),
        columns={t: t for t in (*TARGETS, *PASSTHROUGH)},
    ),
}


def match_header(header: list[str]) -> str | None:
    """The known layout whose signature columns are all in ``header`` (most specific first), else None.

    A table in the store's own column names with mmsi, ts and static fields but no position (e.g. the
    simulator's statics file) is ``canonical`` too: its rows are static reports.
    """
    names = {h.strip().lower() for h in header}
    for fmt in ("noaa", "dma", "points", "canonical"):
        if CSV_FORMATS[fmt].signature <= names:
            return fmt
    if {"mmsi", "ts"} <= names and names & set(STATIC_FIELDS):
        return "canonical"
    return None


def parse_map(text: str | None) -> dict[str, str]:
    """``"lat=Latitude,lon=Longitude"`` -> ``{"lat": "Latitude", "lon": "Longitude"}`` (targets checked)."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise UsageError(f"--map entry {item!r} is not target=Column (e.g. lat=Latitude)")
        target, source = (s.strip() for s in item.split("=", 1))
        if target not in (*TARGETS, *PASSTHROUGH, TEXT_ID):
            known = ", ".join((*TARGETS, *PASSTHROUGH, TEXT_ID))
            raise UsageError(f"--map target {target!r} is not one of: {known}")
        out[target] = source
    return out


def resolve(
    fmt: str, header: list[str], mapping: Mapping[str, str] | None = None, ts_format: str | None = None
) -> CsvFormat:
    """The layout to read a file with ``header``: a known one, optionally overridden by ``--map``.

    Source names match the header case-insensitively; targets whose column is absent are dropped (a NOAA
    file without ETA still reads). A missing required column is a :class:`FormatError` naming it.
    """
    if fmt == "mapped":
        base = CsvFormat(name="mapped", columns={})
    elif fmt in CSV_FORMATS:
        base = CSV_FORMATS[fmt]
    else:
        raise FormatError(f"unknown tabular format {fmt!r}; use one of {', '.join([*CSV_FORMATS, 'mapped'])}")
    by_lower = {h.lower(): h for h in header}
    columns: dict[str, str] = {}
    text_id = TEXT_ID in (mapping or {})
    # text ids alone (--id-column without --map): the other columns by their canonical names, if present
    defaults = CSV_FORMATS["canonical"].columns if text_id and fmt == "mapped" else {}
    wanted = {**defaults, **base.columns, **(mapping or {})}
    if text_id:
        wanted["mmsi"] = wanted.pop(TEXT_ID)
        mapping = {("mmsi" if k == TEXT_ID else k): v for k, v in (mapping or {}).items()}
    for target, source in wanted.items():
        actual = by_lower.get(source.lower())
        if actual is not None:
            columns[target] = actual
        elif mapping and target in mapping:
            raise FormatError(f"--map {target}={source}: the file has no column {source!r} (it has {header})")
    statics_only = "lat" not in columns and "lon" not in columns and any(f in columns for f in STATIC_FIELDS)
    missing = [t for t in REQUIRED if t not in columns and not (statics_only and t in ("lat", "lon"))]
    if missing:
        raise FormatError(
            f"the file has no column for {', '.join(missing)} in layout {base.name!r} (columns: {header}); "
            f"say which with --map, e.g. --map {missing[0]}=<Column>"
        )
    return replace(
        base,
        columns=columns,
        ts_format=ts_format or base.ts_format,
        statics_only=statics_only,
        text_id=text_id,
    )


def surrogate_sql(text_expr: str) -> str:
    """SQL: the surrogate integer id of a text vessel id (see :data:`SURROGATE_BASE`)."""
    return f"CAST({SURROGATE_BASE} + md5_number({text_expr}) % {SURROGATE_SPAN} AS BIGINT)"


def surrogate_id(text: str) -> int:
    """The surrogate integer id of a text vessel id, in Python (equal to :func:`surrogate_sql`)."""
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()
    return SURROGATE_BASE + int.from_bytes(digest, "little") % SURROGATE_SPAN


def text_id_sql(source: str) -> str:
    """SQL: the trimmed text of a vessel-id column (empty = null)."""
    return f"NULLIF(trim(CAST({_q(source)} AS VARCHAR)), '')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case_map(expr: str, codes: Mapping[str, int], cast: str) -> str:
    whens = " ".join(f"WHEN {_s(k)} THEN {v}" for k, v in codes.items())
    return f"CASE lower({expr}) {whens} ELSE TRY_CAST(TRY_CAST({expr} AS DOUBLE) AS {cast}) END"


def read_type(fmt: CsvFormat, target: str) -> str:
    """The DuckDB type ``read_csv`` parses a target's column as (a value that does not parse rejects the row)."""
    if target == "ts":
        if fmt.ts_format in ("epoch", "epoch_ms"):
            return "DOUBLE"
        return "TIMESTAMP" if fmt.ts_format else "TIMESTAMPTZ"
    if target == "mmsi":
        return "VARCHAR"  # checked as text: decimal integers of up to 9 digits (mmsi_expr), or text ids
    if target in ("nav_status", "ship_type"):
        return "VARCHAR" if fmt.text_codes else "DOUBLE"
    if target == "msg_type" or target in _FLOAT:
        return "DOUBLE"
    return "VARCHAR"  # imo (NOAA writes "IMO1234567") and text


def csv_types(fmt: CsvFormat, header: list[str]) -> dict[str, str]:
    """``read_csv`` types for every header column: mapped ones parsed natively, the others kept as text.

    Typing every column stops DuckDB's sniffer from guessing a type that a later row breaks.
    """
    types = dict.fromkeys(header, "VARCHAR")
    for target, source in fmt.columns.items():
        types[source] = read_type(fmt, target)
    return types


# text that is an attempt at a number (decimal, exponent, hex): as an MMSI it is bad_mmsi, not unparsable
_NUMBERISH = "[+-]?(0[xX][0-9a-fA-F]+|[0-9]*[.]?[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[.])"


def mmsi_unparsable(column: str) -> str:
    """SQL: true when an MMSI cell holds text that is not a number at all (``abc``: the row is unparsable)."""
    text = f"trim(CAST({column} AS VARCHAR))"
    return f"({text} <> '' AND NOT regexp_full_match({text}, '{_NUMBERISH}'))"


def mmsi_expr(column: str, native: bool) -> str:
    """An MMSI from text: 1-9 decimal digits (blanks around allowed), else NULL (quarantined as ``bad_mmsi``).

    ``3.67e8``, ``0x15E0A9C4`` or ``367000140.7`` are not MMSIs: reading them as numbers would invent
    a vessel (or merge two). A Parquet column of floats whose value is integral (``367000140.0``, how a
    float column prints) is accepted there (``native`` False).
    """
    text = f"trim(CAST({column} AS VARCHAR))"
    pattern = "[0-9]{1,9}" if native else "[0-9]{1,9}(\\.0)?"
    return f"CASE WHEN regexp_full_match({text}, '{pattern}') THEN CAST(CAST({text} AS DOUBLE) AS BIGINT) END"


def typed_exprs(fmt: CsvFormat, native: bool) -> dict[str, str]:
    """SQL typing each mapped target from its source column, with the layout's quirks.

    ``native``: the reader already parsed the columns as :func:`read_type` says (CSV), so only quirks are
    applied; otherwise (Parquet, any column type) every value goes through ``TRY_CAST``.
    """

    def cast(expr: str, typ: str) -> str:
        return expr if native else f"TRY_CAST({expr} AS {typ})"

    out: dict[str, str] = {}
    for target, source in fmt.columns.items():
        r = _q(source)
        if target == "ts":
            if fmt.ts_format in ("epoch", "epoch_ms"):
                scale = " / 1000.0" if fmt.ts_format == "epoch_ms" else ""
                e = f"to_timestamp({cast(r, 'DOUBLE')}{scale})"
            elif fmt.ts_format and not native:
                e = f"CAST(try_strptime(CAST({r} AS VARCHAR), {_s(fmt.ts_format)}) AS TIMESTAMPTZ)"
            else:
                e = f"CAST({r} AS TIMESTAMPTZ)" if native else f"TRY_CAST({r} AS TIMESTAMPTZ)"
        elif target == "mmsi":
            e = surrogate_sql(text_id_sql(source)) if fmt.text_id else mmsi_expr(r, native)
        elif target == "imo":
            e = f"TRY_CAST(TRY_CAST(replace(CAST({r} AS VARCHAR), 'IMO', '') AS DOUBLE) AS BIGINT)"
        elif target in ("nav_status", "ship_type"):
            typ = "TINYINT" if target == "nav_status" else "SMALLINT"
            codes = DMA_NAV_STATUS if target == "nav_status" else DMA_SHIP_TYPE
            e = _case_map(r, codes, typ) if fmt.text_codes else f"TRY_CAST({cast(r, 'DOUBLE')} AS {typ})"
        elif target in _FLOAT:
            e = cast(r, "DOUBLE")
            if target == "cog_deg" and fmt.cog_signed12:
                e = f"(CASE WHEN {e} < 0 THEN {e} + 409.6 ELSE {e} END)"
        elif target in _TEXT or target == "source":
            e = f"NULLIF(trim(CAST({r} AS VARCHAR)), '')"
        elif target == "msg_type":
            e = f"TRY_CAST({cast(r, 'DOUBLE')} AS TINYINT)"
        else:  # pragma: no cover - TARGETS is closed
            raise AssertionError(target)
        out[target] = e
    return out


def _unparsed(fmt: CsvFormat, target: str, exprs: dict[str, str]) -> str:
    """SQL true when ``target``'s source value did not parse (a text vessel id always parses)."""
    if target != "mmsi":
        return exprs[target] + " IS NULL"
    return exprs["mmsi"] + " IS NULL" if fmt.text_id else mmsi_unparsable(_q(fmt.columns["mmsi"]))


def typed_select(fmt: CsvFormat, relation: str, header: list[str], native: bool) -> tuple[str, str]:
    """``(sql, raw_expr)``: a SELECT over ``relation`` giving the normaliser's input columns.

    Output columns: every target (NULL where unmapped), ``msg_type`` 0 and ``source`` (the layout name).
    Also ``_parse_error``: with ``native`` typing, an MMSI that is not a number at all (``CAST <column>``,
    as the reader says for other columns); without, the first required/dynamic column whose value did not
    parse. Without ``native`` typing, also every source column as ``_src_<name>`` so ``raw_expr`` can rebuild a rejected row's text;
    with it, rows that do not parse never get here (the reader rejects them) and ``raw_expr`` is NULL:
    the pipeline fetches a quarantined row's exact line from the file instead.
    """
    exprs = typed_exprs(fmt, native)
    cols = [f"{exprs[t]} AS {t}" if t in exprs else f"NULL AS {t}" for t in TARGETS]
    cols += [
        f"coalesce({exprs['msg_type']}, 0) AS msg_type" if "msg_type" in exprs else "0 AS msg_type",
        f"coalesce({exprs['source']}, {_s(fmt.name)}) AS source"
        if "source" in exprs
        else f"{_s(fmt.name)} AS source",
    ]
    if native:
        mmsi = _q(fmt.columns["mmsi"])
        unparsable = "FALSE" if fmt.text_id else mmsi_unparsable(mmsi)  # text ids are text by design
        cols.append(f"CASE WHEN {unparsable} THEN {_s('CAST ' + fmt.columns['mmsi'])} END AS _parse_error")
        return f"SELECT {', '.join(cols)} FROM {relation}", "NULL"
    checks = [
        f"WHEN {_q(fmt.columns[t])} IS NOT NULL AND {_unparsed(fmt, t, exprs)} "
        f"THEN {_s(t + '=')} || CAST({_q(fmt.columns[t])} AS VARCHAR)"
        for t in (*REQUIRED, *DYNAMIC)
        if t in fmt.columns and not (t == "nav_status" and fmt.text_codes)
    ]
    cols.append(f"CASE {' '.join(checks)} END AS _parse_error" if checks else "NULL AS _parse_error")
    sources = list(dict.fromkeys(header))
    cols += [f"{_q(s)} AS {_q('_src_' + s)}" for s in sources]
    raw_expr = " || ',' || ".join(f"coalesce(CAST({_q('_src_' + s)} AS VARCHAR), '')" for s in sources)
    return f"SELECT {', '.join(cols)} FROM {relation}", raw_expr
