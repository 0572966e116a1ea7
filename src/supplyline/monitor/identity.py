"""Identity changes from static reports: an MMSI that takes a new name or IMO, an IMO under several MMSIs.

Names are compared after AIS clean-up (upper case, '@' padding and spaces trimmed) so "LADY R@@@" and
"LADY R" are one name. IMOs are used only when their check digit is valid (AIS carries many 0s and
made-up numbers). A reflag normally shows as one IMO under a new MMSI with another MID, so that alert names
the flag of each MMSI.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.monitor.sanctions import flag_from_mmsi

# AIS names padded with '@' or spaces, in any case, are one name: "lady r@@@" -> "LADY R" (SQL, DuckDB)
CLEAN_NAME_SQL = "nullif(trim(regexp_replace(upper(name), '[@\\s]+', ' ', 'g')), '')"

CHANGES = pa.schema(
    [
        pa.field("ts", schema.TS),  # first report with the new identity (data time)
        pa.field("mmsi", pa.int64()),
        pa.field("imo", pa.int64()),
        pa.field("field", pa.string()),  # name | imo | mmsi (one IMO, another MMSI)
        pa.field("old", pa.string()),  # for field = mmsi: up to 5 earlier MMSIs of the IMO, ';'-joined
        pa.field("new", pa.string()),
        pa.field("old_flag", pa.string()),  # for field = mmsi: the flag(s) of the earlier MMSI(s)
        pa.field("new_flag", pa.string()),
    ]
)


def valid_imo(imo: np.ndarray) -> np.ndarray:
    """True where ``imo`` is a 7-digit IMO number with a correct check digit (weights 7..2, mod 10)."""
    x = np.nan_to_num(np.asarray(imo, dtype=np.float64), nan=0).astype(np.int64)
    digits = (x[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    check = (digits[:, :6] * np.arange(7, 1, -1)).sum(axis=1) % 10
    return (x >= 1_000_000) & (x <= 9_999_999) & (check == digits[:, 6])


def identity_changes(statics: pa.Table) -> pa.Table:
    """Every identity change in ``statics`` (schema.STATICS or a subset with mmsi, ts, imo, name)."""
    s = statics.select(["mmsi", "ts", "imo", "name"])
    raw = np.asarray(s["imo"].cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    ok = valid_imo(raw)
    s = s.set_column(2, "imo", pa.array(np.nan_to_num(raw).astype(np.int64), pa.int64(), mask=~ok))
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("s", s)
    rows = con.sql(
        f"""
        WITH c AS (SELECT mmsi, ts, imo,
                          {CLEAN_NAME_SQL} AS name FROM s),
        names AS (SELECT mmsi, ts, imo, name, lag(name) OVER (PARTITION BY mmsi ORDER BY ts) AS prev
                  FROM c WHERE name IS NOT NULL),
        imos AS (SELECT mmsi, ts, imo, lag(imo) OVER (PARTITION BY mmsi ORDER BY ts) AS prev
                 FROM c WHERE imo IS NOT NULL),
        pairs AS (SELECT imo, mmsi, min(ts) AS ts FROM c WHERE imo IS NOT NULL GROUP BY imo, mmsi),
        multi AS (SELECT imo, mmsi, ts,
                         list(mmsi) OVER (PARTITION BY imo ORDER BY ts, mmsi
                                          ROWS BETWEEN 5 PRECEDING AND 1 PRECEDING) AS before
                  FROM pairs)
        SELECT min(ts) AS ts, mmsi, any_value(imo) AS imo, 'name' AS field, prev AS old, name AS new, NULL AS before
        FROM names WHERE prev IS NOT NULL AND prev <> name GROUP BY mmsi, prev, name
        UNION ALL
        SELECT min(ts), mmsi, imo, 'imo', CAST(prev AS VARCHAR), CAST(imo AS VARCHAR), NULL
        FROM imos WHERE prev IS NOT NULL AND prev <> imo GROUP BY mmsi, prev, imo
        UNION ALL
        SELECT ts, mmsi, imo, 'mmsi', array_to_string(before, ';'), CAST(mmsi AS VARCHAR), before
        FROM multi WHERE len(before) > 0
        ORDER BY 1, 2, 4
        """
    ).to_arrow_table()
    n = rows.num_rows
    mmsi = rows["mmsi"].to_numpy(zero_copy_only=False) if n else np.zeros(0, np.int64)
    is_mmsi = np.array([f == "mmsi" for f in rows["field"].to_pylist()], dtype=bool)
    new_flag = flag_from_mmsi(mmsi).to_pylist()
    old_flag: list[str | None] = []
    for b, m in zip(rows["before"].to_pylist(), is_mmsi, strict=True):
        old_flag.append(
            ";".join(str(f) for f in flag_from_mmsi(np.array(b, np.int64)).to_pylist()) if m else None
        )
    return pa.table(
        {
            "ts": rows["ts"].cast(schema.TS),
            "mmsi": rows["mmsi"].cast(pa.int64()),
            "imo": rows["imo"].cast(pa.int64()),
            "field": rows["field"].cast(pa.string()),
            "old": rows["old"].cast(pa.string()),
            "new": rows["new"].cast(pa.string()),
            "old_flag": pa.array(old_flag, pa.string()),
            "new_flag": pa.array(
                [f if m else None for f, m in zip(new_flag, is_mmsi, strict=True)], pa.string()
            ),
        },
        schema=CHANGES,
    )


ALTERNATING = pa.schema(
    [
        pa.field("mmsi", pa.int64()),
        pa.field("names", pa.string()),  # the alternating names, ';'-joined (sorted)
        pa.field("n_flips", pa.int64()),  # changes back to a name seen before
        pa.field("start_ts", schema.TS),  # first report of the second name
        pa.field("detected_ts", schema.TS),  # the min_flips-th flip back
        pa.field("end_ts", schema.TS),  # last report
    ]
)


def alternating_names(statics: pa.Table, min_flips: int = 1) -> pa.Table:
    """MMSIs whose static name flips back and forth (A, B, A, B ...): two ships sharing the MMSI.

    A rename happens once (A -> B); a flip is a change back to a name the MMSI already used (A -> B -> A
    has one), and ``min_flips`` of them are two identities alternating, not renames.
    """
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("s", statics.select(["mmsi", "ts", "name"]))
    rows = con.sql(
        f"""
        WITH c AS (SELECT mmsi, ts, {CLEAN_NAME_SQL} AS name FROM s),
        n AS (SELECT mmsi, ts, name, lag(name) OVER (PARTITION BY mmsi ORDER BY ts) AS prev FROM c
              WHERE name IS NOT NULL),
        ch AS (SELECT mmsi, ts, name, prev FROM n WHERE prev IS NOT NULL AND prev <> name),
        f AS (SELECT mmsi, ts, name,
                     EXISTS (SELECT 1 FROM n n2 WHERE n2.mmsi = ch.mmsi AND n2.name = ch.name AND n2.ts < ch.ts)
                       AS back
              FROM ch)
        SELECT f.mmsi, array_to_string(list_sort(list_distinct(list(f.name))), ';') AS names,
               count(*) FILTER (WHERE back) AS n_flips, min(f.ts) AS start_ts,
               list_sort(list(f.ts) FILTER (WHERE back))[{min_flips}] AS detected_ts,
               (SELECT max(ts) FROM c WHERE c.mmsi = f.mmsi) AS end_ts
        FROM f GROUP BY f.mmsi HAVING count(*) FILTER (WHERE back) >= {min_flips}
        ORDER BY f.mmsi
        """
    ).to_arrow_table()
    return rows.cast(ALTERNATING) if rows.num_rows else ALTERNATING.empty_table()
