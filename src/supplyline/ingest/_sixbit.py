"""Vectorised AIS six-bit payload decoding (private helper of :mod:`supplyline.ingest.nmea`).

A batch of payloads becomes a padded ``uint8`` matrix of six-bit values (one row per message); every bit
field is then extracted for all rows at once with shifts and masks. Field semantics follow pyais 3 exactly,
including its handling of truncated payloads: a field that starts beyond the end of the bit string is
missing (``valid`` False), a field cut short by the end yields only the available bits, right-aligned.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Payload armouring: ASCII '0'..'W' -> 0..39, '`'..'w' -> 40..63 (same table as pyais for every byte).
ARMOR = np.array(
    [(c - 48 - 8 if c - 48 > 40 else c - 48) if 48 <= c <= 119 else 0 for c in range(256)], np.uint8
)
# Six-bit value -> ASCII of AIS text fields ('@' = 0 is the padding / "not available" character).
TEXT = np.array([v + 64 if v < 32 else v for v in range(64)], np.uint8)
_AT = ord("@")
_SPACE = ord(" ")


def field(
    v6: np.ndarray, nbits: np.ndarray, off: int, width: int, signed: bool = False, min_bits: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Bit field ``[off, off+width)`` (width <= 30) of every message: ``(int64 values, valid)``.

    ``v6`` holds six-bit values char-major, shape (chars, messages), so each char is a contiguous row.
    ``nbits`` is each message's length in bits (6 * chars - fill bits); ``min_bits`` (its minimum, when
    known) skips the truncation handling. As in pyais, a field starting at or beyond ``nbits`` is invalid,
    and a field cut short keeps only its available bits (right-aligned, sign from the first available bit).
    """
    n = v6.shape[1]
    c0, c1 = off // 6, (off + width - 1) // 6
    acc = v6[c0].astype(np.int64) if c0 < v6.shape[0] else np.zeros(n, np.int64)
    for c in range(c0 + 1, c1 + 1):
        acc <<= 6
        if c < v6.shape[0]:
            acc |= v6[c]
    acc >>= 6 * (c1 + 1) - off - width
    acc &= (1 << width) - 1
    if min_bits >= off + width:
        if signed:
            acc = np.where(acc >= (1 << (width - 1)), acc - (1 << width), acc)
        return acc, np.ones(n, np.bool_)
    avail = np.clip(nbits - off, 0, width).astype(np.int64)
    valid = avail > 0
    val = acc >> (width - avail)
    if signed:
        top = np.where(valid, avail - 1, 0)
        neg = valid & (((val >> top) & 1) == 1)
        val = np.where(neg, val - (np.int64(1) << avail), val)
    return np.where(valid, val, 0), valid


def text(
    v6: np.ndarray, nbits: np.ndarray, off: int, nchars: int, min_bits: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Six-bit text field as an (n, nchars) ASCII uint8 matrix plus ``valid`` (field starts inside).

    When every message holds the whole field (``min_bits``), all characters are cut out at once with two
    shifted row blocks; otherwise character by character with pyais's truncation rules.
    """
    c0, r = divmod(off, 6)
    if min_bits >= off + 6 * nchars and c0 + nchars <= v6.shape[0]:
        hi: np.ndarray = v6[c0 : c0 + nchars].astype(np.uint16)
        if r:
            lo = v6[c0 + 1 : c0 + nchars + 1].astype(np.uint16)
            if lo.shape[0] < nchars:  # the last character ends exactly at the matrix edge
                lo = np.vstack((lo, np.zeros((nchars - lo.shape[0], v6.shape[1]), np.uint16)))
            hi = ((hi << r) | (lo >> (6 - r))) & 63
        return np.ascontiguousarray(TEXT[hi].T), np.ones(v6.shape[1], np.bool_)
    chars = np.empty((v6.shape[1], nchars), np.uint8)
    for k in range(nchars):
        val, _ = field(v6, nbits, off + 6 * k, 6, min_bits=min_bits)
        chars[:, k] = TEXT[val]
    return chars, nbits > off


def strings(chars: np.ndarray, valid: np.ndarray) -> pa.Array:
    """ASCII matrix -> string array, stripped like pyais (trailing '@' removed, then spaces both ends).

    Empty results and rows with ``valid`` False become null: an empty AIS text means "not available".
    """
    n, w = chars.shape
    if n == 0:
        return pa.array([], pa.string())
    cols = np.arange(w)
    not_at = chars != _AT
    end = np.where(not_at.any(axis=1), w - np.argmax(not_at[:, ::-1], axis=1), 0)
    keep = (chars != _SPACE) & (cols[None, :] < end[:, None])
    has = keep.any(axis=1)
    begin = np.where(has, np.argmax(keep, axis=1), 0)
    stop = np.where(has, w - np.argmax(keep[:, ::-1], axis=1), 0)
    flat_starts = np.arange(n, dtype=np.int64) * w + begin
    out = slices_to_strings(chars.reshape(-1), flat_starts, flat_starts + (stop - begin))
    return pc.if_else(pa.array(has & valid), out, pa.scalar(None, pa.string()))


def slices_to_strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """Arrow string array of ``buf[starts[i]:ends[i]]`` (gathered in one vectorised pass).

    Invalid UTF-8 is replaced (U+FFFD) so raw quarantine text is always storable.
    """
    lens = np.maximum(ends - starts, 0).astype(np.int64)
    offsets = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    if total > 1 << 20 and lens.size > 1 and bool(np.all(starts[1:] >= ends[:-1])):
        # many disjoint slices in file order (e.g. quarantined lines): mark them in one pass over ``buf``
        # instead of building an index per byte
        mark = np.zeros(buf.size + 1, np.int8)
        full = lens > 0
        mark[starts[full]] = 1
        mark[ends[full]] -= 1
        data = buf[np.cumsum(mark[:-1], dtype=np.int8) > 0].tobytes()
    elif total:
        idx = np.repeat(starts.astype(np.int64) - offsets[:-1], lens) + np.arange(total, dtype=np.int64)
        data = buf[idx].tobytes()
    else:
        data = b""
    if total < 2**31 - 1:
        arr = pa.StringArray.from_buffers(
            lens.size, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
        )
    else:
        arr = pa.LargeStringArray.from_buffers(lens.size, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        arr.validate(full=True)  # UTF-8 check
    except pa.ArrowInvalid:
        return pa.array(
            [
                data[a:b].decode("utf-8", "replace")
                for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
            ],
            pa.string(),
        )
    return arr if arr.type == pa.string() else arr.cast(pa.string())
