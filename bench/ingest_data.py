"""Bigger inputs made from the real samples (shifted in time), shared by bench/ingest.py and the tests.

Shifting keeps every report distinct, so the data exercise the whole path (nothing is a duplicate).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb


def dma_copies(src: Path, out: Path, copies: int, shift_h: int = 2) -> int:
    """Write ``copies`` copies of a DMA CSV, copy k shifted by ``k * shift_h`` hours; returns data rows."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""
        COPY (
          SELECT strftime(strptime("# Timestamp", '%d/%m/%Y %H:%M:%S') + k * INTERVAL {int(shift_h)} HOUR,
                          '%d/%m/%Y %H:%M:%S') AS "# Timestamp", * EXCLUDE ("# Timestamp", k)
          FROM read_csv('{src}', all_varchar=true), range({int(copies)}) r(k)
          ORDER BY k
        ) TO '{out}' (HEADER, DELIMITER ',')
        """
    )
    n = con.execute(f"SELECT count(*) FROM read_csv('{out}', all_varchar=true)").fetchall()[0][0]
    return int(n)


_PGHP = re.compile(rb"\$PGHP,1,(\d{4}),(\d+),(\d+),([^*]*)\*[0-9A-Fa-f]{2}")


_PGHP_HOUR = re.compile(rb"\$PGHP,1,(\d{4}),(\d+),(\d+),(\d+),([^*]*)\*[0-9A-Fa-f]{2}")


def nmea_copies(src: Path, out: Path, copies: int, unit: str = "day") -> int:
    """Write ``copies`` copies of a DMA/Gatehouse NMEA log ($PGHP times), copy k moved k days later.

    ``unit="hour"`` moves copy k by k hours instead (the 12:00 sample stays within its day for up to 12
    copies: one big one-day file). Each $PGHP line gets its time shifted and its checksum recomputed;
    returns physical lines written.
    """
    data = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
    lines = 0
    with open(out, "wb") as fh:
        for k in range(copies):

            def shift(m: re.Match[bytes], k: int = k) -> bytes:
                if unit == "hour":
                    body = b"PGHP,1,%s,%s,%s,%d,%s" % (m[1], m[2], m[3], int(m[4]) + k, m[5])
                else:
                    body = b"PGHP,1,%s,%s,%d,%s" % (m[1], m[2], int(m[3]) + k, m[4])
                cs = 0
                for b in body:
                    cs ^= b
                return b"$" + body + b"*%02X" % cs

            chunk = (_PGHP_HOUR if unit == "hour" else _PGHP).sub(shift, data) if k else data
            fh.write(chunk if chunk.endswith(b"\n") else chunk + b"\n")
            lines += chunk.count(b"\n")
    return lines
