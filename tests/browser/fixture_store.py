"""A hand-built store for the report and export tests, so they do not depend on ingest/detect/estimate.

Three vessels shuttle near Rajin / Vostochny every 10 minutes for 20 days (positions built with
``np.interp`` between waypoints), with event tables whose row counts the tests assert:

    places 4 stored, 3 shown (2 watched) | visits 6 | voyages 3 (all on route "rajin-vostochny") | gaps 2 | encounters 1
    alerts 2 (one "halt", one "new_vessel") | claims 2 | observations 1 | estimates 1 | claim_tests 2

Vessel A (MMSI 445000001) is silent for 8 h mid-voyage and 8 h at Vostochny, so its track has three drawn
pieces; the manifest marks the input synthetic.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.store import Store

T0 = dt.datetime(2024, 1, 20, tzinfo=dt.UTC)
STEP_S = 600
DAYS = 20
RAJIN = (42.245, 130.300)
VOSTOCHNY = (42.735, 133.070)
VLADIVOSTOK = (43.105, 131.880)
SEA = (42.50, 131.60)
MMSI_A, MMSI_B, MMSI_C = 445000001, 445000002, 273000003
ROUTE = "rajin-vostochny"
INPUT_ID = "fixture0synthetic"

# Known answers the tests assert.
N_PLACES, N_VISITS, N_VOYAGES, N_GAPS, N_ENCOUNTERS, N_ALERTS, N_CLAIMS = 3, 6, 3, 2, 1, 2, 2
N_PLACES_STORE = 4  # Nakhodka is neither watched nor visited, so the report and map layers leave it out
N_VESSELS = 3
A_GAPS_H = ((84, 92), (120, 128))  # vessel A silences (hours from T0)


def _ts(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _track(mmsi: int, waypoints: list[tuple[float, tuple[float, float]]], silent_h=()) -> pa.Table:
    """Positions every STEP_S seconds, linearly between (hour, (lat, lon)) waypoints, minus silences."""
    t_s = np.arange(0, DAYS * 86400, STEP_S, dtype=np.int64)
    wh = np.array([w[0] for w in waypoints]) * 3600
    lat = np.interp(t_s, wh, [w[1][0] for w in waypoints])
    lon = np.interp(t_s, wh, [w[1][1] for w in waypoints])
    keep = np.ones(len(t_s), dtype=bool)
    for a, b in silent_h:
        keep &= ~((t_s > a * 3600) & (t_s < b * 3600))
    t_s, lat, lon = t_s[keep], lat[keep], lon[keep]
    n = len(t_s)
    ts = pa.array((int(T0.timestamp()) + t_s) * 1_000_000, pa.int64()).cast(schema.TS)
    return pa.table(
        {
            "mmsi": pa.array(np.full(n, mmsi), pa.int64()),
            "ts": ts,
            "lat": lat,
            "lon": lon,
            "sog_kn": pa.array(np.full(n, 8.0, np.float32)),
            "cog_deg": pa.array(np.zeros(n, np.float32)),
            "heading_deg": pa.nulls(n, pa.float32()),
            "nav_status": pa.nulls(n, pa.int8()),
            "msg_type": pa.array(np.ones(n, np.int8)),
            "source": pa.array(["fixture"] * n),
            "input_id": pa.array([INPUT_ID] * n),
        },
        schema=schema.POSITIONS,
    )


def positions() -> pa.Table:
    """The three vessels' positions, sorted by (mmsi, ts)."""
    a = _track(
        MMSI_A,
        [(0, RAJIN), (72, RAJIN), (96, VOSTOCHNY), (168, VOSTOCHNY), (192, RAJIN), (480, RAJIN)],
        silent_h=A_GAPS_H,
    )
    b = _track(MMSI_B, [(0, VOSTOCHNY), (120, VOSTOCHNY), (150, RAJIN), (480, RAJIN)])
    c = _track(MMSI_C, [(0, VLADIVOSTOK), (100, SEA), (130, SEA), (240, VLADIVOSTOK), (480, VLADIVOSTOK)])
    return pa.concat_tables([a, b, c])


def _table(sch: pa.Schema, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=sch)


def build_fixture_store(root: Path, synthetic: bool = True) -> Store:
    """Create the fixture store at ``root`` (a new folder) and return it."""
    store = Store.create(root)
    pos = positions()
    manifest = _table(
        schema.MANIFEST,
        [
            {
                "input_id": INPUT_ID,
                "sha256": "0" * 64,
                "path": "fixture-synthetic.nmea" if synthetic else "fixture.nmea",
                "format": "nmea",
                "bytes": 1,
                "read": pos.num_rows,
                "kept": pos.num_rows,
                "duplicate": 0,
                "quarantined": 0,
                "positions": pos.num_rows,
                "statics": 3,
                "synthetic": synthetic,
                "ingested_at": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
            }
        ],
    )
    statics = _table(
        schema.STATICS,
        [
            {"mmsi": MMSI_A, "ts": T0, "imo": 9000001, "name": "ANGARA", "ship_type": 70},
            {"mmsi": MMSI_B, "ts": T0, "imo": 9000002, "name": "LADY R", "ship_type": 70},
            {"mmsi": MMSI_C, "ts": T0, "imo": 9000003, "name": "MARIA", "ship_type": 70},
        ],
    )
    with store.transaction() as txn:
        txn.put(f"positions/day=2024-01-20/part-{INPUT_ID}.parquet", pos)
        txn.put(f"statics/day=2024-01-20/part-{INPUT_ID}.parquet", statics)
        txn.put(f"manifest/{INPUT_ID}.parquet", manifest)

    def place(pid: str, name: str, ll: tuple[float, float], watched: bool) -> dict:
        return {
            "place_id": pid,
            "name": name,
            "kind": "port",
            "country": None,
            "locode": None,
            "lat": ll[0],
            "lon": ll[1],
            "r_in_m": 3000.0,
            "r_out_m": 4000.0,
            "watched": watched,
            "source": "case",
        }

    store.write_table(
        "places",
        _table(
            schema.PLACES,
            [
                place("case:rajin", "Rajin", RAJIN, True),
                place("case:vostochny", "Vostochny", VOSTOCHNY, True),
                place("wpi:vladivostok", "Vladivostok", VLADIVOSTOK, False),
                place("wpi:nakhodka", "Nakhodka", (42.81, 132.88), False),
            ],
        ),
    )

    def visit(i: int, mmsi: int, pid: str, name: str, a: float, d: float) -> dict:
        return {
            "visit_id": f"v{i}",
            "mmsi": mmsi,
            "place_id": pid,
            "place_name": name,
            "arrival_ts": _ts(a),
            "departure_ts": _ts(d),
            "dwell_h": d - a,
            "stopped_h": d - a,
            "n_positions": int((d - a) * 6),
            "max_gap_h": 0.2,
            "confidence": 0.9,
            "open": False,
        }

    store.write_table(
        "visits",
        _table(
            schema.VISITS,
            [
                visit(1, MMSI_A, "case:rajin", "Rajin", 0, 72),
                visit(2, MMSI_A, "case:vostochny", "Vostochny", 96, 168),
                visit(3, MMSI_A, "case:rajin", "Rajin", 192, 480),
                visit(4, MMSI_B, "case:vostochny", "Vostochny", 0, 120),
                visit(5, MMSI_B, "case:rajin", "Rajin", 150, 480),
                visit(6, MMSI_C, "wpi:vladivostok", "Vladivostok", 0, 100),
            ],
        ),
    )

    def voyage(i: int, mmsi: int, o: str, d: str, dep: float, arr: float) -> dict:
        return {
            "voyage_id": f"y{i}",
            "mmsi": mmsi,
            "origin_id": f"case:{o.lower()}",
            "origin_name": o,
            "destination_id": f"case:{d.lower()}",
            "destination_name": d,
            "departure_ts": _ts(dep),
            "arrival_ts": _ts(arr),
            "duration_h": arr - dep,
            "dist_km": 240.0,
            "max_gap_h": 8.0,
            "draught_departure_m": 7.5,
            "draught_arrival_m": 7.4,
            "draught_change_m": -0.1,
            "route": ROUTE,
        }

    store.write_table(
        "voyages",
        _table(
            schema.VOYAGES,
            [
                voyage(1, MMSI_A, "Rajin", "Vostochny", 72, 96),
                voyage(2, MMSI_A, "Vostochny", "Rajin", 168, 192),
                voyage(3, MMSI_B, "Vostochny", "Rajin", 120, 150),
            ],
        ),
    )
    lat_a = np.interp(
        [a * 3600 for a, _ in A_GAPS_H] + [b * 3600 for _, b in A_GAPS_H],
        [72 * 3600, 96 * 3600],
        [RAJIN[0], VOSTOCHNY[0]],
    )
    lon_a = np.interp(
        [a * 3600 for a, _ in A_GAPS_H] + [b * 3600 for _, b in A_GAPS_H],
        [72 * 3600, 96 * 3600],
        [RAJIN[1], VOSTOCHNY[1]],
    )
    gaps = []
    for i, (a, b) in enumerate(A_GAPS_H):
        gaps.append(
            {
                "gap_id": f"g{i}",
                "mmsi": MMSI_A,
                "start_ts": _ts(a),
                "end_ts": _ts(b),
                "duration_h": b - a,
                "start_lat": float(lat_a[i]),
                "start_lon": float(lon_a[i]),
                "end_lat": float(lat_a[i + 2]),
                "end_lon": float(lon_a[i + 2]),
                "dist_km": 60.0,
                "implied_speed_kn": 4.0,
                "near_start_place": None,
                "near_end_place": "case:vostochny" if i else None,
                "others_received": 12,
                "likely": "disabled",
            }
        )
    store.write_table("gaps", _table(schema.GAPS, gaps))
    store.write_table(
        "encounters",
        _table(
            schema.ENCOUNTERS,
            [
                {
                    "encounter_id": "e1",
                    "mmsi_a": MMSI_A,
                    "mmsi_b": MMSI_C,
                    "start_ts": _ts(100),
                    "end_ts": _ts(104),
                    "duration_h": 4.0,
                    "median_dist_km": 0.3,
                    "median_speed_kn": 1.0,
                    "lat": SEA[0],
                    "lon": SEA[1],
                }
            ],
        ),
    )
    store.write_table(
        "alerts",
        _table(
            schema.ALERTS,
            [
                {
                    "alert_id": "a1",
                    "kind": "halt",
                    "ts": _ts(300),
                    "route": ROUTE,
                    "probability": 0.004,
                    "message": "no departure on rajin-vostochny for 108 h (p=0.004)",
                    "details": json.dumps({"silence_start": _ts(192).isoformat()}),
                },
                {
                    "alert_id": "a2",
                    "kind": "new_vessel",
                    "ts": _ts(120),
                    "mmsi": MMSI_B,
                    "route": ROUTE,
                    "message": "LADY R first seen on rajin-vostochny",
                    "details": "{}",
                },
            ],
        ),
    )
    store.write_table(
        "claims",
        _table(
            schema.CLAIMS,
            [
                {
                    "claim_id": "c1",
                    "claimant": "US NSC",
                    "outlet": "White House briefing",
                    "published": dt.date(2024, 2, 26),
                    "period_start": dt.date(2023, 9, 1),
                    "period_end": dt.date(2024, 2, 1),
                    "quantity": 10000.0,
                    "unit": "containers",
                    "qualifier": "at_least",
                    "subject": "munitions",
                    "quote": "more than 10,000 containers </script>",
                    "url": "https://example.org/claim-1",
                },
                {
                    "claim_id": "c2",
                    "claimant": "South Korea MND",
                    "outlet": "Yonhap",
                    "published": dt.date(2024, 2, 27),
                    "period_start": dt.date(2024, 1, 20),
                    "period_end": dt.date(2024, 2, 8),
                    "quantity": 900.0,
                    "unit": "containers",
                    "qualifier": "about",
                    "subject": "munitions",
                    "quote": "about 900 containers",
                    "url": "https://example.org/claim-2",
                },
            ],
        ),
    )
    store.write_table(
        "observations",
        _table(
            schema.OBSERVATIONS,
            [
                {
                    "obs_id": "o1",
                    "date": dt.date(2024, 1, 25),
                    "place_id": "case:rajin",
                    "kind": "imagery",
                    "quantity": 300.0,
                    "unit": "containers",
                    "description": "containers stacked on the quay",
                    "source": "Maxar via CSIS",
                    "url": "https://example.org/obs-1",
                }
            ],
        ),
    )
    inputs = {
        "voyages": ["y1", "y2", "y3"],
        "observations": ["o1"],
        "parameters": {"containers_per_trip": {"low": 200, "high": 400, "source": "case priors"}},
    }
    store.write_table(
        "estimates",
        _table(
            schema.ESTIMATES,
            [
                {
                    "estimate_id": "s1",
                    "route": ROUTE,
                    "period_start": dt.date(2024, 1, 20),
                    "period_end": dt.date(2024, 2, 8),
                    "unit": "containers",
                    "p05": 600.0,
                    "p50": 900.0,
                    "p95": 1200.0,
                    "method": "monte-carlo",
                    "inputs": json.dumps(inputs),
                }
            ],
        ),
    )
    test = {
        "unit": "containers",
        "estimate_unit": "containers",
        "est_p05": 600.0,
        "est_p50": 900.0,
        "est_p95": 1200.0,
        "coverage": 1.0,
    }
    store.write_table(
        "claim_tests",
        _table(
            schema.CLAIM_TESTS,
            [
                # "at least 10,000": an open interval, stored with an infinite upper bound
                {
                    **test,
                    "claim_id": "c1",
                    "claimant": "US NSC",
                    "claim_low": 10000.0,
                    "claim_high": float("inf"),
                    "claim_value": 10000.0,
                    "verdict": "higher",
                    "ratio": 11.1,
                },
                {
                    **test,
                    "claim_id": "c2",
                    "claimant": "South Korea MND",
                    "claim_low": 810.0,
                    "claim_high": 990.0,
                    "claim_value": 900.0,
                    "verdict": "consistent",
                    "ratio": 1.0,
                },
            ],
        ),
    )
    return store
