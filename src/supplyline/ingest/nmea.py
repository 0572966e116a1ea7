"""NMEA 0183 AIS decoder (``!xxVDM`` / ``!xxVDO``), field-for-field identical to pyais 3.

Why not a loop over sentences: pyais decodes ~250k lines/s; ingest must be several times faster. The
per-line work (line bounds, tag blocks and their fields, checksums, the VDM header, ``$PGHP`` timestamps)
is one pass of a small C scanner (``_scan.c``, GIL released); everything else works on whole arrays with
NumPy: context lines, time and source, and the six-bit payload bit fields of all messages at once. Python
loops remain only over multi-sentence fragments (reassembly) and lines that carry receiver prefixes.

Accepted input, per physical line (CR/LF or LF, surrounding blanks ignored):

* ``#`` comments and blank lines (not counted in ``lines_read``);
* an optional receiver prefix before the sentence; a leading ISO-8601 or Unix timestamp there is used
  as the time when nothing better is known;
* an optional NMEA 4.0 tag block ``\\g:1-2-1604,s:src,c:1418169601*hh\\`` (``c:`` in seconds or
  milliseconds; ``g:`` groups multipart sentences), inline or on a line of its own, in which case it
  applies to the next sentence (DMA/Gatehouse style: ``\\si:AISD*3F\\``);
* ``$PGHP,1,yyyy,mm,dd,HH,MM,SS,ms,country,region,site,...`` (Gatehouse) lines, giving the time and the
  receiving site of the next sentence;
* ``!<talker>VDM|VDO,<count>,<number>,<seq>,<channel>,<payload>,<fill>*hh`` for any talker id, optionally
  followed by receiver metadata (``,b003669705,1272412827`` or ``,d-109,S2105,t..,r003669946,1325394060``:
  the first 10-digit Unix time there is used as a time fallback, an ``r``/``b`` station id as source).

Time of a message, in order: tag block ``c:``, ``$PGHP``, trailing Unix time, leading timestamp; the first
fragment carrying one wins. ``source``: tag block ``s:``, else the ``$PGHP`` site (its site MMSI, else its
country MID), else the trailing station id, else ``source_default``.

Decoded values keep the AIS "not available" codes as numbers (the shared normaliser turns them into null
or quarantine): **lat 91, lon 181, sog 102.3 kn, cog 360 deg, heading 511**. Type 27 (long-range, 1 kn and
1 deg resolution, lat/lon in 1/10 min) maps its own codes sog 63 -> 102.3 and cog 511 -> 360 so one rule
fits all; it has no heading (null). Types 18/19 have no navigational status (null). Latitude/longitude
are rounded to 1e-6 deg exactly as pyais does. Static strings are pyais-stripped; an empty string, IMO 0,
draught 0 and length/width 0 ("not available") become null.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.errors import InputError
from supplyline.ingest import _sixbit as sb
from supplyline.ingest._scan_py import (  # the constants; the same in the C scanner (tested)
    D_CHARS,
    D_CHK,
    D_EMPTY,
    D_FIELDS,
    D_FILL,
    D_FRAG,
    D_INCOMPLETE,
    D_LONG,
    D_NOCHK,
    D_NODELIM,
    D_NONAIS,
    D_NUL,
    D_ORPHAN,
    D_PARTNO,
    D_PGHP,
    D_SHORT,
    D_TAGCHK,
    D_TAGJUNK,
    D_TAGNOCHK,
    NOTIME,
)
from supplyline.ingest.ais_payload import PAD as _PAD
from supplyline.ingest.ais_payload import decode_fields
from supplyline.ingest.ais_payload import padded as _padded
from supplyline.ingest.scanner import impl as _scan

__all__ = ["POSITIONS_OUT", "STATICS_OUT", "NmeaResult", "decode_nmea", "decode_payloads"]


def _with_lines(base: pa.Schema) -> pa.Schema:
    ts_i = base.get_field_index("ts")
    out = base.set(ts_i, base.field(ts_i).with_nullable(True))
    return out.append(pa.field("_lines", pa.int8())).append(pa.field("_line", pa.int64()))


POSITIONS_OUT = _with_lines(schema.POSITIONS)  # schema.POSITIONS (ts nullable) + _lines, _line
STATICS_OUT = _with_lines(schema.STATICS)


@dataclass(frozen=True)
class NmeaResult:
    """What one NMEA file decoded to.

    ``_lines`` is the number of physical lines a row used (fragments of a multi-sentence message; 0 for
    the static half of a type 19, whose line is counted by its position row), so that
    ``lines_read == positions._lines.sum() + statics._lines.sum() + quarantine.num_rows``.
    ``_line`` is the 1-based physical line where the row's message starts (its first fragment), so rows the
    normaliser rejects can be quoted.
    """

    positions: pa.Table
    statics: pa.Table
    quarantine: pa.Table
    lines_read: int
    physical_lines: int = 0  # all lines of the input, comments and blanks too (the last may lack a newline)
    # the decoded bytes, each active line's (start, end) in them and its 0-based physical line index, for
    # quoting rows rejected later
    _text: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def line_text(self, lines: np.ndarray) -> pa.Array:
        """Text of the given 1-based physical lines (surrounding whitespace removed); null where unknown."""
        lines = np.asarray(lines, np.int64)
        if self._text is None:
            return pa.nulls(lines.size, pa.string())
        buf, st, en, numbers = self._text
        at = np.minimum(np.searchsorted(numbers, lines - 1), max(numbers.size - 1, 0))
        ok = (numbers.size > 0) & (numbers[at] == lines - 1)
        i = np.where(ok, at, 0)
        text = sb.slices_to_strings(buf, st[i], np.where(ok, en[i], st[i]))
        return text if ok.all() else pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))


# --- quarantine reasons and details -------------------------------------------------------------------------

_R = {name: i for i, name in enumerate(schema.QUARANTINE_REASONS)}
_DETAILS = [
    "no NMEA sentence start ('!', '$' or a tag block)",  # 0
    "(unused)",  # 1
    "tag block is not of the form \\...*hh\\",  # 2
    "tag block checksum mismatch",  # 3
    "no valid *hh checksum",  # 4
    "checksum mismatch",  # 5
    "VDM/VDO fields are not count,number,seq,channel,payload,fill",  # 6
    "bad fragment count/number or sequence id",  # 7
    "bad fill-bit count",  # 8
    "empty payload",  # 9
    "not an AIS VDM/VDO sentence",  # 10
    "$PGHP line with an invalid date/time",  # 11
    "context line ($PGHP or tag block) not followed by a sentence",  # 12
    "fragment of a multi-sentence message whose other fragments are missing or out of order",  # 13
    "payload has characters outside the AIS six-bit alphabet",  # 14
    "payload too short for its message type",  # 15
    "type 24 with a part number other than 0 (A) or 1 (B)",  # 16
    "tag block followed by something other than a sentence",  # 17
    f"line longer than {_scan.MAX_LINE} bytes (only its start is kept here)",  # 18
    "line holds a NUL byte",  # 19
] + [""] * 80
_DETAILS += [f"AIS message type {t} (not a position or static report)" for t in range(64)]  # 100 + type
_DETAIL_REASON = {
    D_NODELIM: "unparsable",
    D_TAGNOCHK: "unparsable",
    D_TAGCHK: "bad_checksum",
    D_NOCHK: "unparsable",
    D_CHK: "bad_checksum",
    D_FIELDS: "unparsable",
    D_FRAG: "unparsable",
    D_FILL: "unparsable",
    D_EMPTY: "empty_payload",
    D_NONAIS: "unsupported_type",
    D_PGHP: "unparsable",
    D_ORPHAN: "unsupported_type",
    D_INCOMPLETE: "incomplete_multipart",
    D_CHARS: "unparsable",
    D_SHORT: "unparsable",
    D_PARTNO: "unparsable",
    D_TAGJUNK: "unparsable",
    D_LONG: "line_too_long",
    D_NUL: "nul_byte",
}
_DETAIL_REASON_CODE = np.full(len(_DETAILS), _R["unsupported_type"], np.int16)
for _d, _r in _DETAIL_REASON.items():
    _DETAIL_REASON_CODE[_d] = _R[_r]


def decode_payloads(payloads: Sequence[bytes], fill_bits: Sequence[int]) -> pa.Table:
    """Decode armoured AIS payloads (already reassembled) into one row each, for tests and tools.

    Columns: msg_type, mmsi, bad (quarantine detail or null), lat, lon (deg), sog_kn, cog_deg, heading_deg,
    nav_status, imo, name, callsign, ship_type, to_bow/to_stern/to_port/to_starboard (m), draught_m,
    destination, eta_month/day/hour/minute, partno. Missing fields are null; AIS "not available" codes are
    kept (see the module docstring).
    """
    if len(payloads) != len(fill_bits):
        raise InputError("decode_payloads needs one fill-bit count per payload")
    data = b"".join(payloads)
    lens = np.fromiter((len(p) for p in payloads), np.int64, len(payloads))
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64) if len(payloads) else lens
    d = decode_fields(_padded(data), starts, lens, np.asarray(fill_bits, np.int64))
    cols: dict[str, pa.Array] = {
        "msg_type": pa.array(d["msg_type"], pa.int8()),
        "mmsi": pa.array(d["mmsi"], pa.int64()),
        "bad": pa.array([_DETAILS[b] if b >= 0 else None for b in d["bad"].tolist()], pa.string()),
    }
    for name, out in (
        ("lat", "lat"),
        ("lon", "lon"),
        ("sog", "sog_kn"),
        ("cog", "cog_deg"),
        ("heading", "heading_deg"),
        ("draught", "draught_m"),
    ):
        cols[out] = pa.array(d[name], pa.float64(), mask=np.isnan(d[name]))
    for name in ("nav_status", "imo", "ship_type", "to_bow", "to_stern", "to_port", "to_starboard", "partno"):
        cols[name] = pa.array(d[name], pa.int64(), mask=d[name] < 0)
    for name in ("eta_month", "eta_day", "eta_hour", "eta_minute"):
        cols[name] = pa.array(d[name], pa.int64(), mask=d[name] < 0)
    for name in ("name", "callsign", "destination"):
        cols[name] = sb.strings(d[f"{name}_chars"], d[f"{name}_ok"])
    return pa.table(cols)


# --- receiver prefixes --------------------------------------------------------------------------------------


_ISO = re.compile(rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?")
_UNIX = re.compile(rb"(?<![\d.])(\d{10}|\d{13})(?:\.(\d{1,6}))?(?![\d])")


def _unix_us(sec: bytes, frac: bytes | None) -> int:
    us = int(sec) * (1000 if len(sec) == 13 else 1_000_000)
    if frac:
        us += int((frac + b"000000")[:6]) // (1000 if len(sec) == 13 else 1)
    return us


def _prefix_time(text: bytes) -> int:
    """Leading receiver timestamp (ISO-8601 UTC or Unix seconds/ms) in microseconds, NOTIME if none."""
    m = _ISO.search(text)
    if m:
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        try:
            base = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
        except ValueError:
            return NOTIME
        frac = m.group(7) or b""
        return int(base.timestamp()) * 1_000_000 + (int((frac + b"000000")[:6]) if frac else 0)
    m = _UNIX.search(text)
    if m:
        return _unix_us(m.group(1), m.group(2))
    return NOTIME


def _scan_lines(pbuf: np.ndarray, n: int, big: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Every line-level field of the active lines of the ``n`` bytes in ``pbuf`` (see ``_scan.c``):
    (``_scan.N_FIELDS``, active lines), each active line's 0-based physical index, and the physical lines.

    Lines end at LF; a last line without one counts, an empty tail after the final LF does not. Blank
    lines and comments get no column, so a flood of them costs no memory.
    """
    physical = int(np.count_nonzero(pbuf[:n] == 10)) + int(n > 0 and pbuf[n - 1] != 10)
    columns = physical
    if physical * 16 > n:  # newline-dense (a flood of short or blank lines): size the columns exactly
        physical, columns = _scan.count_lines(pbuf, n)
    out = np.empty((_scan.N_FIELDS, columns), np.int64)
    numbers = np.empty(columns, np.int64)
    active = _scan.scan_into(pbuf, n, big, out, numbers)
    return out[:, :active], numbers[:active], physical


# --- the decoder --------------------------------------------------------------------------------------------


def decode_nmea(data: bytes, *, file: str, input_id: str, source_default: str = "nmea") -> NmeaResult:
    """Decode a whole NMEA 0183 AIS log (bytes) into positions, statics and quarantined lines.

    ``file`` and ``input_id`` label the quarantine rows and every output row. Lines are 1-based.
    Stages: scan every line (C) -> attach context lines (tag blocks, ``$PGHP``) to sentences -> each
    sentence's header, time, source and group -> messages (single sentences, reassembled fragments) ->
    payload fields -> message-level rejections -> tables.
    """
    n = len(data)
    pbuf = _padded(data, room=n + _PAD)  # reassembled payloads (under n bytes in all) go after the padding
    buf = pbuf[:n]
    scanned, numbers, physical = _scan_lines(pbuf, n, big=n + _PAD // 2)  # one compiled pass
    lines = _Lines.of(scanned)
    context = _attach_context(lines)
    sentences = _sentences(data, scanned, lines, context)
    messages, payloads, fragments = _messages(data, pbuf, sentences, lines.qdet)
    fields = decode_fields(pbuf, payloads.start, payloads.length, payloads.fill)
    _reject_messages(lines.qdet, fields["bad"], messages, fragments)

    # output rows in stream order (by the line completing each message); singles already are
    in_order = (
        np.argsort(messages.last, kind="stable") if fragments.has_multi else np.arange(messages.last.size)
    )
    pos_idx = in_order[fields["is_pos"][in_order]]
    sta_idx = in_order[fields["is_static"][in_order]]
    source = sb.slices_to_strings(
        buf,
        np.maximum(messages.source_start, 0),
        np.where(messages.source_start >= 0, messages.source_end, 0),
    )
    source = pc.if_else(pa.array(messages.source_start >= 0), source, pa.scalar(source_default, pa.string()))
    no_time = messages.time == NOTIME
    ts = pa.array(np.where(no_time, 0, messages.time), pa.int64(), mask=no_time).cast(schema.TS)
    first_line = numbers[messages.first] + 1
    positions = _positions_table(fields, pos_idx, ts, source, input_id, messages.nlines, first_line)
    statics = _statics_table(fields, sta_idx, ts, source, input_id, messages.nlines, first_line)
    quarantine = _quarantine_table(buf, lines, numbers, file, input_id)
    return NmeaResult(
        positions, statics, quarantine, context.lines_read, physical, (buf, lines.start, lines.end, numbers)
    )


@dataclass(frozen=True)
class _Lines:
    """Per physical line (from the C scan): bounds, kind flags and quarantine detail (-1 = none yet).

    ``qdet`` is a view into the scan's output: the stages below write their rejections into it.
    """

    start: np.ndarray
    end: np.ndarray
    flags: np.ndarray
    qdet: np.ndarray

    @classmethod
    def of(cls, scanned: np.ndarray) -> _Lines:
        return cls(scanned[_scan.F_ST], scanned[_scan.F_EN], scanned[_scan.F_FLAGS], scanned[_scan.F_QDET])

    def has(self, flag: int) -> np.ndarray:
        return (self.flags & flag) > 0


@dataclass(frozen=True)
class _Context:
    """Record lines, and for each the tag-block-only and ``$PGHP`` line that applies to it (-1: none)."""

    records: np.ndarray  # active lines that are not context lines
    tag_line: np.ndarray
    pghp_line: np.ndarray
    lines_read: int  # records (and rejected lines) counted; consumed context lines are part of a record


def _attach_context(lines: _Lines) -> _Context:
    """Context lines (tag-only, $PGHP) apply to the next record line; a later context line of the same kind
    before that record supersedes them. Orphans are quarantined (``D_ORPHAN``)."""
    active = lines.has(_scan.FLAG_ACTIVE)
    tag_only, is_pghp = lines.has(_scan.FLAG_TAG_ONLY), lines.has(_scan.FLAG_PGHP)
    records = np.flatnonzero(active & ~(tag_only | is_pghp))
    prev_record = np.concatenate(([-1], records[:-1]))
    consumed = np.zeros(lines.start.size, np.bool_)
    valid = lines.qdet < 0
    tag_ctx = tag_only & lines.has(_scan.FLAG_TAG_GOOD) & valid
    assigned: list[np.ndarray] = []
    for ctx in (tag_ctx, is_pghp & valid):
        ctx_lines = np.flatnonzero(ctx)
        applies = np.full(records.size, -1, np.int64)
        if ctx_lines.size and records.size:
            j = np.searchsorted(ctx_lines, records) - 1
            candidate = np.where(j >= 0, ctx_lines[np.maximum(j, 0)], -1)
            got = candidate > prev_record
            applies = np.where(got, candidate, -1)
            consumed[candidate[got]] = True
        lines.qdet[ctx & ~consumed] = D_ORPHAN  # ctx lines are not rejected yet
        assigned.append(applies)
    return _Context(records, assigned[0], assigned[1], int(active.sum() - consumed.sum()))


# the scanned fields of a sentence's header (the C scanner's names), by their name in :class:`_Sentences`
_HEADER_FIELDS = {
    "frag_count": _scan.F_FC,
    "frag_number": _scan.F_FN,
    "seq_id": _scan.F_SEQ,
    "channel": _scan.F_CHAN,
    "payload_start": _scan.F_PSTART,
    "payload_len": _scan.F_PLEN,
    "fill_bits": _scan.F_FILL,
    "sentence_start": _scan.F_S0,
}


@dataclass(frozen=True)
class _Sentences:
    """The valid VDM/VDO lines: header fields, payload, and the time, source and group resolved for each.

    ``source_start``/``source_end`` and ``group_start``/``group_end`` are byte slices (-1: none); ``time``
    is in microseconds (``NOTIME``: none).
    """

    line: np.ndarray
    frag_count: np.ndarray
    frag_number: np.ndarray
    seq_id: np.ndarray
    channel: np.ndarray
    payload_start: np.ndarray
    payload_len: np.ndarray
    fill_bits: np.ndarray
    sentence_start: np.ndarray  # the '!' of the sentence
    time: np.ndarray
    source_start: np.ndarray
    source_end: np.ndarray
    group_start: np.ndarray
    group_end: np.ndarray


def _sentences(data: bytes, scanned: np.ndarray, lines: _Lines, context: _Context) -> _Sentences:
    """Header fields of the valid sentences, with each one's time, source and group in order of preference."""
    vdm = np.flatnonzero(lines.has(_scan.FLAG_VDM) & (lines.qdet < 0))
    at = np.searchsorted(context.records, vdm)
    tag_line, pghp_line = context.tag_line[at], context.pghp_line[at]
    has_tag, has_pghp = tag_line >= 0, pghp_line >= 0
    tag_line, pghp_line = np.maximum(tag_line, 0), np.maximum(pghp_line, 0)
    tag_time, pghp_time = scanned[_scan.F_TAG_C], scanned[_scan.F_PGHP_US]
    tag_src_start, tag_src_end = scanned[_scan.F_TAG_SA], scanned[_scan.F_TAG_SB]
    tag_group_start, tag_group_end = scanned[_scan.F_TAG_GA], scanned[_scan.F_TAG_GB]

    # time: the sentence's own tag block c:, its context tag block's, $PGHP, receiver suffix, leading prefix
    time = tag_time[vdm]
    time = np.where((time == NOTIME) & has_tag, tag_time[tag_line], time)
    time = np.where((time == NOTIME) & has_pghp, pghp_time[pghp_line], time)
    time = np.where(time == NOTIME, scanned[_scan.F_SUF_T, vdm], time)
    data_start = scanned[_scan.F_D0, vdm]  # where the sentence (or its inline tag block) begins
    for i in np.flatnonzero((data_start > lines.start[vdm]) & (time == NOTIME)).tolist():
        time[i] = _prefix_time(data[int(lines.start[vdm[i]]) : int(data_start[i])])

    # source: the own tag block s:, its context tag block's, the $PGHP site, the receiver suffix's station
    src_start, src_end = tag_src_start[vdm], tag_src_end[vdm]
    for has, ctx_line, start_of, end_of in (
        (has_tag, tag_line, tag_src_start, tag_src_end),
        (has_pghp, pghp_line, scanned[_scan.F_SRC_A], scanned[_scan.F_SRC_B]),
    ):
        use = (src_start < 0) & has
        src_start, src_end = (
            np.where(use, start_of[ctx_line], src_start),
            np.where(use, end_of[ctx_line], src_end),
        )
    suffix_start, suffix_end = scanned[_scan.F_SUF_SA, vdm], scanned[_scan.F_SUF_SB, vdm]
    use = (src_start < 0) & (suffix_start >= 0)
    src_start, src_end = np.where(use, suffix_start, src_start), np.where(use, suffix_end, src_end)

    # group (tag block g:): the sentence's own, else its context tag block's
    use = (tag_group_start[vdm] < 0) & has_tag
    group_start = np.where(use, tag_group_start[tag_line], tag_group_start[vdm])
    group_end = np.where(use, tag_group_end[tag_line], tag_group_end[vdm])
    header = {name: scanned[k, vdm] for name, k in _HEADER_FIELDS.items()}
    return _Sentences(
        line=vdm,
        **header,
        time=time,
        source_start=src_start,
        source_end=src_end,
        group_start=group_start,
        group_end=group_end,
    )


@dataclass(frozen=True)
class _Payloads:
    """Where each message's whole payload is in the padded buffer, and its fill bits."""

    start: np.ndarray
    length: np.ndarray
    fill: np.ndarray


@dataclass(frozen=True)
class _Fragments:
    """The sentences of reassembled multi-sentence messages: their lines and the message each belongs to."""

    lines: np.ndarray
    message: np.ndarray
    has_multi: bool  # any multi-sentence sentence at all (complete or not)


def _messages(
    data: bytes, pbuf: np.ndarray, s: _Sentences, qdet: np.ndarray
) -> tuple[_Messages, _Payloads, _Fragments]:
    """Messages: single sentences decode in place, multi-sentence ones are reassembled first.

    Reassembled payloads are written into ``pbuf`` after the input and its padding (one decode for all
    messages); fragments of incomplete messages are quarantined (``D_INCOMPLETE``).
    """
    single = s.frag_count == 1
    messages = _Messages(
        first=s.line[single],
        last=s.line[single],
        nlines=np.ones(int(single.sum()), np.int64),
        time=s.time[single],
        source_start=s.source_start[single],
        source_end=s.source_end[single],
    )
    payloads = _Payloads(s.payload_start[single], s.payload_len[single], s.fill_bits[single])
    multi = np.flatnonzero(~single)
    fragments = _Fragments(np.zeros(0, np.int64), np.zeros(0, np.int64), bool(multi.size))
    if not multi.size:
        return messages, payloads, fragments
    at = s.sentence_start[multi]  # talker (2 letters) and sentence type (VDM/VDO: its last letter)
    talker = pbuf[at + 1].astype(np.int64) * 65536 + pbuf[at + 2].astype(np.int64) * 256 + pbuf[at + 5]
    slot = np.stack((s.seq_id[multi], s.channel[multi], talker))
    assembled = _assemble(
        data, multi, s.frag_count[multi], s.frag_number[multi], slot, s.group_start[multi], s.group_end[multi]
    )
    for frags in assembled.incomplete:
        qdet[s.line[frags]] = D_INCOMPLETE
    if not assembled.messages:
        return messages, payloads, fragments
    return _add_reassembled(data, pbuf, s, assembled.messages, messages, payloads)


def _add_reassembled(
    data: bytes,
    pbuf: np.ndarray,
    s: _Sentences,
    complete: list[list[int]],
    messages: _Messages,
    payloads: _Payloads,
) -> tuple[_Messages, _Payloads, _Fragments]:
    """Append the complete multi-sentence messages (``complete``: their sentences' indices, in order)."""
    n = len(data)
    lines_of = [s.line[f] for f in complete]
    joined = [
        b"".join(data[int(s.payload_start[x]) : int(s.payload_start[x] + s.payload_len[x])] for x in f)
        for f in complete
    ]
    lengths = np.array([len(p) for p in joined], np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # time/source from the first fragment that has a time (else the first fragment)
    pick = np.array([next((x for x in f if s.time[x] != NOTIME), f[0]) for f in complete], np.int64)
    extra = np.frombuffer(b"".join(joined), np.uint8)
    pbuf[n + _PAD : n + _PAD + extra.size] = extra  # only decode_fields reads past n from here on
    payloads = _Payloads(
        np.concatenate((payloads.start, n + _PAD + offsets)),
        np.concatenate((payloads.length, lengths)),
        np.concatenate((payloads.fill, np.array([s.fill_bits[f[-1]] for f in complete], np.int64))),
    )
    n_single = messages.first.size
    messages = messages.extend(
        first=np.array([x[0] for x in lines_of], np.int64),
        last=np.array([x[-1] for x in lines_of], np.int64),
        nlines=np.array([len(x) for x in lines_of], np.int64),
        time=s.time[pick],
        source_start=s.source_start[pick],
        source_end=s.source_end[pick],
    )
    fragment_lines = np.concatenate(lines_of)
    fragment_message = np.repeat(np.arange(len(lines_of)) + n_single, [len(x) for x in lines_of])
    return messages, payloads, _Fragments(fragment_lines, fragment_message, True)


def _reject_messages(qdet: np.ndarray, bad: np.ndarray, messages: _Messages, fragments: _Fragments) -> None:
    """Message-level rejections (unsupported type, bad characters, too short) on every line of the message."""
    single_bad = (bad >= 0) & (messages.nlines == 1)
    qdet[messages.last[single_bad]] = bad[single_bad]
    if fragments.lines.size:
        sel = bad[fragments.message] >= 0
        qdet[fragments.lines[sel]] = bad[fragments.message[sel]]


@dataclass(frozen=True)
class _Messages:
    """Per-message line bookkeeping: first/last physical line, line count, time (us) and source slice."""

    first: np.ndarray
    last: np.ndarray
    nlines: np.ndarray
    time: np.ndarray
    source_start: np.ndarray
    source_end: np.ndarray

    def extend(self, **more: np.ndarray) -> _Messages:
        return _Messages(**{k: np.concatenate((getattr(self, k), v)) for k, v in more.items()})


@dataclass
class _Assembled:
    messages: list[list[int]]  # indices (into the VDM line arrays) of each message's fragments, in order
    incomplete: list[list[int]]


def _assemble(
    data: bytes,
    idx: np.ndarray,
    count: np.ndarray,
    number: np.ndarray,
    slot: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
) -> _Assembled:
    """Reassemble multi-sentence messages (a Python loop over fragments only; they are few).

    Fragments belong together when they share the tag-block group id (``g:n-m-id``) or, without one, the
    sequence id, channel, talker and sentence type (the same slot pyais uses). A first fragment restarts
    its slot; fragments must arrive in order; leftovers are incomplete.
    """
    pending: dict[object, list[int]] = {}
    out = _Assembled([], [])
    slots = slot.T.tolist()
    for j, (i, cnt, num, g0, g1) in enumerate(
        zip(idx.tolist(), count.tolist(), number.tolist(), ga.tolist(), gb.tolist(), strict=True)
    ):
        key: object = ("g", data[g0:g1].rsplit(b"-", 1)[-1], cnt) if g0 >= 0 else (*slots[j], cnt)
        if num == 1:
            if key in pending:
                out.incomplete.append(pending.pop(key))
            pending[key] = [i]
        elif key in pending and len(pending[key]) + 1 == num:
            pending[key].append(i)
        else:
            out.incomplete.append([i])
            continue
        if len(pending[key]) == cnt:
            out.messages.append(pending.pop(key))
    out.incomplete.extend(pending.values())
    return out


def _table(cols: dict[str, pa.Array], out_schema: pa.Schema, k: int) -> pa.Table:
    """Arrange ``cols`` as ``out_schema``; columns the decoder does not produce are derived or null.

    ``last_ts``/``n_reports`` (run-length columns of the shared schema) start as ``ts`` and 1 per report.
    """
    arrays = []
    for f in out_schema:
        if f.name in cols:
            arrays.append(cols[f.name])
        elif f.name == "last_ts":
            arrays.append(cols["ts"])
        elif f.name == "n_reports":
            arrays.append(pa.array(np.ones(k, np.int64), f.type))
        else:
            arrays.append(pa.nulls(k, f.type))
    return pa.Table.from_arrays(arrays, schema=out_schema)


def _f32(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    v = values[idx]
    return pa.array(v.astype(np.float32), pa.float32(), mask=np.isnan(v))


def _positions_table(
    d: dict[str, np.ndarray],
    idx: np.ndarray,
    ts: pa.Array,
    source: pa.Array,
    input_id: str,
    nlines: np.ndarray,
    line: np.ndarray,
) -> pa.Table:
    k = idx.size
    take = pa.array(idx)
    status = d["nav_status"][idx]
    cols = {
        "mmsi": pa.array(d["mmsi"][idx], pa.int64()),
        "ts": ts.take(take),
        "lat": pa.array(d["lat"][idx], pa.float64()),
        "lon": pa.array(d["lon"][idx], pa.float64()),
        "sog_kn": _f32(d["sog"], idx),
        "cog_deg": _f32(d["cog"], idx),
        "heading_deg": _f32(d["heading"], idx),
        "nav_status": pa.array(status.astype(np.int8), pa.int8(), mask=status < 0),
        "msg_type": pa.array(d["msg_type"][idx].astype(np.int8), pa.int8()),
        "source": source.take(take),
        "input_id": pa.repeat(pa.scalar(input_id, pa.string()), k),
        "_lines": pa.array(nlines[idx].astype(np.int8), pa.int8()),
        "_line": pa.array(line[idx], pa.int64()),
    }
    return _table(cols, POSITIONS_OUT, k)


def _statics_table(
    d: dict[str, np.ndarray],
    idx: np.ndarray,
    ts: pa.Array,
    source: pa.Array,
    input_id: str,
    nlines: np.ndarray,
    line: np.ndarray,
) -> pa.Table:
    k = idx.size
    take = pa.array(idx)
    mt = d["msg_type"][idx]

    def dim(a: str, b: str) -> pa.Array:
        x, y = d[a][idx], d[b][idx]
        total = (x + y).astype(np.float32)
        return pa.array(total, pa.float32(), mask=(x < 0) | (y < 0) | (total == 0))

    imo = d["imo"][idx]
    ship_type = d["ship_type"][idx]
    dr = d["draught"][idx]
    mo, dd, hh, mm = (d[f"eta_{x}"][idx] for x in ("month", "day", "hour", "minute"))
    eta_na = (mo < 0) | (dd < 0) | (hh < 0) | (mm < 0) | ((mo == 0) & (dd == 0) & (hh == 24) & (mm == 60))

    def two(x: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(pa.array(np.maximum(x, 0)).cast(pa.string()), 2, "0")

    eta = pc.binary_join_element_wise(two(mo), "-", two(dd), " ", two(hh), ":", two(mm), "")
    eta = pc.if_else(pa.array(eta_na), pa.scalar(None, pa.string()), eta)
    cols = {
        "mmsi": pa.array(d["mmsi"][idx], pa.int64()),
        "ts": ts.take(take),
        "imo": pa.array(imo, pa.int64(), mask=imo <= 0),
        "name": sb.strings(d["name_chars"][idx], d["name_ok"][idx]),
        "callsign": sb.strings(d["callsign_chars"][idx], d["callsign_ok"][idx]),
        "ship_type": pa.array(ship_type.astype(np.int16), pa.int16(), mask=ship_type < 0),
        "length_m": dim("to_bow", "to_stern"),
        "width_m": dim("to_port", "to_starboard"),
        "draught_m": pa.array(dr.astype(np.float32), pa.float32(), mask=np.isnan(dr) | (dr == 0)),
        "destination": sb.strings(d["destination_chars"][idx], d["destination_ok"][idx]),
        "eta": eta,
        "msg_type": pa.array(mt.astype(np.int8), pa.int8()),
        "source": source.take(take),
        "input_id": pa.repeat(pa.scalar(input_id, pa.string()), k),
        "_lines": pa.array(np.where(mt == 19, 0, nlines[idx]).astype(np.int8), pa.int8()),
        "_line": pa.array(line[idx], pa.int64()),
    }
    return _table(cols, STATICS_OUT, k)


def _quarantine_table(
    buf: np.ndarray, lines: _Lines, numbers: np.ndarray, file: str, input_id: str
) -> pa.Table:
    """The rejected lines, with their physical line number and text (an over-long line: its first 256 bytes)."""
    rows = np.flatnonzero(lines.qdet >= 0)
    codes = lines.qdet[rows]
    st = lines.start[rows]
    en = np.where(codes == D_LONG, np.minimum(lines.end[rows], st + 256), lines.end[rows])
    k = rows.size
    reasons = pa.array(schema.QUARANTINE_REASONS, pa.string())
    details = pa.array(_DETAILS, pa.string())
    cols = [
        pa.repeat(pa.scalar(input_id, pa.string()), k),
        pa.repeat(pa.scalar(file, pa.string()), k),
        pa.array(numbers[rows] + 1, pa.int64()),
        sb.slices_to_strings(buf, st, en),
        reasons.take(pa.array(_DETAIL_REASON_CODE[codes])),
        details.take(pa.array(codes)),
    ]
    return pa.Table.from_arrays(cols, schema=schema.QUARANTINE)
