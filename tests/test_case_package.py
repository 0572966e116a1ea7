"""The case package: no import of the simulator, and the shared TOML problem collector (its public names are
locked with every other package's in tests/test_exported_members.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from supplyline.case import TomlProblems


def test_no_module_named_config_at_the_top_and_case_does_not_import_the_simulator() -> None:
    assert importlib.util.find_spec("supplyline.config") is None
    code = "import sys, supplyline.case; print(any(m.startswith('supplyline.simulate') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


TEXT = """\
[case]
name = "x"

[[places]]
id = "a"

[[places]]
id = "b"
lat=1

[priors."kg"]
low = 1
"""


def test_lines_found_by_table_and_key() -> None:
    pr = TomlProblems(Path("case.toml"), TEXT)
    assert pr.table("case") == 1
    assert pr.table("places", 1) == 7
    assert pr.key("places", "lat", 1) == 9  # "lat=1" without spaces
    assert pr.key("places", "lat", 0) == 4  # absent: the table's header line
    assert pr.key("priors.kg", "low") == 12  # quoted header name
    assert pr.table("routes") is None and pr.key("routes", "name") is None


def test_lines_found_by_searching_text() -> None:
    pr = TomlProblems(Path("scenario.toml"), TEXT)
    assert pr.nth("[[places]]", 1) == 7
    assert pr.line_of("id =", after=7) == 8
    pr.add_near("bad lat", "lat =", after=7)
    pr.add_near("not found: the table's line", "nowhere =", after=7)
    pr.add_near("no line at all", None)
    pr.add(3, "exact line")
    pr.extend([("other.csv", 2, "from elsewhere")])
    assert pr.items == [
        ("scenario.toml", 9, "bad lat"),
        ("scenario.toml", 7, "not found: the table's line"),
        ("scenario.toml", None, "no line at all"),
        ("scenario.toml", 3, "exact line"),
        ("other.csv", 2, "from elsewhere"),
    ]
