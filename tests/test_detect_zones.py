"""`detect --case/--places` keeps the gazetteer's exclusion zones (issue 14): encounters and loitering within
10 km of any gazetteer place stay excluded, while visits are detected only at the given places."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from supplyline.cli import app
from supplyline.geo import destination_point
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from tests.test_detect_kernels import line, positions

BASSETERRE = (17.3, -62.716667)  # wpi:11400 in the shipped gazetteer


def _store(tmp_path: Path) -> Path:
    """Two ships drifting side by side for 3 h, 5 km off Basseterre (inside its 10 km exclusion zone)."""
    la, lo = destination_point(BASSETERRE[0], BASSETERRE[1], 200.0, 5.0)
    east = destination_point(float(la), float(lo), 90.0, 0.3)
    rows = line(311, 0, (float(la), float(lo)), 0, 0.3, 180, every=5)
    rows += line(312, 1, (float(east[0]), float(east[1])), 0, 0.3, 180, every=5)
    path = tmp_path / "pair.parquet"
    pq.write_table(positions(sorted(rows, key=lambda r: (r[0], r[1]))), path)
    root = tmp_path / "s"
    ingest(Store.create(root), [path])
    (tmp_path / "far.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Far"},
                        "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
                    }
                ],
            }
        )
    )
    return root


def _detect(root: Path, *args: str) -> dict[str, int]:
    res = CliRunner().invoke(app, ["detect", "--store", str(root), "--json", "--full", "-w", "1", *args])
    assert res.exit_code == 0, res.output
    counts: dict[str, int] = json.loads(res.output)["counts"]
    return counts


def test_given_places_keep_the_gazetteer_exclusion_zones(tmp_path: Path) -> None:
    root = _store(tmp_path)
    far = str(tmp_path / "far.geojson")
    kept = _detect(root, "--places", far)  # default: the gazetteer only as exclusion zones
    assert (kept["encounters"], kept["loitering"], kept["visits"]) == (0, 0, 0)
    assert _detect(root)["encounters"] == 0  # gazetteer on in full: same zones
    dropped = _detect(root, "--places", far, "--no-gazetteer")  # explicitly no gazetteer: no zone here
    assert dropped["encounters"] == 1 and dropped["loitering"] == 2
    places = Store.open(root).read_table("places")
    assert places.num_rows == 1  # --no-gazetteer run: only the given place
