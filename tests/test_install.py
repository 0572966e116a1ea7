"""Install anywhere: a wheel built from this tree installs in a fresh venv and runs; without a C compiler
the install still succeeds and NMEA ingest uses the pure-Python scanner. Slow (builds and installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import supplyline

ROOT = Path(__file__).resolve().parents[1]
LINE = r"\s:rMT,c:1696118400*53\!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"


def _venv(path: Path) -> Path:
    """A fresh venv that sees this interpreter's dependencies (but not its supplyline).

    ``system_site_packages`` reaches the base interpreter only; when the tests themselves run in a venv
    (tools/test-matrix), its site-packages are added by a plain path line in a ``.pth`` file, which puts
    the folder on ``sys.path`` after the new venv's own without running the editable-install hooks there.
    """
    venv.create(path, system_site_packages=True, with_pip=True)
    if sys.prefix != sys.base_prefix:
        outer = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
        inner = _run(
            [path / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        )
        (Path(inner.stdout.strip()) / "_outer_env.pth").write_text("\n".join(outer) + "\n")
    return path / "bin"


def _run(args: list[str | Path], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


def _pip_flags() -> list[str]:
    return ["-q", "--no-deps", "--no-build-isolation", "--no-index"]


def _clean_copy(dest: Path) -> Path:
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info")
    shutil.copytree(ROOT / "src", dest / "src", ignore=ignore)
    return dest


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            *_pip_flags(),
            "-w",
            tmp_path / "dist",
            _clean_copy(tmp_path / "src"),
        ]
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("supplyline-*.whl")
    assert "-abi3-" in wheel.name  # one wheel per platform for every CPython >= 3.11
    bin_ = _venv(tmp_path / "venv")
    installed = _run([bin_ / "pip", "install", *_pip_flags(), "--force-reinstall", wheel])
    assert installed.returncode == 0, installed.stderr
    version = _run([bin_ / "supplyline", "--version"], cwd=tmp_path)
    assert version.stdout.strip() == f"supplyline {supplyline.__version__}"
    typed = _run([bin_ / "python", "-c", "import importlib.resources as r; print(r.files('supplyline').joinpath('py.typed').is_file())"], cwd=tmp_path)  # fmt: skip
    assert typed.stdout.strip() == "True"


@pytest.mark.slow
def test_install_without_a_compiler_falls_back_to_python(tmp_path: Path) -> None:
    env = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false"}  # every compiler call fails
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            *_pip_flags(),
            "-w",
            tmp_path / "dist",
            _clean_copy(tmp_path / "src"),
        ],
        env=env,  # a clean copy: no build/ folder holding an already compiled extension
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("supplyline-*.whl")
    bin_ = _venv(tmp_path / "venv")
    installed = _run([bin_ / "pip", "install", *_pip_flags(), "--force-reinstall", wheel])
    assert installed.returncode == 0, installed.stderr
    listed = _run([bin_ / "python", "-c", "import supplyline.ingest as i, pathlib; print(sorted(p.name for p in pathlib.Path(i.__file__).parent.glob('_scan*')))"], cwd=tmp_path)  # fmt: skip
    assert ".so" not in listed.stdout and "_scan_py.py" in listed.stdout, (wheel.name, built.stderr[-2000:])
    (tmp_path / "one.nmea").write_text(LINE + "\n")
    ingest = _run([bin_ / "supplyline", "ingest", "one.nmea", "--store", "s", "--json"], cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert '"kept": 1' in ingest.stdout
    assert "pure-Python" in ingest.stderr  # the one-line notice of the speed cost
