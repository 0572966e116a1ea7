"""The vectorised NMEA decoder agrees with pyais (an independent per-message decoder) on every position and
static message of every real AIS log in ../shared/data, field by field, and keeps its line accounting."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from supplyline.ingest.nmea import NmeaResult, decode_nmea, decode_payloads

pyais = pytest.importorskip("pyais")
from pyais.stream import IterMessages  # noqa: E402

FILES = [
    "dma_ais_raw_nmea/aisabnormal_ais-sample_2013-11-12.txt.gz",
    "dma_ais_raw_nmea/aisabnormal_event_212123000_drift_1.ais",
    "dma_ais_raw_nmea/aisabnormal_event_219165000_ssc_1.ais",
    "dma_ais_raw_nmea/aisabnormal_event_538004030_drift_1.ais",
    "dma_ais_raw_nmea/aislib_stream_example_2010-06-11.txt",
    "ais_nmea_decoder_corpus/aisdb_test_data_20211101.nm4",
    "ais_nmea_decoder_corpus/gpsd_ais-nmea.log",
    "ais_nmea_decoder_corpus/gpsd_sample.aivdm",
    "ais_nmea_decoder_corpus/libais_tagblock.nmea",
    "ais_nmea_decoder_corpus/libais_test.aivdm",
    "ais_nmea_decoder_corpus/libais_typeexamples.nmea",
    "ais_nmea_decoder_corpus/pyais_nmea_data_sample.txt",
]
POSITION_TYPES = {1, 2, 3, 18, 19, 27}
STATIC_TYPES = {5, 19, 24}
# we quarantine position reports cut before the end of latitude (pyais would return partial lat/lon)
MIN_BITS = {1: 116, 2: 116, 3: 116, 18: 112, 19: 112, 27: 79}


def read(shared_data: Path, rel: str) -> bytes:
    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"dataset file missing: {path}")
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def clean_line(line: bytes) -> bytes | None:
    """What pyais can read of a physical line: no receiver prefix, nothing after the sentence checksum."""
    line = line.strip()
    if not line or line.startswith(b"#"):
        return None
    starts = [i for i in (line.find(b"\\"), line.find(b"!"), line.find(b"$")) if i >= 0]
    if not starts:
        return None
    line = line[min(starts) :]
    body = line.index(b"\\", 1) + 1 if line.startswith(b"\\") and b"\\" in line[1:] else 0
    star = line.find(b"*", body)
    return line[: star + 3] if star >= 0 else line


def pyais_messages(data: bytes) -> list[Any]:
    """(decoded message, NMEA message) for every checksum-valid position/static message, in stream order."""
    lines = [c for c in (clean_line(x) for x in data.split(b"\n")) if c]
    out = []
    for msg in IterMessages(lines):
        if not msg.is_valid or not msg.payload:
            continue
        try:
            dec = msg.decode()
        except Exception:
            continue
        if dec.msg_type in POSITION_TYPES | STATIC_TYPES and len(msg.bv) >= MIN_BITS.get(dec.msg_type, 40):
            out.append((dec, msg))
    return out


def f32(x: float | None) -> float | None:
    return None if x is None else float(np.float32(x))


def expected_position(dec: Any) -> dict[str, Any]:
    t = dec.msg_type
    sog, cog = dec.speed, dec.course
    if t == 27:
        sog = 102.3 if sog == 63 else sog
        cog = 360.0 if cog == 511 else cog
    return {
        "mmsi": dec.mmsi,
        "msg_type": t,
        "lat": dec.lat,
        "lon": dec.lon,
        "sog_kn": f32(sog),
        "cog_deg": f32(cog),
        "heading_deg": None if t == 27 or dec.heading is None else f32(dec.heading),
        "nav_status": int(dec.status) if t in (1, 2, 3, 27) else None,
    }


def _s(x: str | None) -> str | None:
    return x or None


def _dim(a: int | None, b: int | None) -> float | None:
    if a is None or b is None or a + b == 0:
        return None
    return float(a + b)


def expected_static(dec: Any, msg: Any) -> dict[str, Any]:
    """pyais values in our conventions; ship_type is read raw from pyais's bit vector because pyais maps
    reserved codes (e.g. 39) to 0, whereas we keep the code as transmitted."""
    t = dec.msg_type
    row: dict[str, Any] = {"mmsi": dec.mmsi, "msg_type": t, "imo": None, "name": None, "callsign": None}
    row |= {"ship_type": None, "length_m": None, "width_m": None, "draught_m": None, "destination": None}
    row["eta"] = None
    if t in (5, 19) or (t == 24 and dec.partno == 0):
        row["name"] = _s(dec.shipname)
    if t == 24 and dec.partno == 1:
        row["callsign"] = _s(dec.callsign)
    if t == 5:
        row["callsign"] = _s(dec.callsign)
        row["imo"] = dec.imo or None
        row["draught_m"] = f32(dec.draught) or None
        row["destination"] = _s(dec.destination)
        if (dec.month, dec.day, dec.hour, dec.minute) != (0, 0, 24, 60):
            row["eta"] = f"{dec.month:02d}-{dec.day:02d} {dec.hour:02d}:{dec.minute:02d}"
    if t in (5, 19) or (t == 24 and dec.partno == 1):
        row["ship_type"] = msg.bv.get({5: 232, 19: 263, 24: 40}[t], 8)
        if hasattr(dec, "to_bow"):
            row["length_m"] = _dim(dec.to_bow, dec.to_stern)
            row["width_m"] = _dim(dec.to_port, dec.to_starboard)
    return row


def check_invariant(r: NmeaResult) -> None:
    used = int(pa.compute.sum(r.positions["_lines"]).as_py() or 0) + int(
        pa.compute.sum(r.statics["_lines"]).as_py() or 0
    )
    assert r.lines_read == used + r.quarantine.num_rows


@pytest.mark.parametrize(
    "rel",
    [pytest.param(f, marks=pytest.mark.slow) if f.endswith(".gz") else f for f in FILES],
    ids=[Path(f).name for f in FILES],
)
def test_agrees_with_pyais_field_by_field(shared_data: Path, rel: str) -> None:
    data = read(shared_data, rel)
    r = decode_nmea(data, file=rel, input_id="test")
    check_invariant(r)
    ref = pyais_messages(data)
    ref_pos = [expected_position(d) for d, _ in ref if d.msg_type in POSITION_TYPES]
    ref_sta = [expected_static(d, m) for d, m in ref if d.msg_type in STATIC_TYPES]
    assert len(ref_pos) > 0
    got_pos = r.positions.select(list(ref_pos[0])).to_pylist()
    got_sta = r.statics.select(list(expected_static(*ref[0]))).to_pylist()
    assert len(got_pos) == len(ref_pos)
    assert len(got_sta) == len(ref_sta)
    for i, (g, e) in enumerate(zip(got_pos, ref_pos, strict=True)):
        assert g == e, f"position {i}: {g} != {e}"
    for i, (g, e) in enumerate(zip(got_sta, ref_sta, strict=True)):
        assert g == e, f"static {i}: {g} != {e}"
    # Gatehouse $PGHP times agree with pyais's wrapper messages wherever pyais has one
    pos_ref = [m for d, m in ref if d.msg_type in POSITION_TYPES]
    ts = r.positions["ts"].to_pylist()
    n_pghp = 0
    for got_ts, m in zip(ts, pos_ref, strict=True):
        if m.wrapper_msg is not None and m.tag_block is None:
            n_pghp += 1
            assert got_ts is not None and got_ts.replace(tzinfo=None) == m.wrapper_msg.timestamp
    if rel.startswith("dma_ais_raw_nmea/aisabnormal"):
        assert n_pghp == 0 or n_pghp > 0.9 * len(ts)


def test_quarantine_counts_on_the_pyais_sample(shared_data: Path) -> None:
    data = read(shared_data, "ais_nmea_decoder_corpus/pyais_nmea_data_sample.txt")
    r = decode_nmea(data, file="sample", input_id="t")
    q = r.quarantine.to_pylist()
    empty = [x for x in q if x["reason"] == "empty_payload"]
    assert len(empty) == 100
    assert all(x["raw"].startswith("!AIVDM,1,1,,") and ",,0*" in x["raw"] for x in empty)
    lines = data.split(b"\n")
    assert all(lines[x["line"] - 1].strip().decode() == x["raw"] for x in q)
    assert r.lines_read == 898
    # the 20 fragments of that file are first halves only (pyais cannot assemble them either)
    assert sum(x["reason"] == "incomplete_multipart" for x in q) == 20


def test_dma_sample_counts(shared_data: Path) -> None:
    """PROVENANCE.md: 26,146 VDM sentences, 26,077 messages, 1,508 MMSI, 12:00:00 -> 12:04:59 (PGHP)."""
    data = read(shared_data, FILES[0])
    r = decode_nmea(data, file="dma", input_id="t")
    q = r.quarantine
    reasons = q["reason"].to_pylist()
    # non-AIS $PSTT/$PFEC lines and AIS types other than position/static reports
    assert reasons.count("unsupported_type") == q.num_rows
    assert r.positions.num_rows + r.statics.num_rows + q.num_rows - (80246 - 27050 - 26077 - 26146) == 26077
    mmsi = set(r.positions["mmsi"].to_pylist()) | set(r.statics["mmsi"].to_pylist())
    assert r.positions["ts"].null_count == 0
    lo, hi = pa.compute.min_max(r.positions["ts"]).values()
    assert str(lo.as_py()) == "2013-11-12 12:00:00.011000+00:00"
    assert hi.as_py().strftime("%H:%M:%S") == "12:04:59"
    assert len(mmsi) <= 1508
    assert set(r.positions["msg_type"].to_pylist()) == {1, 3, 18}
    assert r.statics.filter(pa.compute.equal(r.statics["msg_type"], 5))["draught_m"].null_count < 69


def test_decode_payloads_truncated_fields_like_pyais() -> None:
    """Cut payloads keep only the available bits (pyais semantics); fields past the end are null."""
    full = b"15N5s90P00IB>dtA7f<pOwv00<1a"
    payloads = [full, full[:20], full[:21], full[:22]]
    got = decode_payloads(payloads, [0, 0, 0, 0]).to_pylist()
    for p, g in zip(payloads, got, strict=True):
        body = b"AIVDM,1,1,,B," + p + b",0"
        cs = 0
        for ch in body:
            cs ^= ch
        ref = pyais.decode(b"!" + body + b"*%02X" % cs)
        assert g["mmsi"] == ref.mmsi and g["lat"] == ref.lat and g["lon"] == ref.lon
        assert (g["cog_deg"], g["heading_deg"]) == (
            ref.course,
            None if ref.heading is None else float(ref.heading),
        )
        assert g["sog_kn"] == ref.speed
    # 120 bits: course has 4 of its 12 bits (0b1000 -> 0.8), heading none; 132 bits: heading 0b1111 of 511
    assert (got[1]["cog_deg"], got[1]["heading_deg"], got[2]["heading_deg"], got[3]["heading_deg"]) == (
        0.8,
        None,
        None,
        15.0,
    )
    assert math.isclose(got[0]["lat"], 29.920512) and got[0]["heading_deg"] == 511.0


def test_decode_payloads_matches_pyais_on_every_corpus_message(shared_data: Path) -> None:
    """The low-level payload decoder, fed pyais's reassembled payloads, gives pyais's values field by field."""
    msgs = []
    for rel in FILES[5:]:
        data = read(shared_data, rel)
        lines = [c for c in (clean_line(x) for x in data.split(b"\n")) if c]
        msgs += [m for m in IterMessages(lines) if m.is_valid and m.payload]
    got = decode_payloads([m.payload for m in msgs], [m.fill_bits for m in msgs]).to_pylist()
    n_checked = 0
    for m, g in zip(msgs, got, strict=True):
        assert g["msg_type"] == m.ais_id
        try:
            dec = m.decode()
        except Exception:
            continue
        if dec.msg_type not in POSITION_TYPES | STATIC_TYPES:
            assert g["bad"].startswith(f"AIS message type {dec.msg_type} ")
            continue
        assert g["mmsi"] == dec.mmsi
        if dec.msg_type in POSITION_TYPES and len(m.bv) >= MIN_BITS[dec.msg_type]:
            e = expected_position(dec)
            assert (g["lat"], g["lon"], g["nav_status"]) == (e["lat"], e["lon"], e["nav_status"])
            assert (f32(g["sog_kn"]), f32(g["cog_deg"]), f32(g["heading_deg"])) == (
                e["sog_kn"],
                e["cog_deg"],
                e["heading_deg"],
            )
        if dec.msg_type in STATIC_TYPES:
            e = expected_static(dec, m)
            assert (g["name"], g["callsign"], g["destination"]) == (
                e["name"],
                e["callsign"],
                e["destination"],
            )
            if dec.msg_type == 5:
                assert (g["imo"] or None, f32(g["draught_m"]) or None) == (e["imo"], e["draught_m"])
        n_checked += 1
    assert n_checked > 1900
