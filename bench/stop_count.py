"""Headline port calls vs an independent stop count, and overlapping visits, on the real data sets.

Independent count (issue 14): rests of 30 minutes or more within 300 m (``tests/rest_count.py``: no speeds,
no windows, no hysteresis) whose first fix is inside a gazetteer place. Port calls: ``supplyline ingest`` +
``supplyline detect`` with the gazetteer, default thresholds, read back from the store. Overlaps: pairs of
visits of one vessel at one place that overlap in time (must be 0).

    python bench/stop_count.py            # NY Harbor week, DMA NMEA samples + Laeso ferry CSV
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.rest_count import rests  # noqa: E402

from supplyline import ingest_files  # noqa: E402
from supplyline._api import detect_events, open_store  # noqa: E402
from supplyline.places import PlaceIndex, load_gazetteer  # noqa: E402

DATA = Path(os.environ.get("SUPPLYLINE_SHARED_DATA", REPO.parent / "shared" / "data"))
SETS = {
    "NY Harbor week": ["noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"],
    "DMA samples": [
        "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz",
        "dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt",
        "dma_ais_raw_nmea/aisabnormal_event_212123000_drift_1.ais",
        "dma_ais_raw_nmea/aisabnormal_event_219165000_ssc_1.ais",
        "dma_ais_raw_nmea/aisabnormal_event_538004030_drift_1.ais",
        "dma_ais_ferry_laesoe_2022/ferry.csv",
    ],
}
LONG_SILENCE_S = 24 * 3600  # a "rest" spanning a longer silence is one MMSI seen in files years apart


def measure(name: str, files: list[str], tmp: Path) -> dict[str, object]:
    """Port calls, independent rests (all, and those without a silence over 24 h), overlapping visits."""
    store = tmp / name.replace(" ", "_")
    ingest_files(store, [DATA / f for f in files])
    detect_events(store, gazetteer=True)
    with open_store(store) as data:
        pos = data.sql("SELECT mmsi, epoch(ts) AS t, lat, lon FROM positions ORDER BY mmsi, ts").fetchnumpy()
        classes = dict(data.sql("SELECT visit_class, count(*) FROM visits GROUP BY 1").fetchall())
        overlaps = data.sql(
            """SELECT count(*) FROM visits a JOIN visits b ON a.mmsi = b.mmsi AND a.place_id = b.place_id
               AND a.visit_id < b.visit_id AND a.arrival_ts <= b.departure_ts
               AND b.arrival_ts <= a.departure_ts"""
        ).fetchall()
    t = np.asarray(pos["t"], dtype=np.int64)
    found = rests(pos["mmsi"], t, pos["lat"], pos["lon"], 300.0, 30.0)
    first = np.array([i for _, i, _ in found], dtype=np.int64)
    idx = PlaceIndex(load_gazetteer())
    inside = idx.assign(pos["lat"][first], pos["lon"][first]) >= 0 if len(first) else np.zeros(0, bool)
    steady = np.array(
        [np.diff(t[i : j + 1]).max(initial=0) <= LONG_SILENCE_S for _, i, j in found], dtype=bool
    )
    n_rests = int(inside.sum())
    calls = int(classes.get("port_call", 0))
    return {
        "positions": len(t),
        "port_calls": calls,
        "short_stops": int(classes.get("short_stop", 0)),
        "pass_throughs": int(classes.get("pass_through", 0)),
        "rests": n_rests,
        "rests_without_24h_silence": int((inside & steady).sum()) if len(first) else 0,
        "ratio": round(calls / n_rests, 3) if n_rests else None,
        "overlapping_visit_pairs": int(overlaps[0][0]),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in SETS.items():
            print(name, measure(name, files, Path(tmp)))


if __name__ == "__main__":
    main()
