"""Port calls against hand labels and an independent stop count, on real AIS (NOAA New York Harbor week).

tests/data/visit_labels/nyharbor_week.csv holds 427 visits of 37 vessels labelled by eye (rule and method:
tests/data/visit_labels/README.md; the detector was tuned on them), nyharbor_week_heldout.csv 142 visits of 20
other vessels labelled by the same rule after the detector was fixed (held out: nothing was tuned on them).
Results are recorded in docs/detect.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from supplyline.detect import Thresholds, run_vessel_kernels
from supplyline.places import PlaceIndex, load_gazetteer
from tests.conftest import data_file
from tests.rest_count import rests
from tests.test_detect_nyharbor import WEEK, load_week

LABELS = Path(__file__).parent / "data" / "visit_labels" / "nyharbor_week.csv"
HELD_OUT = LABELS.with_name("nyharbor_week_heldout.csv")


@pytest.fixture(scope="module")
def week(shared_data: Path) -> pa.Table:
    return load_week(data_file(shared_data, WEEK))


@pytest.fixture(scope="module")
def visits(week: pa.Table) -> pd.DataFrame:
    return run_vessel_kernels(week, load_gazetteer(), Thresholds(), tables=("visits",))["visits"].to_pandas()


def _overlapping(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """For each row of ``a`` (mmsi, s, e), whether some row of ``b`` of the same vessel overlaps it in time."""
    hit = np.zeros(len(a), dtype=bool)
    by_vessel = {m: g for m, g in b.groupby("mmsi")}
    for k, (m, s, e) in enumerate(zip(a["mmsi"], a["s"], a["e"], strict=True)):
        g = by_vessel.get(m)
        hit[k] = g is not None and bool(((g["s"] <= e) & (g["e"] >= s)).any())
    return hit


def port_call_precision_recall(visits: pd.DataFrame, labels: pd.DataFrame) -> tuple[float, float, int, int]:
    """(precision, recall, detected, labelled) of port calls on the labelled vessels: a detected port call
    is right when it overlaps a labelled one of the same vessel; a labelled one is found when a detected
    port call overlaps it."""
    det = visits[(visits["visit_class"] == "port_call") & visits["mmsi"].isin(labels["mmsi"])]
    det = det.assign(s=det["arrival_ts"], e=det["departure_ts"])
    lab = labels[labels["label"] == "port_call"]
    lab = lab.assign(s=lab["start"], e=lab["end"])
    return float(_overlapping(det, lab).mean()), float(_overlapping(lab, det).mean()), len(det), len(lab)


def test_port_calls_match_hand_labels(visits: pd.DataFrame) -> None:
    labels = pd.read_csv(LABELS, parse_dates=["start", "end"])
    assert len(labels) >= 300 and set(labels["label"]) == {"port_call", "short_stop", "pass_through"}
    precision, recall, n_det, n_lab = port_call_precision_recall(visits, labels)
    assert n_lab >= 200 and n_det >= 150
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall


def stopped_visit_recall(visits: pd.DataFrame, labels: pd.DataFrame) -> tuple[float, int]:
    """(recall, labelled) of visits with a stop: a labelled port call or short stop is found when a detected
    port call or short stop of the same vessel overlaps it (these end voyages)."""
    stop = ("port_call", "short_stop")
    det = visits[visits["visit_class"].isin(stop) & visits["mmsi"].isin(labels["mmsi"])]
    det = det.assign(s=det["arrival_ts"], e=det["departure_ts"])
    lab = labels[labels["label"].isin(stop)]
    lab = lab.assign(s=lab["start"], e=lab["end"])
    return float(_overlapping(lab, det).mean()), len(lab)


def test_port_calls_match_held_out_labels(visits: pd.DataFrame) -> None:
    labels = pd.read_csv(HELD_OUT, parse_dates=["start", "end"])
    assert len(labels) >= 100 and labels["mmsi"].nunique() == 20
    assert not set(labels["mmsi"]) & set(pd.read_csv(LABELS)["mmsi"])  # other vessels than the tuning set
    precision, recall, n_det, n_lab = port_call_precision_recall(visits, labels)
    # Measured once, after the detector was final: 42 of 43 detected port calls right, 52 of 53 found.
    assert (n_det, n_lab) == (43, 53)
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall
    # Visits with a stop (they end voyages): 122 of 130 labelled ones are port calls or short stops.
    found, n_stops = stopped_visit_recall(visits, labels)
    assert n_stops == 130 and found >= 0.9, found


def test_port_calls_near_independent_stop_count_and_never_overlap(
    week: pa.Table, visits: pd.DataFrame
) -> None:
    # Independent count: rests of >= 30 min within 300 m whose first fix is inside a gazetteer place.
    ts = week["ts"].cast(pa.int64()).to_numpy() // 1_000_000
    lat, lon = week["lat"].to_numpy(), week["lon"].to_numpy()
    found = rests(week["mmsi"].to_numpy(), ts, lat, lon, 300.0, 30.0)
    first = np.array([i for _, i, _ in found])
    inside = PlaceIndex(load_gazetteer()).assign(lat[first], lon[first]) >= 0
    n_rests = int(inside.sum())
    n_calls = int((visits["visit_class"] == "port_call").sum())
    assert 0.67 <= n_calls / n_rests <= 1.5, (n_calls, n_rests)
    # No two visits of one vessel at one place overlap in time.
    v = visits.sort_values(["mmsi", "place_id", "arrival_ts"])
    same = (v["mmsi"].values[1:] == v["mmsi"].values[:-1]) & (
        v["place_id"].values[1:] == v["place_id"].values[:-1]
    )
    assert not (same & (v["arrival_ts"].values[1:] <= v["departure_ts"].values[:-1])).any()
