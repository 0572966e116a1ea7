"""A real Spark standalone cluster for the tests: one master and two workers, separate JVM processes.

Started from the installed pyspark distribution with ``bin/spark-class`` (the same classes ``sbin/start-*``
scripts launch), everything bound to 127.0.0.1 (``SPARK_LOCAL_IP``, ``--host``, web UIs on loopback). Each
daemon runs in its own process group, so stopping the group also ends the executor JVMs and Python workers a
worker started for an application: no orphan JVMs (tests/test_spark_cluster.py checks it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from supplyline.engine.lifeline import arm_parent_death_signal

WORKERS = 2
START_TIMEOUT_S = 90.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the usual bind-and-release; a collision only fails the start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


@dataclass
class SparkCluster:
    """A master and ``workers`` workers (1 core, 1 GB each) under ``work``; logs in ``work/*.log``."""

    work: Path
    workers: int = WORKERS
    port: int = field(default_factory=free_port)
    webui_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        home = spark_home()
        return {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.work),
            "SPARK_WORKER_DIR": str(self.work / "worker"),
            "SPARK_NO_DAEMONIZE": "1",
        }

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.work / f"{name}.log").open("wb")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        # the JVMs die with the test process even when it is killed (no teardown): no orphan master/worker
        proc = subprocess.Popen(
            cmd,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=arm_parent_death_signal,
        )
        log.close()
        self.procs.append(proc)

    def start(self) -> SparkCluster:
        self.work.mkdir(parents=True, exist_ok=True)
        master = "org.apache.spark.deploy.master.Master"
        self._spawn("master", master, "--host", "127.0.0.1", "--port", str(self.port),
                    "--webui-port", str(self.webui_port))  # fmt: skip
        for i in range(self.workers):
            self._spawn(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                        "--work-dir", str(self.work / f"worker{i}"), self.url)  # fmt: skip
        try:
            self.wait_registered()
        except BaseException:
            self.stop()
            raise
        return self

    def state(self) -> dict[str, object]:
        """The master's JSON status page (workers, applications)."""
        url = f"http://127.0.0.1:{self.webui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return dict(json.load(resp))

    def alive_workers(self) -> int:
        workers = self.state().get("workers", [])
        return sum(1 for w in workers if isinstance(w, dict) and w.get("state") == "ALIVE")  # type: ignore[union-attr]

    def wait_registered(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            dead = [p.args for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a Spark daemon exited at start: {dead}; see {self.work}/*.log")
            try:
                if self.alive_workers() == self.workers:
                    return
            except OSError:
                pass  # the master's web UI is not up yet
            time.sleep(0.5)
        raise RuntimeError(f"{self.workers} workers did not register in {START_TIMEOUT_S} s; see {self.work}")

    def stop(self) -> None:
        """SIGTERM every daemon's process group (workers first), then SIGKILL what is left after 20 s."""
        for proc in reversed(self.procs):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def groups_alive(self) -> list[int]:
        """Process groups of this cluster that still have a live process (empty after :meth:`stop`)."""
        alive = []
        for proc in self.procs:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            alive.append(proc.pid)
        return alive


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
