"""Hand-built NMEA logs with known answers: multipart reassembly, tag blocks, $PGHP, checksums, receiver
prefixes/suffixes, comments and non-AIS sentences. Payloads are real sentences from the test corpora."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from supplyline.ingest.nmea import NmeaResult, decode_nmea, decode_payloads

# real two-part type 5 messages (gpsd ais-nmea.log, libais test.aivdm) and their decoded values (pyais)
SEA_ENTERPRISE = ("55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD", "`88888888888880")
SEA_HAWK = ("55NBjP01mtGIL@CW;SM<D60P5Ld000000000000P0`<3557l0<50@kk@", "K5h@00000000000")
POS = "13aDp<PP000IwSlN?Wm@0?wN2<1T"  # type 1, MMSI 244660274 at 52.855395 N 5.678283 E


def cs(body: str) -> str:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"{x:02X}"


def s(body: str, lead: str = "!") -> str:
    """A sentence with a correct checksum."""
    return f"{lead}{body}*{cs(body)}"


def tb(body: str) -> str:
    """A tag block with a correct checksum."""
    return f"\\{body}*{cs(body)}\\"


def run(*lines: str, sep: str = "\n") -> NmeaResult:
    r = decode_nmea(sep.join(lines).encode(), file="t.nmea", input_id="in1", source_default="dflt")
    used = sum(r.positions["_lines"].to_pylist()) + sum(r.statics["_lines"].to_pylist())
    assert r.lines_read == used + r.quarantine.num_rows
    return r


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_multipart_with_interleaved_channels_and_sequence_ids() -> None:
    a1, a2 = SEA_ENTERPRISE
    b1, b2 = SEA_HAWK
    r = run(
        s(f"AIVDM,2,1,4,A,{a1},0"),
        s(f"AIVDM,2,1,4,B,{b1},0"),  # same sequence id, other channel
        s(f"AIVDM,1,1,,A,{POS},0"),
        s(f"AIVDM,2,2,4,B,{b2},2"),
        s(f"AIVDM,2,2,4,A,{a2},2"),
    )
    st = r.statics.to_pylist()
    assert [(x["mmsi"], x["name"], x["destination"], x["_lines"]) for x in st] == [
        (367309440, "SEA HAWK", "TACOMA,WA", 2),
        (371255000, "SEA ENTERPRISE", "LEMMER", 2),
    ]
    assert [x["draught_m"] for x in st] == [pytest.approx(4.8), pytest.approx(1.4)]
    assert r.positions["mmsi"].to_pylist() == [244660274]
    assert r.quarantine.num_rows == 0 and r.lines_read == 5
    # _line: where each message starts (first fragment), 1-based
    assert r.statics["_line"].to_pylist() == [2, 1] and r.positions["_line"].to_pylist() == [3]


def test_incomplete_and_out_of_order_fragments_are_quarantined() -> None:
    a1, a2 = SEA_ENTERPRISE
    b1, _ = SEA_HAWK
    r = run(
        s(f"AIVDM,2,2,1,A,{a2},2"),  # orphan second half
        s(f"AIVDM,2,1,2,A,{b1},0"),  # restarted below -> incomplete
        s(f"AIVDM,2,1,2,A,{a1},0"),
        s(f"AIVDM,2,2,2,A,{a2},2"),
        s(f"AIVDM,2,1,3,B,{b1},0"),  # never finished
    )
    q = r.quarantine.to_pylist()
    assert [(x["line"], x["reason"]) for x in q] == [(n, "incomplete_multipart") for n in (1, 2, 5)]
    assert r.statics["name"].to_pylist() == ["SEA ENTERPRISE"]


def test_tag_block_groups_times_and_sources(shared_data: Path) -> None:
    path = shared_data / "ais_nmea_decoder_corpus" / "libais_tagblock.nmea"
    r = decode_nmea(path.read_bytes(), file="tb", input_id="x")
    st = r.statics.to_pylist()
    # group g:1-2-1604 / g:2-2-1604 is split by another sentence; it is one type 5 from ORBCOMM sat 008
    assert [(x["mmsi"], x["name"], x["source"], x["ts"], x["_lines"]) for x in st] == [
        (219005012, "ROSINANTE", "rORBCOMM008", ts(2014, 12, 10, 0, 0, 1), 2)
    ]
    assert r.positions["ts"].to_pylist() == [
        ts(2014, 12, 10, 0, 41, 53),
        ts(2014, 12, 10, 0, 35, 22),
        ts(2014, 12, 10, 0, 32, 41),
    ]
    assert r.positions["source"].to_pylist() == ["rORBCOMM104", "rORBCOMM007", "rORBCOMM007"]


def test_tag_block_group_id_reassembles_without_sequence_id_and_ms_times() -> None:
    a1, a2 = SEA_ENTERPRISE
    b1, b2 = SEA_HAWK
    r = run(
        tb("g:1-2-77,s:stationA,c:1418169601123") + s(f"AIVDM,2,1,,A,{a1},0"),
        tb("g:1-2-78,c:1418169700") + s(f"AIVDM,2,1,,A,{b1},0"),
        tb("g:2-2-77") + s(f"AIVDM,2,2,,A,{a2},2"),
        tb("g:2-2-78") + s(f"AIVDM,2,2,,A,{b2},2"),
    )
    st = r.statics.to_pylist()
    assert [(x["name"], x["ts"], x["source"]) for x in st] == [
        ("SEA ENTERPRISE", datetime(2014, 12, 10, 0, 0, 1, 123000, tzinfo=UTC), "stationA"),
        ("SEA HAWK", ts(2014, 12, 10, 0, 1, 40), "dflt"),
    ]


def test_pghp_timestamps_apply_to_the_next_sentence_with_tag_only_lines_and_crlf() -> None:
    lines = [
        tb("si:AISD"),
        s("PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62", "$"),
        s(f"BSVDM,1,1,,A,{POS},0"),
        tb("si:AISD"),
        s("PGHP,1,2013,11,12,12,4,59,999,219,,,1,05", "$"),  # no site MMSI: source is the country MID
        s("PSTT,10A,0,0", "$"),  # the PGHP belongs to this non-AIS sentence ...
        s(f"ABVDO,1,1,,B,{POS},0"),  # ... so this one has no time
    ]
    r = run(*lines, sep="\r\n")
    p = r.positions.to_pylist()
    assert [(x["ts"], x["source"]) for x in p] == [
        (datetime(2013, 11, 12, 12, 0, 0, 11000, tzinfo=UTC), "2190067"),
        (None, "dflt"),
    ]
    assert [(x["line"], x["reason"]) for x in r.quarantine.to_pylist()] == [(6, "unsupported_type")]
    assert r.lines_read == 3  # two tag-only lines and two $PGHP lines were consumed as context
    assert r.positions["_line"].to_pylist() == [3, 7]


def test_orphan_and_invalid_pghp() -> None:
    r = run(
        s("PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62", "$"),
        s("PGHP,1,2013,11,12,12,0,1,0,219,,2190068,1,62", "$"),
        s(f"AIVDM,1,1,,A,{POS},0"),
        s("PGHP,1,2013,2,30,12,0,1,0,219,,2190068,1,62", "$"),  # 30 February
        s(f"AIVDM,1,1,,A,{POS},0"),
    )
    assert [(x["ts"], x["source"]) for x in r.positions.to_pylist()] == [
        (ts(2013, 11, 12, 12, 0, 1), "2190068"),
        (None, "dflt"),
    ]
    assert [(x["line"], x["reason"]) for x in r.quarantine.to_pylist()] == [
        (1, "unsupported_type"),
        (4, "unparsable"),
    ]


def test_pghp_date_runs_and_fields_past_64_bytes() -> None:
    """Dates are parsed once per run of equal date text: each change of date (also back to an earlier one,
    and a leap day) is honoured; a site MMSI beyond the first 64 bytes of the line is still found."""
    region = "R" * 60  # pushes the site MMSI (field 11) past byte 64
    r = run(
        s("PGHP,1,2013,11,12,23,59,59,999,219,,2190067,1,62", "$"),
        s(f"AIVDM,1,1,,A,{POS},0"),
        s("PGHP,1,2013,11,13,0,0,0,0,219,,2190068,1,62", "$"),
        s(f"AIVDM,1,1,,A,{POS},0"),
        s("PGHP,1,2013,11,12,23,59,59,1,219,,2190069,1,62", "$"),  # back to the first date
        s(f"AIVDM,1,1,,A,{POS},0"),
        s("PGHP,1,2012,2,29,1,2,3,45,219,,2190070,1,62", "$"),  # leap day
        s(f"AIVDM,1,1,,A,{POS},0"),
        s("PGHP,1,2013,2,29,1,2,3,45,219,,2190071,1,62", "$"),  # no 29 February in 2013
        s(f"AIVDM,1,1,,A,{POS},0"),
        s(f"PGHP,1,2013,2,28,1,2,3,45,219,{region},2190072,1,62", "$"),
        s(f"AIVDM,1,1,,A,{POS},0"),
    )
    assert [(x["ts"], x["source"]) for x in r.positions.to_pylist()] == [
        (datetime(2013, 11, 12, 23, 59, 59, 999000, tzinfo=UTC), "2190067"),
        (ts(2013, 11, 13, 0, 0, 0), "2190068"),
        (datetime(2013, 11, 12, 23, 59, 59, 1000, tzinfo=UTC), "2190069"),
        (datetime(2012, 2, 29, 1, 2, 3, 45000, tzinfo=UTC), "2190070"),
        (None, "dflt"),
        (datetime(2013, 2, 28, 1, 2, 3, 45000, tzinfo=UTC), "2190072"),
    ]
    assert [(x["line"], x["reason"]) for x in r.quarantine.to_pylist()] == [(9, "unparsable")]


def test_bad_checksums_comments_blank_lines_and_non_ais_sentences() -> None:
    good = s(f"AIVDM,1,1,,A,{POS},0")
    bad = good[:-2] + ("00" if good[-2:] != "00" else "01")
    r = run(
        "# a comment",
        "",
        "   ",
        good,
        bad,
        s("GPRMC,213950.00,A,5250.53669,N,00542.34920,E,0.020,,070420,,,A", "$"),
        "AIVDM,1,1,,A,13aDp<PP000IwSlN?Wm@0?wN2<1T,0*29",  # no '!'
        s(f"AIVDM,1,1,,A,{POS},7"),  # fill bits 7
        tb("s:x").replace("*", "*0") + good,  # tag block with a broken checksum field
        tb("s:x")[:-3] + "00\\" + good,  # tag block checksum mismatch
        s("AIVDM,1,1,,B,,0"),
        s(f"AIVDM,1,1,,A,{POS[:10]},0"),  # too short to reach latitude
        s(f"AIVDM,1,1,,A,{POS[:-1]}~,0"),  # '~' is not in the six-bit alphabet
    )
    q = [(x["line"], x["reason"]) for x in r.quarantine.to_pylist()]
    assert q == [
        (5, "bad_checksum"),
        (6, "unsupported_type"),
        (7, "unparsable"),
        (8, "unparsable"),
        (9, "unparsable"),
        (10, "bad_checksum"),
        (11, "empty_payload"),
        (12, "unparsable"),
        (13, "unparsable"),
    ]
    assert r.lines_read == 10 and r.positions.num_rows == 1
    assert r.quarantine["raw"][0].as_py() == bad
    assert set(r.quarantine["file"].to_pylist()) == {"t.nmea"}


def test_receiver_prefix_and_suffix_times_and_stations() -> None:
    r = run(
        "2020-04-08T21:39:50.5Z " + s(f"AIVDM,1,1,,B,{POS},0"),
        "1586381990.25;" + s(f"AIVDM,1,1,,B,{POS},0"),
        s(f"AIVDM,1,1,,B,{POS},0") + ",b003669794,1272412827",
        s(f"AIVDM,1,1,,B,{POS},0") + ",d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001",
        tb("c:1418169601") + s(f"AIVDM,1,1,,B,{POS},0") + ",b1,1272412827",  # tag block time wins
    )
    got = [(x["ts"], x["source"]) for x in r.positions.to_pylist()]
    assert got == [
        (datetime(2020, 4, 8, 21, 39, 50, 500000, tzinfo=UTC), "dflt"),
        (datetime(2020, 4, 8, 21, 39, 50, 250000, tzinfo=UTC), "dflt"),
        (datetime.fromtimestamp(1272412827, UTC), "b003669794"),
        (datetime.fromtimestamp(1325394060, UTC), "r003669946"),
        (ts(2014, 12, 10, 0, 0, 1), "b1"),
    ]


def test_position_values_and_not_available_codes_kept() -> None:
    r = run(s(f"AIVDM,1,1,,B,{POS},0"), s("AIVDM,1,1,,B,B39H9GP0;@H136UI3ijEowU5oP06,0"))
    p = r.positions.to_pylist()
    assert (p[0]["lat"], p[0]["lon"], p[0]["msg_type"], p[0]["nav_status"]) == (52.855395, 5.678283, 1, 0)
    assert p[1]["msg_type"] == 18 and p[1]["nav_status"] is None
    assert p[1]["heading_deg"] == 511.0  # not available: kept as decoded for the normaliser
    assert set(r.positions.column_names) >= {"mmsi", "ts", "sog_kn", "cog_deg", "input_id", "_lines"}
    assert r.positions["input_id"].to_pylist() == ["in1", "in1"]


def test_empty_input_and_decode_payloads_rejects_mismatched_lengths() -> None:
    r = run("")
    assert (r.positions.num_rows, r.statics.num_rows, r.quarantine.num_rows, r.lines_read) == (0, 0, 0, 0)
    from supplyline.errors import InputError

    with pytest.raises(InputError):
        decode_payloads([b"1"], [0, 0])


def test_decoding_in_pieces_cut_before_context_lines_gives_the_same_rows(shared_data: Path) -> None:
    """The ingest pipeline decodes big files in chunks cut between messages; nothing may depend on the cut."""
    path = shared_data / "dma_ais_raw_nmea" / "aisabnormal_event_219165000_ssc_1.ais"
    data = path.read_bytes()
    whole = decode_nmea(data, file="f", input_id="i")
    lines = data.split(b"\n")
    cut = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith(b"\\"))
    parts = [b"\n".join(lines[:cut]) + b"\n", b"\n".join(lines[cut:])]
    pieces = [decode_nmea(p, file="f", input_id="i") for p in parts]
    assert sum(p.lines_read for p in pieces) == whole.lines_read == 90
    for table in ("positions", "statics"):
        got = [getattr(p, table) for p in pieces]
        want = getattr(whole, table)
        rest = [c for c in want.column_names if c != "_line"]
        assert [r for t in got for r in t.select(rest).to_pylist()] == want.select(rest).to_pylist()
        # line numbers are per piece: the second piece's lines are shifted by the cut
        lines = got[0]["_line"].to_pylist() + [x + cut for x in got[1]["_line"].to_pylist()]
        assert lines == want["_line"].to_pylist()
    assert whole.positions.num_rows == 59 and whole.statics["name"].to_pylist()[0] == "LOTUS"


def test_receiver_suffix_fields_are_matched_exactly() -> None:
    """Only a whole 10-digit field (optionally .fraction) is a time; only r/b + id characters a station."""
    base = s(f"AIVDM,1,1,,B,{POS},0")
    r = run(
        base + ",x12,b0036-69_7a,1272412827.25",
        base + ",12724128271,1272412827x,r,rok!,1272412828",  # 11 digits, junk, 'r' alone, bad char
        base + ",1272412827.1234567",  # 7 fraction digits: not a time
    )
    got = [(x["ts"], x["source"]) for x in r.positions.to_pylist()]
    assert got == [
        (datetime(2010, 4, 28, 0, 0, 27, 250000, tzinfo=UTC), "b0036-69_7a"),
        (datetime(2010, 4, 28, 0, 0, 28, tzinfo=UTC), "dflt"),
        (None, "dflt"),
    ]


def test_fields_far_into_long_tag_blocks_and_suffixes_are_read() -> None:
    """Tag block and suffix fields are found however far into the line they are (here past 300 bytes)."""
    pad = ",".join(f"x{i}:{'y' * 8}" for i in range(30))  # 30 unknown tag fields, ~330 bytes
    junk = ",".join(["zz"] * 120)  # 120 unknown suffix fields, ~360 bytes
    r = run(
        tb(f"{pad},s:far,c:1418169601") + s(f"AIVDM,1,1,,A,{POS},0"),
        s(f"AIVDM,1,1,,B,{POS},0") + f",{junk},b003669705,1272412827",
    )
    got = [(x["ts"], x["source"]) for x in r.positions.to_pylist()]
    assert got == [(ts(2014, 12, 10, 0, 0, 1), "far"), (ts(2010, 4, 28, 0, 0, 27), "b003669705")]


_ALPHABET = b"!$\\*,:#0123456789ABCDEFabcdefgcs \r\t-.PGHVDMO\n\x00\xff"
_REAL = [
    s(f"AIVDM,1,1,,A,{POS},0"),
    s(f"AIVDM,2,1,4,A,{SEA_ENTERPRISE[0]},0"),
    s(f"AIVDM,2,2,4,A,{SEA_ENTERPRISE[1]},2"),
    s("PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62", lead="$"),
    tb("s:src,c:1418169601"),
    tb("g:1-2-1604,c:1418169601000") + s(f"AIVDM,1,1,,A,{POS},0"),
]


@given(
    st_.lists(
        st_.tuples(
            st_.sampled_from(_REAL),
            st_.lists(
                st_.tuples(st_.integers(0, 200), st_.sampled_from(list(_ALPHABET)), st_.booleans()),
                max_size=4,
            ),
        ),
        max_size=25,
    ),
    st_.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_mutated_logs_never_fail_and_every_line_is_accounted_for(lines: list, final_newline: bool) -> None:
    """Real sentences with bytes replaced or inserted (the C scanner reads them): no exception, and
    read = kept + quarantined with every quarantined line inside the input."""
    out = []
    for text, edits in lines:
        b = bytearray(text.encode())
        for at, byte, insert in edits:
            at = min(at, len(b))
            if insert or at == len(b):
                b.insert(at, byte)
            else:
                b[at] = byte
        out.append(bytes(b))
    data = b"\n".join(out) + (b"\n" if final_newline else b"")
    r = decode_nmea(data, file="t.nmea", input_id="in1")
    used = sum(r.positions["_lines"].to_pylist()) + sum(r.statics["_lines"].to_pylist())
    assert r.lines_read == used + r.quarantine.num_rows
    assert all(1 <= x <= r.physical_lines for x in r.quarantine["line"].to_pylist())
    assert r.physical_lines == data.count(b"\n") + (not data.endswith(b"\n") and len(data) > 0)
