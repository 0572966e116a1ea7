"""The period a sentence's figures cover, read against the publication date.

"since August" (the latest August on or before publication, to publication), "since mid-2022",
"between September 2023 and February 2024", "from August to January", "between September 7 and October 1",
"in 2024", "on 5 October", "on 7 and 8 September", "as of September", "over the past three weeks" /
"for about two months" / "over the previous five years" (back from publication), "in the five months to
February". early/mid/late = 1st/15th/21st (start) and 10th/15th/last day (end). Each result carries a
confidence: 0.9 when the year is written, 0.75 when it comes from the publication date, 0.7 for durations.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
)
_YEAR = r"(?:19|20)\d\d"
_COUNT = r"(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an)"
_COUNT_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
_COUNT_WORDS.update({"a": 1, "an": 1})


def _month_year(part: str, month: str, year: str) -> str:
    """Pattern for "[early|mid|late-]Month[ Year]" with the given group names."""
    return rf"(?:(?P<{part}>early|mid|late)[-\s]+)?(?P<{month}>{_MONTH})(?:\s+(?P<{year}>{_YEAR}))?"


def _day_month(d: str, m: str, d_alt: str, m_alt: str) -> str:
    return rf"(?:(?P<{d}>\d{{1,2}})\s+(?P<{m}>{_MONTH})|(?P<{m_alt}>{_MONTH})\s+(?P<{d_alt}>\d{{1,2}})(?!\d))"


_DAY_RANGE_RE = re.compile(
    rf"(?i)\b(?:between|from)\s+{_day_month('d1', 'm1', 'd1x', 'm1x')}(?:,?\s+(?P<y1>{_YEAR}))?\s+"
    rf"(?:and|to|until|through|-)\s+{_day_month('d2', 'm2', 'd2x', 'm2x')}(?:,?\s+(?P<y2>{_YEAR}))?"
)
_BETWEEN_RE = re.compile(
    rf"(?i)\b(?:between|from)\s+{_month_year('p1', 'm1', 'y1')}\s+(?:and|to|until|through)\s+{_month_year('p2', 'm2', 'y2')}\b"
)
_SINCE_RE = re.compile(
    rf"(?i)\bsince\s+(?:the\s+(?P<start_of>start|beginning)\s+of\s+(?:the|this)\s+year\b|(?:the\s+)?(?P<part>early|mid|late)[-\s]+(?P<year_only>{_YEAR})\b|(?:last\s+)?{_month_year('p1', 'm1', 'y1')}(?P<last_year>\s+(?:of\s+)?last\s+year)?\b|(?P<year>{_YEAR})\b)"
)
_SINCE_DAY_RE = re.compile(
    rf"(?i)\bsince\s+(?:(?P<d1>\d{{1,2}})\s+(?P<m1>{_MONTH})|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?!\d))"
    rf"(?:,?\s+(?P<y>{_YEAR}))?"
)
_IN_MONTH_RE = re.compile(
    rf"(?i)\b(?:in|during|throughout)\s+{_month_year('p1', 'm1', 'y1')}(?P<last_year>\s+(?:of\s+)?last\s+year)?\b"
)
# "since the summit in September", "since Kim's visit to Russia in September 2023": since that month
_SINCE_EVENT_RE = re.compile(
    rf"(?i)\bsince\s+(?:the\s+|a\s+|an\s+)?(?:[\w'’-]+\s+){{1,6}}?in\s+{_month_year('p1', 'm1', 'y1')}"
    rf"(?P<last_year>\s+(?:of\s+)?last\s+year)?\b"
)
_RELATIVE_YEAR_RE = re.compile(
    r"(?i)\b(?P<since>since\s+)?(?:(?:in|during|for)\s+)?(?P<which>this|last)\s+year\b"
)
_MONTHS_TO_RE = re.compile(
    rf"(?i)\b(?:in|over|during)\s+the\s+{_COUNT}\s+months\s+(?:to|through|until|up\s+to)\s+{_month_year('p1', 'm1', 'y1')}\b"
)
_DURATION_RE = re.compile(
    rf"(?i)\b(?:in|over|during|for|within)\s+(?:the\s+)?(?:(?:past|last|previous|preceding)\s+)?"
    rf"(?:(?:about|around|nearly|almost|some|roughly)\s+)?{_COUNT}\s+(?P<unit>days?|weeks?|months?|years?)\b"
    rf"|(?i:\b(?:in|over|during)\s+the\s+(?:past|last|previous)\s+(?P<unit1>year|month|week)\b)"
)
_IN_YEAR_RE = re.compile(rf"(?i)\b(?:in|during|over|for)\s+(?P<year>{_YEAR})\b(?!\s*-)")
_ON_DAY_RE = re.compile(
    rf"(?i)\b(?P<prep>on|from|as\s+of)\s+(?:(?P<d1>\d{{1,2}})(?:\s+and\s+(?P<d1b>\d{{1,2}}))?\s+(?P<m1>{_MONTH})|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:\s+and\s+(?P<d2b>\d{{1,2}}))?)(?:,?\s+(?P<y>{_YEAR}))?\b"
)
_BY_END_RE = re.compile(
    rf"(?i)\bby\s+(?:the\s+)?(?:(?P<end_of>end)\s+of\s+)?(?:(?P<m1>{_MONTH})\s+)?(?P<y1>{_YEAR})\b"
)
_AS_OF_RE = re.compile(rf"(?i)\bas\s+of\s+{_month_year('p1', 'm1', 'y1')}\b")


@dataclass(frozen=True)
class Period:
    start: dt.date | None
    end: dt.date | None
    confidence: float
    inherited: bool = False  # taken from the sentence before ("the containers could hold ...")


NO_PERIOD = Period(None, None, 0.0)


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


def _conf(*years: str | None) -> float:
    return 0.9 if all(years) else 0.75


def _day_range(m: re.Match[str], published: dt.date | None) -> Period | None:
    m1, m2 = _month(m["m1"] or m["m1x"]), _month(m["m2"] or m["m2x"])
    d1, d2 = int(m["d1"] or m["d1x"]), int(m["d2"] or m["d2x"])
    y2 = _month_latest(m2, published, int(m["y2"]) if m["y2"] else None)
    if y2 is None:
        return None
    y1 = int(m["y1"]) if m["y1"] else (y2 if m1 <= m2 else y2 - 1)
    try:
        return Period(dt.date(y1, m1, d1), dt.date(y2, m2, d2), _conf(m["y2"]))
    except ValueError:
        return None


def _between(m: re.Match[str], published: dt.date | None) -> Period | None:
    m1, m2 = _month(m["m1"]), _month(m["m2"])
    y2 = _month_latest(m2, published, int(m["y2"]) if m["y2"] else None)
    if y2 is None:
        return None
    y1 = int(m["y1"]) if m["y1"] else (y2 if m1 <= m2 else y2 - 1)
    end = dt.date(y2, m2, _end_day(m["p2"], y2, m2))
    if published is not None and end > published:
        end = published
    return Period(dt.date(y1, m1, _start_day(m["p1"])), end, _conf(m["y2"]))


def _group(m: re.Match[str], name: str) -> str | None:
    return m.groupdict().get(name)


def _since_day(m: re.Match[str], published: dt.date | None) -> Period | None:
    mon, day = _month(m["m1"] or m["m2"]), int(m["d1"] or m["d2"])
    y = _month_latest(mon, published, int(m["y"]) if m["y"] else None)
    if y is None or not 1 <= day <= calendar.monthrange(y, mon)[1]:
        return None
    return Period(dt.date(y, mon, day), published, _conf(m["y"]))


def _since(m: re.Match[str], published: dt.date | None) -> Period | None:
    if _group(m, "start_of"):
        return None if published is None else Period(dt.date(published.year, 1, 1), published, 0.75)
    if _group(m, "year_only"):
        month = {"early": 1, "mid": 7, "late": 10}[m["part"].lower()]
        return Period(dt.date(int(m["year_only"]), month, 1), published, 0.9)
    if _group(m, "year"):
        return Period(dt.date(int(m["year"]), 1, 1), published, 0.9)
    mon = _month(m["m1"])
    year = int(m["y1"]) if m["y1"] else (published.year - 1 if m["last_year"] and published else None)
    ys = _month_latest(mon, published, year)
    if ys is None:
        return None
    return Period(dt.date(ys, mon, _start_day(m["p1"])), published, _conf(m["y1"]))


def _back_from(published: dt.date, n: int, unit: str) -> dt.date:
    unit = unit.lower().rstrip("s")
    if unit in ("day", "week"):
        return published - dt.timedelta(days=n * (7 if unit == "week" else 1))
    months = n * (12 if unit == "year" else 1)
    y, mo = divmod(published.year * 12 + published.month - 1 - months, 12)
    return dt.date(y, mo + 1, min(published.day, calendar.monthrange(y, mo + 1)[1]))


def _count(text: str) -> int:
    return _COUNT_WORDS[text.lower()] if text.lower() in _COUNT_WORDS else int(text)


def _months_to(m: re.Match[str], published: dt.date | None) -> Period | None:
    mon = _month(m["m1"])
    y = _month_latest(mon, published, int(m["y1"]) if m["y1"] else None)
    if y is None:
        return None
    end = dt.date(y, mon, _end_day(m["p1"], y, mon))
    first = _back_from(dt.date(y, mon, 1), _count(m["n"]) - 1, "month")
    return Period(first, min(end, published) if published else end, _conf(m["y1"]))


def _on_day(m: re.Match[str], published: dt.date | None) -> Period | None:
    mon = _month(m["m1"] or m["m2"])
    d1 = int(m["d1"] or m["d2"])
    d2 = int(m["d1b"] or m["d2b"] or d1)
    yd = _month_latest(mon, published, int(m["y"]) if m["y"] else None)
    if yd is None or not 1 <= d1 <= d2 <= calendar.monthrange(yd, mon)[1]:
        return None
    if m["prep"].lower().startswith("as"):
        return Period(None, dt.date(yd, mon, d2), _conf(m["y"]))
    return Period(dt.date(yd, mon, d1), dt.date(yd, mon, d2), _conf(m["y"]))


def _as_of(m: re.Match[str], published: dt.date | None) -> Period | None:
    mon = _month(m["m1"])
    ya = _month_latest(mon, published, int(m["y1"]) if m["y1"] else None)
    return None if ya is None else Period(None, dt.date(ya, mon, _end_day(m["p1"], ya, mon)), _conf(m["y1"]))


def _by_end(m: re.Match[str], published: dt.date | None) -> Period | None:
    """ "by the end of 2023", "by March 2024": a total as of that date."""
    y = int(m["y1"])
    mon = _month(m["m1"]) if m["m1"] else 12
    return Period(None, dt.date(y, mon, calendar.monthrange(y, mon)[1]), 0.9)


def _duration(m: re.Match[str], published: dt.date | None) -> Period | None:
    if published is None:
        return None
    n, unit = (_count(m["n"]), m["unit"]) if m["n"] else (1, m["unit1"])
    return Period(_back_from(published, n, unit), published, 0.7)


def _in_month(m: re.Match[str], published: dt.date | None) -> Period | None:
    mon = _month(m["m1"])
    year = int(m["y1"]) if m["y1"] else (published.year - 1 if m["last_year"] and published else None)
    y = _month_latest(mon, published, year)
    if y is None:
        return None
    end = dt.date(y, mon, _end_day(m["p1"], y, mon))
    return Period(
        dt.date(y, mon, _start_day(m["p1"])), min(end, published) if published else end, _conf(m["y1"])
    )


def _relative_year(m: re.Match[str], published: dt.date | None) -> Period | None:
    if published is None:
        return None
    year = published.year - (m["which"].lower() == "last")
    if m["since"] or year == published.year:
        return Period(dt.date(year, 1, 1), published, 0.75)
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), 0.75)


def _in_year(m: re.Match[str], published: dt.date | None) -> Period | None:
    yy = int(m["year"])
    return Period(dt.date(yy, 1, 1), dt.date(yy, 12, 31), 0.9)


_RULES = (
    (_DAY_RANGE_RE, _day_range),
    (_BETWEEN_RE, _between),
    (_SINCE_DAY_RE, _since_day),
    (_SINCE_RE, _since),
    (_SINCE_EVENT_RE, _since),
    (_MONTHS_TO_RE, _months_to),
    (_ON_DAY_RE, _on_day),
    (_AS_OF_RE, _as_of),
    (_BY_END_RE, _by_end),
    (_DURATION_RE, _duration),
    (_IN_MONTH_RE, _in_month),
    (_RELATIVE_YEAR_RE, _relative_year),
    (_IN_YEAR_RE, _in_year),
)


def sentence_period(sentence: str, published: dt.date | None) -> Period:
    """The first period rule (in the order above) that matches ``sentence``; NO_PERIOD if none."""
    for pattern, read in _RULES:
        for m in pattern.finditer(sentence):
            found = read(m, published)
            if found is not None:
                return found
    return NO_PERIOD


def period_after(sentence: str, pos: int, published: dt.date | None) -> Period | None:
    """A date written right after a figure ("about 60 in February to about 50 in April"): that figure's own."""
    rest = sentence[pos:]
    lead = len(rest) - len(rest.lstrip())
    for pattern, read in ((_IN_MONTH_RE, _in_month), (_ON_DAY_RE, _on_day), (_IN_YEAR_RE, _in_year)):
        m = pattern.match(sentence, pos + lead)
        if m:
            return read(m, published)
    return None


def find_period(sentence: str, published: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """(start, end) of the period a sentence covers; (None, None) if it names none."""
    p = sentence_period(sentence, published)
    return p.start, p.end
