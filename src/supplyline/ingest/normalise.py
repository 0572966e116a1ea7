"""The one normaliser every source goes through (NMEA decoder output, CSV and Parquet layouts).

It is SQL (DuckDB), so it runs vectorised and in parallel. It makes units and codes uniform and decides,
per report, whether it is kept or quarantined, with a reason from ``schema.QUARANTINE_REASONS``:

* AIS "not available" codes become null: SOG 102.3 kn (and anything outside 0..102.2), COG 360 deg
  (anything outside 0..359.9), heading 511 (anything outside 0..359), nav status outside 0..15, IMO 0
  (and anything that is not 7 digits), ship type 0, dimensions/draught 0. Text arrives clean (the decoder
  strips ``@`` padding, the CSV reader trims and turns empty text into null).
* Positions that cannot be placed are quarantined: lat 91 / lon 181 (or missing) -> ``position_not_available``;
  |lat| > 90 or |lon| > 180 -> ``position_out_of_range``; no time -> ``no_time``; MMSI missing or outside
  1..999999999 (or the surrogate range of text ids, ``csv_formats.SURROGATE_BASE``) -> ``bad_mmsi``; a value that did not parse -> ``unparsable``; time before 1990 or after
  2100 -> ``bad_value``.
* Times are UTC (``TIMESTAMPTZ`` with the session time zone UTC; naive times are taken as UTC).
"""

from __future__ import annotations

from collections.abc import Collection

from supplyline.ingest.csv_formats import STATIC_FIELDS, SURROGATE_BASE, SURROGATE_SPAN

POSITION_KEY = ("mmsi", "ts", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "msg_type")

_DEFAULTS = {
    "sog_kn": "NULL",
    "cog_deg": "NULL",
    "heading_deg": "NULL",
    "nav_status": "NULL",
    "msg_type": "0",
    "source": "NULL",
    "_parse_error": "NULL",
    "_line": "NULL",
    "_lines": "1",
    **{f: "NULL" for f in STATIC_FIELDS},
}


def _col(name: str, have: Collection[str]) -> str:
    return name if name in have else _DEFAULTS[name]


def _text(expr: str) -> str:
    # already clean: the NMEA decoder strips AIS '@' padding and blanks, the CSV reader trims and nulls ''
    return f"CAST({expr} AS VARCHAR)"


def static_exprs(have: Collection[str]) -> dict[str, str]:
    """Normalised SQL for each static field present in ``have`` (else NULL of the right type)."""
    c = {f: _col(f, have) for f in STATIC_FIELDS}
    return {
        "imo": f"CAST(CASE WHEN {c['imo']} BETWEEN 1000000 AND 9999999 THEN {c['imo']} END AS BIGINT)",
        "name": _text(c["name"]),
        "callsign": _text(c["callsign"]),
        "ship_type": f"CAST(CASE WHEN {c['ship_type']} BETWEEN 1 AND 99 THEN {c['ship_type']} END AS SMALLINT)",
        "length_m": f"CAST(CASE WHEN {c['length_m']} > 0 THEN {c['length_m']} END AS FLOAT)",
        "width_m": f"CAST(CASE WHEN {c['width_m']} > 0 THEN {c['width_m']} END AS FLOAT)",
        "draught_m": f"CAST(CASE WHEN {c['draught_m']} > 0 THEN {c['draught_m']} END AS FLOAT)",
        "destination": _text(c["destination"]),
        "eta": _text(c["eta"]),
    }


def _reason(have: Collection[str], position: bool) -> str:
    """The quarantine reason of a row as a SQL CASE (null when the row is kept), first match wins."""
    ts = "CAST(ts AS TIMESTAMPTZ)"
    whens = [
        (f"{_col('_parse_error', have)} IS NOT NULL", "unparsable"),
        (
            f"mmsi IS NULL OR mmsi < 1 OR (mmsi > 999999999 AND mmsi < {SURROGATE_BASE})"
            f" OR mmsi >= {SURROGATE_BASE + SURROGATE_SPAN}",
            "bad_mmsi",
        ),
        ("ts IS NULL", "no_time"),
        (
            f"{ts} < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR {ts} >= TIMESTAMPTZ '2100-01-01 00:00:00+00'",
            "bad_value",
        ),
    ]
    if position:
        whens += [
            ("lat IS NULL OR lon IS NULL OR lat = 91 OR lon = 181", "position_not_available"),
            ("NOT (lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180)", "position_out_of_range"),
        ]
    return "CASE " + " ".join(f"WHEN {w} THEN '{r}'" for w, r in whens) + " END"


# Human-readable detail of a quarantined row, computed only for those rows (over the normalised columns).
DETAIL_SQL = """CASE reason
  WHEN 'unparsable' THEN _parse_error
  WHEN 'bad_mmsi' THEN 'mmsi ' || coalesce(CAST(mmsi AS VARCHAR), 'missing or not a decimal integer of 1-9 digits')
  WHEN 'no_time' THEN 'no timestamp'
  WHEN 'bad_value' THEN 'time ' || CAST(ts AS VARCHAR)
  ELSE 'lat ' || coalesce(CAST(lat AS VARCHAR), 'missing') || ' lon ' || coalesce(CAST(lon AS VARCHAR), 'missing')
END"""

STATIC_DETAIL_SQL = DETAIL_SQL.replace(
    "ELSE 'lat ' || coalesce(CAST(lat AS VARCHAR), 'missing') || ' lon ' || coalesce(CAST(lon AS VARCHAR), 'missing')",
    "ELSE reason",
)


def _tail(have: Collection[str], reason: str, raw_expr: str) -> list[str]:
    raw = (
        "CAST(NULL AS VARCHAR)"
        if raw_expr == "NULL"
        else f"CASE WHEN ({reason}) IS NOT NULL THEN CAST({raw_expr} AS VARCHAR) END"
    )
    return [
        f"{reason} AS reason",
        f"CAST({_col('_parse_error', have)} AS VARCHAR) AS _parse_error",
        f"{raw} AS _raw",
        f"CAST({_col('_line', have)} AS BIGINT) AS _line",
        f"CAST({_col('_lines', have)} AS BIGINT) AS _lines",
        *(["_input"] if "_input" in have else []),  # which input of a batch a row is from (pipeline)
    ]


def positions_sql(relation: str, have: Collection[str], raw_expr: str = "NULL", statics: bool = False) -> str:
    """SELECT over ``relation`` (columns ``have``) -> normalised positions with ``reason`` and ``_raw``.

    ``relation`` needs mmsi, ts, lat, lon; the rest (sog_kn, cog_deg, heading_deg, nav_status, msg_type,
    source, _parse_error, _line, _lines and, with ``statics=True``, the static fields) default when absent.
    ``reason`` is null for kept rows; ``_raw`` (``raw_expr``) is evaluated only for quarantined rows.
    """
    reason = _reason(have, position=True)
    sog, cog, hdg, nav = (_col(c, have) for c in ("sog_kn", "cog_deg", "heading_deg", "nav_status"))
    cols = [
        "CAST(mmsi AS BIGINT) AS mmsi",
        "CAST(ts AS TIMESTAMPTZ) AS ts",
        "CAST(lat AS DOUBLE) AS lat",
        "CAST(lon AS DOUBLE) AS lon",
        # 102.3 kn = not available; 102.2 means "102.2 or more"
        f"CAST(CASE WHEN {sog} >= 0 AND {sog} < 102.25 THEN {sog} END AS FLOAT) AS sog_kn",
        f"CAST(CASE WHEN {cog} >= 0 AND {cog} < 360 THEN {cog} END AS FLOAT) AS cog_deg",
        f"CAST(CASE WHEN {hdg} >= 0 AND {hdg} < 360 THEN {hdg} END AS FLOAT) AS heading_deg",
        f"CAST(CASE WHEN {nav} BETWEEN 0 AND 15 THEN {nav} END AS TINYINT) AS nav_status",
        f"CAST({_col('msg_type', have)} AS TINYINT) AS msg_type",
        f"CAST({_col('source', have)} AS VARCHAR) AS source",
    ]
    if statics:
        cols += [f"{e} AS {f}" for f, e in static_exprs(have).items()]
    cols += _tail(have, reason, raw_expr)
    return f"SELECT {', '.join(cols)} FROM {relation}"


def statics_sql(relation: str, have: Collection[str], raw_expr: str = "NULL") -> str:
    """SELECT over a static-report relation -> normalised static fields with ``reason`` and ``_raw``."""
    reason = _reason(have, position=False)
    cols = [
        "CAST(mmsi AS BIGINT) AS mmsi",
        "CAST(ts AS TIMESTAMPTZ) AS ts",
        *(f"{e} AS {f}" for f, e in static_exprs(have).items()),
        f"CAST({_col('msg_type', have)} AS TINYINT) AS msg_type",
        f"CAST({_col('source', have)} AS VARCHAR) AS source",
        *_tail(have, reason, raw_expr),
    ]
    return f"SELECT {', '.join(cols)} FROM {relation}"
