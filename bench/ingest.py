"""Ingest throughput against bare baselines on the same files, in the same run.

* NMEA: end-to-end ``supplyline`` ingest (decode, normalise, de-duplicate, sort, Parquet, journal) in lines/s,
  against a bare pyais loop (``FileReaderStream`` + ``decode()``) over the same file. Target >= 5x.
* CSV: end-to-end ingest of a DMA CSV in rows/s, against bare DuckDB ``read_csv`` of the same file
  materialised into a table. Target >= 0.5x.

Data: the real DMA 5-minute NMEA sample and the DMA ferry CSV, repeated with shifted times (so nothing is a
duplicate) into a temporary folder. Run: ``python bench/ingest.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_data import dma_copies, nmea_copies
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    """Fastest of ``n`` runs (seconds): the machine is shared, the minimum is the least disturbed."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_nmea(tmp: Path, copies: int, repeat: int) -> dict[str, float]:
    src = tmp / "dma_sample_x.nmea"
    lines = nmea_copies(DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz", src, copies)

    def pyais_loop() -> None:
        from pyais.stream import FileReaderStream

        for msg in FileReaderStream(str(src)):
            try:  # noqa: SIM105 - the cheaper form in a hot loop
                msg.decode()
            except Exception:
                pass

    counter = iter(range(1000))

    def ours() -> None:
        store = Store.create(tmp / f"nmea-store-{next(counter)}")
        (res,) = ingest(store, [src]).files
        assert res.status == "ingested", res.message

    t_pyais = best_of(repeat, pyais_loop)
    t_ours = best_of(repeat, ours)
    return {
        "lines": lines,
        "pyais_lines_s": lines / t_pyais,
        "ours_lines_s": lines / t_ours,
        "ratio": t_pyais / t_ours,
        "pyais_s": t_pyais,
        "ours_s": t_ours,
    }


def bench_csv(tmp: Path, copies: int, repeat: int) -> dict[str, float]:
    src = tmp / "dma_ferry_x.csv"
    rows = dma_copies(DATA / "dma_ais_ferry_laesoe_2022" / "ferry.csv", src, copies)

    def bare() -> None:
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{src}')")
        con.close()

    counter = iter(range(1000))

    def ours() -> None:
        store = Store.create(tmp / f"csv-store-{next(counter)}")
        (res,) = ingest(store, [src]).files
        assert res.status == "ingested" and res.read == rows, res.message

    t_bare = best_of(repeat, bare)
    t_ours = best_of(repeat, ours)
    return {
        "rows": rows,
        "bare_rows_s": rows / t_bare,
        "ours_rows_s": rows / t_ours,
        "ratio": t_bare / t_ours,
        "bare_s": t_bare,
        "ours_s": t_ours,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nmea-copies", type=int, default=4, help="copies of the 80k-line NMEA sample")
    ap.add_argument("--csv-copies", type=int, default=1000, help="copies of the 735-row DMA CSV")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is reported)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="supplyline-bench-") as d:
        tmp = Path(d)
        n = bench_nmea(tmp, args.nmea_copies, args.repeat)
        print(
            f"NMEA {n['lines']:,} lines: pyais loop {n['pyais_lines_s']:,.0f} lines/s ({n['pyais_s']:.2f} s); "
            f"supplyline ingest {n['ours_lines_s']:,.0f} lines/s ({n['ours_s']:.2f} s); "
            f"ratio {n['ratio']:.2f}x (target >= 5x)"
        )
        c = bench_csv(tmp, args.csv_copies, args.repeat)
        print(
            f"CSV {c['rows']:,} rows: bare DuckDB read_csv {c['bare_rows_s']:,.0f} rows/s ({c['bare_s']:.2f} s); "
            f"supplyline ingest {c['ours_rows_s']:,.0f} rows/s ({c['ours_s']:.2f} s); "
            f"ratio {c['ratio']:.2f}x (target >= 0.5x)"
        )


if __name__ == "__main__":
    main()
