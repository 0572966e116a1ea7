"""Claim extraction on press copy: the labelled press-style texts (tests/data/extraction/) and each failure
the issue reported (outlet or "According to their" as claimant, captions glued to quotes, "four container
ships" as containers, missed durations, triple proposals, historical figures as claims, --accept writing
rows that 'claims import' would reject).

Figures for docs/claims-extraction.md: ``python -m tests.extraction_score``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyline.cli import app
from supplyline.errors import CaseError
from supplyline.evidence.extract import extract_candidates, segments
from supplyline.evidence.extract.attribution import find_claimant
from supplyline.evidence.extract.periods import find_period
from supplyline.evidence.ledger import check_claims, read_ledger
from supplyline.store import Store
from tests.extraction_score import DATA, labels, rates, score

runner = CliRunner()


def test_labelled_set_is_large_enough_and_each_text_is_labelled() -> None:
    for set_name, minimum in (("tuning", 10), ("heldout", 5), ("heldout2", 5), ("heldout3", 4)):
        key = labels(set_name)
        assert set(key) == {p.name for p in (DATA / set_name).glob("*.txt")}
        assert len(key) >= minimum
        assert all(
            item["kind"] in ("claim", "context") and item["source"].startswith("http")
            for v in key.values()
            for item in v
        )
    assert len(labels("tuning")) + len(labels("heldout")) >= 15


@pytest.mark.parametrize("set_name", ["tuning", "heldout", "heldout2", "heldout3"])
def test_precision_recall_and_claimant_accuracy(set_name: str) -> None:
    s = score(set_name)
    r = rates(s)
    assert r["precision"] >= 0.9, s["misses"]
    assert r["recall"] >= 0.9, s["misses"]
    assert r["claimant"] >= 0.8, s["misses"]


def _one(text: str, published: dt.date | None = dt.date(2024, 2, 26)) -> list[tuple[object, ...]]:
    return [(c.quantity, c.unit, c.claimant, c.kind) for c in extract_candidates(text, published=published)]


def test_container_ships_are_ships_and_context() -> None:
    got = _one("Four container ships carried the cargo, according to NK Pro.")
    assert got == [(4.0, "ships", "NK Pro", "context")]


def test_according_to_their_resolves_to_the_analysts_named_before() -> None:
    text = (
        "Analysts at the Center for Strategic and International Studies said ships made at least 25 visits. "
        "According to their analysis, dark vessels also made at least 19 visits to Vostochny."
    )
    got = _one(text)
    assert [g[2] for g in got] == ["Analysts at the Center for Strategic and International Studies"] * 2


def test_outlet_relaying_a_source_is_not_the_claimant() -> None:
    assert find_claimant("It sent 5,000 containers, Shin Won-sik told Reuters.") == "Shin Won-sik"
    assert find_claimant(
        "Yonhap reported, citing the Joint Chiefs of Staff, that 20,000 containers went."
    ) == ("the Joint Chiefs of Staff")
    assert find_claimant("North Korea is believed to have sent 20,000 containers, the JCS said.") == "the JCS"
    assert find_claimant(
        "UK defence intelligence has shared images showing three ships, the Guardian reported."
    ) == ("UK defence intelligence")
    assert (
        find_claimant("It made 64 voyages, according to an analysis by the OSC, shared with Reuters.")
        == "the OSC"
    )


def test_outlet_is_the_claimant_when_it_did_the_count() -> None:
    assert find_claimant("VOA estimated that the stack held roughly 300 containers.") == "VOA"
    assert find_claimant("A stack appeared, Voice of America's analysis of satellite imagery found.") == (
        "Voice of America"
    )


def test_captions_headlines_bylines_and_view_counts_do_not_reach_sentences() -> None:
    body = (
        "North Korea shipped 6,700 containers to Russia, minister says\n"
        "By Chris Olsen | February 26, 2024\n"
        "21k views\n\n"
        "A cargo ship at Rajin in a satellite image. Planet Labs PBC/Handout via Reuters\n"
        "North Korea has shipped around 6,700 containers since September, Shin Won-sik said.\n\n"
        "Related:\nKim Jong Un visits munitions factory - 12,000 views\n"
    )
    segs = segments(body)
    assert [s.role for s in segs] == ["headline", "caption", "body"]
    assert segs[2].text.startswith("North Korea has shipped")
    got = extract_candidates(body, published=dt.date(2024, 2, 26))
    assert [(c.quantity, c.unit, c.mentions, c.role) for c in got] == [(6700.0, "containers", 2, "body")]


def test_the_same_claim_in_headline_caption_and_body_is_proposed_once() -> None:
    text = (DATA / "tuning" / "t01_whitehouse_rajin.txt").read_text()
    got = extract_candidates(text)
    assert [(c.quantity, c.unit) for c in got] == [(1000.0, "containers"), (300.0, "containers")]
    assert got[1].claimant == "the White House" and got[1].mentions == 2


def test_historical_and_consumption_figures_are_context() -> None:
    got = _one("Russian forces fired about 10 million shells in 2020, according to RUSI.")
    assert got == [(10_000_000.0, "shells", "RUSI", "context")]
    got = _one("That compares with no more than 20 railcars at Tumangang, CSIS said.")
    assert got[0][3] == "context"
    got = _one("The North sent 300 containers in 2019, the ministry said.")
    assert got[0][3] == "context"  # the period ended years before publication


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Last month Shin put the number at up to 4.8 million shells.", "context"),
        ("In February, Shin had put the number at around 6,700 containers.", "context"),
        ("The minister said last month that about 5,000 containers had been shipped.", "context"),
        ("The depot held more than 2,000 tonnes of ammunition, the General Staff said.", "context"),
        ("Skibitsky said earlier this week that 1.5 million rounds arrived.", "claim"),
        ("It has shipped 13,000 containers since August last year, the NIS said.", "claim"),
        ("The containers held about 5.2 million 152mm shells, Shin said.", "claim"),
        ("The Angara can carry about 300 containers, NK Pro said.", "context"),
        ("About 300 containers used for ammunition were loaded, NK Pro said.", "claim"),
        ("The containers could hold more than 6 million 152mm shells, the DIA said.", "claim"),
    ],
)
def test_recaps_and_depot_stocks_are_context(sentence: str, kind: str) -> None:
    (c,) = extract_candidates(sentence, published=dt.date(2024, 7, 15))
    assert c.kind == kind, c.context_reason
    if c.context_reason and c.context_reason.startswith("an earlier estimate"):
        assert (c.period_start, c.period_end) == (None, None)


def test_key_point_bullets_fold_into_the_body_claim() -> None:
    text = (
        "Key points:\n"
        "• Seoul estimates North Korea has sent about 2 million shells.\n\n"
        "South Korean intelligence estimates that North Korea has delivered about 2 million shells so far.\n"
    )
    got = extract_candidates(text, published=dt.date(2024, 1, 22))
    assert [(c.quantity, c.claimant, c.role, c.mentions) for c in got] == [
        (2_000_000.0, "South Korean intelligence", "body", 2)
    ]


PUB = dt.date(2024, 3, 2)


@pytest.mark.parametrize(
    ("sentence", "start", "end"),
    [
        ("No ship has called for about three weeks.", dt.date(2024, 2, 10), PUB),
        ("It made 9 trips over the past two months.", dt.date(2024, 1, 2), PUB),
        ("It made 9 trips in the five months to February.", dt.date(2023, 10, 1), dt.date(2024, 2, 29)),
        ("It has sent shells since September.", dt.date(2023, 9, 1), PUB),
        ("It has sent shells since August last year.", dt.date(2023, 8, 1), PUB),
        ("From August to January it sent shells.", dt.date(2023, 8, 1), dt.date(2024, 1, 31)),
        ("It sent them between September 7 and October 1.", dt.date(2023, 9, 7), dt.date(2023, 10, 1)),
        ("In August 2023 it sent shells.", dt.date(2023, 8, 1), dt.date(2023, 8, 31)),
        ("It has sent shells since the summit in September.", dt.date(2023, 9, 1), PUB),
        ("It sent shells in August last year.", dt.date(2023, 8, 1), dt.date(2023, 8, 31)),
        ("It has sent shells this year.", dt.date(2024, 1, 1), PUB),
        ("It sent shells last year.", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        ("It sent shells over the past year.", dt.date(2023, 3, 2), PUB),
        ("Tankers made five visits since 7 March.", dt.date(2024, 3, 7), PUB),
        ("It had sent 5,000 containers by the end of 2023.", None, dt.date(2023, 12, 31)),
    ],
)
def test_durations_and_periods_against_publication(
    sentence: str, start: dt.date | None, end: dt.date
) -> None:
    assert find_period(sentence, PUB) == (start, end)


def test_each_figure_takes_the_date_written_after_it() -> None:
    got = extract_candidates(
        "Railcars at the depot fell from about 60 in February to about 50 in April, CSIS said.",
        published=dt.date(2024, 6, 27),
    )
    assert [(c.quantity, c.unit, c.period_start, c.period_end) for c in got] == [
        (60.0, "railcars", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (50.0, "railcars", dt.date(2024, 4, 1), dt.date(2024, 4, 30)),
    ]


def test_quoted_figures_take_the_speaker_after_the_quote_and_the_unit_before_them() -> None:
    text = (DATA / "tuning" / "t04_shin_december.txt").read_text()
    got = [(c.quantity, c.unit, c.claimant) for c in extract_candidates(text)]
    assert (400_000.0, "shells_122mm", "Shin Won-sik") in got
    assert (2_000_000.0, "shells_152mm", "Shin Won-sik") in got


def test_every_field_has_a_confidence() -> None:
    (c,) = extract_candidates(
        "It sent about 6,700 containers since September, Shin Won-sik said.", published=PUB
    )
    assert set(c.confidence) == {"quantity", "unit", "claimant", "period", "kind"}
    assert all(0 <= v <= 1 for v in c.confidence.values())


# --- --accept validates exactly like `claims import` -------------------------------------------------


ARTICLE = (
    "Title: Seoul says 6,700 containers\nOutlet: Test Wire\nPublished: 2024-02-26\nURL: {url}\n\n"
    "North Korea has shipped around 6,700 containers of munitions to Russia since September, "
    "South Korea's defence minister Shin Won-sik said on Monday.\n"
    "Four container ships carried the cargo, according to NK Pro.\n"
)


def test_accept_writes_the_claims_that_import_would_accept(tmp_path: Path) -> None:
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE.format(url="https://example.org/a"))
    store = tmp_path / "store"
    result = runner.invoke(app, ["claims", "extract", str(art), "--accept", "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [(c["quantity"], c["kind"]) for c in printed] == [(6700.0, "claim"), (4.0, "context")]
    stored = read_ledger(Store.open(store), "claims").to_pylist()
    assert [(r["quantity"], r["unit"], r["claimant"]) for r in stored] == [
        (6700.0, "containers", "South Korea's defence minister Shin Won-sik")
    ]
    # the stored rows round-trip through the claims-file validator without a problem
    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(stored[0]))
        writer.writeheader()
        writer.writerows(stored)
    table, problems = check_claims(path)
    assert problems == [] and table.column("claim_id").to_pylist() == [stored[0]["claim_id"]]


def test_accept_rejects_a_javascript_url_with_a_message(tmp_path: Path) -> None:
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE.format(url="javascript:alert(1)"))
    code = "from supplyline.cli import main; main()"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "claims",
            "extract",
            str(art),
            "--accept",
            "--store",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 5, proc.stderr
    assert "url 'javascript:alert(1)' is not an http(s) address" in err and "Traceback" not in proc.stderr
    assert not (tmp_path / "s" / "tables" / "claims").exists()


def test_accept_rejects_a_blank_claimant_and_writes_nothing(tmp_path: Path) -> None:
    art = tmp_path / "a.txt"
    art.write_text(
        "Published: 2024-02-26\nURL: https://example.org/b\n\nNorth Korea sent 6,700 containers.\n"
    )
    result = runner.invoke(app, ["claims", "extract", str(art), "--accept", "--store", str(tmp_path / "s")])
    assert isinstance(result.exception, CaseError)
    assert [(line, m.split(";")[0]) for _, line, m in result.exception.problems] == [(1, "claimant is empty")]
    assert not (tmp_path / "s" / "tables" / "claims").exists()


def test_accept_reports_duplicate_ids_like_import(tmp_path: Path) -> None:
    from supplyline.evidence.ledger import check_claim_records

    row = {
        "claim_id": "x",
        "claimant": "NIS",
        "quantity": 1.0,
        "unit": "shells",
        "url": "https://example.org",
    }
    _, problems = check_claim_records([(1, dict(row)), (2, dict(row))], "cands")
    assert [m.split(";")[0] for _, _, m in problems] == ["claim_id x repeats line 1"]


def test_table_view_marks_context_and_prints_article_text_literally(tmp_path: Path) -> None:
    art = tmp_path / "a.txt"
    art.write_text(
        "Published: 2024-02-26\n\n"
        "Four container ships [bold]carried[/bold] the cargo, according to NK Pro.\n"
        "It sent about 6,700 containers since September, Shin Won-sik said.\n"
    )
    result = runner.invoke(app, ["claims", "extract", str(art)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "[context: a count of ships, not of cargo]" in result.stdout
    assert "[claim]" in result.stdout
    assert "[bold]carried[/bold]" in result.stdout  # data is escaped, not read as markup


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("It shipped 5,000 containers in violation of Resolution 2270.", [(5000.0, "containers")]),
        ("It sent 10,000 containers in 2023-2024.", [(10000.0, "containers")]),
        ("Ships unloaded containers at Pier 2 on Sept. 7.", []),
        ("The 7,300-tonne Angara made the run at 12 knots, 30% faster.", []),
        ("Kim Jong Un visits munitions factory - 12,000 views", []),
    ],
)
def test_identifiers_years_and_measures_are_not_figures(
    sentence: str, expected: list[tuple[float, str]]
) -> None:
    assert [(c.quantity, c.unit) for c in extract_candidates(sentence, published=PUB)] == expected


def test_hard_wrapped_copy_reads_like_the_original() -> None:
    import textwrap

    raw = (DATA / "tuning" / "t06_shin_february.txt").read_text()
    head, body = raw.split("\n\n", 1)
    paragraphs = [p for p in body.splitlines() if p.strip()]
    wrapped = head + "\n\n" + "\n\n".join(textwrap.fill(p, 64) for p in paragraphs) + "\n"

    def key(text: str) -> list[tuple[object, ...]]:
        return [(c.quantity, c.unit, c.claimant, c.period_start, c.kind) for c in extract_candidates(text)]

    assert key(wrapped) == key(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It has sent nearly a million shells, the NIS said.", (1_000_000.0, "shells", "about", "the NIS")),
        ("It sent 13,000+ containers, the NIS said.", (13000.0, "containers", "at_least", "the NIS")),
        ("N. Korea sent 10,000 containers to Russia: US", (10000.0, "containers", None, "US")),
        ("Ships made twenty-five visits, CSIS said.", (25.0, "visits", None, "CSIS")),
    ],
)
def test_written_forms_of_numbers_and_headline_sources(text: str, expected: tuple[object, ...]) -> None:
    (c,) = extract_candidates(text, published=PUB)
    assert (c.quantity, c.unit, c.qualifier, c.claimant) == expected


def test_each_clause_keeps_its_own_source() -> None:
    text = (
        "The NIS put the figure at 1 million shells, while Ukraine's military intelligence said 1.5 million."
    )
    got = [(c.quantity, c.claimant) for c in extract_candidates(text, published=PUB)]
    assert got == [(1_000_000.0, "The NIS"), (1_500_000.0, "Ukraine's military intelligence")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It sent 10\u00a0000 containers, the NIS said.", (10000.0, "containers", "the NIS")),
        (
            "North Korea sent 13,000 containers, the National Intelligence Service (NIS) said.",
            (13000.0, "containers", "the National Intelligence Service"),
        ),
        ("NK Pro analysis of satellite imagery shows at least 32 trips.", (32.0, "trips", "NK Pro")),
        ("Russia received 50 KN-23 missiles, the ministry said.", (50.0, "missiles", "the ministry")),
    ],
)
def test_spaced_thousands_acronym_asides_and_named_analyses(text: str, expected: tuple[object, ...]) -> None:
    (c,) = extract_candidates(text, published=PUB)
    assert (c.quantity, c.unit, c.claimant) == expected


def test_a_briefing_source_beats_the_lawmakers_and_unnamed_sources_stay_unnamed() -> None:
    text = (
        "The NIS said on Monday that 5,000 containers had gone.\n"
        "North Korea has shipped more than 1 million rounds, according to lawmakers briefed by the "
        "country's spy agency.\n"
        "Citing intelligence sources, the broadcaster reported that about 300 containers were loaded.\n"
    )
    got = {
        c.quantity: (c.claimant, c.confidence["claimant"]) for c in extract_candidates(text, published=PUB)
    }
    assert got[1_000_000.0][0] == "the country's spy agency"
    assert got[300.0] == ("intelligence sources", 0.3)  # not the NIS named earlier


def test_a_pronoun_with_nobody_before_it_is_no_claimant() -> None:
    (c,) = extract_candidates("It sent 300 containers, he said.", published=PUB)
    assert (c.claimant, c.confidence["claimant"]) == (None, 0.0)  # --accept then reports a blank claimant


def test_a_partitive_count_takes_the_noun_right_before_it() -> None:
    text = "The package lists 27 vessels, 11 of them Russian-registered, the EU said."
    assert [(c.quantity, c.unit) for c in extract_candidates(text, published=PUB)] == [
        (27.0, "ships"),
        (11.0, "ships"),
    ]
    text = "It moved 74,000 tonnes to 16 sites, 12 of them near depots, C4ADS found."
    assert [(c.quantity, c.unit) for c in extract_candidates(text, published=PUB)] == [(74000.0, "tonnes")]


@pytest.mark.parametrize(
    ("sentence", "kind", "start", "end"),
    [
        (
            "Reuters reported in April that four ships had made 64 voyages between September 2023 and March 2025.",
            "context",
            dt.date(2023, 9, 1),
            dt.date(2024, 3, 2),
        ),
        ("The White House said in October that 1,000 containers had been delivered.", "context", None, None),
        (
            "Russian forces used about 12 million shells in 2022, RUSI said.",
            "context",
            dt.date(2022, 1, 1),
            dt.date(2022, 12, 31),
        ),
        ("The State Department designated IBEX Shipping and its three vessels.", "context", None, None),
    ],
)
def test_recaps_keep_the_period_they_count_not_the_date_they_were_said(
    sentence: str, kind: str, start: dt.date | None, end: dt.date | None
) -> None:
    got = extract_candidates(sentence, published=PUB)
    c = next(c for c in got if c.unit != "ships") if len(got) > 1 else got[0]
    assert (c.kind, c.period_start, c.period_end) == (kind, start, end)
    assert got[0].claimant is not None
