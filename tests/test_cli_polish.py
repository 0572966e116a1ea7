"""The small promises of the CLI, checked over every command so a new one cannot forget them: an example in
every ``--help``, ``--version``, a bundled case name wherever ``--case`` is taken, numbers formatted for
people in tables, and demos that do not overwrite each other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import supplyline
from supplyline.cli import app
from supplyline.demo import default_demo_folder
from supplyline.numfmt import human_number
from supplyline.store import Store

CASES_DIR = Path(supplyline.__file__).parent / "cases"

# Every command with a --case option and the other arguments it needs to get as far as loading the case.
# A new --case command fails test_case_commands_are_all_listed until it is added here (and so tested).
CASE_COMMANDS: dict[tuple[str, ...], list[str]] = {
    ("detect",): [],
    ("estimate",): [],
    ("monitor",): [],
    ("serve",): [],
    ("watch",): ["--source", "udp://127.0.0.1:9"],
    ("observations", "import"): [str(CASES_DIR / "dprk-russia" / "observations.csv")],
}


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, click command) for the root, every group and every command."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supplyline", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd or Path.cwd())},
    )


def test_every_help_has_an_example() -> None:
    runner = CliRunner()
    missing = []
    for path, _ in _commands():
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0, (path, res.output)
        if "Example" not in res.output:
            missing.append(" ".join(path) or "(root)")
    assert missing == []
    assert len(list(_commands())) >= 25  # the walk really reached the subcommands


def test_version() -> None:
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"supplyline {supplyline.__version__}"


def test_case_commands_are_all_listed() -> None:
    found = {path for path, cmd in _commands() if any("--case" in p.opts for p in getattr(cmd, "params", []))}
    assert found == set(CASE_COMMANDS)


@pytest.mark.parametrize("path", list(CASE_COMMANDS), ids=lambda p: " ".join(p))
def test_case_option_takes_a_bundled_name(path: tuple[str, ...], tmp_path: Path) -> None:
    # an unknown name is looked up among the bundled cases, and said so, before anything else happens
    store = Store.create(tmp_path / "store").root
    args = [*path, *CASE_COMMANDS[path], "--store", str(store)]
    bad = _cli(*args, "--case", "no-such-case", cwd=tmp_path)
    assert bad.returncode == 5, bad.stderr
    assert "no bundled case 'no-such-case'; available: dprk-russia, nyharbor" in bad.stderr


@pytest.mark.parametrize("path", [("detect",), ("estimate",), ("monitor",), ("observations", "import")])
def test_bundled_name_loads_the_case(path: tuple[str, ...], tmp_path: Path) -> None:
    # the known name gets past case loading: success, or a complaint about the (empty) store, never the case
    store = Store.create(tmp_path / "store").root
    res = _cli(*path, *CASE_COMMANDS[path], "--store", str(store), "--case", "dprk-russia", cwd=tmp_path)
    assert res.returncode in (0, 3), res.stderr
    assert "case" not in res.stderr.lower(), res.stderr


def test_serve_and_watch_load_a_bundled_name(tmp_path: Path) -> None:
    # the two long-running commands, without starting them: the functions they call with --case
    pytest.importorskip("starlette")
    from supplyline.serve.run import build
    from supplyline.watch.schedule import Analysis

    store = Store.create(tmp_path / "store").root
    _, access = build(store, "dprk-russia", "127.0.0.1", 0)
    assert access is not None
    routes = {r.name for r in Analysis.load(Path("dprk-russia")).routes}
    assert {"rajin-dunai", "rajin-vostochny"} <= routes


def test_numbers_for_people() -> None:
    assert [human_number(v) for v in (4365.738720449737, 529.23, 40.84, 9.2717, 34.0, 0.0, 1_234_567)] == [
        "4,366",
        "529",
        "40.8",
        "9.27",
        "34",
        "0",
        "1,234,567",
    ]
    assert human_number(float("inf")) == "\u221e" and human_number(None) == ""


def test_cli_tables_format_numbers_but_not_ids(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "store").root
    sql = (
        "SELECT 4365.738720449737 AS p05, 529.2311 AS containers, 273990003::BIGINT AS mmsi, "
        "1234567 AS n, TIMESTAMPTZ '2024-02-01 10:00:00+00' AS ts, 130.2892 AS lon"
    )
    res = _cli("sql", sql, "--store", str(store), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "4,366" in out and "529" in out and "1,234,567" in out and "2024-02-01T10:00:00Z" in out
    assert "273990003" in out and "273,990,003" not in out
    assert "130.2892" in out  # coordinates keep 1e-4 degree (~11 m), not three significant figures
    assert "4365.7" not in out and "529.23" not in out
    json_out = _cli("sql", sql, "--store", str(store), "--json", cwd=tmp_path).stdout
    assert "4365.738720449737" in json_out  # --json keeps the exact value


def test_demo_folders_do_not_collide() -> None:
    assert default_demo_folder("dprk-russia") == Path("supplyline-demo")
    assert default_demo_folder("nyharbor") == Path("supplyline-demo-nyharbor")
    runner = CliRunner()
    help_text = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    assert "supplyline-demo-nyharbor" in help_text
