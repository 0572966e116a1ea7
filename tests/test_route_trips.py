"""Route trips of a short-stop ferry on the simulator: every crossing is one trip, with or without SOG.

A ferry docks 9 minutes at each of two terminals 8 km apart (below ``port_call_min_h``): each call is a
``short_stop``, and voyages run between visits with a stop, so the route count equals the simulator's
truth (with voyages between port calls only, as before, it was 0). Without SOG (positions only, as in
the NOAA files) the stops are seen too; the simulator's berths have no GPS scatter, so the short-rest rule
is not needed here (tests/test_detect_kernels.py covers scattered slips). Synthetic data.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyline.detect import Route, Thresholds, run_vessel_kernels
from supplyline.simulate import simulate

CROSSINGS = 12
# arrive-by targets every 25 min, earlier than the ferry can make it: it sails as soon as its 9 minutes are up
CALLS = "\n".join(
    f'[[ship.call]]\nplace = "{"north" if k % 2 == 0 else "south"}"\n'
    f"arrive = 2024-03-01T{1 + (k * 25) // 60:02d}:{(k * 25) % 60:02d}:00Z\ndwell_h = 0.15"
    for k in range(CROSSINGS)
)
SCENARIO = f"""
[scenario]
name = "ferry"
start = 2024-03-01T00:00:00Z
end = 2024-03-02T00:00:00Z
seed = 11

[reception]
min_interval_s = 0
loss = 0.0

[[place]]
id = "south"
name = "South Slip"
lat = 54.0
lon = 3.0
r_in_m = 500
[[place]]
id = "north"
name = "North Slip"
lat = 54.07
lon = 3.02
r_in_m = 500

[[lane]]
from = "south"
to = "north"
via = []

[[ship]]
key = "f"
name = "Shuttle"
mmsi = 211000050
start_place = "south"
speed_kn = 15
{CALLS}
"""
ROUTES = [
    Route("south-north", ("scenario:south",), ("scenario:north",)),
    Route("north-south", ("scenario:north",), ("scenario:south",)),
]


@pytest.fixture(scope="module")
def ferry(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("ferry")
    path = Path(folder) / "scenario.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return simulate(path, Path(folder) / "out", formats=("parquet",))


@pytest.mark.parametrize("with_sog", [True, False])
def test_every_simulated_crossing_is_one_route_trip(ferry, with_sog: bool) -> None:  # type: ignore[no-untyped-def]
    pos = pq.read_table(ferry.paths["positions"])
    if not with_sog:  # positions only: speeds come from displacement, as in the NOAA week
        pos = pos.set_column(
            pos.schema.get_field_index("sog_kn"), "sog_kn", pa.nulls(pos.num_rows, pa.float32())
        )
    out = run_vessel_kernels(pos, ferry.scenario.places_table, Thresholds(), ROUTES)
    truth = ferry.truth["voyages"]
    assert truth.num_rows == CROSSINGS  # the start at South Slip, then 12 calls: 12 crossings
    voyages = out["voyages"]
    trips = Counter(voyages["route"].to_pylist())
    assert trips == {"south-north": CROSSINGS // 2, "north-south": CROSSINGS // 2}
    # The ferry's calls are short stops; the one port call is its last stay, at South Slip until the data end
    # (14 h): the headline of port calls says 1, the route monitor still gets every trip.
    visits = out["visits"].to_pylist()
    assert [v["visit_class"] for v in visits] == ["short_stop"] * CROSSINGS + ["port_call"]
    assert visits[-1]["open"] and visits[-1]["place_id"] == "scenario:south"
    ends = Counter(
        zip(voyages["origin_class"].to_pylist(), voyages["destination_class"].to_pylist(), strict=True)
    )
    assert ends == {("short_stop", "short_stop"): CROSSINGS - 1, ("short_stop", "port_call"): 1}
