"""Article -> candidate claims: the stages of extraction joined, and the bridge to the ledger.

Stages: segments (clutter out, headline/caption/body apart) -> quantities by head noun -> claimant
(sentence, quotation, or carried from earlier sentences) -> period (sentence, or the sentence before when
this one refers back: "the containers could hold ...") -> context or claim -> de-duplication. Every
field carries a confidence in [0, 1] (how the field was found, not a calibrated probability).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.errors import InputError
from supplyline.evidence.extract.article import parse_article
from supplyline.evidence.extract.attribution import find_attribution, resolve
from supplyline.evidence.extract.context import RECAP, context_reason, without_statement_dates
from supplyline.evidence.extract.dedup import deduplicate
from supplyline.evidence.extract.layout import Segment, segments
from supplyline.evidence.extract.periods import NO_PERIOD, Period, period_after, sentence_period
from supplyline.evidence.extract.quantities import Mention, find_quantities
from supplyline.evidence.units import fill_bounds
from supplyline.ids import stable_id
from supplyline.urls import require_link_url

_ANAPHORA = re.compile(
    r"(?i)\b(?:the|these|those)\s+(?:containers|shells|rounds|stack|tonnage|cargo|shipments|amount|total|"
    r"figure|load|munitions|weapons|deliveries|ships|vessels|voyages)\b|\bthey\b|^\W*(?:that|this)\b"
)
_ROLE_FACTOR = {"body": 1.0, "headline": 0.7, "summary": 0.7, "caption": 0.6}
_HEADLINE_CLAIMANT = re.compile(
    r"^(?P<who>[A-Z][\w .'’-]{1,40}):\s|,\s*(?P<who2>[\w .'’-]{2,40}?)\s+(?:says|said|claims)\s*$"
    r"|:\s*(?P<who3>[A-Z][\w .'’-]{1,40})$"
)


@dataclass(frozen=True)
class Candidate:
    """One proposed claim (kind ``claim``) or context figure (kind ``context``) with per-field confidence."""

    claimant: str | None
    quantity: float | None
    quantity_low: float | None
    quantity_high: float | None
    unit: str
    qualifier: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    kind: str
    context_reason: str | None
    quote: str
    subject: str
    role: str
    confidence: dict[str, float] = field(default_factory=dict)
    mentions: int = 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (dates as ISO strings)."""
        out = dict(self.__dict__)
        for k in ("period_start", "period_end"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass
class _State:
    """What the reader remembers while going through the article."""

    claimants: list[str] = field(default_factory=list)
    last: tuple[str, int] | None = None  # latest claimant and its paragraph
    period: Period = NO_PERIOD


def _quote_closer(segs: list[Segment], i: int) -> Segment | None:
    """For a sentence opening a quotation it does not close, the sentence that closes it."""
    text = segs[i].text
    opened = text.count("“") > text.count("”") or text.count('"') % 2 == 1
    if not opened or not re.match(r'^\s*[“"]', text):
        return None
    for seg in segs[i + 1 : i + 4]:
        if seg.role != "body":
            return None
        if re.search(r'[”"]', seg.text):
            return seg
    return None


def _claimant(segs: list[Segment], i: int, state: _State) -> tuple[str | None, float]:
    seg = segs[i]
    found = find_attribution(seg.text)
    if found is None and seg.role == "headline":
        m = _HEADLINE_CLAIMANT.search(seg.text)
        if m:
            return (m["who"] or m["who2"] or m["who3"]).strip(), 0.5
    if found is None and (closer := _quote_closer(segs, i)):
        found = find_attribution(closer.text)
    named, conf = resolve(found, state.claimants) if found is not None else (None, 0.0)
    if named is not None:
        if seg.role == "body":
            state.claimants.append(named)
            state.last = (named, seg.paragraph)
        return named, conf
    if state.last is None or seg.role != "body":
        return None, 0.0
    name, paragraph = state.last
    return name, 0.6 if paragraph == seg.paragraph else 0.4


def _period(seg: Segment, published: dt.date | None, state: _State) -> Period:
    own = sentence_period(seg.text, published)
    if seg.role != "body":
        return own
    if own is NO_PERIOD and _ANAPHORA.search(seg.text) and state.period is not NO_PERIOD:
        own = Period(state.period.start, state.period.end, 0.5, inherited=True)
    state.period = own
    return own


def _subject(sentence: str, mention: Mention) -> str:
    """The unit phrase plus what follows it ("containers of munitions", "rounds of artillery ammunition")."""
    m = re.match(
        r"\s+(of\s+[^,.;]+?)(?=\s+(?:to|from|since|between|in|on|by|and\s+\d|were|was|had|have|has|could|would)\b|[,.;]|$)",
        sentence[mention.end :],
    )
    return f"{mention.unit_text} {m.group(1)}" if m else mention.unit_text


def _candidate(
    seg: Segment,
    mention: Mention,
    claimant: tuple[str | None, float],
    period: Period,
    published: dt.date | None,
) -> Candidate:
    low, high = fill_bounds(mention.quantity, mention.low, mention.high, mention.qualifier)
    if period.inherited and mention.unit == "ships":
        period = NO_PERIOD  # a fleet is named, not counted over the period before
    period = period_after(seg.text, mention.end, published) or period
    reason = context_reason(seg.text, mention.start, mention.end, mention.unit, period.end, published)
    if reason == RECAP:  # the sentence's date may be when it was said, not what it counts
        period = sentence_period(without_statement_dates(seg.text), published)
    factor = _ROLE_FACTOR[seg.role]
    base = 0.6 if mention.elliptical else (0.85 if mention.word_number else 0.95)
    confidence = {
        "quantity": round(base * factor, 2),
        "unit": round((0.6 if mention.elliptical else 0.9) * factor, 2),
        "claimant": round(claimant[1] * factor, 2),
        "period": round(period.confidence * factor, 2),
        "kind": 0.8 if reason else 0.7,
    }
    return Candidate(
        claimant=claimant[0],
        quantity=mention.quantity,
        quantity_low=low,
        quantity_high=high,
        unit=mention.unit,
        qualifier=mention.qualifier,
        period_start=period.start,
        period_end=period.end,
        kind="context" if reason else "claim",
        context_reason=reason,
        quote=seg.text,
        subject=_subject(seg.text, mention),
        role=seg.role,
        confidence=confidence,
    )


def extract_candidates(text: str, *, published: dt.date | None = None) -> list[Candidate]:
    """Candidate claims and context figures in an article (header values fill ``published`` if unset)."""
    art = parse_article(text)
    published = published or art.published
    segs = segments(art.text, art.title)
    state = _State()
    found: list[Candidate] = []
    for i, seg in enumerate(segs):
        claimant = _claimant(segs, i, state)
        period = _period(seg, published, state)
        for m in find_quantities(seg.text):
            own = _clause_claimant(seg.text, m, state) if seg.role == "body" else None
            found.append(_candidate(seg, m, own or claimant, period, published))
    return deduplicate(found)


_CLAUSE_BREAK = re.compile(r";\s+|,?\s+(?:while|whereas)\s+|,\s+but\s+")


def _clause_claimant(sentence: str, mention: Mention, state: _State) -> tuple[str | None, float] | None:
    """In "The NIS put it at 1 million, while Ukraine's GUR said 1.5 million" each figure has its own
    source: the attribution inside the figure's clause, when the sentence has more than one clause."""
    breaks = [(b.start(), b.end()) for b in _CLAUSE_BREAK.finditer(sentence)]
    if not breaks:
        return None
    start = max((e for s, e in breaks if e <= mention.start), default=0)
    end = min((s for s, e in breaks if s >= mention.end), default=len(sentence))
    found = find_attribution(sentence[start:end])
    if found is None or found.how == "pronoun":
        return None
    named = resolve(found, state.claimants)
    return named if named[0] is not None else None


def claim_rows(
    candidates: list[Candidate], *, published: dt.date | None, outlet: str | None, url: str | None
) -> list[dict[str, Any]]:
    """Ledger rows (schema.CLAIMS columns) for the ``claim`` candidates; context figures are left out."""
    rows = []
    for c in candidates:
        if c.kind != "claim":
            continue
        row: dict[str, Any] = {
            "claimant": c.claimant,
            "outlet": outlet,
            "published": published,
            "period_start": c.period_start,
            "period_end": c.period_end,
            "quantity": c.quantity,
            "quantity_low": c.quantity_low,
            "quantity_high": c.quantity_high,
            "unit": c.unit,
            "qualifier": c.qualifier,
            "subject": c.subject,
            "quote": c.quote,
            "url": url,
        }
        row["claim_id"] = stable_id(
            "claim", c.claimant, published, c.quantity, c.quantity_low, c.quantity_high, c.unit, c.quote
        )
        rows.append(row)
    return rows


def extract_claims(
    text: str, *, published: dt.date | None = None, outlet: str | None = None, url: str | None = None
) -> pa.Table:
    """The ``claim`` candidates in ``text`` as a schema.CLAIMS table; header values fill unset arguments."""
    art = parse_article(text)
    published = published or art.published
    url = url or art.url
    if url is not None:  # it becomes a link in the report: http(s) only
        require_link_url(url, "the article's URL (header or --url)")
    rows = claim_rows(
        extract_candidates(text, published=published),
        published=published,
        outlet=outlet or art.outlet,
        url=url,
    )
    return pa.Table.from_pylist(rows, schema=schema.CLAIMS)


def read_article(path: Path | str) -> str:
    """The text of an article file (UTF-8), with a message that says what to pass when unreadable."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {p}: {exc}; pass a UTF-8 text file") from exc


def extract_file(path: Path | str, **kwargs: Any) -> pa.Table:
    """:func:`extract_claims` on a text file (UTF-8)."""
    return extract_claims(read_article(path), **kwargs)
