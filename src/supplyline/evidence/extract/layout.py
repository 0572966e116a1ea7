"""Press copy -> sentences: page clutter dropped, headlines and captions kept apart from body sentences.

A pasted news page carries more than the story: the headline (often twice), bylines, timestamps, view
counts, share buttons, photo captions with credits, "Related" / "Read more" link lists. Read as running
text, these glue onto the next sentence ("quotes start with photo captions and headlines") and their
numbers ("12,000 views") look like figures. Lines are classified first; only body lines are split into
sentences, headlines, captions and "Key points" bullets stay one segment each with their role so later
stages can rank them below the body (they repeat a body claim; they rarely add one). Hard-wrapped copy
is re-joined first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREV = re.compile(
    r"\b(?:U\.S|U\.K|U\.N|Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Capt|Adm|Sen|Rep|Gov|No|St|Inc|Co|Corp|Ltd|vs|approx|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|[A-Z])\."
)
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[\"“‘(]?[A-Z0-9])")
_TERMINAL = re.compile(r"[.!?][\"”’)]?\s*$")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_CLUTTER = [
    re.compile(p, re.I)
    for p in (
        r"^\s*(?:by|words by|reporting by|written by|edited by)\s+[A-Z][\w.'-]+(?:\s+[\w.'-]+){0,6}\s*(?:[|,].*)?$",
        r"\b\d[\d,. ]*k?\s*(?:views|readers|reads|comments|shares|likes)\b",
        r"^\s*(?:views?|reads?|comments?)\s*(?:\(\d+\))?\s*:?\s*[\d,. ]*\s*$",
        r"^\s*(?:posted|published|updated|last updated|first published)\b.{0,60}$",
        r"\b(?:\d+\s*min(?:ute)?s?\s+read|read time)\b",
        rf"^[\s\W]*(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})\b.{{0,40}}$",
        r"^\s*(?:share|share this( article| story)?|tweet|e-?mail|print|copy link|follow us|subscribe|sign up|"
        r"advertisement|sponsored|comments?\b|\(end\)|tags?:|topics?:|filed under)",
        r"©|all rights reserved",
    )
]
_RELATED = re.compile(
    r"^\s*(?:related(?:\s+(?:stories|articles|coverage|news))?|read (?:more|also|next)|see also|also read|"
    r"more on this(?: topic)?|more from|you (?:may|might) also like|recommended|latest news|more stories|"
    r"most (?:read|viewed|popular)|trending)\b\s*:?",
    re.I,
)
_LIST_ITEM = re.compile(r"^\s*(?:[-•*▶►»→]|\d+[.)])\s+")
_CREDIT_WORDS = (
    r"photo|image|handout|reuters|\bap\b|afp|yonhap|getty|planet labs|maxar|airbus|csis|beyond parallel|"
    r"open sources?|illustrative|file"
)
_CAPTION = [
    re.compile(p, re.I)
    for p in (
        r"^\s*\[?\s*(?:photo|image|picture|caption|illustration|satellite image|file photo|video)\b\s*[:\]-]",
        rf"[(\[][^()\[\]]*(?:{_CREDIT_WORDS})[^()\[\]]*[)\]]\s*$",
        r"\bphoto\s*:|\bphoto by\b|\bvia reuters\b|/\s*handout\b|\bhandout via\b|\bplanet labs pbc\b|"
        r"\bimage\s*©|\(\s*[LR]\s*\)",
        r"^\s*\[.*\]\s*$",
    )
]
_DATELINE = re.compile(
    r"^[A-Z][A-Z .'-]{2,40}(?:,\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2})?\s*(?:\([^)]{1,30}\))?\s*(?:--|—|–|-)\s+"
)


@dataclass(frozen=True)
class Segment:
    """A sentence (body) or a whole line (headline, caption); ``paragraph`` counts body paragraphs."""

    text: str
    role: str  # body | headline | caption | summary
    paragraph: int


def split_sentences(text: str) -> list[str]:
    """Sentences of running text ("U.S." and "Feb." do not end one)."""
    protected = _ABBREV.sub(lambda m: m.group(0)[:-1] + "\x00", re.sub(r"\s+", " ", text))
    parts = _SPLIT.split(protected)
    return [p.replace("\x00", ".").strip() for p in parts if p.strip()]


def _is_clutter(line: str) -> bool:
    words = len(line.split())
    if any(p.search(line) for p in _CLUTTER[1:2]) and (words <= 14 or not _TERMINAL.search(line)):
        return True
    return any(p.search(line) for p in _CLUTTER[:1] + _CLUTTER[2:]) and words <= 16


def _is_caption(line: str) -> bool:
    return len(line.split()) <= 60 and any(p.search(line) for p in _CAPTION)


def _is_headline(line: str, title: str | None) -> bool:
    norm = re.sub(r"\W+", " ", line).strip().lower()
    if title and norm == re.sub(r"\W+", " ", title).strip().lower():
        return True
    return not _TERMINAL.search(line) and len(line.split()) <= 25


def _hard_wrapped(lines: list[str]) -> bool:
    """Text wrapped at a fixed width (e-mail, PDF copy): most long lines stop mid-sentence."""
    long = [ln for ln in lines if len(ln) >= 50]
    open_ended = [ln for ln in long if not _TERMINAL.search(ln)]
    return len(open_ended) >= 4 and len(open_ended) > 0.6 * len(long)


def _join_wrapped(lines: list[str]) -> list[str]:
    """Re-join hard-wrapped paragraphs: a line starting lower-case continues the one before; in text
    wrapped at a fixed width, every line of a blank-line-separated block does."""
    if _hard_wrapped(lines):
        blocks: list[str] = []
        for line in lines:
            if line and blocks and blocks[-1]:
                glue = "" if blocks[-1].endswith("-") and line[0].islower() else " "  # "Won-" + "sik"
                blocks[-1] = f"{blocks[-1]}{glue}{line}"
            else:
                blocks.append(line)
        return blocks
    out: list[str] = []
    for line in lines:
        if (
            out
            and out[-1]
            and line
            and (line[0].islower() or line[0] in ",;)")
            and not _TERMINAL.search(out[-1])
        ):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def segments(body: str, title: str | None = None) -> list[Segment]:
    """Classify each line of ``body`` and split body lines into sentences; clutter and link lists dropped."""
    out: list[Segment] = []
    in_links = False
    paragraph = 0
    for raw in _join_wrapped([ln.strip() for ln in body.splitlines()]):
        if not raw:
            in_links = False
            continue
        related = _RELATED.match(raw)
        if related:
            in_links = not raw[related.end() :].strip()  # a heading alone: the links follow
            continue
        item = _LIST_ITEM.match(raw)
        if (
            (item and not _TERMINAL.search(raw))
            or _is_clutter(raw)
            or (in_links and not _TERMINAL.search(raw))
        ):
            continue  # a bulleted link, page furniture, or a link under a "Related" heading
        in_links = False
        if item:  # a "Key points" bullet: a summary of the body, ranked like a headline
            out.append(Segment(raw[item.end() :], "summary", paragraph))
        elif _is_caption(raw):
            out.append(Segment(raw, "caption", paragraph))
        elif _is_headline(raw, title):
            out.append(Segment(raw, "headline", paragraph))
        else:
            paragraph += 1
            line = _DATELINE.sub("", raw)
            out.extend(Segment(s, "body", paragraph) for s in split_sentences(line))
    return out


def sentences(text: str) -> list[str]:
    """Body sentences of ``text`` (clutter, headlines and captions left out)."""
    return [s.text for s in segments(text) if s.role == "body"]
