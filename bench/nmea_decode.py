"""Micro-benchmark: supplyline's NMEA decoder alone vs a bare pyais decode loop, same file, same run.

    python bench/nmea_decode.py [FILE] [--repeat N] [--copies K]

Default FILE is the DMA 5-minute all-Denmark sample (80,246 lines, 26,077 AIS messages). Both sides get the
decompressed bytes in memory; pyais reassembles multipart messages with its own stream and decodes every
message (``msg.decode()``), the decoder produces the full positions/statics/quarantine tables. Best of N runs
is reported (the machine is shared, so the minimum is the least disturbed figure). The decoder's C line
scanner (``ingest/_scan.c``) is also timed on its own, in ns per physical line.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

from supplyline.ingest.nmea import _PAD, _padded, _scan_lines, decode_nmea

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz"
)


def pyais_loop(lines: list[bytes]) -> int:
    from pyais.stream import IterMessages

    n = 0
    for msg in IterMessages(lines):
        try:
            msg.decode()
        except Exception:  # pyais raises on unknown/malformed messages; a bare loop just skips them
            continue
        n += 1
    return n


def best(fn, repeat: int, clock=time.perf_counter) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--copies", type=int, default=1, help="decode the file's text repeated this many times")
    args = ap.parse_args()
    raw = Path(args.file).read_bytes()
    data = gzip.decompress(raw) if args.file.endswith(".gz") else raw
    if not data.endswith(b"\n"):
        data += b"\n"
    data *= args.copies
    lines = [x for x in data.splitlines() if x.strip()]
    r = decode_nmea(data, file=args.file, input_id="bench")  # warm-up (imports, caches)
    n_ours = r.positions.num_rows + r.statics.num_rows - int((r.statics["msg_type"].to_numpy() == 19).sum())
    n_pyais = pyais_loop(lines)
    t_ours = best(lambda: decode_nmea(data, file=args.file, input_id="bench"), args.repeat)
    t_pyais = best(lambda: pyais_loop(lines), max(2, args.repeat // 2))
    n_lines = data.count(b"\n")
    print(f"file: {Path(args.file).name}  bytes={len(data):,}  lines={n_lines:,}")
    print(
        f"pyais loop   : {n_pyais:,} messages (all types) in {t_pyais * 1000:.1f} ms = {n_pyais / t_pyais:,.0f} msg/s"
    )
    print(
        f"decode_nmea  : {n_pyais:,} messages ({n_ours:,} position/static rows, {r.quarantine.num_rows:,} "
        f"quarantined lines) in {t_ours * 1000:.1f} ms = {n_pyais / t_ours:,.0f} msg/s"
    )
    print(f"speed-up     : {t_pyais / t_ours:.1f}x (wall clock, best of runs)")
    c_ours = best(lambda: decode_nmea(data, file=args.file, input_id="bench"), args.repeat, time.process_time)
    c_pyais = best(lambda: pyais_loop(lines), max(2, args.repeat // 2), time.process_time)
    print(
        f"CPU time     : pyais {c_pyais * 1000:.1f} ms, decode_nmea {c_ours * 1000:.1f} ms -> {c_pyais / c_ours:.1f}x"
    )
    pbuf = _padded(data, room=len(data) + _PAD)
    t_scan = best(lambda: _scan_lines(pbuf, len(data), len(data) + _PAD // 2), args.repeat)
    print(
        f"line scan    : {t_scan * 1000:.1f} ms = {t_scan / n_lines * 1e9:.0f} ns a line (part of decode_nmea)"
    )


if __name__ == "__main__":
    main()
