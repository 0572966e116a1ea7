"""Propose candidate claims from article text, for a person to confirm (rule-based: regex + a small grammar).

For each sentence, every "<qualifier> <number> [<scale>] [<calibre>] [<up to two words>] <unit>" becomes a
candidate with the quantity (or range), the normalised unit, the qualifier, the claimant (from "according
to X", "X said", "said X", or the last claimant named earlier in the article when the sentence says "he
said" / "the agency said"), the period ("since August", "between September 2023 and February 2024", "in
2024", "on 5 October"; a month without a year is the latest one on or before the publication date) and
the sentence itself as the quote. Rates ("shells a day") are not claims and are skipped. No model
download: a few hundred lines of patterns, measured against hand-labelled articles (docs/case-format.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from supplyline import schema
from supplyline.errors import InputError
from supplyline.evidence.units import (
    BASE_UNITS,
    NUMBER_PATTERN,
    QUALIFIER_PATTERN,
    QUALIFIER_SYMBOL_PATTERN,
    SCALE_PATTERN,
    UNIT_WORDS_PATTERN,
    WORD_NUMBER_PATTERN,
    calibre_in,
    fill_bounds,
    normalise_qualifier,
    normalise_unit,
    parse_number,
)
from supplyline.ids import stable_id
from supplyline.urls import require_link_url

# Units a claim extraction proposes (counts of ships, distances etc. are context, not claims).
EXTRACT_UNITS = tuple(u for u in BASE_UNITS if u != "ships")

_NUM = rf"(?:{NUMBER_PATTERN}|{WORD_NUMBER_PATTERN})"
_NOT_MEASURE = r"(?!\s*-?\s*(?:mm|millimet|ft\b|foot|feet|metre|meter|m\b|km|kilomet|per\s*cent|percent|%|dwt|gt\b|year|month|week|day|hour))"
_FILLER = r"(?:(?!(?:and|or|to|of|from|in|on|by|at|the|a)\b)[a-z][a-z'-]*\s+){0,2}?"
_QUANTITY_RE = re.compile(
    rf"""(?ix)
    (?:\b(?P<qual>{QUALIFIER_PATTERN})\s+(?:(?:about|around|approximately|some|roughly)\s+)?
      |(?P<sym>{QUALIFIER_SYMBOL_PATTERN})\s*)?
    (?:
        (?:between|from)\s+(?P<lo>{_NUM})(?:\s*(?P<lo_scale>{SCALE_PATTERN}))?\s+(?:and|to)\s+
            (?P<hi>{_NUM})(?:\s*(?P<hi_scale>{SCALE_PATTERN}))?
      | (?P<lo2>{NUMBER_PATTERN})(?:\s*(?P<lo2_scale>{SCALE_PATTERN}))?\s*(?:-|–|to)\s*
            (?P<hi2>{NUMBER_PATTERN})(?:\s*(?P<hi2_scale>{SCALE_PATTERN}))?
      | (?<![\d,.])(?P<num>{_NUM})(?:\s*(?P<scale>{SCALE_PATTERN}))?
    ){_NOT_MEASURE}
    \s+(?:(?P<cal>\d{{2,3}}\s*-?\s*(?:mm|millimet(?:er|re)s?))\s+)?
    {_FILLER}
    (?P<unit>{UNIT_WORDS_PATTERN})\b
    (?P<rate>\s*/\s*(?:day|week|month|year)|\s+(?:a|per|each)\s+(?:day|week|month|year|hour)
      |\s+(?:daily|weekly|monthly|annually))?
    """
)

# every calibre a sentence names, "122/152 mm" included
_CALIBRES_RE = re.compile(r"(\d{2,3})(?=(?:\s*/\s*\d{2,3})*\s*-?\s*(?:mm|millimet(?:er|re)s?)\b)", re.I)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_YEAR = r"(?:19|20)\d\d"


def _month_year(part: str, month: str, year: str) -> str:
    """Pattern for "[early|mid|late-]Month[ Year]" with the given group names."""
    return rf"(?:(?P<{part}>early|mid|late)[-\s]+)?(?P<{month}>{_MONTH})(?:\s+(?P<{year}>{_YEAR}))?"


_BETWEEN_RE = re.compile(
    rf"(?i)\b(?:between|from)\s+{_month_year('p1', 'm1', 'y1')}\s+(?:and|to|until|through)\s+{_month_year('p2', 'm2', 'y2')}\b"
)
_SINCE_RE = re.compile(
    rf"(?i)\bsince\s+(?:the\s+(?P<start_of>start|beginning)\s+of\s+(?:the|this)\s+year\b|(?:the\s+)?(?P<part>early|mid|late)[-\s]+(?P<year_only>{_YEAR})\b|{_month_year('p1', 'm1', 'y1')}\b|(?P<year>{_YEAR})\b)"
)
_IN_YEAR_RE = re.compile(rf"(?i)\b(?:in|during|over)\s+(?P<year>{_YEAR})\b(?!\s*-)")
_ON_DAY_RE = re.compile(
    rf"(?i)\b(?P<prep>on|from|as\s+of)\s+(?:(?P<d1>\d{{1,2}})(?:\s+and\s+(?P<d1b>\d{{1,2}}))?\s+(?P<m1>{_MONTH})|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:\s+and\s+(?P<d2b>\d{{1,2}}))?)(?:,?\s+(?P<y>{_YEAR}))?\b"
)
_AS_OF_RE = re.compile(rf"(?i)\bas\s+of\s+{_month_year('p1', 'm1', 'y1')}\b")

_STRONG_VERBS = (
    r"said|says|told|reported|reports|stated|states|announced|wrote|writes|added|disclosed|confirmed"
)
_VERBS = (
    r"said|says|told|estimated|estimates|reported|reports|claimed|claims|assessed|assesses|believes|believed|"
    r"stated|states|announced|found|finds|counted|wrote|writes|concluded|calculated|noted|added|disclosed|"
    r"revealed|confirmed|alleged|showed|shows|indicated|warned|observed"
)
_ACCORDING_RE = re.compile(r"(?i)\baccording\s+to\s+(?P<who>[^,.;:()]+)")
_SAID_RES = tuple(
    re.compile(rf"(?P<who>[^,;:\"“”()]+?)\s+(?:has\s+|have\s+|had\s+)?(?:also\s+)?(?:{verbs})\b")
    for verbs in (_STRONG_VERBS, _VERBS)
)
_SAID_INV_RE = re.compile(rf"(?i),\s*(?:{_VERBS})\s+(?P<who>[^,.;:()]+)")
_PRONOUNS = {"he", "she", "it", "they", "we", "i", "who", "which", "this", "that"}
_GENERIC = re.compile(
    r"(?i)^(?:the\s+)?(?:agency|ministry|ministry's|centre|center|team|report|researchers|analysts|group|"
    r"officials|official|outlet|government|department|institute|service|spokesman|spokeswoman)$"
)
_ABBREV = re.compile(
    r"\b(?:U\.S|U\.K|U\.N|Mr|Mrs|Ms|Dr|Gen|Lt|Col|No|St|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\."
)


@dataclass(frozen=True)
class Article:
    """An article's text plus what its header says (``Title:``, ``Outlet:``, ``Published:``, ``URL:``)."""

    text: str
    title: str | None = None
    outlet: str | None = None
    published: dt.date | None = None
    url: str | None = None


def parse_article(raw: str) -> Article:
    """Split an optional ``Key: value`` header (ended by a blank line) from the body."""
    head: dict[str, str] = {}
    lines = raw.splitlines()
    i = 0
    while i < len(lines) and re.match(r"^(Title|Outlet|Published|URL|Date|Source):\s*", lines[i], re.I):
        key, _, value = lines[i].partition(":")
        head[key.strip().lower()] = value.strip()
        i += 1
    body = "\n".join(lines[i:]).strip() if head else raw
    published = None
    if head.get("published") or head.get("date"):
        try:
            published = dt.date.fromisoformat((head.get("published") or head["date"])[:10])
        except ValueError as exc:
            raise InputError(f"Published: {head.get('published')!r} is not a date; write YYYY-MM-DD") from exc
    return Article(
        body, head.get("title"), head.get("outlet") or head.get("source"), published, head.get("url")
    )


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (abbreviations such as "U.S." and "Feb." do not end one)."""
    protected = _ABBREV.sub(lambda m: m.group(0)[:-1] + "\x00", re.sub(r"\s+", " ", text))
    parts = re.split(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[\"“‘(]?[A-Z0-9])", protected)
    return [p.replace("\x00", ".").strip() for p in parts if p.strip()]


def _month_latest(month: int, published: dt.date | None, year: int | None) -> int | None:
    """The year of ``month``: given, else the latest such month on or before ``published``."""
    if year is not None:
        return year
    if published is None:
        return None
    return published.year if month <= published.month else published.year - 1


def _start_day(part: str | None) -> int:
    return {"early": 1, "mid": 15, "late": 21}.get((part or "").lower(), 1)


def _end_day(part: str | None, year: int, month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    return {"early": 10, "mid": 15}.get((part or "").lower(), last)


def _month(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def find_period(sentence: str, published: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """(start, end) of the period a sentence covers; (None, None) if it names none."""
    m = _BETWEEN_RE.search(sentence)
    if m:
        m1, m2 = _month(m["m1"]), _month(m["m2"])
        y2 = _month_latest(m2, published, int(m["y2"]) if m["y2"] else None)
        if y2 is not None:
            y1 = int(m["y1"]) if m["y1"] else (y2 if m1 <= m2 else y2 - 1)
            return dt.date(y1, m1, _start_day(m["p1"])), dt.date(y2, m2, _end_day(m["p2"], y2, m2))
    m = _SINCE_RE.search(sentence)
    if m:
        if m["start_of"]:
            if published is None:
                return None, None
            start = dt.date(published.year, 1, 1)
        elif m["year_only"]:
            yo = int(m["year_only"])
            start = dt.date(yo, {"early": 1, "mid": 7, "late": 10}[m["part"].lower()], 1)
        elif m["year"]:
            start = dt.date(int(m["year"]), 1, 1)
        else:
            mon = _month(m["m1"])
            ys = _month_latest(mon, published, int(m["y1"]) if m["y1"] else None)
            if ys is None:
                return None, None
            start = dt.date(ys, mon, _start_day(m["p1"]))
        return start, published
    m = _ON_DAY_RE.search(sentence)
    if m:
        mon = _month(m["m1"] or m["m2"])
        d1 = int(m["d1"] or m["d2"])
        d2 = int(m["d1b"] or m["d2b"] or d1)
        yd = _month_latest(mon, published, int(m["y"]) if m["y"] else None)
        if yd is not None and 1 <= d1 <= d2 <= calendar.monthrange(yd, mon)[1]:
            if m["prep"].lower().startswith("as"):
                return None, dt.date(yd, mon, d2)
            return dt.date(yd, mon, d1), dt.date(yd, mon, d2)
    m = _AS_OF_RE.search(sentence)
    if m:
        mon = _month(m["m1"])
        ya = _month_latest(mon, published, int(m["y1"]) if m["y1"] else None)
        if ya is not None:
            return None, dt.date(ya, mon, _end_day(m["p1"], ya, mon))
    m = _IN_YEAR_RE.search(sentence)
    if m:
        yy = int(m["year"])
        return dt.date(yy, 1, 1), dt.date(yy, 12, 31)
    return None, None


def _clean_claimant(who: str) -> str | None:
    who = re.sub(r"\s+", " ", who).strip(" \"'“”‘’")
    who = re.sub(r"(?i)^(?:and|but|while|as|however|separately|meanwhile)\s+", "", who)
    who = re.sub(r"(?i)\s+(?:on|in|last|this|earlier|late|after|before)\s+.*$", "", who)
    who = re.sub(r"(?i)^(?:that|which)\s+", "", who)
    words = who.split()
    if not words or len(words) > 9 or words[0].lower() in _PRONOUNS:
        return None
    if not re.search(r"[A-Z]", who) and not _GENERIC.match(who):
        return None
    return who


def find_claimant(sentence: str) -> str | None:
    """Who makes the claim in this sentence ("according to X", "X said", ", said X"); None if nobody."""
    m = _ACCORDING_RE.search(sentence)
    if m:
        who = _clean_claimant(m["who"])
        if who:
            return who
    m = _SAID_INV_RE.search(sentence)
    if m:
        who = _clean_claimant(m["who"])
        if who:
            return who
    # "X said": the clause before the first reporting verb (plain reporting verbs before "estimated" etc.)
    for said_re in _SAID_RES:
        for m in said_re.finditer(sentence):
            who = m["who"]
            cut = who.rfind(" that ")
            who_c = _clean_claimant(who[cut + 6 :] if cut >= 0 else who)
            if who_c:
                return who_c
    return None


def _is_generic(who: str) -> bool:
    return bool(_GENERIC.match(who)) or who.lower() in {"the report", "the ministry"}


def extract_claims(
    text: str,
    *,
    published: dt.date | None = None,
    outlet: str | None = None,
    url: str | None = None,
) -> pa.Table:
    """Candidate claims (schema.CLAIMS) in ``text``; header values in the text fill unset arguments."""
    art = parse_article(text)
    published = published or art.published
    outlet = outlet or art.outlet
    url = url or art.url
    if url is not None:
        require_link_url(url, "the article's URL (header or --url)")
    rows: list[dict[str, object]] = []
    last_claimant: str | None = None
    for sent in sentences(art.text):
        found = find_claimant(sent)
        if found and _is_generic(found) and last_claimant:
            found = f"{found} ({last_claimant})"
        claimant = found or last_claimant
        if found and not _is_generic(found):
            last_claimant = found
        period = find_period(sent, published)
        calibres = {int(c) for c in _CALIBRES_RE.findall(sent)}
        sentence_calibre = calibres.pop() if len(calibres) == 1 else None
        for m in _QUANTITY_RE.finditer(sent):
            if m["rate"]:
                continue
            calibre = calibre_in(m["cal"] or "")
            if calibre is None and m["unit"].lower() in ("shells", "rounds", "rockets", "shell", "round"):
                calibre = sentence_calibre  # only when the sentence names exactly one calibre
            unit = normalise_unit(m["unit"], calibre)
            if unit is None or unit.split("_")[0] not in EXTRACT_UNITS:
                continue
            scales = {
                (m[g] or "").lower() for g in ("scale", "lo_scale", "hi_scale", "lo2_scale", "hi2_scale")
            }
            if scales & {"m", "k"} and not m["unit"].lower().endswith("s"):
                continue  # "a 150m container ship": metres, not millions
            quantity = low = high = None
            if m["num"]:
                quantity = parse_number(f"{m['num']} {m['scale'] or ''}")
                if quantity is None or (1900 <= quantity <= 2100 and not m["scale"] and "," not in m["num"]):
                    continue  # a year, not a count
            else:
                lo_txt, hi_txt = m["lo"] or m["lo2"], m["hi"] or m["hi2"]
                hi_scale = m["hi_scale"] or m["hi2_scale"] or ""
                lo_scale = m["lo_scale"] or m["lo2_scale"] or hi_scale
                low, high = parse_number(f"{lo_txt} {lo_scale}"), parse_number(f"{hi_txt} {hi_scale}")
            qualifier = (
                "range"
                if low is not None and high is not None
                else normalise_qualifier(m["qual"] or m["sym"])
            )
            low, high = fill_bounds(quantity, low, high, qualifier)
            subject = _subject(sent, m.end("unit"), m["unit"])
            rows.append(
                {
                    "claim_id": stable_id("claim", claimant, published, quantity, low, high, unit, sent),
                    "claimant": claimant,
                    "outlet": outlet,
                    "published": published,
                    "period_start": period[0],
                    "period_end": period[1],
                    "quantity": quantity,
                    "quantity_low": low,
                    "quantity_high": high,
                    "unit": unit,
                    "qualifier": qualifier,
                    "subject": subject,
                    "quote": sent,
                    "url": url,
                }
            )
    return pa.Table.from_pylist(rows, schema=schema.CLAIMS)


def _subject(sentence: str, end: int, unit_text: str) -> str:
    """The unit phrase plus what follows it ("containers of munitions", "rounds of artillery ammunition")."""
    m = re.match(
        r"\s+(of\s+[^,.;]+?)(?=\s+(?:to|from|since|between|in|on|by|and\s+\d|were|was|had|have|has|could|would)\b|[,.;]|$)",
        sentence[end:],
    )
    return f"{unit_text} {m.group(1)}" if m else unit_text


def extract_file(path: Path | str, **kwargs: object) -> pa.Table:
    """:func:`extract_claims` on a text file (UTF-8)."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {p}: {exc}; pass a UTF-8 text file") from exc
    return extract_claims(raw, **kwargs)  # type: ignore[arg-type]
