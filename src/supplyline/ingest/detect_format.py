"""Guess an input's format from its first bytes (never from its name), so renamed files still work.

Formats: ``nmea`` (raw AIVDM/AIVDO, with or without tag blocks / $PGHP), ``parquet``, and the CSV layouts
of :mod:`supplyline.ingest.csv_formats` (``noaa``, ``dma``, ``points``, ``canonical``; ``mapped`` when the
user passes ``--map``).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from supplyline.errors import FormatError
from supplyline.ingest.csv_formats import CSV_FORMATS, match_header

# A line that is (or introduces) an AIS sentence: a !xxVDM / !xxVDO sentence anywhere (receivers may prefix
# a timestamp), a tag block line, or a $PGHP header.
_NMEA_LINE = re.compile(rb"![A-Z]{2}VD[MO],|^\s*\\|^\s*\$PGHP,")


def detect(sample: bytes, name: str = "input") -> str:
    """The format of an input from its first (decompressed) bytes; :class:`FormatError` if unknown."""
    if sample.startswith(b"PAR1"):
        return "parquet"
    if not sample.strip():
        raise FormatError(f"{name} is empty; nothing to ingest")
    if binary(sample):
        raise FormatError(
            f"{name} looks like binary data, not AIS NMEA, CSV or Parquet; check the file "
            "(or pass --format if it is a supported format)"
        )
    lines = [ln for ln in sample.splitlines()[:200] if ln.strip()]
    # the last line of the sample may be cut in the middle; judge on complete lines
    complete = lines[:-1] if len(lines) > 1 else lines
    nmea = sum(1 for ln in complete if _NMEA_LINE.search(ln))
    if complete and nmea >= max(1, len(complete) // 2):
        return "nmea"
    if sample.startswith(b"*T*,"):
        raise FormatError(
            f"{name} is tracktable's .traj trajectory format, which is not read directly; convert it to flat "
            "points (traj_id,mmsi,timestamp,lon,lat - the 'points' layout) and ingest that"
        )
    header = csv_header(sample)
    if header is None:
        raise FormatError(
            f"{name} is neither AIS NMEA nor a CSV with a header row; pass --format and --map to say how to read it"
        )
    fmt = match_header(header)
    if fmt is None:
        raise FormatError(
            f"{name}: CSV columns {header[:12]} match no known layout "
            f"({', '.join(sorted(CSV_FORMATS))}); map them with --map, e.g. "
            "--map mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude"
        )
    return fmt


BINARY_FRACTION = 0.05  # share of bad bytes in the first 64 KiB above which an input is binary, not text
_BAD_BYTES = np.zeros(256, np.bool_)
_BAD_BYTES[[b for b in range(32) if b not in (9, 10, 12, 13)] + [127]] = True  # NUL, other C0 controls, DEL


def binary(sample: bytes) -> bool:
    """True when more than :data:`BINARY_FRACTION` of ``sample`` are control bytes (NUL and other C0 codes
    except tab, LF, FF, CR; DEL). Text with a few bad bytes (a NUL in one line of a log) is read, and
    those lines are quarantined (``nul_byte``); a real binary file has far more (compressed data ~12 %)."""
    head = np.frombuffer(sample, np.uint8)
    return bool(head.size) and float(_BAD_BYTES[head].mean()) > BINARY_FRACTION


def csv_header(sample: bytes) -> list[str] | None:
    """The header row of a CSV sample (delimiter sniffed), or None if it does not look like CSV."""
    dialect = csv_dialect(sample)
    return dialect[0] if dialect else None


def csv_dialect(sample: bytes) -> tuple[list[str], str] | None:
    """(header row, delimiter) of a CSV sample (delimiter sniffed among ``, ; tab |``), or None if it does
    not look like CSV."""
    try:
        text = sample.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = sample.decode("latin-1")
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first:
        return None
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    row = next(csv.reader(io.StringIO(first), delimiter=delim))
    if len(row) < 2:
        return None
    return [c.strip() for c in row], delim
