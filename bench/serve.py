"""Load on `supplyline serve`: concurrent clients on loopback asking for vessel pages and map data.

    supplyline demo --data nyharbor --out ny-demo && python bench/serve.py --store ny-demo/store
    python bench/serve.py --store STORE --clients 50 --requests 20

Starts a real server process (uvicorn on a free 127.0.0.1 port, token from the environment), then:

* cold: every client asks for a different vessel page and a different map window at once, so each answer
  is computed (the server caches answers per store version; these are all misses);
* warm: every client sends ``--requests`` more requests, alternating vessel pages (of the 50 busiest vessels)
  and map windows (each day of the data and the whole period), mostly answered from the cache.

Prints p50/p99 latency per endpoint and phase, each phase's wall time and the CPU seconds the server
process and this client used in it (from /proc and getrusage: the client shares the machine's cores, so its
share is part of the latency it measures), and the server's resident memory (VmRSS, peak VmHWM). The
default client is a minimal asyncio HTTP/1.1 one (``--client httpx`` for httpx, which costs the client
several times the server's CPU). Bounded: at most clients x (2 + requests) requests, every request times
out after 60 s, the whole run after ``--budget-s``. Traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from supplyline.store import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(store: Path, token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "SUPPLYLINE_TOKEN": token}
    cmd = [sys.executable, "-m", "supplyline", "serve", "--store", str(store), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if (
                httpx.get(f"{url}/api/openapi.json", headers={"authorization": f"Bearer {token}"}).status_code
                == 200
            ):
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start within 30 s")


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def targets(store: Path, n: int) -> tuple[list[int], list[tuple[str, str]]]:
    """The ``n`` busiest vessels, and map windows: each day of the data plus the whole period."""
    con = Store(store).connect()
    try:
        rows = con.execute(
            "SELECT mmsi FROM positions GROUP BY mmsi ORDER BY count(*) DESC, mmsi LIMIT ?", [n]
        ).fetchall()
        first, last = con.execute("SELECT min(ts), max(ts) FROM positions").fetchall()[0]
    finally:
        con.close()
    day0 = first.date()
    days = [day0 + dt.timedelta(days=i) for i in range((last.date() - day0).days + 1)]
    windows = [(d.isoformat(), (d + dt.timedelta(days=1)).isoformat()) for d in days]
    return [int(r[0]) for r in rows], [*windows, ("", "")]


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (``--client raw``): a pool of up to
    ``connections`` connections, Content-Length bodies read whole. It costs a fraction of httpx's CPU per
    request, and the client shares the server's 2 cores: with httpx the client used ~5x the server's CPU."""

    def __init__(self, url: str, headers: dict[str, str], connections: int) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = str(parts.hostname), int(parts.port or 80)
        fields = {"host": f"{self.host}:{self.port}", **headers}
        self.head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(connections)

    async def get(self, path: str, params: dict[str, str] | None = None) -> None:
        if params:
            path += "?" + urllib.parse.urlencode(params)
        async with self.slots:
            conn = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
            await reader.readexactly(int(fields["content-length"]))
            self.idle.append(conn)
        status = int(head[0].split(" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()


class HttpxClient:
    """httpx's AsyncClient (``--client httpx``, the first runs' client)."""

    def __init__(self, url: str, headers: dict[str, str], connections: int) -> None:
        limits = httpx.Limits(max_connections=connections)
        self.client = httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits)

    async def get(self, path: str, params: dict[str, str] | None = None) -> None:
        (await self.client.get(path, params=params)).raise_for_status()

    async def aclose(self) -> None:
        await self.client.aclose()


async def timed(client: RawClient | HttpxClient, url: str, params: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    await asyncio.wait_for(client.get(url, params), 60)
    return (time.perf_counter() - t0) * 1000


def map_params(window: tuple[str, str]) -> dict[str, str]:
    return {"start": window[0], "end": window[1]} if window[0] else {}


async def run(
    url: str, token: str, vessels: list[int], windows: list[tuple[str, str]], args: Any, pid: int
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    out: dict[str, list[float]] = {"cold vessel": [], "cold map": [], "warm vessel": [], "warm map": []}
    client = (RawClient if args.client == "raw" else HttpxClient)(url, headers, args.clients)
    try:

        async def cold(i: int) -> None:
            # distinct map windows: one per client (a day shifted by i hours, so no two share a cache entry)
            start = dt.datetime.fromisoformat(windows[i % (len(windows) - 1)][0]) + dt.timedelta(hours=i)
            params = {"start": start.isoformat(), "end": (start + dt.timedelta(days=1)).isoformat()}
            v, m = await asyncio.gather(
                timed(client, f"/api/vessels/{vessels[i % len(vessels)]}"), timed(client, "/api/map", params)
            )
            out["cold vessel"].append(v)
            out["cold map"].append(m)

        async def warm(i: int) -> None:
            for k in range(args.requests):
                if k % 2 == 0:
                    out["warm vessel"].append(
                        await timed(client, f"/api/vessels/{vessels[(i + k) % len(vessels)]}")
                    )
                else:
                    out["warm map"].append(
                        await timed(client, "/api/map", map_params(windows[(i + k) % len(windows)]))
                    )

        cpu: dict[str, dict[str, float]] = {}
        for phase, body in (("cold", cold), ("warm", warm)):
            t0, server0, client0 = time.perf_counter(), cpu_s(pid), own_cpu_s()
            await asyncio.wait_for(asyncio.gather(*(body(i) for i in range(args.clients))), args.budget_s)
            n = sum(len(v) for k, v in out.items() if k.startswith(phase))
            cpu[phase] = {
                "wall_s": round(time.perf_counter() - t0, 2),
                "requests": n,
                "server_cpu_s": round(cpu_s(pid) - server0, 2),
                "server_cpu_ms_per_request": round(1000 * (cpu_s(pid) - server0) / max(n, 1), 2),
                "client_cpu_s": round(own_cpu_s() - client0, 2),
            }
    finally:
        await client.aclose()
    stats = {
        name: {
            "n": len(ms),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(np.max(ms)), 1),
        }
        for name, ms in out.items()
        if ms
    }
    return {"phases": cpu, "latency": stats}


def answer_cpu(store: Path, vessels: list[int], windows: list[tuple[str, str]], reps: int) -> dict[str, Any]:
    """CPU ms per answer computed and encoded in this process, no HTTP (``--answers``): what one cache miss
    costs the server. Median over the vessels / windows, each computed ``reps`` times. Runs on older
    versions of the server too (JSON through the report's ``dumps`` when there is no ``api.encode``)."""
    from supplyline.report.data import dumps
    from supplyline.serve import api
    from supplyline.serve.db import open_reader

    encode = getattr(api, "encode", lambda payload: dumps(payload).encode())
    reader = open_reader(store)

    def cpu_ms(fn: Any) -> float:
        fn()  # first call outside the timing (lazy set-up)
        t0 = time.process_time()
        for _ in range(reps):
            encode(fn())
        return (time.process_time() - t0) * 1000 / reps

    def window(a: str, b: str) -> tuple[dt.datetime, dt.datetime]:
        return dt.datetime.fromisoformat(a).replace(tzinfo=dt.UTC), dt.datetime.fromisoformat(b).replace(
            tzinfo=dt.UTC
        )

    days = [window(a, b) for a, b in windows if a]
    whole = (days[0][0], days[-1][1])
    timings = {
        "vessel page": [cpu_ms(lambda m=m: api.vessel(reader, m)) for m in vessels],
        "one-day map": [cpu_ms(lambda w=w: api.map_data(reader, w[0], w[1], api.MAX_POINTS)) for w in days],
        "whole-period map": [cpu_ms(lambda: api.map_data(reader, whole[0], whole[1], api.MAX_POINTS))],
    }
    reader.close()
    return {name: round(float(np.median(ms)), 2) for name, ms in timings.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True, help="store to serve (e.g. the NY Harbor demo's)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20, help="warm requests per client")
    ap.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="raw: a minimal asyncio HTTP/1.1 client (default); httpx: httpx.AsyncClient (several times the CPU)",
    )
    ap.add_argument("--budget-s", type=float, default=300.0, help="give up after this long per phase")
    ap.add_argument(
        "--answers", action="store_true", help="instead: CPU ms per answer computed in this process (no HTTP)"
    )
    args = ap.parse_args()
    token = secrets.token_urlsafe(24)
    vessels, windows = targets(args.store, args.clients)
    if args.answers:
        cpu = answer_cpu(args.store, vessels, windows, reps=5)
        print(json.dumps({"cpu_ms_per_answer": cpu, "load_average": os.getloadavg()}, indent=2))
        return
    proc, url = start_server(args.store, token)
    try:
        idle = memory_mb(proc.pid)
        result = asyncio.run(run(url, token, vessels, windows, args, proc.pid))
        result["server_memory_mb"] = {"idle": idle, "after": memory_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result.update(
        {
            "store": str(args.store),
            "clients": args.clients,
            "client": args.client,
            "vessels": len(vessels),
            "windows": len(windows),
            "load_average": os.getloadavg(),
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
