"""Scale curve: positions/s and peak memory of the local engine, the Spark engine and a DuckDB floor.

Data (a fast synthetic generator, not supplyline.simulate, which writes ~10^5 positions/s and would take
hours at 10^8): the real NOAA New York Harbor week (172,679 positions, 140 vessels; ingested with
supplyline.ingest) replicated ``copies`` times by DuckDB, copy k shifted by k weeks and its MMSIs by
k * 10^9, so each copy is a distinct fleet with real sampling, gaps and noise, and copies never meet
(no cross-copy encounters). 1 M / 10 M / 100 M positions are 6 / 58 / 580 copies (rounded up to whole
copies; the exact count is printed). Places: the six NY ferry terminals (tests/test_detect_nyharbor.py)
and the Staten Island ferry route.

Each measurement runs in a child process; the parent samples the summed RSS of the child's whole process
tree (the process pool's workers, Spark's JVM and its Python workers) from /proc every 0.2 s, so "peak
RSS" is the peak of the sum, not of one process. Throughput = positions / wall-clock seconds of the
engine call (store opened, all tables written; JVM start-up excluded for Spark, reported separately).
Spark on a local store reads it through its vessel-partitioned copy (``STORE/_cache``): ``--copy cold``
(the default) deletes the copy first, so the run includes the split; ``--repeat 2`` then runs again in the
same session with the copy in place (``runs``: seconds and phases of each run; ``tree_cpu_s`` is the
whole child's, JVM start and stop included: run cold and warm apart for a CPU figure of each);
``--copy off`` takes the JVM path (Spark reads and shuffles the positions), as for a remote store. The
output goes to a scratch store, so every run recomputes every partition (no incremental skip).

  python bench/scale.py build STORE --positions 1e7          # make a store
  python bench/scale.py run local STORE [--workers 2] [--memory-limit 6GB]
  python bench/scale.py run spark STORE [--master local[2]] [--driver-memory 4g] [--event-log DIR]
                                       [--copy cold|warm|off] [--repeat 2]
  python bench/scale.py run duckdb STORE                     # lag() gap query, 2 threads: the floor
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WEEK = REPO.parent / "shared" / "data" / "noaa_ais_nyharbor_2020" / "nyharbor_2020-12-01_to_07_points.csv.gz"
BASE_ROWS = 172_679
MMSI_STEP = 1_000_000_000


def build(store_path: Path, positions: float) -> int:
    """Write a store of ``ceil(positions / week)`` shifted copies of the NY week; returns its row count."""
    from supplyline.ingest.pipeline import ingest
    from supplyline.store import Store

    copies = max(1, math.ceil(positions / BASE_ROWS))
    with tempfile.TemporaryDirectory() as tmp:
        base = Store.create(Path(tmp) / "base")
        ingest(base, [WEEK])
        store = Store.create(store_path)
        con = base.connect(memory_limit="3GB", threads=2)
        con.execute(f"SET temp_directory = '{tmp}/duck'")
        con.execute("CREATE TEMP TABLE w AS SELECT * EXCLUDE (day) FROM positions ORDER BY mmsi, ts")
        con.execute(
            f"""
            COPY (
              SELECT w.mmsi + k * {MMSI_STEP} AS mmsi, w.ts + to_days(CAST(7 * k AS INTEGER)) AS ts,
                     w.* EXCLUDE (mmsi, ts, input_id), 'scale' AS input_id,
                     strftime(w.ts + to_days(CAST(7 * k AS INTEGER)), '%Y-%m-%d') AS day
              FROM range({copies}) r(k), w ORDER BY k, w.mmsi, w.ts
            ) TO '{store.root / "positions"}'
            (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd, OVERWRITE_OR_IGNORE true)
            """
        )
        con.close()
    n = store.connect().execute("SELECT count(*) FROM positions").fetchone()
    assert n is not None
    return int(n[0])


def _places() -> tuple[object, list[object]]:
    from tests.test_detect_nyharbor import SIF, TERMINALS

    return TERMINALS, list(SIF)


def child(engine: str, store_path: str, opts: dict[str, str]) -> dict[str, object]:
    """One measurement (runs in the child process); returns timings as a dict."""
    from supplyline.detect import Thresholds
    from supplyline.store import Store

    places, routes = _places()
    out: dict[str, object] = {"engine": engine}
    if engine == "local":
        from supplyline.engine.local import detect

        t0 = time.perf_counter()
        res = detect(
            Store.open(store_path),
            places,  # type: ignore[arg-type]
            Thresholds(),
            routes,  # type: ignore[arg-type]
            workers=int(opts.get("workers", "2")),
            memory_limit=opts.get("memory_limit") or None,
            full=True,
        )
        out.update(
            seconds=time.perf_counter() - t0,
            counts=res.counts,
            shards=res.shards_total,
            phases=res.seconds,
            phases_cpu=res.cpu_seconds,
        )
    elif engine == "spark":
        out.update(_child_spark(store_path, opts, places, routes))
    elif engine == "duckdb":
        con = Store.open(store_path).connect(memory_limit=opts.get("memory_limit") or None, threads=2)
        t0 = time.perf_counter()
        row = con.execute(
            """SELECT count(*) FROM (SELECT ts - lag(ts) OVER (PARTITION BY mmsi ORDER BY ts) AS dt
               FROM positions) WHERE dt >= INTERVAL 6 HOUR"""
        ).fetchone()
        out.update(seconds=time.perf_counter() - t0, counts={"gaps": row[0] if row else 0})
    else:
        raise SystemExit(f"unknown engine {engine}")
    return out


def _child_spark(
    store_path: str, opts: dict[str, str], places: object, routes: list[object]
) -> dict[str, object]:
    """The Spark measurement: session start-up apart, then ``--repeat`` detect runs (see ``--copy``)."""
    from pyspark.sql import SparkSession

    from supplyline.detect import Thresholds
    from supplyline.engine.spark import detect_spark, spark_session

    out: dict[str, object] = {}
    t0 = time.perf_counter()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(opts.get("master", "local[2]"))
    builder = builder.config("spark.driver.memory", opts.get("driver_memory", "4g"))
    if opts.get("event_log"):
        Path(opts["event_log"]).mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.eventLog.enabled", "true").config(
            "spark.eventLog.dir", opts["event_log"]
        )
    builder.getOrCreate()
    spark = spark_session()
    out["startup_s"] = time.perf_counter() - t0
    mode = opts.get("copy", "cold")
    if mode == "cold":  # the first run splits the whole store into the vessel-partitioned copy
        for old in Path(store_path, "_cache").glob("spark-vessels-*"):
            shutil.rmtree(old)
    parts = opts.get("partitions")
    runs = []
    for _ in range(int(opts.get("repeat") or 1)):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            res = detect_spark(
                store_path,
                places,  # type: ignore[arg-type]
                Thresholds(),
                routes,  # type: ignore[arg-type]
                spark=spark,
                partitions=int(parts) if parts else None,
                out=Path(tmp) / "out",
                prepartition=mode != "off",
            )
        runs.append(
            {
                "seconds": time.perf_counter() - t0,
                "phases": {k: round(v, 2) for k, v in res.seconds.items()},
            }
        )
    out.update(seconds=runs[0]["seconds"], runs=runs, counts=res.counts, partitions=res.shards_total)
    app = spark.sparkContext.applicationId
    spark.stop()
    if opts.get("event_log"):
        out["stages"] = stage_metrics(Path(opts["event_log"]), app)
    return out


def stage_metrics(folder: Path, app: str) -> list[dict[str, object]]:
    """Per completed stage of application ``app``'s event log in ``folder`` (a file, or Spark 4's rolling
    ``eventlog_v2_<app>/events_*``): wall seconds, tasks, summed executor run and CPU seconds, shuffle bytes
    written and read, and the stage's call site (what it computes)."""
    logs = sorted(p for p in folder.rglob("*") if p.is_file() and app in str(p) and "appstatus" not in p.name)
    stages = []
    for line in (row for log in logs for row in _log_text(log).splitlines()):
        ev = json.loads(line)
        if ev.get("Event") != "SparkListenerStageCompleted":
            continue
        info = ev["Stage Info"]
        acc = {a["Name"]: a.get("Value", 0) for a in info.get("Accumulables", [])}
        stages.append(
            {
                "stage": info["Stage ID"],
                "name": info["Stage Name"].split(" at ")[0],
                "tasks": info["Number of Tasks"],
                "wall_s": round((info["Completion Time"] - info["Submission Time"]) / 1000, 2),
                "run_s": round(int(acc.get("internal.metrics.executorRunTime", 0)) / 1000, 2),
                "cpu_s": round(int(acc.get("internal.metrics.executorCpuTime", 0)) / 1e9, 2),
                "shuffle_write_mb": round(
                    int(acc.get("internal.metrics.shuffle.write.bytesWritten", 0)) / 2**20, 1
                ),
                "shuffle_read_mb": round(
                    (
                        int(acc.get("internal.metrics.shuffle.read.remoteBytesRead", 0))
                        + int(acc.get("internal.metrics.shuffle.read.localBytesRead", 0))
                    )
                    / 2**20,
                    1,
                ),
            }
        )
    return stages


def _log_text(log: Path) -> str:
    """An event log file's text (``.zstd``: Spark's default compression, through the zstd command)."""
    if log.suffix == ".zstd":
        return subprocess.run(["zstd", "-dc", str(log)], capture_output=True, check=True).stdout.decode()
    return log.read_text()


def _tree_cpu(root: int) -> float:
    """Summed user + system CPU seconds of ``root`` and its live descendants, children already reaped included."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
            total += sum(int(x) for x in stat[11:15])  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def _tree(root: int) -> set[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                parent[int(entry)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return tree


def _tree_rss(root: int) -> int:
    """Summed RSS in bytes of ``root`` and all its descendants (from /proc)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
            parent[int(entry)] = int(stat[1])
            rss[int(entry)] = int(stat[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree)


def measure(engine: str, store: Path, opts: dict[str, str]) -> dict[str, object]:
    """Run ``child`` in a subprocess and sample its process tree's RSS; returns the child's figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result_file = fh.name
    cmd = [sys.executable, __file__, "_child", engine, str(store), result_file, json.dumps(opts)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, cpu = 0, 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        cpu = max(cpu, _tree_cpu(proc.pid))  # the last sample before exit: CPU seconds of the whole tree
        time.sleep(0.2)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed ({proc.returncode}):\n{err[-3000:]}")
    out = json.loads(Path(result_file).read_text())
    os.unlink(result_file)
    n = store_rows(store)
    secs = float(out["seconds"])
    out.update(
        positions=n,
        peak_rss_mb=round(peak / 2**20),
        positions_per_s=round(n / secs),
        tree_cpu_s=round(cpu, 1),
    )
    for run in out.get("runs", []):
        run["positions_per_s"] = round(n / float(run["seconds"]))
    return out


def store_rows(store: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(store.glob("positions/day=*/*.parquet")))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        engine, store, result_file, opts = sys.argv[2:6]
        Path(result_file).write_text(json.dumps(child(engine, store, json.loads(opts)), default=str))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("store", type=Path)
    b.add_argument("--positions", type=float, default=1e6)
    r = sub.add_parser("run")
    r.add_argument("engine", choices=["local", "spark", "duckdb"])
    r.add_argument("store", type=Path)
    r.add_argument("--workers", default="2")
    r.add_argument("--memory-limit", default="")
    r.add_argument("--master", default="local[2]")
    r.add_argument("--driver-memory", default="4g")
    r.add_argument("--partitions", default="")
    r.add_argument(
        "--event-log", default="", help="Spark: write the event log here and report per-stage metrics"
    )
    r.add_argument(
        "--copy",
        choices=["cold", "warm", "off"],
        default="cold",
        help="Spark on a local store: cold = drop the vessel-partitioned copy first (the run splits the "
        "store), warm = keep it, off = the JVM path (Spark reads and shuffles positions)",
    )
    r.add_argument(
        "--repeat", default="1", help="Spark: detect this many times in one session (2 = cold, warm)"
    )
    a = ap.parse_args()
    if a.cmd == "build":
        t0 = time.perf_counter()
        n = build(a.store, a.positions)
        print(
            json.dumps({"store": str(a.store), "positions": n, "seconds": round(time.perf_counter() - t0, 1)})
        )
        return
    opts = {
        "workers": a.workers,
        "memory_limit": a.memory_limit,
        "master": a.master,
        "driver_memory": a.driver_memory,
        "partitions": a.partitions,
        "event_log": a.event_log,
        "copy": a.copy,
        "repeat": a.repeat,
    }
    load = os.getloadavg()[0]
    out = measure(a.engine, a.store, opts)
    out["load_avg_1m_before"] = round(load, 1)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
