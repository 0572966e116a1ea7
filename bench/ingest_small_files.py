"""Many small inputs: N one-message NMEA files ingested in one ``ingest`` call (issue 21, item 5).

Each file is one ``!AIVDM`` type-1 sentence behind a tag block with its own ``c:`` time, so no file is a
duplicate of another and each one is a full input (content hash, manifest row, one position part). What is
measured is the fixed cost per input: DuckDB connection, thread pools, transaction and journal.

Run: ``python bench/ingest_small_files.py --files 10000`` (prints seconds and files/s; ``--cli`` times the
whole ``supplyline ingest FOLDER`` command instead of the library call).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from functools import reduce
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supplyline.ingest.pipeline import ingest
from supplyline.store import Store

SENTENCE = b"!AIVDM,1,1,,A,13iEcL0P1iPwuvROMf@BnR@D0@7L,0*3C"
T0 = 1_600_000_000  # 2020-09-13 UTC


def tag_block(fields: str) -> bytes:
    """``\\fields*hh\\`` with the NMEA XOR checksum of ``fields``."""
    chk = reduce(lambda a, b: a ^ b, fields.encode(), 0)
    return f"\\{fields}*{chk:02X}\\".encode()


def write_files(folder: Path, n: int) -> None:
    """``n`` files of one message each, a second apart (distinct reports, distinct content hashes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"msg-{i:06d}.nmea").write_bytes(tag_block(f"s:bench,c:{T0 + i}") + SENTENCE + b"\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--cli", action="store_true", help="time `python -m supplyline ingest FOLDER` instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, store_dir = Path(tmp) / "in", Path(tmp) / "store"
        write_files(folder, args.files)
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        if args.cli:
            cmd = [sys.executable, "-m", "supplyline", "ingest", str(folder), "--store", str(store_dir)]
            subprocess.run(cmd, check=True, capture_output=True)
        else:
            report = ingest(Store.create(store_dir), [folder])
            assert sum(f.kept for f in report.files) == args.files, "every message should be kept"
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    end_load = os.getloadavg()[0]
    print(
        f"{args.files} one-message files: {wall:.1f} s wall ({args.files / wall:,.0f} files/s), "
        f"{cpu:.1f} s CPU of this process (library call; --cli: the child's is not counted), "
        f"load {load:.1f} -> {end_load:.1f}"
    )


if __name__ == "__main__":
    main()
