"""Pure-Python twin of the C line scanner ``_scan.c``: same constants, same ``scan_into``, same output.

Used when the C extension was not built (no compiler at install time) or ``SUPPLYLINE_NO_C=1`` is set.
Each function mirrors the C function of the same name, rule for rule; tests/test_nmea_scanner.py checks
the two agree field for field on the NMEA corpora. NMEA decoding with it is about 25x slower than with C (a per-line Python loop; bench/RESULTS.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

# fields (rows of out), flags and quarantine detail codes: the C enums, in the same order
(F_ST, F_EN, F_FLAGS, F_QDET, F_D0, F_S0, F_STAR, F_FC, F_FN, F_SEQ, F_CHAN, F_PSTART, F_PLEN, F_FILL,
 F_PGHP_US, F_SRC_A, F_SRC_B, F_TAG_C, F_TAG_SA, F_TAG_SB, F_TAG_GA, F_TAG_GB, F_SUF_T, F_SUF_SA,
 F_SUF_SB, N_FIELDS) = range(26)  # fmt: skip
FLAG_ACTIVE, FLAG_TAG_ONLY, FLAG_TAG_GOOD, FLAG_VDM, FLAG_PGHP = 1, 2, 4, 8, 16
D_NODELIM = 0
(D_TAGNOCHK, D_TAGCHK, D_NOCHK, D_CHK, D_FIELDS, D_FRAG, D_FILL, D_EMPTY, D_NONAIS, D_PGHP, D_ORPHAN,
 D_INCOMPLETE, D_CHARS, D_SHORT, D_PARTNO, D_TAGJUNK, D_LONG, D_NUL) = range(2, 20)  # fmt: skip
MAX_LINE = 4096  # bytes of one NMEA line, blanks included
PAD = 256
NOTIME = -(2**63)

_WS = frozenset((9, 10, 11, 12, 13, 32))  # not NUL: a NUL is a bad byte (D_NUL)
# the first non-blank byte of each non-blank line (group 1; the match starts at the line's start): blank
# lines are skipped by the regex engine, not by a Python loop, so a flood of them costs little
_LINE_HEAD = re.compile(rb"^[\t\x0b\x0c\r ]*([^\t\n\x0b\x0c\r ])", re.MULTILINE)
_DELIM = frozenset(b"\\!$")
_HEX = {c: int(chr(c), 16) for c in b"0123456789ABCDEFabcdef"}
_STATION = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")


def _hex2(b: bytes, at: int) -> int:
    hi, lo = _HEX.get(b[at], -1), _HEX.get(b[at + 1], -1)
    return hi * 16 + lo if hi >= 0 and lo >= 0 else -1


def _xor(b: bytes, a: int, e: int) -> int:
    x = 0
    for c in b[a:e]:
        x ^= c
    return x


def _find(b: bytes, c: int, a: int, e: int, missing: int) -> int:
    if e <= a:
        return missing
    at = b.find(bytes((c,)), a, e)
    return missing if at < 0 else at


def _pair(b: bytes, end: int) -> int:
    lo, hi = b[end - 1] - 48, b[end - 2]
    if lo < 0 or lo > 9:
        return -1
    if hi == 44:  # ','
        return lo
    hi -= 48
    return hi * 10 + lo if 0 <= hi <= 9 else -1


def _uint(b: bytes, a: int, e: int, maxw: int) -> int:
    if e - a < 1 or e - a > maxw:
        return -1
    v = 0
    for c in b[a:e]:
        if not 48 <= c <= 57:
            return -1
        v = v * 10 + c - 48
    return v


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _clock(b: bytes, comma: int, end: int, ms: bool) -> int:
    w, low = end - comma - 1, _pair(b, end)
    if low < 0:
        return -1
    if ms and w == 3:
        hundreds = b[end - 3] - 48
        return low + 100 * hundreds if 0 <= hundreds <= 9 else -1
    return low if 1 <= w <= 2 else -1


def _scan_pghp(b: bytes, r: list[int], s0: int, star: int) -> None:
    f = [j for j in range(s0, star) if b[j] == 44][:12]
    f += [star] * (12 - len(f))
    fy, fm, fd = f[2], f[3], f[4]
    ok = fy - f[1] - 1 == 4 and _pair(b, fy - 2) >= 0 and _pair(b, fy) >= 0 and b[fy - 4] != 44
    y, mo, d = _pair(b, fy - 2) * 100 + _pair(b, fy), _pair(b, fm), _pair(b, fd)
    ok = ok and 1 <= fm - fy - 1 <= 2 and 1 <= fd - fm - 1 <= 2
    ok = ok and 1 <= mo <= 12 and 1 <= d <= _month_days(y, mo)
    h, mi = _clock(b, f[4], f[5], False), _clock(b, f[5], f[6], False)
    sec, ms = _clock(b, f[6], f[7], False), _clock(b, f[7], f[8], True)
    if ok and 0 <= h < 24 and 0 <= mi < 60 and 0 <= sec < 61 and ms >= 0:
        days = _days_from_civil(y, mo, d)
        r[F_PGHP_US] = (((days * 24 + h) * 60 + mi) * 60 + sec) * 1000000 + ms * 1000
    else:
        r[F_QDET] = D_PGHP
    if f[11] > f[10] + 1 and f[10] < star:
        r[F_SRC_A], r[F_SRC_B] = f[10] + 1, f[11]
    elif f[9] > f[8] + 1:
        r[F_SRC_A], r[F_SRC_B] = f[8] + 1, f[9]


def _scan_tag_fields(b: bytes, r: list[int], a: int, e: int) -> None:
    start = a
    while True:
        comma = _find(b, 44, start, e, -1)
        end = e if comma < 0 else comma
        key = b[start] if b[start + 1] == 58 else 0  # ':'
        if key == 99:  # c
            v = _uint(b, start + 2, end, 13)
            if v >= 0:
                r[F_TAG_C] = v * 1000 if end - start - 2 >= 12 else v * 1000000
        elif key == 115:  # s
            r[F_TAG_SA], r[F_TAG_SB] = start + 2, end
        elif key == 103:  # g
            r[F_TAG_GA], r[F_TAG_GB] = start + 2, end
        if comma < 0:
            return
        start = comma + 1


def _scan_suffix(b: bytes, r: list[int], a: int, e: int) -> None:
    have_t = have_s = False
    c = _find(b, 44, a, e, -1)
    while c >= 0 and not (have_t and have_s):
        start = c + 1
        nxt = _find(b, 44, start, e, -1)
        end = e if nxt < 0 else nxt
        n = end - start
        if not have_t and (n == 10 or 12 <= n <= 17):
            sec = _uint(b, start, start + 10, 10)
            frac = _uint(b, start + 11, end, 6) if n > 10 and b[start + 10] == 46 else (0 if n == 10 else -1)
            if sec >= 0 and frac >= 0:
                frac *= 10 ** (6 - (n - 11 if n > 10 else 6))
                r[F_SUF_T], have_t = sec * 1000000 + frac, True
        if (
            not have_s
            and 2 <= n <= 32
            and b[start] in (114, 98)
            and all(x in _STATION for x in b[start + 1 : end])
        ):
            r[F_SUF_SA], r[F_SUF_SB], have_s = start, end, True
        c = nxt


def _scan_vdm(b: bytes, r: list[int], s0: int, star: int, en: int) -> None:
    h = s0 + 6
    fc, fn = b[h + 1] - 48, b[h + 3] - 48
    seq_empty = b[h + 5] == 44
    seq = -1 if seq_empty else b[h + 5] - 48
    o = 5 if seq_empty else 6
    chan_len = next((k for k in range(3) if b[h + min(o + 1 + k, 9)] == 44), -1)
    bad = -1
    frag_ok = b[h + 2] == 44 and b[h + 4] == 44 and 1 <= fc <= 9 and 1 <= fn <= fc
    frag_ok = frag_ok and (seq_empty or (b[h + 6] == 44 and 0 <= seq <= 9))
    if not frag_ok:
        bad = D_FRAG
    elif chan_len < 0:
        bad = D_FIELDS
    fill_comma = b[star - 2] == 44
    pstart = h + o + chan_len + 2
    plen = (star - 2 if fill_comma else star - 1) - pstart
    fill = b[star - 1] - 48 if fill_comma else 0
    if bad < 0:
        if not fill_comma and b[star - 1] != 44:
            bad = D_FIELDS
        elif fill < 0 or fill > 5:
            bad = D_FILL
        elif plen <= 0:
            bad = D_EMPTY
    if bad >= 0:
        r[F_QDET] = bad
        return
    r[F_FC], r[F_FN], r[F_SEQ] = fc, fn, seq
    r[F_CHAN] = b[h + min(o + 1, 9)] if chan_len > 0 else 0
    r[F_PSTART], r[F_PLEN], r[F_FILL] = pstart, plen, fill
    if star + 3 < en:
        _scan_suffix(b, r, star + 3, en)


def _scan_tag_block(b: bytes, r: list[int], d0: int, en: int, big: int) -> int:
    """The tag block at d0; returns the sentence start, or -1 when the line ends here."""
    tstar = en - 4 if en - 4 > d0 and b[en - 4] == 42 and b[en - 1] == 92 else _find(b, 42, d0 + 1, en, big)
    tclose, tchk = tstar + 3, _hex2(b, tstar + 1)
    if not (tclose < en and b[tclose] == 92 and tchk >= 0):
        r[F_QDET] = D_TAGNOCHK
    elif _xor(b, d0 + 1, tstar) != tchk:
        r[F_QDET] = D_TAGCHK
    else:
        r[F_FLAGS] |= FLAG_TAG_GOOD
        _scan_tag_fields(b, r, d0 + 1, tstar)
    s0 = min(tclose + 1, en)
    r[F_S0] = s0
    if s0 >= en:
        r[F_FLAGS] |= FLAG_TAG_ONLY
        return -1
    if r[F_QDET] >= 0:
        return -1
    if b[s0] not in (33, 36):
        r[F_QDET] = D_TAGJUNK
        return -1
    return s0


def _scan_line(b: bytes, r: list[int], st: int, en: int, big: int) -> None:
    d0 = st if b[st] in _DELIM else next((j for j in range(st, en) if b[j] in _DELIM), -1)
    if d0 < 0:
        r[F_QDET] = D_NODELIM
        return
    r[F_D0] = s0 = d0
    if b[d0] == 92:
        s0 = _scan_tag_block(b, r, d0, en, big)
        if s0 < 0:
            return
    r[F_S0] = s0
    star = en - 3 if en - 3 > s0 and b[en - 3] == 42 else _find(b, 42, s0, en, big)
    r[F_STAR] = star
    chk = _hex2(b, star + 1)
    if not (star + 3 <= en and chk >= 0):
        r[F_QDET] = D_NOCHK
        return
    vdm = b[s0] == 33 and b[s0 + 3 : s0 + 5] == b"VD" and b[s0 + 5] in (77, 79) and b[s0 + 6] == 44
    pghp = b[s0] == 36 and b[s0 + 1 : s0 + 6] == b"PGHP,"
    r[F_FLAGS] |= (FLAG_VDM if vdm else 0) | (FLAG_PGHP if pghp else 0)
    if _xor(b, s0 + 1, star) != chk:
        r[F_QDET] = D_CHK
    elif vdm:
        _scan_vdm(b, r, s0, star, en)
    elif pghp:
        _scan_pghp(b, r, s0, star)
    else:
        r[F_QDET] = D_NONAIS


def _fresh(st: int, en: int, big: int) -> list[int]:
    r = [0] * N_FIELDS
    r[F_ST], r[F_EN], r[F_QDET], r[F_D0], r[F_S0], r[F_STAR] = st, en, -1, st, st, big
    r[F_PGHP_US] = r[F_TAG_C] = r[F_SUF_T] = NOTIME
    for f in (F_SRC_A, F_SRC_B, F_TAG_SA, F_TAG_SB, F_TAG_GA, F_TAG_GB, F_SUF_SA, F_SUF_SB):
        r[f] = -1
    return r


def _active_lines(b: bytes, n: int) -> Iterator[tuple[int, int]]:
    """(line start, trimmed start) of each active line (not blank, not a '#' comment) of ``b[:n]``."""
    for m in _LINE_HEAD.finditer(b, 0, n):
        st = m.start(1)
        if b[st] != 35:  # '#'
            yield m.start(), st


def _padded_bytes(buf: Any, n: int, big: int) -> bytes:
    b = bytes(memoryview(buf).cast("B"))
    if n < 0 or len(b) < n + PAD or big < n or big + 8 > len(b):
        raise ValueError("scan_into: buf must hold n bytes and 256 bytes of zero padding")
    return b


def count_lines(buf: Any, n: int) -> tuple[int, int]:
    """(physical lines, active lines) of the ``n`` bytes of ``buf``, as the C ``count_lines``."""
    b = bytes(memoryview(buf).cast("B"))
    if n < 0 or len(b) < n:
        raise ValueError("count_lines: buf must hold n bytes")
    physical = b.count(b"\n", 0, n) + int(n > 0 and b[n - 1] != 10)
    return physical, sum(1 for _ in _active_lines(b, n))


def scan_into(buf: Any, n: int, big: int, out: Any, numbers: Any) -> int:
    """Scan the active lines of the ``n`` bytes of ``buf`` (zero-padded by ``PAD``) into ``out``,
    (N_FIELDS, >= active lines) int64, and their 0-based physical line indices into ``numbers``; returns
    the number of active lines scanned (at most ``out``'s columns)."""
    b = _padded_bytes(buf, n, big)
    if out.dtype != np.int64 or out.ndim != 2 or out.shape[0] != N_FIELDS or not out.flags.c_contiguous:
        raise ValueError("scan_into: out must be a C-contiguous int64 (N_FIELDS, lines) array")
    nl = out.shape[1]
    if numbers.dtype != np.int64 or numbers.shape != (nl,) or not numbers.flags.c_contiguous:
        raise ValueError("scan_into: numbers must be a C-contiguous int64 array, one per line")
    any_nul = b.find(b"\0", 0, n) >= 0
    rows: list[list[int]] = []
    physical: list[int] = []
    counted = counted_to = 0  # counted: the LFs before counted_to
    for a, st in _active_lines(b, n):
        if len(rows) >= nl:
            break
        counted += b.count(b"\n", counted_to, a)
        counted_to = a
        e = _find(b, 10, st, n, n)
        en = e
        while en > st and b[en - 1] in _WS:
            en -= 1
        r = _fresh(st, en, big)
        r[F_FLAGS] = FLAG_ACTIVE
        if e - a > MAX_LINE:
            r[F_QDET] = D_LONG
        elif any_nul and b.find(b"\0", st, en) >= 0:
            r[F_QDET] = D_NUL
        else:
            _scan_line(b, r, st, en, big)
        rows.append(r)
        physical.append(counted)
    k = len(rows)
    if k:
        out[:, :k] = np.asarray(rows, dtype=np.int64).T
        numbers[:k] = physical
    return k
