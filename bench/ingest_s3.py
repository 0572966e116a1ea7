"""Spark ingest into a store on S3 against the same ingest into a store folder (issue 18, item 2).

The S3 API server is moto's server mode on 127.0.0.1 (``pip install 'moto[server]'``): a Python process on
the same cores, so this measures what the object-storage path adds on this machine (uploads from the
tasks, listings, server-side copies, the lease), not the throughput of a real S3 endpoint. One warm Spark
session (``local[2]``) serves both; each repeat ingests the NY Harbor week CSV and the DMA NMEA log into a
fresh store. Wall seconds and the driver's CPU seconds are printed per repeat, then the medians.

Run: ``python bench/ingest_s3.py [--repeats 3] [--data /work/shared/data]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supplyline.engine.spark import spark_session
from supplyline.engine.spark_ingest import ingest_spark
from supplyline.remote_store import RemoteStore
from supplyline.store import Store

INPUTS = (
    "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz",
    "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz",
)


@contextmanager
def s3_on_loopback() -> Iterator[None]:
    """moto's S3 server on a free loopback port, with the AWS_* variables pointing at it and a bucket."""
    from pyarrow import fs as pafs

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        )
        pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}",
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
        ).create_dir("bench")
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def timed(store: Store | RemoteStore, files: list[str], spark: object) -> tuple[float, float]:
    """Wall and driver-CPU seconds of one ``ingest_spark`` of ``files`` into ``store``."""
    wall, cpu = time.perf_counter(), time.process_time()
    ingest_spark(store, files, spark=spark)  # type: ignore[arg-type]
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("SUPPLYLINE_SHARED_DATA", "../shared/data"))
    )
    args = parser.parse_args()
    files = [str(args.data / name) for name in INPUTS]
    spark = spark_session("local[2]")
    with s3_on_loopback(), tempfile.TemporaryDirectory() as tmp:
        ingest_spark(Store.create(Path(tmp) / "warm-up"), files, spark=spark)
        rows: dict[str, list[tuple[float, float]]] = {"folder": [], "s3": []}
        for k in range(args.repeats):
            rows["folder"].append(timed(Store.create(Path(tmp) / f"f{k}"), files, spark))
            rows["s3"].append(timed(RemoteStore.create(f"s3://bench/store-{k}"), files, spark))
            last = {name: runs[-1] for name, runs in rows.items()}
            print(
                f"repeat {k + 1}: "
                + ", ".join(f"{n} {w:.2f} s wall / {c:.2f} s CPU" for n, (w, c) in last.items())
            )
    for name, runs in rows.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name}: median {wall:.2f} s wall, {cpu:.2f} s driver CPU over {len(runs)} repeats")
    spark.stop()


if __name__ == "__main__":
    main()
