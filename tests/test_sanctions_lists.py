"""Sanctions lists beyond the shipped OFAC extract: an OpenSanctions / FollowTheMoney sample (UN, EU, UK, US
in one model), the case's [[watchlist.sanctions]] actually used, and designation dates respected."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from supplyline import schema
from supplyline.case import bundled_case_path, load_case
from supplyline.monitor.alerts import MonitorConfig, sanction_alerts
from supplyline.monitor.opensanctions import load_case_sanctions, load_ftm_vessels
from supplyline.monitor.sanctions import screen_vessels

pytest.importorskip("followthemoney")
SAMPLE = Path(__file__).parent / "data" / "opensanctions_vessels_sample.ftm.json"


def _vessels(rows: list[tuple[int, int | None, str | None, datetime]]) -> pa.Table:
    return pa.table(
        {
            "mmsi": pa.array([r[0] for r in rows], pa.int64()),
            "imo": pa.array([r[1] for r in rows], pa.int64()),
            "name": pa.array([r[2] for r in rows], pa.string()),
            "first_seen": pa.array([r[3] for r in rows], schema.TS),
        }
    )


def test_opensanctions_sample_loads_every_list_in_one_model() -> None:
    t = load_ftm_vessels(SAMPLE)
    rows = t.to_pylist()
    assert {r["entity_id"] for r in rows} == {
        "sample-maria",
        "sample-angara",
        "sample-maia1",
        "sample-chonmasan",
    }
    maria = sorted((r["list_name"], r["designated"]) for r in rows if r["entity_id"] == "sample-maria")
    assert maria == [
        ("European Union", date(2024, 6, 1)),  # "2024-06": the month only, read as its first day
        ("ROK unilateral designation", date(2024, 5, 24)),
        ("US Department of State", date(2023, 12, 12)),
    ]
    un = next(r for r in rows if r["entity_id"] == "sample-chonmasan")
    assert (un["imo"], un["flag_iso"], un["list_name"]) == (
        8660313,
        "KP",
        "UN Security Council 1718 Committee",
    )
    # aliases are matched names of the same entry
    assert {r["matched_name"] for r in rows if r["entity_id"] == "sample-maia1"} == {
        "MAIA-1",
        "MAYA-1",
        "MAIA",
    }


def test_screening_as_of_a_date_respects_designations() -> None:
    t = load_ftm_vessels(SAMPLE)
    v = _vessels([(273100002, 8517839, "MARIA", datetime(2023, 9, 1, tzinfo=UTC))])
    assert screen_vessels(v, t, as_of=date(2023, 12, 1)).num_rows == 0  # listed by nobody yet
    on = screen_vessels(v, t, as_of=date(2024, 5, 30)).to_pylist()
    assert sorted(h["list_name"] for h in on) in (
        ["US Department of State"],
        ["ROK unilateral designation", "US Department of State"],
    )
    assert {h["basis"] for h in on} == {"IMO"}
    # the alert is stamped at the designation, not at the first sighting before it
    alerts = sanction_alerts(v, datetime(2024, 7, 1, tzinfo=UTC), MonitorConfig(), t).to_pylist()
    assert [a["ts"] for a in alerts] == [datetime(2023, 12, 12, tzinfo=UTC)]
    assert "designated 2023-12-12" in alerts[0]["message"] and "on IMO" in alerts[0]["message"]
    assert sanction_alerts(v, datetime(2023, 12, 11, tzinfo=UTC), MonitorConfig(), t).num_rows == 0


def test_maria_name_only_does_not_alert_unless_flag_or_imo_agree() -> None:
    t = load_ftm_vessels(SAMPLE)
    seen = datetime(2024, 8, 1, tzinfo=UTC)
    cfg = MonitorConfig()
    # MMSI 2442000 is no ship station: no flag, so MARIA is a name-only match
    assert sanction_alerts(_vessels([(2442000, None, "MARIA", seen)]), seen, cfg, t).num_rows == 0
    ru = sanction_alerts(_vessels([(273100002, None, "MARIA", seen)]), seen, cfg, t).to_pylist()
    assert len(ru) == 1 and "on name+flag" in ru[0]["message"] and "/ RU" in ru[0]["message"]
    imo = sanction_alerts(_vessels([(2442000, 8517839, "MARIA", seen)]), seen, cfg, t).to_pylist()
    assert len(imo) == 1 and "on IMO" in imo[0]["message"]


def test_case_list_drives_the_alerts(tmp_path: Path) -> None:
    # a copy of the bundled case whose only list is the OpenSanctions sample: ANGARA (US since May 2022) by IMO,
    # and CHON MA SAN (in the sample, also in OFAC) alerts as listed by the UN
    case_dir = tmp_path / "case"
    shutil.copytree(bundled_case_path("dprk-russia"), case_dir)
    shutil.copy(SAMPLE, case_dir / "sample.ftm.json")
    toml = (case_dir / "case.toml").read_text()
    start = toml.index("[[watchlist.sanctions]]")
    end = toml.index("# ----", start)
    toml = (
        toml[:start] + '[[watchlist.sanctions]]\nname = "sample"\nfile = "sample.ftm.json"\n\n' + toml[end:]
    )
    (case_dir / "case.toml").write_text(toml)
    case = load_case(case_dir)
    lists = load_case_sanctions(case.watchlist.sanctions)
    assert lists is not None and set(lists["entity_id"].to_pylist()) >= {"sample-angara"}
    seen = datetime(2024, 1, 2, tzinfo=UTC)
    v = _vessels([(273100001, 9179842, "ANGARA", seen), (273100009, 9161003, "LADY R", seen)])
    alerts = sanction_alerts(v, seen, MonitorConfig(), lists).to_pylist()
    # LADY R is in the shipped OFAC extract but not in the case's list: no alert
    assert [(a["mmsi"], a["ts"]) for a in alerts] == [(273100001, seen)]
    assert "US OFAC" in alerts[0]["message"]
    bundled = load_case_sanctions(load_case(bundled_case_path("dprk-russia")).watchlist.sanctions)
    assert bundled is not None and bundled["list_name"][0].as_py() == "OFAC SDN vessels"
