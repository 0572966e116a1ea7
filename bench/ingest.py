"""Ingest throughput against bare baselines on the same files, in the same run.

* NMEA: end-to-end ``supplyline`` ingest (decode, normalise, de-duplicate, sort, Parquet, journal) in lines/s,
  against a bare pyais loop (``FileReaderStream`` + ``decode()``) over the same file. Target >= 5x.
* CSV: end-to-end ingest of a DMA CSV in rows/s, against bare DuckDB ``read_csv`` of the same file
  materialised into a table. Target >= 0.5x.

``--commands`` also times both NMEA sides as whole commands (``supplyline ingest`` and a script with the
pyais loop), start-up and imports included.

Data: the real DMA 5-minute NMEA sample and the DMA ferry CSV, repeated with shifted times (so nothing is a
duplicate) into a temporary folder. Run: ``python bench/ingest.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_data import dma_copies, nmea_copies
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _compare(n: int, base: tuple[float, float], ours: tuple[float, float]) -> dict[str, float]:
    """Throughputs and ratios of ``n`` items from (wall s, CPU s) of the baseline and of supplyline."""
    (t_base, c_base), (t_ours, c_ours) = base, ours
    return {
        "n": n,
        "base_per_s": n / t_base,
        "ours_per_s": n / t_ours,
        "ratio": t_base / t_ours,
        "base_s": t_base,
        "ours_s": t_ours,
        "cpu_ratio": c_base / c_ours,
        "base_cpu_s": c_base,
        "ours_cpu_s": c_ours,
    }


def best_of(n: int, fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Fastest wall-clock and fastest process-CPU seconds over ``n`` runs.

    The machine is shared, so the minimum is the least disturbed run. CPU time (all threads of this
    process) is reported too: it is far steadier than wall-clock when other jobs compete for the cores.
    """
    walls, cpus = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def bench_nmea(tmp: Path, copies: int, repeat: int, unit: str = "day") -> dict[str, float]:
    src = tmp / f"dma_sample_x_{unit}.nmea"
    lines = nmea_copies(
        DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz", src, copies, unit=unit
    )

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

    (t_pyais, c_pyais), (t_ours, c_ours) = best_of(repeat, pyais_loop), best_of(repeat, ours)
    return _compare(lines, (t_pyais, c_pyais), (t_ours, c_ours))


_PYAIS_SCRIPT = """
import sys
from pyais.stream import FileReaderStream
for msg in FileReaderStream(sys.argv[1]):
    try:
        msg.decode()
    except Exception:
        pass
"""


def bench_commands(tmp: Path, copies: int, repeat: int) -> dict[str, float]:
    """Both sides as whole commands: ``supplyline ingest FILE`` and ``python pyais_loop.py FILE``.

    Includes what a user waits for and the in-process figures leave out: interpreter start and imports
    (pyarrow, DuckDB, typer, rich for supplyline; pyais alone for the loop), the CLI's summary table.
    """
    src = tmp / "dma_sample_x_commands.nmea"
    lines = nmea_copies(DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz", src, copies)
    script = tmp / "pyais_loop.py"
    script.write_text(_PYAIS_SCRIPT)
    counter = iter(range(1000))

    def run(cmd: list[str]) -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    results = []
    for cmd in (
        lambda: [sys.executable, str(script), str(src)],
        lambda: ["supplyline", "ingest", str(src), "--store", str(tmp / f"cmd-store-{next(counter)}")],
    ):
        walls, cpus = [], []
        for _ in range(repeat):
            w, c = time.perf_counter(), children_cpu()
            run(cmd())
            walls.append(time.perf_counter() - w)
            cpus.append(children_cpu() - c)
        results.append((min(walls), min(cpus)))
    (t_pyais, c_pyais), (t_ours, c_ours) = results
    return _compare(lines, (t_pyais, c_pyais), (t_ours, c_ours))


def bench_chunks(tmp: Path, copies: int, sizes: list[int], repeat: int) -> None:
    """One big one-day NMEA file ingested with ever smaller chunks: cost should grow ~linearly in chunks.

    Every chunk's positions land on the same day, which is the case where checking each chunk against all
    that was staged before it would be quadratic.
    """
    src = tmp / "dma_sample_oneday.nmea"
    lines = nmea_copies(
        DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz", src, copies, unit="hour"
    )
    counter = iter(range(1000))
    for size in sizes:
        results: list[Any] = []

        def ours(size: int = size, results: list[Any] = results) -> None:
            store = Store.create(tmp / f"chunk-store-{next(counter)}")
            (res,) = ingest(store, [src], chunk_bytes=size).files
            assert res.status == "ingested", res.message
            results.append(res)

        wall, cpu = best_of(repeat, ours)
        n_chunks = -(-src.stat().st_size // size)
        print(
            f"one-day NMEA {lines:,} lines, chunk_bytes {size:,} (~{n_chunks} chunks): {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU; kept {results[-1].kept:,}, duplicate {results[-1].duplicate:,}"
        )


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

    (t_bare, c_bare), (t_ours, c_ours) = best_of(repeat, bare), best_of(repeat, ours)
    return _compare(rows, (t_bare, c_bare), (t_ours, c_ours))


NY_WEEK = DATA / "noaa_ais_nyharbor_2020" / "nyharbor_2020-12-01_to_07_points.csv.gz"
NOAA_HOUR = DATA / "noaa_ais_nyharbor_2020" / "NYHarbor_2020_06_30_first_hour.csv"


def bench_csv_files(tmp: Path, repeat: int) -> None:
    """End-to-end ingest of the real NOAA CSVs as they are: the NY Harbor week (points CSV, gzip) and the
    MarineCadastre first hour (NOAA layout, plain). Prints rows, best wall and best process-CPU seconds."""
    counter = iter(range(1000))
    for src in (NY_WEEK, NOAA_HOUR):
        results: list[Any] = []

        def ours(src: Path = src, results: list[Any] = results) -> None:
            store = Store.create(tmp / f"csvfile-store-{next(counter)}")
            (res,) = ingest(store, [src]).files
            assert res.status == "ingested", res.message
            results.append(res)

        wall, cpu = best_of(repeat, ours)
        res = results[-1]
        print(
            f"CSV file {src.name}: {res.read:,} rows ({res.kept:,} kept, {res.duplicate:,} duplicate, "
            f"{res.quarantined:,} quarantined): {wall:.3f} s wall, {cpu:.3f} s CPU (best of {repeat}); "
            f"{res.read / cpu:,.0f} rows per CPU s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nmea-copies", type=int, default=4, help="copies of the 80k-line NMEA sample")
    ap.add_argument("--csv-copies", type=int, default=1000, help="copies of the 735-row DMA CSV")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is reported)")
    ap.add_argument(
        "--chunk-scaling",
        type=int,
        nargs="*",
        metavar="BYTES",
        help="instead: ingest one 12-hour one-day NMEA file with each of these chunk sizes",
    )
    ap.add_argument(
        "--one-day",
        action="store_true",
        help="also: the NMEA comparison on a one-day file (copies shifted by an hour, not a day)",
    )
    ap.add_argument(
        "--commands",
        action="store_true",
        help="also: both NMEA sides as whole commands (interpreter start and imports included)",
    )
    ap.add_argument(
        "--csv-files",
        action="store_true",
        help="instead: ingest the real NY Harbor week CSV (gzip) and NOAA first-hour CSV as they are",
    )
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="supplyline-bench-") as d:
        tmp = Path(d)
        if args.csv_files:
            bench_csv_files(tmp, args.repeat)
            print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            return
        if args.chunk_scaling:
            bench_chunks(tmp, 12, args.chunk_scaling, args.repeat)
            print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            return
        report("NMEA", "lines", "pyais loop", bench_nmea(tmp, args.nmea_copies, args.repeat), 5.0)
        if args.one_day:
            one_day = bench_nmea(tmp, args.nmea_copies, args.repeat, unit="hour")
            report("NMEA one-day", "lines", "pyais loop", one_day, 5.0)
        if args.commands:
            commands = bench_commands(tmp, args.nmea_copies, args.repeat)
            report("NMEA as commands", "lines", "python pyais_loop.py", commands, 5.0)
        report("CSV", "rows", "bare DuckDB read_csv", bench_csv(tmp, args.csv_copies, args.repeat), 0.5)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def report(what: str, unit: str, base: str, r: dict[str, float], target: float) -> None:
    print(
        f"{what} {r['n']:,.0f} {unit}: {base} {r['base_per_s']:,.0f} {unit}/s ({r['base_s']:.2f} s wall, "
        f"{r['base_cpu_s']:.2f} s CPU); supplyline ingest {r['ours_per_s']:,.0f} {unit}/s ({r['ours_s']:.2f} s "
        f"wall, {r['ours_cpu_s']:.2f} s CPU); ratio {r['ratio']:.2f}x wall, {r['cpu_ratio']:.2f}x CPU "
        f"(target >= {target}x)"
    )


if __name__ == "__main__":
    main()
