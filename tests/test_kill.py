"""Killing a run: `detect`'s worker processes die with it (SIGKILL, SIGTERM, SIGINT), and `estimate`'s two
tables change together or not at all, wherever the kill lands (a real SIGKILL of a real process; the only
artifice is choosing the moment, by wrapping the store's write calls in the child)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from supplyline.estimate.run import run_estimate
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from tests.browser import fixture_store as fx
from tests.conftest import data_file

NY_WEEK = "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"
GRACE_S = 5.0


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    out: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(d.name))
    return out


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        kids = tree.get(todo.pop(), [])
        found.update(kids)
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


@pytest.fixture(scope="module")
def ny_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill") / "store"
    ingest(Store.create(root), [data_file(shared_data, NY_WEEK)])
    return root


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGKILL, False), (signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
    ids=["SIGKILL", "SIGTERM", "SIGINT", "ctrl-c-to-group"],
)
def test_no_detect_process_survives_its_parent(ny_store: Path, sig: signal.Signals, group: bool) -> None:
    """``group``: the signal goes to the whole process group, as Ctrl-C in a terminal does."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "supplyline", "detect", "--store", str(ny_store), "--workers", "2", "--full"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=group,
    )
    run: set[int] = set()
    deadline = time.monotonic() + 120
    # wait for the fork server and both workers (plus the resource tracker): four processes under the run
    while len(run) < 4 and time.monotonic() < deadline and proc.poll() is None:
        run |= _descendants(proc.pid)
        time.sleep(0.05)
    assert len(run) >= 4, f"the pool never started: {run}"
    time.sleep(0.5)  # the workers are inside a shard now
    run |= _descendants(proc.pid)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    code = proc.wait(timeout=60)
    killed_at = time.monotonic()
    while any(_alive(p) for p in run) and time.monotonic() - killed_at < GRACE_S:
        time.sleep(0.1)
    survivors = sorted(p for p in run if _alive(p))
    for p in survivors:  # do not leave them behind for the next test
        subprocess.run(["kill", "-9", str(p)], check=False)
    assert not survivors, f"{len(survivors)} processes of the run outlived it by {GRACE_S} s"
    assert code == (-9 if sig == signal.SIGKILL else 130), proc.stderr.read() if proc.stderr else ""
    if sig != signal.SIGKILL:
        err = proc.stderr.read() if proc.stderr else ""
        assert err.strip() == "error: interrupted; nothing half-written was kept"  # no worker tracebacks
    assert Store.open(ny_store).read_table("manifest").num_rows == 1  # the store opens and recovers


# --- estimate ------------------------------------------------------------------------------------------------
KILL_AT = {
    # inside the transaction, after estimates was staged and before claim_tests was
    "staging": """
        orig = S.Transaction.put_part
        def put_part(self, table, part, data):
            if table == "claim_tests":
                os.kill(os.getpid(), signal.SIGKILL)
            return orig(self, table, part, data)
        S.Transaction.put_part = put_part
    """,
    # while the committed journal is applied: after the first file was renamed into place
    "applying": """
        orig = os.replace
        def replace(src, dst):
            orig(src, dst)
            if "/tables/" in str(dst):
                os.kill(os.getpid(), signal.SIGKILL)
        S.os.replace = replace
    """,
}


def _tables(root: Path) -> tuple[pa.Table, pa.Table]:
    st = Store.open(root)  # opening recovers a committed journal
    return st.read_table("estimates"), st.read_table("claim_tests")


@pytest.mark.parametrize("moment", sorted(KILL_AT))
def test_kill_inside_estimate_leaves_both_tables_or_neither(tmp_path: Path, moment: str) -> None:
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    fx.build_fixture_store(killed)
    fx.build_fixture_store(reference)
    before = _tables(killed)
    script = "\n".join(
        [
            "import os, signal, sys",
            "from supplyline import store as S",
            "from supplyline.estimate.run import run_estimate",
            textwrap.dedent(KILL_AT[moment]),
            "run_estimate(S.Store.open(sys.argv[1]), None, n_draws=200)",
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(killed)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -9, proc.stderr
    run_estimate(Store.open(reference), None, n_draws=200)  # the same run, not killed
    after, done = _tables(killed), _tables(reference)
    assert done[0].num_rows != before[0].num_rows  # the run does change the tables
    if moment == "staging":
        assert after[0].equals(before[0]) and after[1].equals(before[1])  # neither
    else:
        assert after[0].equals(done[0]) and after[1].equals(done[1])  # both, once recovered


def test_outside_reader_sees_no_input_without_its_manifest_row(shared_data: Path, tmp_path: Path) -> None:
    """Killed after the first data file of an ingest commit is renamed into place: an outside reader that
    follows docs/architecture.md (raw files only with a manifest row) sees nothing of that input, and the
    next open completes the commit."""
    root = tmp_path / "store"
    Store.create(root)
    script = textwrap.dedent(
        """
        import os, signal, sys
        from supplyline import store as S
        from supplyline.ingest.pipeline import ingest
        orig = os.replace
        def replace(src, dst):
            orig(src, dst)
            if "/positions/" in str(dst):
                os.kill(os.getpid(), signal.SIGKILL)
        S.os.replace = replace
        ingest(S.Store.open(sys.argv[1]), [sys.argv[2]])
        """
    )
    dma = data_file(shared_data, "dma_ais_ferry_laesoe_2022/ferry.csv")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(root), str(dma)], capture_output=True, timeout=120
    )
    assert proc.returncode == -9, proc.stderr
    visible = list((root / "positions").rglob("part-*.parquet"))
    assert visible and not list((root / "manifest").glob("*.parquet"))  # data landed, its manifest row not
    committed = {p.stem for p in (root / "manifest").glob("*.parquet")}
    readable = [p for p in visible if p.stem.split("-")[1] in committed]
    assert readable == []
    st = Store.open(root)  # recovery applies the journal
    assert st.read_table("manifest").num_rows == 1 and st.read_table("positions").num_rows == 734
    assert (root / "_last_commit").read_text().strip()
