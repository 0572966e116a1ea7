"""The evidence ledger: CSV/YAML import with validation, stored in a real store with one part per source
file, readable through DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from supplyline import schema
from supplyline.case import bundled_case_path
from supplyline.errors import CaseError, InputError
from supplyline.evidence.ledger import (
    check_claims,
    read_claims,
    read_ledger,
    read_observations,
    source_part,
    store_ledger,
)
from supplyline.store import Store

CASE = bundled_case_path()

YAML_CLAIMS = """\
claims:
  - claimant: ROK Ministry of National Defense
    published: 2024-02-26
    period_start: 2023-09-01
    quantity: 6700
    unit: Containers
    qualifier: around
    url: https://example.org/a
  - claimant: US State Department
    published: 2024-02-23
    quantity: 10000
    unit: containers
    qualifier: more than
    url: https://example.org/b
"""


def test_bundled_ledgers_read_and_normalise() -> None:
    claims = read_claims(CASE / "claims.csv")
    assert claims.schema.equals(schema.CLAIMS) and claims.num_rows == 46
    units = set(claims.column("unit").to_pylist())
    assert units <= {
        "containers", "shells", "shells_152mm", "shells_122mm", "rockets_122mm", "trips", "shipments",
        "visits", "tonnes", "missiles",
    }  # fmt: skip
    rng = [r for r in claims.to_pylist() if r["qualifier"] == "range"]
    assert {(r["quantity_low"], r["quantity_high"]) for r in rng} == {(250000.0, 300000.0), (4.2e6, 5.8e6)}
    obs = read_observations(CASE / "observations.csv")  # no place list: ids are kept as written
    assert obs.num_rows == 25 and obs.column("place_id").null_count == 0


def test_observations_need_known_places() -> None:
    with pytest.raises(CaseError) as exc:
        read_observations(CASE / "observations.csv", {"case:tumangang"})
    # every row naming another place is reported, each with its own line
    lines = [line for _, line, _ in exc.value.problems]
    assert len(lines) == 25 - 3 and len(set(lines)) == len(lines)  # 3 rows are at Tumangang


def test_yaml_claims_with_lines_and_normalised_words(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(YAML_CLAIMS)
    table = read_claims(path)
    rows = table.to_pylist()
    assert [(r["unit"], r["qualifier"], r["quantity_low"]) for r in rows] == [
        ("containers", "about", None),
        ("containers", "at_least", 10000.0),
    ]
    assert all(len(r["claim_id"]) == 16 for r in rows)  # stable ids when none is given
    assert read_claims(path).column("claim_id").equals(table.column("claim_id"))
    path.write_text(YAML_CLAIMS.replace("unit: Containers", "unit: crates"))
    _, problems = check_claims(path)
    assert [(line, m.split(";")[0]) for _, line, m in problems] == [(2, "unit 'crates' is unknown")]
    path.write_text("claims:\n  - claimant: [unclosed\n")
    with pytest.raises(CaseError) as exc:
        read_claims(path)
    assert exc.value.problems[0][1] == 3


def test_import_into_store_replaces_per_source_and_is_queryable(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "store")
    claims = read_claims(CASE / "claims.csv")
    store_ledger(store, "claims", claims, source_part(CASE / "claims.csv"))
    store_ledger(store, "claims", claims, source_part(CASE / "claims.csv"))  # same file again: replaced
    extra = tmp_path / "more.yaml"
    extra.write_text(YAML_CLAIMS)
    store_ledger(store, "claims", read_claims(extra), source_part(extra))
    assert read_ledger(store, "claims").num_rows == 48
    con = store.connect()
    n = con.execute("SELECT count(*) FROM claims WHERE unit = 'containers' AND quantity >= 10000").fetchone()
    assert n is not None and n[0] == 10  # 9 bundled (10k x2, 11k, 13k x2, 15.8k, 20k x2, 28k) + 1 from YAML
    assert read_ledger(Store.create(tmp_path / "empty"), "observations").schema.equals(schema.OBSERVATIONS)


def test_unreadable_input_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(InputError):
        read_claims(bad)
    with pytest.raises(InputError):
        read_claims(tmp_path / "missing.csv")


def test_cli_import_list_and_extract_accept(
    tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]
) -> None:
    """The commands in-process through ``supplyline.cli.main`` (same exit-code path as the console script)."""
    store = str(tmp_path / "st")

    def run(*args: str) -> tuple[int, str, str]:
        return run_main(*args, "--store", store)

    assert run("claims", "import", str(CASE / "claims.csv"))[0] == 0
    code, out, _ = run(
        "observations", "import", str(CASE / "observations.csv"), "--case", str(CASE), "--json"
    )
    assert code == 0 and json.loads(out)["imported"] == 25
    article = Path(__file__).parent / "fixtures" / "articles" / "a03_nis.txt"
    code, out, _ = run("claims", "extract", str(article), "--accept", "--json")
    assert code == 0
    assert [c["quantity"] for c in json.loads(out)] == [1_000_000.0, 10.0]
    assert len(json.loads(run("claims", "list", "--json")[1])) == 48
    bad = tmp_path / "bad.csv"
    bad.write_text("claimant,unit,quantity,url\nX,barrels,3,https://x\n")
    code, _, err = run("claims", "import", str(bad))
    assert code == 5 and "bad.csv:2: unit 'barrels' is unknown" in err
    code, _, err = run("claims", "import", str(tmp_path / "missing.csv"))
    assert code == 4 and "cannot read" in err and "Traceback" not in err


def test_case_evidence_and_cli_import_share_parts(tmp_path: Path) -> None:
    """Importing the case's claims.csv by hand after store_case_evidence replaces rather than duplicates."""
    from supplyline.case import load_case, store_case_evidence

    store = Store.create(tmp_path / "store")
    assert store_case_evidence(store, load_case(CASE)) == (46, 25)
    store_ledger(store, "claims", read_claims(CASE / "claims.csv"), source_part(CASE / "claims.csv"))
    assert read_ledger(store, "claims").num_rows == 46
    assert read_ledger(store, "observations").num_rows == 25


def test_unquoted_comma_is_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "claimant,published,quantity,unit,quote,url\n"
        'NIS,2023-11-01,1000000,shells,"more than 1,000,000 shells",https://x\n'
        "NIS,2023-11-02,1000000,shells,more than 1,000,000 shells,https://x\n"
    )
    _, problems = check_claims(path)
    assert [(line, m.split(";")[0]) for _, line, m in problems] == [
        (3, "2 more value(s) than the header has columns"),
        (3, "url '000' is not an http(s) address"),  # the shifted values put a number in url
    ]
