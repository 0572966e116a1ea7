"""`supplyline watch` throughput, latency and memory: a real watch process fed over TCP on loopback.

* **throughput**: N NMEA lines sent as fast as the watch takes them (TCP with ``?ack=1``: the sender waits
  for the spool), timed from the first byte sent to the last batch stored (spool -> store), in messages/s;
* **latency**: lines sent at ``--rate`` lines/s with a case: the watch's own ``lag_s`` (oldest spooled line
  not yet stored) sampled each second, and the time from the message that completes a dark gap near a case
  place to its alert in the JSON-lines file (``--every 1 --after 1000``);
* **memory**: the watch's resident set (``VmRSS``) sampled every 0.5 s over the run, and its peak (``VmHWM``);
* **convert** (``--convert``): CPU per AISStream message of the WebSocket source's JSON -> NMEA, one by one
  and many in one call (``--latency-hours`` of data);
* **soak** (``--soak-minutes M``, instead of the two runs above): lines at ``--rate`` lines/s for M minutes
  with the NY case, the default analysis schedule and a JSON-lines sink; every ``--sample-s`` seconds the
  watch's RSS, its lag, the lines stored and the load average. Flat memory: compare the RSS of the second
  half with the first (``rss_mb_slope_per_10min`` over the second half; max/mean per 5 minutes), the
  monitor's seconds per analysis run (from the watch's log), and each alert's latency: the time it reached
  the JSON-lines sink minus the time the line that made it true was sent.

Data: the NY Harbor week (real, 172,679 positions) as NMEA, repeated with times shifted by whole weeks
(``--copies``) so no line is a duplicate. Run: ``python bench/watch.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.watch_support import CASE, WEEK, nyharbor_nmea, status

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
WEEK_S = 7 * 86400


def week_copies(copies: int) -> bytes:
    """The week as NMEA, ``copies`` times, each copy a week later (so no line repeats another)."""
    return b"".join(nyharbor_nmea(DATA / WEEK, 24 * 7, shift_s=k * WEEK_S) for k in range(copies))


def _mem(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


class Sampler(threading.Thread):
    def __init__(self, pid: int, store: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.store, self.rss, self.lag, self.stop = pid, store, [], [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.rss.append(_mem(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            st = status(self.store)
            if st:
                self.lag.extend(s["lag_s"] for s in st["sources"].values())


def start(store: Path, port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "supplyline", "watch", "--store", str(store),
           "--source", f"tcp-listen://127.0.0.1:{port}?ack=1#name=feed", "--batch-seconds", "0.5", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(store.parent / "watch.log", "ab"))  # noqa: SIM115
    while (st := status(store)) is None or st["pid"] != proc.pid:
        time.sleep(0.1)
    return proc


def send(port: int, data: bytes, rate: float | None) -> float:
    """Send ``data`` (lines) at ``rate`` lines/s or as fast as acknowledged; returns the seconds it took."""
    lines_per_block = 2000 if rate is None else max(1, int(rate / 10))
    lines = data.splitlines(keepends=True)
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        sent = 0
        for i in range(0, len(lines), lines_per_block):
            block = b"".join(lines[i : i + lines_per_block])
            sock.sendall(block)
            sent += len(block)
            if rate is not None:
                time.sleep(max(0.0, t0 + (i + lines_per_block) / rate - time.perf_counter()))
        while int(reader.readline().split()[1]) < sent:
            pass
    return time.perf_counter() - t0


def wait_stored(store: Path) -> None:
    while (st := status(store)) is None or st["sources"]["feed"]["backlog_bytes"] or st["queue_bytes"]:
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def throughput(work: Path, data: bytes) -> dict[str, Any]:
    store, port = work / "tp", free_port()
    proc = start(store, port, ["--no-analysis"])
    sampler = Sampler(proc.pid, store)
    sampler.start()
    t0 = time.perf_counter()
    send(port, data, None)
    wait_stored(store)
    seconds = time.perf_counter() - t0
    mem = _mem(proc.pid)
    sampler.stop.set()
    proc.terminate()
    proc.wait(60)
    n = data.count(b"\n")
    st = status(store) or {}
    return {"lines": n, "seconds": round(seconds, 2), "msgs_per_s": round(n / seconds),
            "stored_read": st["sources"]["feed"]["read"], "kept": st["sources"]["feed"]["kept"],
            "batches": st["sources"]["feed"]["batches"], "rss_mb_samples": sampler.rss[::4],
            "rss_mb_peak": mem.get("VmHWM")}  # fmt: skip


class AlertWatcher(threading.Thread):
    """Wall time at which each alert id first appears in the JSON-lines file."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop = path, threading.Event()
        self.seen: dict[str, tuple[float, str]] = {}

    def run(self) -> None:
        while not self.stop.wait(0.1):
            if self.path.exists():
                now = time.time()
                for line in self.path.read_text().splitlines():
                    alert = json.loads(line)
                    self.seen.setdefault(alert["alert_id"], (now, alert["ts"]))


def latency(work: Path, data: bytes, rate: float) -> dict[str, Any]:
    """Lines at ``rate``/s with the NY case: lag to the store, and from the triggering line to its alert."""
    store, port, alerts = work / "lat", free_port(), work / "alerts.jsonl"
    extra = ["--case", str(CASE), "--every", "1", "--after", "1000", "--deliver", f"file:{alerts}"]
    proc = start(store, port, extra)
    sampler, watcher = Sampler(proc.pid, store), AlertWatcher(alerts)
    sampler.start()
    watcher.start()
    t0 = time.time()
    send(port, data, rate)
    wait_stored(store)
    deadline = time.time() + 60  # the analysis after the last batch can take seconds on a loaded machine
    while time.time() < deadline and not (status(store) or {}).get("delivered"):
        time.sleep(0.2)
    time.sleep(2)
    sampler.stop.set()
    watcher.stop.set()
    proc.terminate()
    proc.wait(60)
    # line i (time-ordered) was sent at t0 + i / rate; an alert becomes true at its ts, i.e. with the first
    # line whose data time is at or after it
    stamps = [int(x.split(b"c:")[1][:10]) for x in data.splitlines()]
    delays = []
    for seen_at, ts in watcher.seen.values():
        due = int(datetime.fromisoformat(ts).timestamp())
        i = bisect.bisect_left(stamps, due)
        delays.append(seen_at - (t0 + i / rate))
    return {"lines": len(stamps), "rate": rate, "alerts": len(delays),
            "alert_latency_s": sorted(round(d, 1) for d in delays),
            "lag_s_median": statistics.median(sampler.lag) if sampler.lag else None,
            "lag_s_max": max(sampler.lag, default=None), "rss_mb_max": max(sampler.rss, default=None),
            "wall_s": round(time.time() - t0, 1)}  # fmt: skip


def week_stream(rate: float, minutes: float) -> Any:
    """Blocks of NMEA (one tenth of a second at ``rate`` each) for ``minutes``, week copy after week copy."""
    per_block, total = max(1, int(rate / 10)), int(rate * minutes * 60)
    done, k = 0, 0
    while done < total:
        lines = nyharbor_nmea(DATA / WEEK, 24 * 7, shift_s=k * WEEK_S).splitlines(keepends=True)
        for i in range(0, min(len(lines), total - done), per_block):
            yield b"".join(lines[i : min(i + per_block, total - done)])
        done, k = min(total, done + len(lines)), k + 1


def stream_send(
    port: int, blocks: Any, rate: float, per_block: int, sent_log: list[tuple[int, float]] | None = None
) -> int:
    """Send ``blocks`` at ``rate`` lines/s (each block ``per_block`` lines); returns the bytes acknowledged.
    ``sent_log`` receives (data time of the block's last line, wall time it was sent) per block."""
    t0, sent = time.perf_counter(), 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        for i, block in enumerate(blocks, start=1):
            sock.sendall(block)
            sent += len(block)
            if sent_log is not None:
                sent_log.append((_stamp(block.rstrip(b"\n").rsplit(b"\n", 1)[-1]), time.time()))
            time.sleep(max(0.0, t0 + i * per_block / rate - time.perf_counter()))
        while int(reader.readline().split()[1]) < sent:
            pass
    return sent


def _stamp(line: bytes) -> int:
    """The data time (unix s) in an NMEA line's tag block (``c:``)."""
    return int(line.split(b"c:")[1][:10])


def alert_latency(seen: dict[str, tuple[float, str]], sent_log: list[tuple[int, float]]) -> dict[str, Any]:
    """Per alert: the wall time it reached the sink minus the time the line that made it true was sent (the
    first line whose data time is at or after the alert's ``ts``); median, 95th percentile and max (s)."""
    last_ts = list(itertools.accumulate((t for t, _ in sent_log), max))
    delays = []
    for seen_at, ts in seen.values():
        i = bisect.bisect_left(last_ts, int(datetime.fromisoformat(ts).timestamp()))
        if i < len(sent_log):
            delays.append(seen_at - sent_log[i][1])
    if not delays:
        return {"alerts": 0}
    delays.sort()
    return {"alerts": len(delays), "median_s": round(statistics.median(delays), 1),
            "p95_s": round(delays[int(0.95 * (len(delays) - 1))], 1), "max_s": round(delays[-1], 1),
            "under_60_s": round(sum(d < 60 for d in delays) / len(delays), 3)}  # fmt: skip


def windows(samples: list[dict[str, Any]], key: str, width_s: float = 300) -> list[dict[str, Any]]:
    """Max and mean of ``key`` per ``width_s`` window of the samples."""
    out: dict[int, list[float]] = {}
    for s in samples:
        if s.get(key) is not None:
            out.setdefault(int(s["t_s"] // width_s), []).append(s[key])
    return [{"from_min": round(k * width_s / 60), "max": max(v), "mean": round(statistics.fmean(v))}
            for k, v in sorted(out.items())]  # fmt: skip


def _slope_per_10min(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    ts, ys = [p[0] for p in points], [p[1] for p in points]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    var = sum((t - mt) ** 2 for t in ts)
    return (
        round(600 * sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var, 2) if var else None
    )


def soak(work: Path, rate: float, minutes: float, sample_s: float, analyse: bool = True) -> dict[str, Any]:
    """``rate`` lines/s for ``minutes`` with the NY case (or only storing, ``analyse=False``): RSS, lag and
    load sampled every ``sample_s``."""
    store, port, alerts = work / "soak", free_port(), work / "alerts.jsonl"
    extra = ["--case", str(CASE), "--deliver", f"file:{alerts}"] if analyse else ["--no-analysis"]
    proc = start(store, port, extra)
    samples: list[dict[str, Any]] = []
    stop, t0 = threading.Event(), time.time()

    def sample() -> None:
        while not stop.wait(sample_s):
            st, mem = status(store) or {}, _mem(proc.pid)
            feed = st.get("sources", {}).get("feed", {})
            last = st.get("last_analysis") or {}
            samples.append({"t_s": round(time.time() - t0), "rss_mb": mem.get("VmRSS"),
                            "lag_s": feed.get("lag_s"), "stored": feed.get("read"),
                            "analysis_runs": st.get("analysis_runs"), "analysis_running": st.get("analysis_running"),
                            "analysis_pending": st.get("analysis_pending_positions"),
                            "last_analysis_s": last.get("seconds"), "load1": os.getloadavg()[0]})  # fmt: skip
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)

    sampler, watcher = threading.Thread(target=sample, daemon=True), AlertWatcher(alerts)
    sent_log: list[tuple[int, float]] = []
    sampler.start()
    watcher.start()
    cpu0 = _cpu(proc.pid)
    sent = stream_send(port, week_stream(rate, minutes), rate, max(1, int(rate / 10)), sent_log)
    wall = time.time() - t0
    wait_stored(store)
    stop.set()
    watcher.stop.set()
    cpu, peak = _cpu(proc.pid) - cpu0, _mem(proc.pid).get("VmHWM")
    proc.terminate()
    proc.wait(120)
    st = status(store) or {}
    rss = [(s["t_s"], s["rss_mb"]) for s in samples if s["rss_mb"]]
    half = [p for p in rss if p[0] >= wall / 2]
    return {"rate": rate, "minutes": minutes, "analysis": analyse, "bytes": sent, "lines_stored": st["sources"]["feed"]["read"],
            "sustained_lines_s": round(st["sources"]["feed"]["read"] / wall), "watch_cpu_s": round(cpu, 1),
            "alerts": len(alerts.read_text().splitlines()) if alerts.exists() else 0,
            "rss_mb_first_half_max": max((y for t, y in rss if t < wall / 2), default=None),
            "rss_mb_second_half_max": max((y for _, y in half), default=None), "rss_mb_peak": peak,
            "rss_mb_slope_per_10min": _slope_per_10min(half),
            "lag_s_max": max((s["lag_s"] or 0 for s in samples), default=None),
            "load1_mean": round(statistics.fmean(s["load1"] for s in samples), 2) if samples else None,
            "rss_mb_per_5min": windows(samples, "rss_mb"), "alert_latency": alert_latency(watcher.seen, sent_log),
            "analysis_runs": analysis_runs(work / "watch.log", t0, wall), "samples": samples}  # fmt: skip


def analysis_runs(log: Path, t0: float, wall: float) -> dict[str, Any]:
    """The watch's "analysis" log events: per run its end (s after the start), seconds, positions it covered
    and rows it re-read; the seconds' slope over the second half (a run costing the same however large the
    store has grown has slope ~0)."""
    runs = []
    for line in log.read_text().splitlines() if log.exists() else []:
        rec = json.loads(line) if line.startswith("{") else {}
        if rec.get("event") != "analysis":
            continue
        end = datetime.fromisoformat(rec["ts"]).timestamp() - t0
        det = rec.get("detect") or {}
        inc = det.get("incremental", {})
        mon = rec.get("monitor") or {}
        runs.append({"t_s": round(end), "seconds": rec["seconds"], "cpu_s": rec.get("cpu_s"),
                     "detect_s": round(sum(det.get("seconds", {}).values()), 3), "stored": rec.get("stored"),
                     "monitor_s": mon.get("seconds"), "monitor_cpu_s": mon.get("cpu_s"),
                     "monitor_facts_s": mon.get("facts_s"),
                     "monitor_rebuilt": mon.get("rebuilt"), "monitor_rows_read": mon.get("rows_read"),
                     "monitor_vessels": mon.get("vessels"), "monitor_new_positions": mon.get("new_positions"),
                     "positions": rec.get("positions"), "rows_read": inc.get("rows"),
                     "vessels_cut": inc.get("cut"), "vessels_whole": inc.get("whole")})  # fmt: skip
    late = [(r["t_s"], r["seconds"]) for r in runs if r["t_s"] >= wall / 2]
    late_detect = [(r["t_s"], r["detect_s"]) for r in runs if r["t_s"] >= wall / 2]
    late_monitor = [
        (r["t_s"], r["monitor_s"] if r["monitor_s"] is not None else r["seconds"] - r["detect_s"])
        for r in runs
        if r["t_s"] >= wall / 2
    ]
    return {"runs": len(runs), "seconds_slope_per_10min_second_half": _slope_per_10min(late),
            "detect_s_slope_per_10min_second_half": _slope_per_10min(late_detect),
            "monitor_s_slope_per_10min_second_half": _slope_per_10min(late_monitor),
            "seconds_max": max((r["seconds"] for r in runs), default=None), "per_run": runs}  # fmt: skip


def _cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def convert_speed(hours: float) -> dict[str, Any]:
    """CPU per AISStream message of the WebSocket source's conversion: one by one vs many in one call."""
    from tests.watch_support import aisstream_json, nyharbor_rows

    from supplyline.watch.sources.aisstream import to_nmea, to_nmea_many

    msgs = aisstream_json(nyharbor_rows(DATA / WEEK, hours))
    t0 = time.process_time()
    one = b"".join(to_nmea(m) for m in msgs)
    t1 = time.process_time()
    many = to_nmea_many(msgs)
    t2 = time.process_time()
    return {"messages": len(msgs), "identical": one == many, "us_cpu_one_by_one": round((t1 - t0) / len(msgs) * 1e6, 1),
            "us_cpu_many": round((t2 - t1) / len(msgs) * 1e6, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=4, help="weeks of NY Harbor AIS for the throughput run")
    ap.add_argument("--rate", type=float, default=5000, help="lines/s of the latency run")
    ap.add_argument("--latency-hours", type=float, default=30, help="hours of data in the latency run")
    ap.add_argument("--soak-minutes", type=float, default=0, help="instead: a soak run of this many minutes")
    ap.add_argument("--sample-s", type=float, default=30, help="seconds between samples of the soak run")
    ap.add_argument("--convert", action="store_true", help="instead: CPU of the AISStream conversion")
    ap.add_argument("--soak-no-analysis", action="store_true", help="soak: only store (no detect/monitor)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = Path(tmp)
        if args.convert:
            print(json.dumps({"convert": convert_speed(args.latency_hours)}, indent=1))
            return
        if args.soak_minutes:
            print(
                json.dumps(
                    {
                        "soak": soak(
                            work, args.rate, args.soak_minutes, args.sample_s, not args.soak_no_analysis
                        )
                    },
                    indent=1,
                )
            )
            return
        data = week_copies(args.copies)
        print(json.dumps({"throughput": throughput(work, data)}, indent=1))
        lat_data = nyharbor_nmea(DATA / WEEK, args.latency_hours)
        print(json.dumps({"latency": latency(work, lat_data, args.rate)}, indent=1))


if __name__ == "__main__":
    main()
