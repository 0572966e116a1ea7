"""NMEA through the pipeline: accounting, de-duplication and chunking on the real DMA logs.

The expected counts are computed here from the decoder's own output with plain pyarrow (an independent
re-statement of the normaliser's rules), so the test checks the pipeline, not the decoder.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from supplyline.ingest.nmea import decode_nmea
from supplyline.ingest.pipeline import ingest, message_boundary
from supplyline.store import Store
from tests.conftest import data_file

SAMPLE = "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz"
DRIFT = "dma_ais_raw_nmea/aisabnormal_event_538004030_drift_1.ais"
STREAM = "dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt"
KEY = ["mmsi", "ts", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "msg_type"]


def _expected(path: Path) -> dict[str, int]:
    """Counts the pipeline must produce, from the decoder output and the normaliser's documented rules."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    res = decode_nmea(data, file=str(path), input_id="x")
    p = res.positions
    lat, lon, mmsi = p["lat"], p["lon"], p["mmsi"]
    ok = pc.and_(
        pc.and_(pc.is_valid(p["ts"]), pc.and_(pc.greater_equal(mmsi, 1), pc.less_equal(mmsi, 999_999_999))),
        pc.and_(
            pc.and_(pc.not_equal(lat, 91), pc.not_equal(lon, 181)),
            pc.and_(pc.less_equal(pc.abs(lat), 90), pc.less_equal(pc.abs(lon), 180)),
        ),
    )
    good = p.filter(ok)

    def na(col: str, lo: float, hi: float) -> pa.Array:
        v = good[col]
        return pc.if_else(pc.and_(pc.greater_equal(v, lo), pc.less(v, hi)), v, pa.scalar(None, v.type))

    good = good.set_column(good.schema.get_field_index("sog_kn"), "sog_kn", na("sog_kn", 0, 102.25))
    good = good.set_column(good.schema.get_field_index("cog_deg"), "cog_deg", na("cog_deg", 0, 360))
    good = good.set_column(
        good.schema.get_field_index("heading_deg"), "heading_deg", na("heading_deg", 0, 360)
    )
    groups = good.group_by(KEY, use_threads=False).aggregate([("_lines", "sum"), ("_lines", "max")])
    bad_pos_lines = int(pc.sum(p.filter(pc.invert(ok))["_lines"]).as_py() or 0)
    s = res.statics
    s_ok = pc.and_(
        pc.is_valid(s["ts"]), pc.and_(pc.greater_equal(s["mmsi"], 1), pc.less_equal(s["mmsi"], 999_999_999))
    )
    return {
        "read": res.lines_read,
        "positions": groups.num_rows,
        "position_dup_lines": int(pc.sum(groups["_lines_sum"]).as_py() or 0)
        - int(pc.sum(groups["_lines_max"]).as_py() or 0),
        "quarantined": res.quarantine.num_rows
        + bad_pos_lines
        + int(pc.sum(s.filter(pc.invert(s_ok))["_lines"]).as_py() or 0),
    }


@pytest.mark.parametrize("rel", [SAMPLE, DRIFT, STREAM])
def test_nmea_counts_match_decoder(shared_data: Path, tmp_path: Path, rel: str) -> None:
    path = data_file(shared_data, rel)
    want = _expected(path)
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [path]).files
    assert f.status == "ingested" and f.format == "nmea"
    assert f.read == want["read"] == f.kept + f.duplicate + f.quarantined
    assert f.positions == want["positions"]
    assert f.quarantined == want["quarantined"]
    assert f.duplicate >= want["position_dup_lines"]  # plus repeated static reports
    con = store.connect()
    assert con.execute("SELECT count(*) FROM positions").fetchall()[0][0] == want["positions"]
    assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] <= f.quarantined


def test_known_figures_five_minutes_of_denmark(shared_data: Path, tmp_path: Path) -> None:
    """Hard-coded figures for the 5-minute DMA sample (verified with _expected above)."""
    store = Store.create(tmp_path / "s")
    (f,) = ingest(store, [data_file(shared_data, SAMPLE)]).files
    assert (f.read, f.kept, f.duplicate, f.quarantined) == (27119, 24887, 0, 2232)
    assert (f.positions, f.statics) == (24688, 130)
    assert f.reasons == {"unsupported_type": 2232}
    info = (
        store.connect().execute("SELECT count(DISTINCT mmsi), min(ts), max(ts) FROM positions").fetchall()[0]
    )
    assert info[1].isoformat().startswith("2013-11-12T12:00") and info[2].isoformat().startswith(
        "2013-11-12T12:0"
    )


def test_chunked_equals_whole(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, DRIFT)
    whole = Store.create(tmp_path / "a")
    (fa,) = ingest(whole, [path]).files
    pieces = Store.create(tmp_path / "b")
    (fb,) = ingest(pieces, [path], chunk_bytes=20_000).files  # ~20 decoder calls
    assert len(list((pieces.root / "positions").rglob("*.parquet"))) > 5
    for k in ("read", "kept", "duplicate", "quarantined", "positions", "reasons"):
        assert getattr(fa, k) == getattr(fb, k), k
    cols = ", ".join(KEY)
    q = f"SELECT {cols} FROM positions ORDER BY {cols}"
    assert whole.connect().sql(q).to_arrow_table().equals(pieces.connect().sql(q).to_arrow_table())
    # quarantined lines keep their line numbers in the whole file, whatever the chunking
    q = "SELECT line, reason, raw FROM quarantine ORDER BY line, reason"
    assert whole.connect().sql(q).fetchall() == pieces.connect().sql(q).fetchall()


def test_message_boundary_keeps_messages_whole() -> None:
    lines = [
        b"\\si:AISD*3F\\",
        b"$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C",
        b"!AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B",
        b"\\g:1-2-1,s:x*00\\!AIVDM,2,1,3,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
        b"\\g:2-2-1*00\\!AIVDM,2,2,3,A,88888888880,2*25",
        b"\\si:AISD*3F\\",
        b"$PGHP,1,2014,10,2,16,30,4,137,219,,2190077,1,62*16",
        b"!AIVDM,2,1,4,B,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
    ]
    buf = b"\n".join(lines) + b"\n"
    cut = message_boundary(buf)
    # the last complete message is the two-part one ending on line 5; the trailing header lines and the
    # unfinished multipart stay for the next chunk
    assert buf[:cut].splitlines() == lines[:5]
    assert message_boundary(b"no newline at all") == 0
    counts = np.array([len(x) for x in buf[cut:].splitlines()])
    assert counts.size == 3


def test_normaliser_rejects_quote_their_line(shared_data: Path, tmp_path: Path) -> None:
    """Messages the normaliser rejects (lat 91, MMSI 0) carry the line they start on and its exact text."""
    path = data_file(shared_data, STREAM)
    lines = path.read_bytes().decode().splitlines()
    store = Store.create(tmp_path / "s")
    ingest(store, [path], chunk_bytes=50_000)  # several chunks: line numbers stay whole-file
    q = store.read_table("quarantine").to_pylist()
    mine = [r for r in q if r["reason"] in ("position_not_available", "bad_mmsi")]
    assert len(mine) == 24  # 22 messages with lat 91 / lon 181, 2 with MMSI 0 (one of them two lines)
    for r in q:
        assert r["line"] is not None and r["raw"] == lines[r["line"] - 1], r


def test_repeat_across_chunks_is_one_final_pass(shared_data: Path, tmp_path: Path) -> None:
    """A one-day log followed by itself: the second copy is all duplicates, whatever the chunking.

    Chunks are not checked against each other as they come (that is quadratic); one pass per day at the end
    removes rows an earlier chunk holds, weighed in input lines (two-line messages count 2).
    """
    text = data_file(shared_data, STREAM).read_bytes()
    twice = tmp_path / "twice.txt"
    twice.write_bytes(text + (b"" if text.endswith(b"\n") else b"\n") + text)
    (once,) = ingest(Store.create(tmp_path / "once"), [data_file(shared_data, STREAM)]).files
    for chunk_bytes in (1 << 26, 60_000):  # one chunk; ~15 chunks, the copy starting mid-file
        store = Store.create(tmp_path / f"s{chunk_bytes}")
        (f,) = ingest(store, [twice], chunk_bytes=chunk_bytes).files
        assert f.read == 2 * once.read
        assert f.positions == once.positions and f.kept == once.kept
        assert f.duplicate == once.kept + 2 * once.duplicate
        assert f.quarantined == 2 * once.quarantined
        cols = ", ".join(KEY)
        rows = store.connect().sql(f"SELECT count(*), count(DISTINCT ({cols})) FROM positions").fetchall()
        assert rows == [(once.positions, once.positions)]


@pytest.mark.parametrize("repeated", [0, 5, 400])
def test_store_order_puts_repeats_together(repeated: int) -> None:
    """Rows in (day, mmsi, ts) order, exact repeats adjacent with the first line first, rejected rows last,
    whether ties are few (sorted apart) or many (one sort of all rows); checked against a plain sort."""
    from supplyline.ingest.pipeline import _store_order

    rng = np.random.default_rng(7)
    n = 1000
    base = np.datetime64("2024-02-12T23:00:00", "us").astype(np.int64)
    us = base + rng.integers(0, 7_200, n) * 1_000_000  # two hours across midnight, many equal seconds
    cols = {
        "mmsi": rng.integers(1, 4, n) * 100_000_000,
        "ts": us,
        "lat": rng.integers(0, 3, n) / 10.0,
        "lon": np.zeros(n),
        "sog_kn": np.where(rng.random(n) < 0.3, np.nan, 1.0),
        "cog_deg": np.ones(n),
        "heading_deg": np.ones(n),
        "nav_status": np.zeros(n),
        "msg_type": np.ones(n),
    }
    # some rows get a twin (same vessel and time, another position: a tie that is no repeat) and, later in
    # the file, an exact copy, which must still end up next to its original
    pick = rng.choice(n, repeated, replace=False)
    for k in cols:
        twin = cols[k][pick] + (5.0 if k == "lat" else 0)
        cols[k] = np.r_[cols[k], twin, cols[k][pick]]
    m = n + 2 * repeated
    reason = np.where(rng.random(m) < 0.05, "bad_mmsi", None)
    table = pa.table(
        {
            **{k: pa.array(v, from_pandas=True) for k, v in cols.items() if k != "ts"},
            "ts": pa.array(cols["ts"], pa.timestamp("us", tz="UTC")),
            "reason": pa.array(reason, pa.string()),
            "_line": pa.array(np.arange(m) + 1),
        }
    )
    order = _store_order(table)
    assert sorted(order.tolist()) == list(range(m))
    rows = table.take(pa.array(order)).to_pylist()
    kept = [r for r in rows if r["reason"] is None]
    assert rows[: len(kept)] == kept  # rejected rows last
    sort_key = [(r["ts"].date(), r["mmsi"], r["ts"]) for r in kept]
    assert sort_key == sorted(sort_key)
    # exact repeats sit next to each other, in line order
    seen: dict[tuple[object, ...], int] = {}
    for i, r in enumerate(kept):
        key = tuple(r[k] for k in KEY)
        if key in seen:
            assert seen[key] == i - 1 and kept[i - 1]["_line"] < r["_line"]
        seen[key] = i
