"""The case file: the bundled dprk-russia case loads with sourced values, and broken case folders report
every problem with the exact file and line."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from supplyline import schema
from supplyline.case import bundled_case_path, load_case, resolve_case, validate_case
from supplyline.detect.thresholds import Route, Thresholds
from supplyline.errors import CaseError

REPO = Path(__file__).resolve().parents[1]

MINI = """\
[case]
name = "mini"

[[places]]
id = "a"
name = "A port"
lat = 10.0
lon = 20.0
r_in_m = 1000
source = "test"

[[places]]
id = "b"
name = "B port"
lat = 11.0
lon = 21.0
r_in_m = 1000
source = "test"

[[routes]]
name = "a-b"
origins = ["a"]
destinations = ["b"]
"""


def _case(tmp_path: Path, toml: str, claims: str | None = None, observations: str | None = None) -> Path:
    root = tmp_path / "case"
    root.mkdir()
    (root / "case.toml").write_text(toml)
    if claims is not None:
        (root / "claims.csv").write_text(claims)
    if observations is not None:
        (root / "observations.csv").write_text(observations)
    return root


def _where(problems: list[tuple[str, int | None, str]]) -> list[tuple[str, int | None]]:
    return [(Path(f).name, line) for f, line, _ in problems]


# --- the bundled case -----------------------------------------------------------------------------------


def test_bundled_case_loads_with_places_routes_and_thresholds() -> None:
    case = load_case(bundled_case_path("dprk-russia"))
    assert case.name == "dprk-russia"
    assert case.places.schema.equals(schema.PLACES)
    ids = case.places.column("place_id").to_pylist()
    assert len(ids) == 14
    for short in (
        "rajin",
        "dunai",
        "vostochny",
        "vladivostok",
        "nakhodka",
        "tumangang",
        "khasan",
        "tikhoretsk",
    ):
        assert f"case:{short}" in ids
    assert all(case.places.column("watched").to_pylist())
    rows = case.places.to_pylist()
    assert all(r["source"] and r["r_out_m"] >= r["r_in_m"] > 0 for r in rows)
    rajin = next(r for r in rows if r["place_id"] == "case:rajin")
    assert (rajin["lat"], rajin["lon"], rajin["r_in_m"], rajin["r_out_m"]) == (42.25, 130.30, 3000.0, 4500.0)
    assert rajin["aliases"] == "Najin|Rason|Rajin port|Najin port"
    assert case.routes == [
        Route("rajin-dunai", ("case:rajin",), ("case:dunai",)),
        Route("rajin-vostochny", ("case:rajin",), ("case:vostochny",)),
        Route("dunai-rajin", ("case:dunai",), ("case:rajin",)),
        Route("vostochny-rajin", ("case:vostochny",), ("case:rajin",)),
    ]
    assert isinstance(case.thresholds, Thresholds)
    assert case.thresholds.visit_gap_h == 4.0 and case.thresholds.encounter_port_km == 10.0
    assert case.place_id("rajin") == "case:rajin"
    with pytest.raises(CaseError):
        case.place_id("atlantis")


def test_bundled_watchlist_imos_are_in_the_referenced_ofac_extract() -> None:
    """The watched vessels' IMO numbers come from the OFAC list the case references (real data)."""
    case = load_case(bundled_case_path())
    vessels = {v.name: v for v in case.watchlist.vessels}
    assert {n: v.imo for n, v in vessels.items()} == {
        "ANGARA": 9179842,
        "MARIA": 8517839,
        "MAIA-1": 9358010,
        "LADY R": 9161003,
    }
    assert all(v.mmsi is None and v.source for v in vessels.values())  # no MMSI is published
    (ofac,) = case.watchlist.sanctions
    assert ofac.path is not None and ofac.as_of is not None and ofac.as_of.isoformat() == "2024-05-03"
    with ofac.path.open(newline="") as fh:
        rows = {r["name"]: r["imo"] for r in csv.DictReader(fh)}
    for name, v in vessels.items():
        assert rows[name] == str(v.imo)
    assert case.watchlist.table().num_rows == 4


def test_bundled_priors_and_evidence() -> None:
    case = load_case(bundled_case_path())
    p = case.priors["shells_per_container_152mm"]
    assert (p.low, p.mode, p.high, p.distribution) == (250.0, 448.0, 480.0, "triangular")
    assert all(pr.source and pr.low <= pr.high for pr in case.priors.values())
    assert case.priors["containers_per_voyage"].distribution == "triangular"
    assert case.claims.schema.equals(schema.CLAIMS) and case.claims.num_rows == 46
    assert case.observations.schema.equals(schema.OBSERVATIONS) and case.observations.num_rows == 25
    claims = {r["claim_id"]: r for r in case.claims.to_pylist()}
    shin = claims["shin-2024-02-26-containers"]
    assert (shin["quantity"], shin["unit"], shin["qualifier"]) == (6700.0, "containers", "about")
    assert shin["period_start"].isoformat() == "2023-09-01"
    state = claims["state-2024-02-23-containers"]
    assert (state["quantity_low"], state["quantity_high"]) == (10000.0, None)  # "more than": a lower bound
    assert all(r["url"] and r["claimant"] for r in claims.values())
    place_ids = set(case.places.column("place_id").to_pylist())
    assert set(case.observations.column("place_id").to_pylist()) <= place_ids
    tumangang = [r for r in case.observations.to_pylist() if r["obs_id"] == "tumangang-2023-10-05"]
    assert tumangang[0]["quantity"] == 73.0 and tumangang[0]["unit"] == "railcars"


def test_top_level_cases_folder_is_the_packaged_copy() -> None:
    link = REPO / "cases" / "dprk-russia"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "src" / "supplyline" / "cases" / "dprk-russia").resolve()
    assert resolve_case("dprk-russia") == bundled_case_path()
    assert validate_case(link) == []


# --- broken case folders: exact file and line ---------------------------------------------------------------


def test_mini_case_is_valid_and_defaults_r_out(tmp_path: Path) -> None:
    case = load_case(_case(tmp_path, MINI))
    assert case.places.column("r_out_m").to_pylist() == [1500.0, 1500.0]
    assert case.thresholds == Thresholds()


def _line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle`` (so expectations survive edits to MINI)."""
    (line,) = [i for i, t in enumerate(text.splitlines(), 1) if needle in t]
    return line


@pytest.mark.parametrize(
    ("old", "new", "at", "text"),
    [
        ("lat = 10.0", "lat = 95.0", "lat = 95.0", "lat must be a number in [-90, 90]"),
        ('destinations = ["b"]', 'destinations = ["c"]', '["c"]', "unknown place 'c' in destinations"),
        ("r_in_m = 1000\nsource", "r_in_m = -5\nsource", "r_in_m = -5", "r_in_m must be a positive radius"),
        ('source = "test"\n\n[[routes]]', "\n\n[[routes]]", 12, "place 'b' has no source"),  # its [[places]]
        (
            'name = "A port"',
            'name = "A port"\ncolour = "red"',
            "colour",
            "unknown key 'colour' in [[places]]",
        ),
        ("lon = 21.0", "lon = = 21.0", "= = 21.0", "TOML syntax error"),
    ],
)
def test_broken_case_toml_reports_file_and_line(
    tmp_path: Path, old: str, new: str, at: str | int, text: str
) -> None:
    assert old in MINI
    broken = MINI.replace(old, new, 1)
    root = _case(tmp_path, broken)
    problems = validate_case(root)
    assert len(problems) == 1, problems
    file, got_line, message = problems[0]
    line = at if isinstance(at, int) else _line_of(broken, at)
    assert (Path(file).name, got_line) == ("case.toml", line)
    assert text in message
    with pytest.raises(CaseError) as exc:
        load_case(root)
    assert exc.value.problems == problems and exc.value.exit_code == 5


def test_duplicate_place_id_is_reported_at_the_second_place(tmp_path: Path) -> None:
    broken = MINI.replace('id = "b"', 'id = "a"')
    problems = validate_case(_case(tmp_path, broken))
    assert [(line, m) for _, line, m in problems] == [
        (13, "place id 'a' repeats the place at line 4; ids must be unique"),
        (23, "route 'a-b': unknown place 'b' in destinations; known: a"),
    ]


def test_thresholds_watchlist_and_priors_are_checked(tmp_path: Path) -> None:
    extra = """
[thresholds]
visit_gap_hours = 4
dark_gap_h = 6

[[watchlist.vessels]]
name = "BAD IMO"
imo = 9179843
source = "test"

[priors.kg_per_shell]
low = 60
high = 20
unit = "kg/shell"
source = "test"

[priors.no_source]
low = 1
high = 2
unit = "x"
"""
    text = MINI + extra
    problems = sorted(validate_case(_case(tmp_path, text)), key=lambda p: p[1] or 0)
    assert _where(problems) == [
        ("case.toml", _line_of(text, "visit_gap_hours")),
        ("case.toml", _line_of(text, "imo = 9179843")),
        ("case.toml", _line_of(text, "high = 20")),
        ("case.toml", _line_of(text, "[priors.no_source]")),
    ]
    assert "unknown threshold 'visit_gap_hours'" in problems[0][2]
    assert "check digit" in problems[1][2]
    assert "0 <= low <= high" in problems[2][2]
    assert "no_source has no source" in problems[3][2]


def test_threshold_value_problem_points_at_its_key(tmp_path: Path) -> None:
    text = MINI + "\n[thresholds]\nstop_speed_kn = 0.2\nmove_speed_kn = -1\n"
    problems = validate_case(_case(tmp_path, text))
    assert _where(problems) == [("case.toml", _line_of(text, "move_speed_kn"))]
    assert "move_speed_kn" in problems[0][2]


def test_broken_ledger_files_report_rows_by_line(tmp_path: Path) -> None:
    header = ",".join(schema.CLAIMS.names)
    claims = "\n".join(
        [
            header,
            "c1,ROK MND,Outlet,2024-02-26,2023-09-01,2024-02-26,6700,,,containers,about,s,q,https://x",
            "c2,ROK MND,Outlet,26/02/2024,,,6700,,,containers,about,s,q,https://x",
            "c3,ROK MND,Outlet,2024-02-26,,,6700,,,barrels,about,s,q,https://x",
            "c4,,Outlet,2024-02-26,2024-03-01,2024-01-01,,,,shells,,s,q,",
            "c1,ROK MND,Outlet,2024-02-26,,,1,,,trips,,s,q,https://x",
        ]
    )
    obs = "obs_id,date,place_id,kind,quantity,unit,description,source,url\no1,2023-10-05,atlantis,rail,73,railcars,d,CSIS,https://x\n"
    root = _case(tmp_path, MINI, claims=claims, observations=obs)
    problems = validate_case(root)
    got = [(Path(f).name, line, m.split(";")[0]) for f, line, m in problems]
    assert got == [
        ("claims.csv", 3, "published '26/02/2024' is not a date"),
        ("claims.csv", 4, "unit 'barrels' is unknown"),
        ("claims.csv", 5, "claimant is empty"),
        ("claims.csv", 5, "url is empty"),
        ("claims.csv", 5, "no quantity"),
        ("claims.csv", 5, "period_start 2024-03-01 is after period_end 2024-01-01"),
        ("claims.csv", 6, "claim_id c1 repeats line 2"),
        ("observations.csv", 2, "place_id 'atlantis' is not a case place"),
    ]


# --- the CLI --------------------------------------------------------------------------------------------


def test_cli_case_validate_exit_codes_and_json(
    tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]
) -> None:
    root = _case(tmp_path, MINI.replace("lat = 10.0", "lat = 95.0"))
    # once through the real console entry point ...
    res = subprocess.run(
        [sys.executable, "-m", "supplyline", "case", "validate", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 5
    doc = json.loads(res.stdout)
    assert doc["ok"] is False
    assert [(Path(p["file"]).name, p["line"]) for p in doc["problems"]] == [("case.toml", 7)]

    # ... then in-process through the same main()
    run = run_main

    code, _, err = run("case", "validate", str(root))
    assert code == 5 and "case.toml:7: place 'a': lat must be" in err and "Traceback" not in err
    assert run("case", "validate", "dprk-russia")[0] == 0
    code, out, _ = run("case", "show", "dprk-russia", "--json")
    assert code == 0 and json.loads(out)["claims"] == 46
    code, _, err = run("case", "show", str(tmp_path / "nowhere"))
    assert code == 5 and "no case folder" in err


def test_copy_of_bundled_case_can_be_edited_and_revalidated(tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(bundled_case_path(), root)
    text = (root / "case.toml").read_text()
    (root / "case.toml").write_text(text.replace('destinations = ["dunai"]', 'destinations = ["dunay"]'))
    problems = validate_case(root)
    assert len(problems) == 1
    line = next(i for i, t in enumerate((root / "case.toml").read_text().splitlines(), 1) if '["dunay"]' in t)
    assert problems[0][1] == line and "unknown place 'dunay'" in problems[0][2]


def test_validate_folder_includes_the_scenario(tmp_path: Path) -> None:
    from supplyline.simulate.scenario import validate_case_folder

    root = tmp_path / "copy"
    shutil.copytree(bundled_case_path(), root)
    assert validate_case_folder(root) == []
    scenario = root / "scenario.toml"
    scenario.write_text(scenario.read_text() + "\n[wormhole]\nx = 1\n")
    problems = validate_case_folder(root)
    assert problems and all(Path(f).name == "scenario.toml" for f, _, _ in problems)
    assert validate_case(root) == []  # load_case/validate_case check case.toml and the ledgers only


@pytest.mark.parametrize(
    ("toml", "line", "text"),
    [
        ('places = ["x"]\n[case]\nname = "m"\n', 1, "each places entry must be a table"),
        ('routes = 5\n[case]\nname = "m"\n', 1, "routes must be an array of tables"),
        (
            '[case]\nname = "m"\n[watchlist]\nvessels = ["x"]\n',
            4,
            "each watchlist.vessels entry must be a table",
        ),
        ('watchlist = "x"\n[case]\nname = "m"\n', 1, "watchlist must be a table"),
        ('priors = "x"\n[case]\nname = "m"\n', 1, "priors must be tables"),
        ('thresholds = [1]\n[case]\nname = "m"\n', 1, "thresholds must be a table"),
        ('[case]\nname = "m"\nperiod_start = "2023"\n', 3, "period_start must be a TOML date"),
        (
            '[case]\nname = "m"\nperiod_start = 2024-01-01\nperiod_end = 2023-01-01\n',
            4,
            "before period_start",
        ),
        ('[case]\nname = "m"\nclaims = "nope.csv"\n', 3, "claims file nope.csv not found"),
        ("", 1, "[case] name missing"),
    ],
)
def test_malformed_shapes_are_problems_not_tracebacks(
    tmp_path: Path, toml: str, line: int, text: str
) -> None:
    problems = validate_case(_case(tmp_path, toml))
    assert [(got, text in m) for _, got, m in problems] == [(line, True)], problems
