"""The one text spelling of a time in every export and ``--json`` output: ISO 8601 UTC, ``YYYY-MM-DDTHH:MM:SSZ``.

Sub-second parts are dropped (AIS times are whole seconds); naive datetimes are taken as UTC, as the store
holds UTC only.

>>> import datetime as dt
>>> iso_utc(dt.datetime(2024, 1, 23, 5, 6, 7, 900, tzinfo=dt.UTC))
'2024-01-23T05:06:07Z'
>>> iso_utc(dt.date(2024, 1, 23))
'2024-01-23'
>>> iso_utc_us(1_706_000_000_000_000)
'2024-01-23T08:53:20Z'
"""

from __future__ import annotations

import datetime as dt

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
"""strftime pattern of the spelling (DuckDB's ``strftime`` accepts the same)."""


def iso_utc(value: dt.datetime | dt.date) -> str:
    """A datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC); a date as ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return utc.strftime(ISO_Z)
    return value.isoformat()


def iso_utc_us(us: int) -> str:
    """Microseconds since the Unix epoch as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return iso_utc(dt.datetime.fromtimestamp(us / 1e6, dt.UTC))


def json_default(value: object) -> object:
    """``json.dumps(default=...)`` hook: times in the one spelling, anything else as its ``str``."""
    if isinstance(value, dt.datetime | dt.date):
        return iso_utc(value)
    return str(value)
