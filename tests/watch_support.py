"""Helpers of the watch tests: NY Harbor AIS as NMEA, a watch in a subprocess, its status, comparisons."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.store import Store

WEEK = "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"
CASE = Path(__file__).resolve().parents[1] / "src" / "supplyline" / "cases" / "nyharbor"


def nyharbor_rows(csv: Path, hours: float, shift_s: int = 0) -> dict[str, np.ndarray]:
    """The first ``hours`` of the NY Harbor week (real positions) in time order: mmsi, ts (unix s), lat, lon."""
    con = duckdb.connect()
    t = con.sql(
        f"""SELECT mmsi::BIGINT AS mmsi, epoch(timestamp::TIMESTAMP)::BIGINT AS ts, lat, lon
            FROM read_csv('{csv}') WHERE timestamp::TIMESTAMP < TIMESTAMP '2020-12-01' + INTERVAL ({hours}) HOUR
            ORDER BY ts, mmsi"""
    ).fetchnumpy()
    t["ts"] = t["ts"] + shift_s
    return dict(t)


def nyharbor_nmea(csv: Path, hours: float, shift_s: int = 0, source: str = "nyharbor") -> bytes:
    """The first ``hours`` of the NY Harbor week (real positions) as type-1 NMEA lines in time order.

    The CSV has no SOG/COG/heading, so those are sent as "not available"; written with the simulator's NMEA
    encoder (tag block ``c:`` carries the time, ``s:`` the ``source``).
    """
    return rows_nmea(nyharbor_rows(csv, hours, shift_s), source)


def rows_nmea(t: dict[str, np.ndarray], source: str) -> bytes:
    """Rows (mmsi, ts, lat, lon) as type-1 NMEA lines (:func:`nyharbor_nmea`)."""
    from supplyline.simulate.nmea import encode_positions

    n = len(t["mmsi"])
    nan = np.full(n, np.nan)
    lines = encode_positions(
        t["mmsi"], t["ts"], t["lat"], t["lon"], nan, nan, nan, np.full(n, 15), np.ones(n, dtype=np.int64),
        source=source,
    )  # fmt: skip
    return bytes(lines.ravel().tobytes())


def week_slices(csv: Path, copies: int, parts: int, source: str = "nyharbor") -> Iterator[tuple[str, bytes]]:
    """(name, NMEA) per slice: the NY Harbor week ``copies`` times, each a week later, each cut into
    ``parts`` equal row slices (made one at a time: all of a year's would hold ~600 MB of text)."""
    rows = nyharbor_rows(csv, 24 * 7)
    edges = np.linspace(0, len(rows["mmsi"]), parts + 1).astype(int).tolist()
    for k in range(copies):
        for p, (a, b) in enumerate(itertools.pairwise(edges)):
            part = {c: v[a:b] for c, v in rows.items()}
            yield f"w{k}p{p}", rows_nmea(part | {"ts": part["ts"] + k * 7 * 86_400}, source)


def proc_status_mb(key: str) -> int:
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``) in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(key)


def aisstream_json(rows: dict[str, np.ndarray]) -> list[str]:
    """Positions as AISStream ``PositionReport`` messages (SOG/COG/heading "not available", as in the CSV)."""
    out = []
    for mmsi, ts, lat, lon in zip(*(rows[k].tolist() for k in ("mmsi", "ts", "lat", "lon")), strict=True):
        when = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.000000 +0000 UTC")
        report = {"UserID": mmsi, "Latitude": lat, "Longitude": lon, "Sog": 102.3, "Cog": 360,
                  "TrueHeading": 511, "NavigationalStatus": 15, "MessageID": 1}  # fmt: skip
        out.append(json.dumps({"MessageType": "PositionReport", "MetaData": {"MMSI": mmsi, "time_utc": when},
                               "Message": {"PositionReport": report}}))  # fmt: skip
    return out


def start_watch(store: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "supplyline", "watch", "--store", str(store), *args]
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=fh, env=env)


def status(store: Path) -> dict[str, Any] | None:
    path = store / "_watch" / "status.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def wait_for(
    pred: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"watch exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def source_lines(store: Path, source: str) -> int:
    st = status(store)
    return int(st["sources"][source]["lines"]) if st and source in st.get("sources", {}) else -1


def stop_watch(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)


def positions(store: Path) -> pa.Table:
    """Every stored position without its input id, in a canonical order (to compare two stores)."""
    con = Store.open(store).connect()
    return con.sql("SELECT * EXCLUDE (input_id) FROM positions ORDER BY ALL").to_arrow_table()


def manifest_totals(store: Path) -> dict[str, int]:
    con = Store.open(store).connect()
    row = con.execute(
        "SELECT sum(read), sum(kept), sum(duplicate), sum(quarantined) FROM manifest"
    ).fetchone()
    assert row is not None
    return dict(zip(("read", "kept", "duplicate", "quarantined"), (int(v or 0) for v in row), strict=True))


def event_table(store: Path, name: str) -> pa.Table:
    con = Store.open(store).connect()
    return con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_table()


def assert_same_events(name: str, got: pa.Table, want: pa.Table) -> None:
    """Two event tables in the same order hold the same rows. ``segments.dist_km`` to 1e-9 relative: a
    segment spanning a time-incremental cut sums its distance in two parts (docs/detect.md)."""
    assert got.num_rows == want.num_rows, f"{name}: {got.num_rows} rows vs {want.num_rows}"
    if name == "segments":
        g, w = got.column("dist_km").to_numpy(), want.column("dist_km").to_numpy()
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9, err_msg=f"{name}.dist_km")
        got, want = got.drop_columns(["dist_km"]), want.drop_columns(["dist_km"])
    if not got.equals(want):
        diff = [(a, b) for a, b in zip(got.to_pylist(), want.to_pylist(), strict=True) if a != b][:1]
        raise AssertionError(f"{name} differs, e.g. (got, want) = {diff}")


def store_with_alerts(root: Path, n: int) -> Store:
    """A store whose ``alerts`` table holds ``n`` made-up halt alerts ``alert00``, ``alert01``, ..."""
    store = Store.create(root)
    t0 = dt.datetime(2020, 12, 1, tzinfo=dt.UTC)
    rows = [
        {"alert_id": f"alert{i:02d}", "kind": "halt", "ts": t0 + dt.timedelta(hours=i), "mmsi": 367000150,
         "route": "whitehall-stgeorge", "place_id": None, "probability": 0.001, "message": f"no crossing {i}",
         "details": json.dumps({"i": i})}
        for i in range(n)
    ]  # fmt: skip
    store.write_table("alerts", pa.Table.from_pylist(rows, schema=schema.ALERTS), part="run-1")
    return store


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, made here (never committed)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1)).add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class Receiver(BaseHTTPRequestHandler):
    """Answers 500 until ``server.fail_until`` (monotonic seconds), then 200; records every request."""

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        ok = time.monotonic() >= self.server.fail_until  # type: ignore[attr-defined]
        self.server.seen.append((dict(self.headers), data, ok))  # type: ignore[attr-defined]
        self.send_response(200 if ok else 500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def http_receiver(
    outage_s: float, handler: type[BaseHTTPRequestHandler] = Receiver
) -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server on 127.0.0.1 (``handler``; by default answering 500 for ``outage_s`` seconds from
    now, then 200), serving in a thread until the block ends; ``server.seen`` holds (headers, body, ok)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen, server.fail_until = [], time.monotonic() + outage_s  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
