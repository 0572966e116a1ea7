"""ISO 3166-1 country codes: the alpha-2 codes supplyline keeps (places, flags) to alpha-3 and short names.

Global Fishing Watch gives flags and PortWatch gives countries as alpha-3 (``RUS``, ``PRK``); the shipped
table (``data/iso3166.csv``, 249 codes, see its PROVENANCE) converts without a network or a dependency.

>>> alpha3("KP"), country_name("KP"), alpha3("XX")
('PRK', 'North Korea', None)
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import pyarrow as pa

ISO_FILE = "iso3166.csv"


@lru_cache(maxsize=1)
def _codes() -> dict[str, tuple[str, str]]:
    """alpha-2 -> (alpha-3, short English name), from the shipped table."""
    with resources.files("supplyline.data").joinpath(ISO_FILE).open(encoding="utf-8") as fh:
        return {r["alpha2"]: (r["alpha3"], r["name"]) for r in csv.DictReader(fh)}


def alpha3(code: str | None) -> str | None:
    """ISO 3166-1 alpha-3 of an alpha-2 code (any case); None when unknown or missing."""
    found = _codes().get((code or "").strip().upper())
    return found[0] if found else None


def country_name(code: str | None) -> str | None:
    """Short English name of an alpha-2 code ("RU" -> "Russian Federation"); None when unknown."""
    found = _codes().get((code or "").strip().upper())
    return found[1] if found else None


def alpha3_array(codes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`alpha3` over an Arrow string array (nulls and unknown codes give null)."""
    return pa.array([alpha3(c) for c in codes.to_pylist()], pa.string())
