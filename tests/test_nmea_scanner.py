"""The pure-Python NMEA line scanner (_scan_py) against the C one (_scan): the same constants, and the same
(N_FIELDS, lines) output, field for field, on every file of the NMEA corpora and on edge-case lines.
Decoding with SUPPLYLINE_NO_C=1 (the fallback forced) gives the same positions as with the extension."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from supplyline.ingest import _scan_py

_scan = pytest.importorskip("supplyline.ingest._scan", reason="the C scanner is not built here")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CORPORA = [DATA / "ais_nmea_decoder_corpus", DATA / "dma_ais_raw_nmea"]
EDGE = (
    b"\\s:rMT,c:1696118400*53\\!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n"
    b"  \r\n# comment\nnoise !AIVDM,1,1,,B,13u?etPv2;0n:dDPwUM1U1Cb069D,0*27,1696118400,b003669705\n"
    b"\\g:1-2-73874,n:157036,s:r003669945,c:1241544035*4A\\\n"
    b"$PGHP,1,2008,5,28,6,40,40,355,219,,2190067,1,1E*21\n!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh00000,0*5C\n"
    b"!AIVDM,1,1,,A,,0*26\n!AIVDM,1,1,,A,13u?etPv2;0n,9*00\n\\c:123*00\\\n!GPGGA,1*00\n!AIVDM,1,1"
)


LONG = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24" + b"x" * 4100
HOSTILE = (
    b"\n\n\n" + LONG + b"\n" + b"\n" * 500 + b"!AIVDM,1,1,,A,13u?etPv2;0n\x00:dDPwUM1U1Cb069D,0*24\n"
    b"\x00\n \x00 \n\t\r\n" + b"#" + b"y" * 5000 + b"\n" + b" " * 4090 + b"!AIVDM,1,1,,A,,0*26  \r\n"
    b"z" * 4096 + b"\n" + b"z" * 4097 + b"\n" + b"\n \n\r\n" * 300 + EDGE + b"\n\n" + LONG
)


def _scan_both(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The scanned columns of the active lines (C, Python), each with its physical line index as a last row;
    count_lines and the returned counts must agree too."""
    n = len(data)
    pbuf = np.zeros(n + 2 * _scan_py.PAD, np.uint8)
    pbuf[:n] = np.frombuffer(data, np.uint8)
    nl = int(np.count_nonzero(pbuf[:n] == 10)) + int(n > 0 and pbuf[n - 1] != 10)
    counts = [impl.count_lines(pbuf, n) for impl in (_scan, _scan_py)]
    assert counts[0] == counts[1] and counts[0][0] == nl
    outs = []
    for impl in (_scan, _scan_py):
        out = np.full((_scan_py.N_FIELDS, nl + 3), 7, np.int64)
        numbers = np.full(nl + 3, 7, np.int64)
        active = impl.scan_into(pbuf, n, n + _scan_py.PAD // 2, out, numbers)
        assert active == counts[0][1]
        assert (out[:, active:] == 7).all() and (
            numbers[active:] == 7
        ).all()  # no column past the active ones
        outs.append(np.vstack([out[:, :active], numbers[None, :active]]))
    return outs[0], outs[1]


def test_scan_into_stops_at_the_columns_given() -> None:
    data = EDGE + b"\n"
    n = len(data)
    pbuf = np.zeros(n + 2 * _scan_py.PAD, np.uint8)
    pbuf[:n] = np.frombuffer(data, np.uint8)
    for impl in (_scan, _scan_py):
        out, numbers = np.zeros((_scan_py.N_FIELDS, 4), np.int64), np.zeros(4, np.int64)
        assert impl.scan_into(pbuf, n, n + _scan_py.PAD // 2, out, numbers) == 4
        assert numbers.tolist() == [0, 3, 4, 5]
        with pytest.raises(ValueError):
            impl.scan_into(pbuf, n, n + _scan_py.PAD // 2, out, np.zeros(3, np.int64))


def test_constants_match() -> None:
    names = [n for n in dir(_scan) if n.isupper()]
    assert len(names) >= 50
    assert {n: getattr(_scan, n) for n in names} == {n: getattr(_scan_py, n) for n in names}


def test_edge_lines_scan_identically() -> None:
    c, py = _scan_both(EDGE)
    assert c.shape[1] == 10  # 12 lines, one blank and one comment
    np.testing.assert_array_equal(py, c)
    assert len(set(c[_scan_py.F_QDET].tolist())) >= 5  # several rejection reasons exercised


def test_hostile_lines_scan_identically() -> None:
    """Lines over MAX_LINE bytes, NUL-bearing lines, floods of blank lines, a comment over MAX_LINE."""
    c, py = _scan_both(HOSTILE)
    np.testing.assert_array_equal(py, c)
    reasons = set(c[_scan_py.F_QDET].tolist())
    assert {_scan_py.D_LONG, _scan_py.D_NUL} <= reasons
    c, py = _scan_both(b"\n" * 200_000 + b" \r\n" * 1000 + EDGE)
    np.testing.assert_array_equal(py, c)
    assert c[-1, 0] == 201_000


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _corpus_files() -> list[Path]:
    files = [
        p
        for d in CORPORA
        if d.is_dir()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.stat().st_size < 4 << 20
    ]
    return [p for p in files if b"VDM" in _read(p)[:65536] or b"VDO" in _read(p)[:65536]]


@pytest.mark.skipif(not any(d.is_dir() for d in CORPORA), reason="NMEA corpora absent (../shared/data)")
def test_corpora_scan_identically() -> None:
    files = _corpus_files()
    assert len(files) >= 5
    lines = 0
    for path in files:
        c, py = _scan_both(_read(path))
        np.testing.assert_array_equal(py, c, err_msg=str(path))
        lines += c.shape[1]
    assert lines > 40_000


@pytest.mark.skipif(
    not (DATA / "dma_ais_raw_nmea").is_dir(), reason="DMA NMEA corpus absent (../shared/data)"
)
def test_decoding_without_the_extension_gives_the_same_positions() -> None:
    path = DATA / "dma_ais_raw_nmea" / "aisabnormal_ais-sample_2013-11-12.txt.gz"  # 5 min of all Denmark
    code = (
        "import gzip, sys, hashlib\nfrom supplyline.ingest import nmea, scanner\n"
        "res = nmea.decode_nmea(gzip.decompress(open(sys.argv[1], 'rb').read()), file='f', input_id='i')\n"
        "print(scanner.IS_C, res.positions.num_rows, res.quarantine.num_rows, hashlib.sha1(str([res.positions.to_pylist(), res.statics.to_pylist(), res.quarantine.to_pylist()]).encode()).hexdigest())"
    )
    runs = {}
    for no_c in ("0", "1"):
        env = {**os.environ, "SUPPLYLINE_NO_C": no_c}
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True
        )
        runs[no_c] = out.stdout.split()
    assert runs["0"][0] == "True" and runs["1"][0] == "False"
    assert runs["0"][1:] == runs["1"][1:] and int(runs["0"][1]) > 20_000
