"""Gap classes against hand labels on real AIS (NOAA New York Harbor week).

tests/data/gap_labels/nyharbor_week_gaps.csv holds 47 silences of 6 h or more labelled by reading the
vessel's fixes around them and the traffic heard nearby (rule: tests/data/gap_labels/README.md). The
detector runs as the local engine does (kernels, then the coverage SQL on DuckDB) with the shipped
gazetteer and default thresholds. Results are recorded in docs/detect.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.engine.local import annotate_coverage
from supplyline.places import load_gazetteer
from tests.conftest import data_file
from tests.test_detect_nyharbor import WEEK, load_week

LABELS = Path(__file__).parent / "data" / "gap_labels" / "nyharbor_week_gaps.csv"


@pytest.fixture(scope="module")
def gaps(shared_data: Path) -> pd.DataFrame:
    week = load_week(data_file(shared_data, WEEK))
    th = Thresholds()
    found = run_vessel_kernels(week, load_gazetteer(), th, tables=("gaps",))["gaps"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("positions", week)
    return annotate_coverage(con, found, th).to_pandas()


def per_class(pairs: list[tuple[str, str]], cls: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one class over (label, detected) pairs; None where undefined (no instance)."""
    said = [lab for lab, det in pairs if det == cls]
    truth = [det for lab, det in pairs if lab == cls]
    precision = said.count(cls) / len(said) if said else None
    recall = truth.count(cls) / len(truth) if truth else None
    return precision, recall


def test_gap_classes_match_hand_labels(gaps: pd.DataFrame) -> None:
    labels = pd.read_csv(LABELS, parse_dates=["start", "end"])
    assert len(labels) >= 40
    detected = {(m, s): c for m, s, c in zip(gaps["mmsi"], gaps["start_ts"], gaps["likely"], strict=True)}
    pairs = [
        (lab, detected[(m, s)])
        for m, s, lab in zip(labels["mmsi"], labels["start"], labels["label"], strict=True)
    ]
    assert len(pairs) == len(labels)  # every labelled silence is a detected gap (same vessel, same start)
    # The sample: all 17 switched_off and all 5 unknown gaps of the week, 25 of its 243 in_port_silence.
    assert Counter(det for _, det in pairs) == {"in_port_silence": 25, "switched_off": 17, "unknown": 5}
    assert Counter(lab for lab, _ in pairs) == {"in_port_silence": 30, "switched_off": 17}
    assert per_class(pairs, "switched_off") == (1.0, 1.0)
    assert per_class(pairs, "in_port_silence") == (1.0, 25 / 30)
    # The 5 "unknown" are ships moored at berths the gazetteer does not list (near the shore, 0 km moved):
    # by eye they are in-port silences; the detector needs both ends inside a known place.
    assert per_class(pairs, "unknown") == (0.0, None)
    assert per_class(pairs, "coverage") == (None, None)  # nobody-heard silences do not occur in this harbour
    # Over the whole week (the in_port_silence stratum weighs 243/25): recall of in_port_silence 0.98.
    weight = {"in_port_silence": 243 / 25}
    found = sum(weight.get(det, 1.0) for lab, det in pairs if lab == det == "in_port_silence")
    total = sum(weight.get(det, 1.0) for lab, det in pairs if lab == "in_port_silence")
    assert found / total == pytest.approx(243 / 248)


def test_no_labelled_moored_silence_raises_a_dark_alert_class(gaps: pd.DataFrame) -> None:
    # The alert-relevant question: no silence a person reads as moored is called switched_off.
    labels = pd.read_csv(LABELS, parse_dates=["start", "end"])
    moored = labels[labels["label"] == "in_port_silence"]
    got = gaps.merge(moored, left_on=["mmsi", "start_ts"], right_on=["mmsi", "start"])
    assert len(got) == len(moored) and not (got["likely"] == "switched_off").any()
    assert got["ends_apart_m"].max() <= 1500
