"""Format detection from content, layouts and column maps (fast, no store)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from supplyline.errors import FormatError, UsageError
from supplyline.ingest import readers
from supplyline.ingest.csv_formats import CSV_FORMATS, parse_map, resolve
from supplyline.ingest.detect_format import detect
from tests.conftest import data_file


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("dma_ais_ferry_laesoe_2022/ferry.csv", "dma"),
        ("noaa_ais_nyharbor_2020/NYHarbor_2020_06_30_first_hour.csv", "noaa"),
        ("noaa_ais_nyharbor_2020/nyharbor_2020-12-01_to_07_points.csv.gz", "points"),
        ("dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz", "nmea"),
        ("dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt", "nmea"),
        ("dma_ais_raw_nmea/aisabnormal_event_219165000_ssc_1.ais", "nmea"),
    ],
)
def test_detect_real_files(shared_data: Path, rel: str, fmt: str) -> None:
    (inp,) = readers.expand([data_file(shared_data, rel)])
    assert detect(readers.head(inp), inp.name) == fmt


def test_detect_edge_cases() -> None:
    prefixed = b"2020-01-01T00:00:00Z !AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*23\n" * 3
    assert detect(prefixed) == "nmea"
    assert detect(b"PAR1....") == "parquet"
    assert detect(b"mmsi,ts,lat,lon\n1,2020-01-01,1,2\n") == "canonical"
    with pytest.raises(FormatError, match="binary"):
        detect(bytes(range(256)))
    with pytest.raises(FormatError, match="empty"):
        detect(b"  \n")
    with pytest.raises(FormatError, match="--map"):
        detect(b"a;b;c\n1;2;3\n")
    with pytest.raises(FormatError, match="tracktable"):
        detect(
            b"*T*,b6dfc4cd,terrestrial,14,0,*P*,terrestrial,2,1,1,0,367073680,2020-12-01 11:31:39,-74.0,40.7\n"
        )


def test_map_and_resolve() -> None:
    assert parse_map("lat=Y, lon=X,mmsi=Ship") == {"lat": "Y", "lon": "X", "mmsi": "Ship"}
    with pytest.raises(UsageError):
        parse_map("lat")
    noaa = resolve("noaa", ["BaseDateTime", "LAT", "LON", "MMSI", "SOG"])  # a NOAA file without statics
    assert set(noaa.columns) == {"ts", "lat", "lon", "mmsi", "sog_kn"} and noaa.cog_signed12
    mapped = resolve("mapped", ["Ship", "When", "Y", "X"], parse_map("mmsi=ship,ts=WHEN,lat=y,lon=x"))
    assert mapped.columns == {"mmsi": "Ship", "ts": "When", "lat": "Y", "lon": "X"}  # case-insensitive
    with pytest.raises(FormatError, match="no column for lon"):
        resolve("mapped", ["Ship", "When", "Y"], parse_map("mmsi=Ship,ts=When,lat=Y"))
    assert set(CSV_FORMATS) == {"noaa", "dma", "points", "canonical"}


def test_truncated_gzip_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"line one\nline two\r\nline three")[:-10])
    (inp,) = readers.expand([path])
    with pytest.raises(Exception, match="truncated or corrupt"):
        list(readers.iter_blocks(inp))
    ok = tmp_path / "y.txt"
    ok.write_bytes(b"line one\nline two\r\nline three")
    (inp,) = readers.expand([ok])
    assert readers.fetch_lines(inp, [2, 3, 9]) == {2: "line two", 3: "line three"}
    with pytest.raises(UsageError, match="no such file"):
        readers.expand([tmp_path / "missing*.csv"])
