"""Script-injection payloads written into a store the way data would bring them (AIS names, claims, places,
alerts), for the tests that check the workbench shows them as text and never runs them."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from supplyline import schema
from supplyline.store import Store

HOSTILE_MMSI = 445000666
NAME = '<img src=x onerror="window.__pwned=1">LADY X'
QUOTE = "<script>window.__pwned=3</script> 500 containers"
BAD_URLS = (
    "javascript:window.__pwned=2",
    " JaVaScRiPt:window.__pwned=4",
    "data:text/html,<script>alert(1)</script>",
)
GOOD_URL = "https://example.org/safe"
PLACE_NAME = '"><svg onload="window.__pwned=5">'
T = dt.datetime(2024, 1, 22, tzinfo=dt.UTC)


def add_hostile_rows(store: Store) -> None:
    """A vessel with a hostile name, claims with hostile quotes and URLs, a place and an alert likewise."""
    statics = pa.Table.from_pylist(
        [
            {
                "mmsi": HOSTILE_MMSI,
                "ts": T,
                "imo": 9000666,
                "name": NAME,
                "callsign": "<b>X</b>",
                "ship_type": 70,
            }
        ],
        schema=schema.STATICS,
    )
    claims = pa.Table.from_pylist(
        [
            {
                "claim_id": f"h{i}",
                "claimant": NAME,
                "outlet": "<i>outlet</i>",
                "published": dt.date(2024, 2, 1),
                "quantity": 500.0,
                "unit": "containers",
                "quote": QUOTE,
                "url": url,
            }
            for i, url in enumerate([*BAD_URLS, GOOD_URL])
        ],
        schema=schema.CLAIMS,
    )
    place = pa.Table.from_pylist(
        [
            {
                "place_id": "case:hostile",
                "name": PLACE_NAME,
                "kind": "port",
                "lat": 42.6,
                "lon": 131.0,
                "r_in_m": 1000.0,
                "r_out_m": 1500.0,
                "watched": True,
                "source": "javascript:window.__pwned=6",
            }
        ],
        schema=schema.PLACES,
    )
    alert = pa.Table.from_pylist(
        [
            {
                "alert_id": "h-alert",
                "kind": "sanctioned",
                "ts": T,
                "mmsi": HOSTILE_MMSI,
                "message": f"{NAME} matches <b>list</b>",
                "details": '{"match": "<img src=x onerror=alert(1)>"}',
            }
        ],
        schema=schema.ALERTS,
    )
    with store.transaction() as txn:
        txn.put("statics/day=2024-01-22/part-hostile.parquet", statics)
        txn.put_part("claims", "hostile", claims)
        txn.put_part("places", "hostile", place)
        txn.put_part("alerts", "hostile", alert)
