"""Sanctions screening against the shipped OFAC extract, flags from MMSI, identity changes."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.monitor.identity import identity_changes, valid_imo
from supplyline.monitor.sanctions import flag_from_mmsi, load_sanctions_list, normalise_names, screen_vessels
from tests.conftest import data_file

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _vessels(rows: list[tuple[int, int | None, str | None]]) -> pa.Table:
    return pa.table(
        {
            "mmsi": pa.array([r[0] for r in rows], pa.int64()),
            "imo": pa.array([r[1] for r in rows], pa.int64()),
            "name": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def test_shipped_extract_matches_the_shared_snapshot(shared_data: Path) -> None:
    src = data_file(shared_data, "ofac_sdn_vessels_2024-05-03/sdn_vessels_extracted.csv")
    with open(src, newline="", encoding="ascii") as fh:
        rows = list(csv.DictReader(fh))
    listed = load_sanctions_list()
    primary = listed.filter(pa.compute.invert(listed["alias"]))
    assert primary.num_rows == len(rows) == 851
    assert primary["imo"].null_count == 851 - 842 and primary.num_rows - primary["mmsi"].null_count == 154
    assert sorted(set(primary["imo"].drop_null().to_pylist())) == sorted(
        {int(r["imo"]) for r in rows if r["imo"]}
    )


def test_imo_exact_case_vessels() -> None:
    # LADY R / ANGARA / MAIA-1 are listed under RUSSIA-EO14024 with these IMOs (OFAC, 3 May 2024).
    hits = screen_vessels(
        _vessels([(273111111, 9161003, "LADY R"), (273222222, 9179842, None), (273333333, 9358010, "MAYA")])
    )
    got = {(h["mmsi"], h["match"], h["listed_name"], h["program"]) for h in hits.to_pylist()}
    assert got == {
        (273111111, "imo", "LADY R", "RUSSIA-EO14024"),
        (273222222, "imo", "ANGARA", "RUSSIA-EO14024"),
        (273333333, "imo", "MAIA-1", "RUSSIA-EO14024"),
    }


def test_fuzzy_name_misspelt_dprk_vessel_and_mid_445() -> None:
    # CHON MA SAN (IMO 8660313, DPRK4) broadcast with a typo and no IMO from a DPRK MMSI (MID 445).
    hits = screen_vessels(_vessels([(445123456, None, "CHON MA SANN"), (445000002, None, "Chonmasan")]))
    by = {(h["mmsi"], h["match"]): h for h in hits.to_pylist()}
    typo = by[(445123456, "name")]
    assert (typo["listed_name"], typo["listed_imo"], typo["program"]) == ("CHON MA SAN", 8660313, "DPRK4")
    assert 90 <= typo["name_ratio"] < 100 and typo["score"] < 95
    same = by[(445000002, "name")]
    assert same["name_ratio"] == 100  # spacing and case do not matter
    # ... but a name is never an exact match: the flag agrees (KP = KP), so name+flag, at most 95
    assert (same["basis"], same["flag_iso"], same["listed_flag_iso"]) == ("name+flag", "KP", "KP")
    assert same["score"] == pytest.approx(100 * (0.8 + 0.2 * 9 / 12))
    assert by[(445123456, "flag")]["flag"] == "Democratic People's Republic of Korea"


def test_mmsi_exact_and_former_names() -> None:
    listed = load_sanctions_list()
    with_mmsi = listed.filter(pa.compute.is_valid(listed["mmsi"])).slice(0, 1).to_pylist()[0]
    aliased = listed.filter(listed["alias"]).slice(0, 1).to_pylist()[0]
    hits = screen_vessels(
        _vessels([(with_mmsi["mmsi"], None, None), (538000001, None, aliased["matched_name"])])
    )
    got = {(h["mmsi"], h["match"], h["ent_num"]) for h in hits.to_pylist()}
    assert (with_mmsi["mmsi"], "mmsi", with_mmsi["ent_num"]) in got
    assert (538000001, "name", aliased["ent_num"]) in got


def test_no_false_hits() -> None:
    hits = screen_vessels(
        _vessels(
            [
                (367000150, None, "ANDREW J BARBERI"),  # Staten Island Ferry
                (273444444, 9999994, "MARIA"),  # a MARIA with another IMO is not the listed MARIA (8517839)
                (273555555, None, "SPARTA V"),  # digits must agree: SPARTA, SPARTA II..IV are listed
                (273666666, None, "MAR"),  # too short to match fuzzily
            ]
        )
    )
    assert hits.num_rows == 0


def test_flag_from_mmsi() -> None:
    flags = flag_from_mmsi(np.array([445123456, 273000001, 367000150, 2442000, 992731234, 111445001]))
    assert flags.to_pylist() == [
        "Democratic People's Republic of Korea",
        "Russian Federation",
        "United States of America",
        None,  # 7 digits: not a ship station
        None,  # AtoN (99MID...)
        None,  # SAR aircraft (111MID...)
    ]


def test_normalise_names() -> None:
    assert normalise_names(["M/V Lady-R@@", " chon ma san ", None]) == ["LADYR", "CHONMASAN", ""]


def test_valid_imo_check_digit() -> None:
    assert valid_imo(np.array([9161003, 9179842, 9358010, 8517839, 9161004, 0, 123])).tolist() == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_identity_changes() -> None:
    rows = [
        (273000001, 0, 9161003, "LADY R@@@"),
        (273000001, 1, 9161003, "LADY R"),  # padding only: no change
        (273000001, 2, 9161003, "SPARTA"),  # renamed
        (273000001, 3, 9161003, "LADY R"),  # and back
        (273000001, 4, 9179842, "LADY R"),  # new (valid) IMO on the same MMSI
        (273000001, 5, 1234568, "LADY R"),  # invalid IMO (check digit): ignored
        (445000001, 6, 9161003, "KOREA STAR"),  # the IMO turns up under a DPRK MMSI
    ]
    statics = pa.table(
        {
            "mmsi": pa.array([r[0] for r in rows], pa.int64()),
            "ts": pa.array([T0 + timedelta(days=r[1]) for r in rows], schema.TS),
            "imo": pa.array([r[2] for r in rows], pa.int64()),
            "name": [r[3] for r in rows],
        }
    )
    got = [
        (c["ts"].day, c["field"], c["old"], c["new"], c["old_flag"], c["new_flag"])
        for c in identity_changes(statics).to_pylist()
    ]
    assert got == [
        (3, "name", "LADY R", "SPARTA", None, None),
        (4, "name", "SPARTA", "LADY R", None, None),
        (5, "imo", "9161003", "9179842", None, None),
        (7, "mmsi", "273000001", "445000001", "Russian Federation", "Democratic People's Republic of Korea"),
    ]


def test_flags_agree() -> None:
    from supplyline.monitor.sanctions import flags_agree

    assert flags_agree("Russian Federation", "Russia") is True
    assert flags_agree(
        "China (People's Republic of) - Hong Kong (Special Administrative Region of China)", "Hong Kong"
    )
    assert flags_agree("Saint Kitts and Nevis (Federation of)", "St. Kitts & Nevis") is True
    assert flags_agree("United States of America", "Venezuela") is False
    assert (
        flags_agree(None, "Iran") is None
        and flags_agree("Iran (Islamic Republic of)", "None Identified") is None
    )


def test_real_ny_harbor_vessels_raise_no_confident_hit(shared_data: Path) -> None:
    import duckdb

    csv_path = data_file(shared_data, "noaa_ais_nyharbor_2020/NYHarbor_2020_06_30_first_hour.csv")
    vessels = duckdb.sql(
        f"SELECT DISTINCT MMSI::BIGINT AS mmsi, try_cast(replace(IMO, 'IMO', '') AS BIGINT) AS imo, "
        f"VesselName AS name FROM read_csv('{csv_path}', all_varchar=true)"
    ).to_arrow_table()
    assert vessels.num_rows == 295
    hits = screen_vessels(vessels).to_pylist()
    # Two US pleasure craft named FREEDOM (no IMO) match the listed Venezuelan FREEDOM (IMO 9018464) by name
    # only: kept, but as low confidence because the flags disagree -- and not alerted by default.
    assert sorted((h["mmsi"], h["listed_name"], h["confidence"]) for h in hits) == [
        (338208268, "FREEDOM", "low"),
        (338344384, "FREEDOM", "low"),
    ]


def test_maria_name_only_scores_below_the_alert_threshold() -> None:
    from supplyline.monitor.sanctions import ALERT_SCORE

    # the listed MARIA (IMO 8517839, flag Russia). A MARIA with no IMO and a non-ship MMSI (no flag): name only,
    # rarity 5/12 -> 42, low; under a Russian MMSI the flag agrees -> 88; with the IMO -> 100
    hits = screen_vessels(
        _vessels([(2442000, None, "MARIA"), (273100001, None, "MARIA"), (273100002, 8517839, "MARIA")])
    )
    by = {h["mmsi"]: h for h in hits.to_pylist() if h["listed_name"] == "MARIA"}
    alone = by[2442000]
    assert (alone["basis"], alone["confidence"]) == ("name only", "low")
    assert alone["score"] == pytest.approx(100 * 5 / 12 / (1 + math.log2(3)))  # three MMSIs use the name
    assert alone["score"] < ALERT_SCORE
    flagged = by[273100001]
    assert flagged["basis"] == "name+flag" and flagged["score"] >= ALERT_SCORE and flagged["flag_iso"] == "RU"
    assert (by[273100002]["basis"], by[273100002]["score"]) == ("IMO", 100)
    one = next(
        h
        for h in screen_vessels(_vessels([(2442000, None, "MARIA")])).to_pylist()
        if h["listed_name"] == "MARIA"
    )
    assert one["score"] == pytest.approx(100 * 5 / 12) and one["score"] < ALERT_SCORE


def test_iso_codes_beside_itu_names() -> None:
    from supplyline.monitor.sanctions import iso_for_flag, iso_from_mmsi

    assert iso_from_mmsi(np.array([445123456, 273000001, 440000001, 477000001, 2442000])).to_pylist() == [
        "KP",
        "RU",
        "KR",
        "HK",
        None,
    ]
    assert [iso_for_flag(f) for f in ("Russia", "Korea, North", "Samoa", "ru", "None Identified", None)] == [
        "RU",
        "KP",
        "WS",
        "RU",
        None,
        None,
    ]
