"""A real `supplyline serve` process on a free loopback port, for the API, security and browser tests."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str
    proc: subprocess.Popen[str]

    def client(self, **kw: object) -> httpx.Client:
        """An httpx client that sends the token (loopback only, short timeout)."""
        headers = {"authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kw)  # type: ignore[arg-type]


@contextmanager
def serve(store: Path, *args: str, token: str = TOKEN, timeout_s: float = 60.0) -> Iterator[Server]:
    """Run `supplyline serve --store STORE` until the block exits; wait (bounded) until it answers."""
    port = free_port()
    env = {**os.environ, "SUPPLYLINE_TOKEN": token}
    cmd = [sys.executable, "-m", "supplyline", "serve", "--store", str(store), "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"serve exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}"
                )
            try:
                r = httpx.get(
                    f"{url}/api/openapi.json", headers={"authorization": f"Bearer {token}"}, timeout=2
                )
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not answer within {timeout_s} s")
            time.sleep(0.2)
        yield Server(url=url, token=token, proc=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (the store must be byte-identical after the server ran)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
