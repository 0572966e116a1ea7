"""CSV / Parquet ingest on real files, with counts computed independently (csv module / plain DuckDB)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplyline.errors import FormatError, UsageError
from supplyline.ingest.csv_formats import parse_map
from supplyline.ingest.pipeline import ingest
from supplyline.store import Store
from tests.conftest import data_file

DMA = "dma_ais_ferry_laesoe_2022/ferry.csv"
NY_WEEK = "noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz"
NY_HOUR = "noaa_ais_nyharbor_2020/NYHarbor_2020_06_30_first_hour.csv"


def _counts(store: Store) -> dict[str, int]:
    con = store.connect()
    return {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("positions", "statics", "quarantine", "manifest")
    }


def test_dma_ferry_exact_counts(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, DMA)
    # independent count with the csv module: a duplicate is a repeated (time, MMSI, position, SOG, COG,
    # heading, nav status) tuple
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    keys = [
        (
            r["# Timestamp"],
            r["MMSI"],
            float(r["Latitude"]),
            float(r["Longitude"]),
            r["SOG"],
            r["COG"],
            r["Heading"],
            r["Navigational status"],
        )
        for r in rows
    ]
    assert (len(rows), len(set(keys))) == (735, 734)

    store = Store.create(tmp_path / "s")
    report = ingest(store, [path])
    (f,) = report.files
    assert (f.status, f.format, f.read, f.kept, f.duplicate, f.quarantined) == (
        "ingested",
        "dma",
        735,
        734,
        1,
        0,
    )
    assert _counts(store) == {"positions": 734, "statics": 1, "quarantine": 0, "manifest": 1}
    con = store.connect()
    first = con.execute(
        "SELECT mmsi, ts, lat, lon, sog_kn, cog_deg, heading_deg, nav_status, msg_type, source "
        "FROM positions ORDER BY ts LIMIT 1"
    ).fetchall()[0]
    assert first[0] == 219000734
    assert first[1].isoformat() == "2022-10-15T11:16:01+00:00"  # dd/mm/yyyy read as UTC
    assert first[2:4] == (57.296787, 10.922245)
    assert first[4] == 0.0 and first[5] == pytest.approx(210.3, abs=1e-4) and first[6] == 180.0
    assert first[7:] == (0, 0, "dma")  # "Under way using engine" -> 0
    vessel = con.execute(
        "SELECT mmsi, imo, name, callsign, ship_type, length_m, width_m, n_reports, first_seen, last_seen, "
        "last_draught_m, last_destination FROM vessels"
    ).fetchall()
    assert len(vessel) == 1
    v = vessel[0]
    assert v[:7] == (219000734, 9107370, "ANE LAESOE", "OXXL", 60, 54.0, 15.0)
    assert v[7] == 735  # every row carries a static report; all 735 collapse into one run
    assert (v[8].isoformat(), v[9].isoformat()) == ("2022-10-15T11:16:01+00:00", "2022-10-15T13:02:58+00:00")
    assert v[10] == pytest.approx(2.9) and v[11] == "LAESOE-FREDERIKSHAVN"


def test_ny_harbor_week_exact_counts(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, NY_WEEK)
    expected = duckdb.sql(
        f"SELECT count(*), count(DISTINCT (mmsi, timestamp, lat, lon)), count(DISTINCT mmsi), "
        f"count(DISTINCT CAST(timestamp AS DATE)) FROM read_csv('{path}')"
    ).fetchall()[0]
    assert expected == (172679, 172679, 140, 7)  # verified once by hand; guards the file itself

    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path], chunk_rows=50_000).files  # several chunks
    assert (f.format, f.read, f.kept, f.duplicate, f.quarantined) == ("points", 172679, 172679, 0, 0)
    con = store.connect()
    got = con.execute(
        "SELECT count(*), count(DISTINCT mmsi), count(DISTINCT day), min(ts), max(ts) FROM positions"
    ).fetchall()[0]
    assert got[:3] == (172679, 140, 7)
    assert (got[3].isoformat(), got[4].isoformat()) == (
        "2020-12-01T04:49:45+00:00",
        "2020-12-07T23:29:51+00:00",
    )
    # Staten Island Ferry ANDREW J BARBERI: 3,729 points (PROVENANCE.md)
    assert con.execute("SELECT count(*) FROM positions WHERE mmsi = 367000150").fetchall()[0][0] == 3729
    # every file is one UTC day and sorted by (mmsi, ts)
    files = sorted((store.root / "positions").glob("day=*/*.parquet"))
    assert len({f.parent.name for f in files}) == 7
    for file in files:
        t = pq.read_table(file)
        day = file.parent.name.removeprefix("day=")
        assert {d.isoformat() for d in t["ts"].to_pylist()} and all(
            d.date().isoformat() == day for d in t["ts"].to_pylist()
        )
        pairs = list(zip(t["mmsi"].to_pylist(), t["ts"].to_pylist(), strict=True))
        assert pairs == sorted(pairs)
    assert pq.read_schema(files[0]).field("ts").type == pa.timestamp("us", tz="UTC")


def test_noaa_hour_cog_and_statics(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, NY_HOUR)
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    expected = duckdb.sql(
        f"SELECT count(*), count(DISTINCT (MMSI, BaseDateTime, LAT, LON, SOG, COG, Heading, Status)) "
        f"FROM read_csv('{path}')"
    ).fetchall()[0]
    assert expected == (8689, 8687)
    assert (f.format, f.read, f.kept, f.duplicate, f.quarantined) == ("noaa", 8689, 8687, 2, 0)
    con = store.connect()
    # COG is the signed 12-bit field: -61.8 is 347.8 deg (CG SHRIKE heading 349 at 19 kn)
    row = con.execute(
        "SELECT cog_deg, heading_deg FROM positions WHERE mmsi = 366999618 "
        "AND ts = TIMESTAMPTZ '2020-06-30 00:00:00+00'"
    ).fetchall()
    assert row[0][0] == pytest.approx(347.8, abs=1e-3) and row[0][1] == 349.0
    assert con.execute("SELECT min(cog_deg), max(cog_deg) FROM positions").fetchall()[0][1] < 360
    # heading 511 (not available) becomes null; 3,606 rows carry it
    assert con.execute("SELECT count(*) FROM positions WHERE heading_deg IS NULL").fetchall()[0][0] == 3606
    names = con.execute(
        "SELECT name, imo, ship_type, length_m FROM vessels WHERE mmsi = 367000140 ORDER BY first_seen"
    ).fetchall()
    assert names == [("SAMUEL I NEWHOUSE", 7702774, 60, 94.0)]  # "IMO7702774" -> 7702774
    # 271 of the 295 MMSIs have some static field (independently: plain DuckDB over the raw columns)
    with_static = duckdb.sql(
        f"SELECT count(DISTINCT MMSI) FROM read_csv('{path}', all_varchar=true) WHERE VesselName IS NOT NULL "
        "OR IMO IS NOT NULL OR CallSign IS NOT NULL OR TRY_CAST(VesselType AS DOUBLE) BETWEEN 1 AND 99 "
        "OR TRY_CAST(Length AS DOUBLE) > 0 OR TRY_CAST(Width AS DOUBLE) > 0 OR TRY_CAST(Draft AS DOUBLE) > 0"
    ).fetchall()[0][0]
    assert with_static == 271
    assert con.execute("SELECT count(DISTINCT mmsi) FROM vessels").fetchall()[0][0] == 271


def _field(line: str, index: int, value: str) -> str:
    parts = line.split(",")
    parts[index] = value
    return ",".join(parts)


def test_bad_rows_are_quarantined_with_lines(shared_data: Path, tmp_path: Path) -> None:
    lines = data_file(shared_data, DMA).read_text().splitlines()
    bad = [
        *lines[:5],  # header + lines 2-5
        "garbage line here",  # line 6: too few columns
        lines[5] + ",extra,cols",  # line 7: too many columns
        *lines[6:10],  # lines 8-11
        _field(lines[10], 2, "abc"),  # line 12: MMSI does not parse
        _field(lines[11], 3, "97.5"),  # line 13: latitude out of range
        _field(lines[12], 4, "181"),  # line 14: lon 181 = not available
        _field(lines[13], 0, ""),  # line 15: no time
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(bad) + "\n")
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    assert (f.status, f.read, f.kept, f.duplicate, f.quarantined) == ("ingested", 14, 8, 0, 6)
    assert f.reasons == {
        "no_time": 1,
        "position_not_available": 1,
        "position_out_of_range": 1,
        "unparsable": 3,
    }
    q = store.read_table("quarantine").sort_by("line").to_pylist()
    assert [(r["line"], r["reason"]) for r in q] == [
        (6, "unparsable"),
        (7, "unparsable"),
        (12, "unparsable"),
        (13, "position_out_of_range"),
        (14, "position_not_available"),
        (15, "no_time"),
    ]
    assert q[0]["raw"] == "garbage line here" and q[1]["raw"] == bad[6]
    assert q[2]["detail"] == "CAST MMSI" and q[2]["raw"] == bad[11]
    assert [r["raw"] for r in q[3:]] == [ln.replace(",,", ",,") for ln in bad[12:]]


def test_mapped_csv_and_parquet(tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(
        "Ship;When;Y;X;Speed\n"
        "257000001;1700000000;60.1;5.2;10.5\n"
        "257000001;1700000060;60.2;5.3;102.3\n"  # SOG 102.3 = not available -> null
        "257000002;1700000000;91;181;0\n"  # position not available
    )
    store = Store.create(tmp_path / "s")
    mapping = parse_map("mmsi=Ship,ts=When,lat=Y,lon=X,sog_kn=Speed")
    (f,) = ingest(store, [csv_path], mapping=mapping, ts_format="epoch").files
    assert (f.format, f.read, f.kept, f.quarantined) == ("mapped", 3, 2, 1)
    rows = store.connect().execute("SELECT mmsi, epoch(ts), sog_kn FROM positions ORDER BY ts").fetchall()
    assert rows == [(257000001, 1700000000.0, 10.5), (257000001, 1700000060.0, None)]

    # canonical Parquet (the store's own column names) is recognised without a mapping
    table = pa.table(
        {
            "mmsi": [1, 2],
            "ts": pa.array([1_600_000_000_000_000, 1_600_000_001_000_000], pa.timestamp("us", tz="UTC")),
            "lat": [1.0, 2.0],
            "lon": [3.0, 4.0],
        }
    )
    pq.write_table(table, tmp_path / "canon.parquet")
    (g,) = ingest(store, [tmp_path / "canon.parquet"]).files
    assert (g.format, g.read, g.kept) == ("canonical", 2, 2)


def test_wrong_columns_and_bad_map(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    assert f.status == "error" and "--map" in (f.message or "") and f.exit_code == FormatError.exit_code
    (g,) = ingest(store, [path], mapping={"mmsi": "a", "ts": "b", "lat": "c", "lon": "nope"}).files
    assert g.status == "error" and "no column 'nope'" in (g.message or "")
    with pytest.raises(UsageError):
        parse_map("latitude=Y")
    assert _counts(store)["manifest"] == 0


def test_compressed_variants_same_counts(shared_data: Path, tmp_path: Path) -> None:
    import bz2
    import zipfile

    raw = data_file(shared_data, DMA).read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv.bz2").write_bytes(bz2.compress(raw))
    with zipfile.ZipFile(tmp_path / "in" / "b.zip", "w") as zf:
        zf.writestr("inner/ferry.csv", raw)
    (tmp_path / "in" / "renamed.dat").write_bytes(gzip.compress(raw))  # gzip detected from content
    (tmp_path / "in" / "README.md").write_text("not data")
    store = Store.create(tmp_path / "s")
    report = ingest(store, [tmp_path / "in"])
    by_name = {Path(f.path.split("!")[0]).name: f for f in report.files}
    assert by_name["README.md"].status == "skipped"
    # same content -> the bz2 one is stored, the others are exact duplicates of it
    a, b, c = by_name["a.csv.bz2"], by_name["b.zip"], by_name["renamed.dat"]
    assert (a.read, a.kept, a.duplicate) == (735, 734, 1)
    assert (b.read, b.kept, b.duplicate) == (735, 0, 735) and b.path.endswith("!inner/ferry.csv")
    assert (c.read, c.kept, c.duplicate) == (735, 0, 735)
    assert _counts(store)["positions"] == 734


def test_statics_only_table(tmp_path: Path) -> None:
    """A table of static reports without positions (e.g. the simulator's statics file) feeds the identity
    history: exact repeats are duplicates, consecutive equal reports form one run, a change starts another."""
    path = tmp_path / "statics.csv"
    path.write_text(
        "mmsi,ts,imo,name,draught_m,msg_type,source\n"
        "273000001,2023-08-01T00:00:00Z,9000001,OLD NAME,5.0,5,sim\n"
        "273000001,2023-08-01T00:00:00Z,9000001,OLD NAME,5.0,5,sim\n"  # exact repeat
        "273000001,2023-08-01T06:00:00Z,9000001,OLD NAME,5.0,5,sim\n"
        "273000001,2023-08-01T12:00:00Z,9000001,NEW NAME,9.5,5,sim\n"
        ",2023-08-01T12:00:00Z,9000001,NO MMSI,9.5,5,sim\n"
    )
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    assert (f.format, f.read, f.kept, f.duplicate, f.quarantined) == ("canonical", 5, 3, 1, 1)
    assert (f.positions, f.statics) == (0, 2) and f.reasons == {"bad_mmsi": 1}
    rows = (
        store.connect()
        .execute(
            "SELECT name, n_reports, epoch(first_seen), epoch(last_seen), last_draught_m FROM vessels ORDER BY first_seen"
        )
        .fetchall()
    )
    assert rows == [
        ("OLD NAME", 2, 1690848000.0, 1690869600.0, 5.0),
        ("NEW NAME", 1, 1690891200.0, 1690891200.0, 9.5),
    ]
    # the same reports again from another file are covered by the stored runs
    again = tmp_path / "again.csv"
    again.write_text(path.read_text().replace("sim\n", "sim2\n"))
    (g,) = ingest(store, [again]).files
    assert (g.kept, g.duplicate, g.quarantined, g.statics) == (0, 4, 1, 0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(
        st.sampled_from(
            ["ok", "ok", "ok", "dup", "short", "long", "bad_mmsi", "lat_91", "no_time", "blank_sog"]
        ),
        min_size=1,
        max_size=40,
    )
)
def test_every_line_is_accounted_for(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, kinds: list[str]
) -> None:
    """Random mixes of good, duplicated and broken rows: read = kept + duplicate + quarantined, and every
    quarantined row quotes exactly the line its number points at."""
    src = data_file(shared_data, DMA).read_text().splitlines()
    header, good = src[0], src[1:]
    lines = [header]
    for i, kind in enumerate(kinds):
        row = good[i % len(good)]
        lines.append(
            {
                "ok": row,
                "dup": good[(i - 1) % len(good)],  # the previous "ok" row again (a duplicate if it was ok)
                "short": "x,y",
                "long": row + ",extra",
                "bad_mmsi": _field(row, 2, "12ab"),
                "lat_91": _field(row, 3, "91"),
                "no_time": _field(row, 0, ""),
                "blank_sog": _field(row, 7, ""),
            }[kind]
        )
    tmp = tmp_path_factory.mktemp("prop")
    path = tmp / "mix.csv"
    path.write_text("\n".join(lines) + "\n")
    store = Store.create(tmp / "s")
    (f,) = ingest(store, [path]).files
    bad = {"short", "long", "bad_mmsi", "lat_91", "no_time"}
    if all(k in bad for k in kinds):  # nothing usable: the input is refused whole (exit 4), nothing stored
        assert (f.status, f.exit_code, f.read) == ("error", 4, 0)
        assert f"all {len(kinds)} records were quarantined" in (f.message or "")
        assert not store.manifest_ids()
        return
    assert f.read == len(kinds) == f.kept + f.duplicate + f.quarantined
    assert f.quarantined == sum(k in bad for k in kinds)
    for row in store.read_table("quarantine").to_pylist():
        assert row["raw"] == lines[row["line"] - 1], row
