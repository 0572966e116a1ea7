"""`supplyline places search|near`: real gazetteer lookups through the CLI, JSON output, user GeoJSON, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from supplyline.cli import app
from supplyline.errors import InputError, UsageError

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
    """Through the real entry point: exit code 2 (usage), one message, no traceback."""
    code = "from supplyline.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "places", "near", "95", "0"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "not a valid lat/lon" in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr


def test_bad_input_raises_the_right_error_class(tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{oops")
    for args, cls, text in (
        (["places", "search", "x", "--source", "osm"], UsageError, "unknown gazetteer source"),
        (["places", "search", "Nampo", "--places", str(bad)], InputError, "not readable GeoJSON"),
        (["places", "search", "Nampo", "--source", "none"], UsageError, "no places to look in"),
    ):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, cls) and text in str(result.exception), args
