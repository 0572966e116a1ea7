"""A real S3 API server on loopback for the object-storage tests: moto's server mode in a subprocess bound to
127.0.0.1 on a free port (``pip install 'moto[server]'``, in the dev extra), with the standard AWS
environment variables pointing at it while the fixture lives.

moto >= 5.2.6: 5.2.1 answered CompleteMultipartUpload with the wrong XML root element, which pyarrow's S3
client (multipart for every streamed upload) retries and then reports as INTERNAL_FAILURE (getmoto/moto#10055).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pyarrow import fs as pafs

from tests.spark_cluster import free_port

KEYS = {"AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret-never-logged"}


@dataclass
class S3Server:
    endpoint: str
    bucket: str

    def uri(self, prefix: str) -> str:
        """``s3://<bucket>/<prefix>-<unique>``: a fresh prefix per call, so tests never see each other's data."""
        return f"s3://{self.bucket}/{prefix}-{uuid.uuid4().hex[:8]}"

    def filesystem(self) -> pafs.S3FileSystem:
        host = self.endpoint.removeprefix("http://")
        return pafs.S3FileSystem(
            endpoint_override=host,
            scheme="http",
            region="us-east-1",
            access_key=KEYS["AWS_ACCESS_KEY_ID"],
            secret_key=KEYS["AWS_SECRET_ACCESS_KEY"],
        )


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server not listening on 127.0.0.1:{port} after {timeout:.0f} s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 and one bucket; AWS_* variables point at it for the session."""
    if importlib.util.find_spec("moto") is None:
        pytest.skip("moto not installed (pip install 'moto[server]>=5.2.6', in the dev extra)")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc)
        server = S3Server(f"http://127.0.0.1:{port}", "supplyline-test")
        with pytest.MonkeyPatch.context() as env:
            for name, value in KEYS.items():
                env.setenv(name, value)
            env.setenv("AWS_ENDPOINT_URL", server.endpoint)
            env.setenv("AWS_REGION", "us-east-1")
            env.delenv("AWS_ENDPOINT_URL_S3", raising=False)
            pafs.S3FileSystem(
                endpoint_override=f"127.0.0.1:{port}",
                scheme="http",
                region="us-east-1",
                allow_bucket_creation=True,
            ).create_dir(server.bucket)
            yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
