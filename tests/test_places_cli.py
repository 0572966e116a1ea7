"""`supplyline places search|near`: real gazetteer lookups through the CLI, JSON output, user GeoJSON, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from supplyline.cli import app

runner = CliRunner()


def _json(args: list[str]) -> list[dict]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_near_new_york_with_negative_longitude() -> None:
    rows = _json(["places", "near", "40.70", "-74.01", "--radius-km", "5", "--json"])
    assert rows[0]["place_id"] == "wpi:7640" and rows[0]["name"] == "New York City"
    assert rows[0]["dist_km"] < 1.0
    assert all(r["dist_km"] <= 5.0 for r in rows)
    assert [r["dist_km"] for r in rows] == sorted(r["dist_km"] for r in rows)


def test_search_vostochny_and_rajin() -> None:
    rows = _json(["places", "search", "Vostochny", "--country", "RU", "--json", "-n", "3"])
    assert rows[0]["place_id"] == "wpi:60725" and rows[0]["locode"] == "RUVYP"
    assert {r["country"] for r in rows} == {"RU"}
    rows = _json(["places", "search", "Rajin", "--json", "-n", "1"])
    assert rows[0]["locode"] == "KPRJN" and rows[0]["name"] == "Najin"


def test_table_output_and_help() -> None:
    result = runner.invoke(app, ["places", "search", "Nampo", "--source", "wpi"])
    assert result.exit_code == 0, result.output
    assert "places matching 'Nampo'" in result.stdout and "KP" in result.stdout  # cells wrap at 80 columns
    result = runner.invoke(app, ["places", "--help"])
    assert result.exit_code == 0 and "places near" in result.stdout


def test_user_places_from_geojson(tmp_path: Path) -> None:
    path = tmp_path / "mine.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [132.3375, 42.88028]},
                        "properties": {"name": "Dunai naval pier", "radius_m": 2000},
                    }
                ],
            }
        )
    )
    rows = _json(["places", "search", "Dunai", "--places", str(path), "--source", "none", "--json"])
    assert [r["place_id"] for r in rows] == ["user:dunai-naval-pier"]
    rows = _json(["places", "near", "42.88", "132.34", "--places", str(path), "--json", "-r", "1"])
    assert rows[0]["place_id"] == "user:dunai-naval-pier" and rows[0]["dist_km"] < 0.3


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """Through the real entry point: exit code 2 (usage) / 4 (input), one line, no traceback."""
    bad = tmp_path / "bad.geojson"
    bad.write_text("{oops")
    code = "from supplyline.cli import main; main()"
    for args, exit_code, text in (
        (["places", "near", "95", "0"], 2, "not a valid lat/lon"),
        (["places", "search", "x", "--source", "osm"], 2, "unknown gazetteer source"),
        (["places", "search", "Nampo", "--places", str(bad)], 4, "not readable GeoJSON"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
        )
        assert proc.returncode == exit_code, proc.stderr
        assert text in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr
