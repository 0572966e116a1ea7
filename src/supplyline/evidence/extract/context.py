"""Figures that are context, not delivery claims: fleets, consumption, comparisons, recaps, stocks, history.

"Four container ships carried the cargo" counts ships, "Russian forces fired around 12 million shells in
2022" is consumption, "that compares with no more than 20 railcars" is a baseline, "last month Shin put the number at" repeats
an earlier estimate, "the depot held 2,000 tonnes" is a stock, "the ship can carry 300 containers" a
capacity, and a figure whose period ended years before publication is history. These stay visible (a reader may want them) but are marked
``context`` with the reason, and ``--accept`` does not write them to the ledger.
"""

from __future__ import annotations

import datetime as dt
import re

_CONSUMPTION = re.compile(
    r"(?i)\b(?:fire[sd]?|firing|expend\w*|consum\w+|shoot\w*|shot|produc\w+|manufactur\w+|"
    r"stockpil\w+|in stock|uses|used up|burn\w*)\b"
)
_COMPARISON = re.compile(
    r"(?i)\b(?:compar\w+\s+(?:with|to)|for comparison|up from|down from|as opposed to|versus|vs\.?|"
    r"before the (?:war|summit|invasion))\b"
)
# an earlier statement repeated: "Last month Shin put the number at ...", "said last month that",
# "In February, Shin had put the number at ..." (not "said earlier this week": that is current news)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_RECAP = re.compile(
    r"(?i)^\W*(?:last\s+(?:month|year)|earlier\s+this\s+year|previously|background)\b|\b(?:said|put|estimated)\s+"
    r"(?:\w+\s+)?(?:last\s+(?:month|year)|previously)\b|\bhad\s+(?:put|estimated|said)\b"
    rf"|\b(?:said|reported|estimated|found|announced|wrote)\s+in\s+(?:{_MONTHS}|(?:19|20)\d\d)\b"
)
# a stock at a depot, or ammunition destroyed there: not a delivery
_STOCK = re.compile(
    r"(?i)\b(?:depot|arsenal|warehouse|base|stockpile)s?\b(?:\s+\S+){0,3}?\s+(?:held|holds|stored|stores|"
    r"contained|contains|kept)\b|\b(?:destroyed|blew\s+up|detonated|exploded)\b"
)
RECAP = "an earlier estimate repeated (see the claim where it was first made)"
# what a ship or port can take, or what Russia needs: not what was delivered
_CAPACITY = re.compile(
    r"(?i)\b(?:capacity|can\s+(?:carry|hold|load|take|handle)|capable\s+of|needs?|requires?|demand)\b"
)
# the date a repeated estimate was made ("said in October", "last month", "In February, ..."): not its period
_STATEMENT_DATE = re.compile(
    rf"(?i)^\W*in\s+{_MONTHS}(?:\s+(?:19|20)\d\d)?,|\b(?P<verb>said|reported|estimated|found|announced|wrote)"
    rf"\s+in\s+(?:{_MONTHS}(?:\s+(?:19|20)\d\d)?|(?:19|20)\d\d)\b|\blast\s+(?:month|year)\b"
)


def without_statement_dates(sentence: str) -> str:
    """``sentence`` with the dates of when something was said taken out, so a recap keeps only the
    period of what it counts ("reported in April that ... between September 2023 and March 2025")."""
    return _STATEMENT_DATE.sub(lambda m: m["verb"] or " ", sentence)


_HISTORY_YEARS = 3  # a period ending this many years before publication is history, not a current claim


def context_reason(
    sentence: str, start: int, end: int, unit: str, period_end: dt.date | None, published: dt.date | None
) -> str | None:
    """Why the mention at ``start:end`` of ``sentence`` is context; None when it reads as a claim."""
    if unit == "ships":
        return "a count of ships, not of cargo"
    window = sentence[max(0, start - 70) : min(len(sentence), end + 30)]
    if _CONSUMPTION.search(window) or re.search(r"(?i)\bused\b", sentence[max(0, start - 40) : start]):
        return "consumption or production, not a delivery"
    if _COMPARISON.search(sentence[max(0, start - 60) : start]):
        return "a baseline the claim is compared with"
    if _RECAP.search(sentence):
        return RECAP
    if _STOCK.search(window):
        return "a stock held or destroyed at a depot, not a delivery"
    if _CAPACITY.search(sentence[max(0, start - 50) : start]):
        return "a capacity or a need, not a delivery"
    if period_end and published and (published - period_end).days > 365 * _HISTORY_YEARS:
        return f"historical figure (period ended {period_end})"
    return None
