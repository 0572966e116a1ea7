"""Daily port-call counts per port in the layout of IMF PortWatch's "Daily Port Activity" table.

Columns follow PortWatch: ``date`` (YYYY-MM-DD, UTC day of arrival), ``year``, ``month``, ``day``, ``portid``,
``portname``, ``country`` (a name, "Russian Federation"), ``ISO3`` (ISO 3166-1 alpha-3), ``portcalls``. A port call is a visit of class ``port_call`` (a stop long enough
to work cargo; short stops and pass-throughs are not calls, as in PortWatch); visits without a class count.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from supplyline.countries import alpha3_array, country_name

PORTWATCH_DAILY = pa.schema(
    [
        pa.field("date", pa.string(), nullable=False),
        pa.field("year", pa.int32(), nullable=False),
        pa.field("month", pa.int32(), nullable=False),
        pa.field("day", pa.int32(), nullable=False),
        pa.field("portid", pa.string(), nullable=False),
        pa.field("portname", pa.string()),
        pa.field("country", pa.string()),
        pa.field("ISO3", pa.string()),
        pa.field("portcalls", pa.int64(), nullable=False),
    ]
)


def portwatch_daily(visits: pa.Table, places: pa.Table) -> pa.Table:
    """Port calls per (UTC arrival day, port), sorted by date then port; days without calls are absent."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("v", visits)
        con.register("p", places)
        has_class = "visit_class" in visits.column_names
        where = "coalesce(v.visit_class, 'port_call') = 'port_call'" if has_class else "true"
        out = con.sql(
            f"""
            SELECT strftime(v.arrival_ts, '%Y-%m-%d') AS date, year(v.arrival_ts)::INT AS year,
                   month(v.arrival_ts)::INT AS month, day(v.arrival_ts)::INT AS day, v.place_id AS portid,
                   any_value(coalesce(p.name, v.place_name)) AS portname, any_value(p.country) AS iso2,
                   count(*) AS portcalls
            FROM v LEFT JOIN p ON p.place_id = v.place_id
            WHERE {where} AND v.arrival_ts IS NOT NULL
            GROUP BY ALL ORDER BY date, portid
            """
        ).to_arrow_table()
    finally:
        con.close()
    iso2 = out["iso2"]
    names = pa.array([country_name(c) for c in iso2.to_pylist()], pa.string())
    out = out.drop_columns(["iso2"])
    out = out.add_column(out.schema.get_field_index("portcalls"), "country", names)
    out = out.add_column(out.schema.get_field_index("portcalls"), "ISO3", alpha3_array(iso2))
    return out.cast(PORTWATCH_DAILY)
