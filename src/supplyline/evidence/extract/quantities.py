"""Numbers with their unit, the unit taken from the head noun of the phrase after the number.

"four container ships" are 4 ships (the head noun is "ships"; "container" only modifies it), "five round
trips" are trips, "3 million rounds of 152mm artillery shells" are 152 mm shells, "about 500,000 122mm
multiple-rocket-launcher rockets" are 122 mm rockets. A number with no noun after it ("that is more than
400,000.", "255 railcars at Tumangang and 149 at Khasan") borrows the nearest unit noun before it in the
same sentence (elliptical; lower confidence). Rates ("10,000 shells a day"), measures ("120-metre",
"20-foot", "30%"), years and dates are not quantities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from supplyline.evidence.units import (
    NUMBER_PATTERN,
    QUALIFIER_PATTERN,
    QUALIFIER_SYMBOL_PATTERN,
    SCALE_PATTERN,
    WORD_NUMBER_PATTERN,
    calibre_in,
    normalise_qualifier,
    normalise_unit,
    parse_number,
)

_TENS = r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred"
_ONES = r"one|two|three|four|five|six|seven|eight|nine"
_NUM = (
    rf"(?:{NUMBER_PATTERN}|(?:{_TENS.replace('|a hundred', '')})[-\s](?:{_ONES})\b|{WORD_NUMBER_PATTERN}|{_TENS}"
    rf"|an?(?=\s+(?:million|thousand|billion)\b))"
)
_QUANTITY_RE = re.compile(
    rf"""(?ix)
    (?:\b(?P<qual>{QUALIFIER_PATTERN})\s+(?:(?:about|around|approximately|some|roughly|nearly)\s+)?
      |(?P<sym>{QUALIFIER_SYMBOL_PATTERN})\s*)?
    (?:
        (?:between|from)\s+(?P<lo>{_NUM})(?:\s*(?P<lo_scale>{SCALE_PATTERN}))?\s+(?:and|to)\s+
            (?P<hi>{_NUM})(?:\s*(?P<hi_scale>{SCALE_PATTERN}))?
      | (?<![\w,.])(?P<lo2>{NUMBER_PATTERN})(?:\s*(?P<lo2_scale>{SCALE_PATTERN}))?\s*(?:-|–|to)\s*
            (?P<hi2>{NUMBER_PATTERN})(?:\s*(?P<hi2_scale>{SCALE_PATTERN}))?
      | (?<![\w,.$€£-])(?P<num>{_NUM})(?:\s*(?P<scale>{SCALE_PATTERN}))?
    )(?P<plus>\+)?(?![\w,]*\d)
    """
)
_MEASURE = re.compile(
    r"(?i)^\s*-?\s*(?:mm\b|millimet|ft\b|foot|feet|metre|meter|m\b(?!\w)|km\b|kilomet|per\s*cent|percent|%|dwt|gt\b|"
    r"kg\b|years?\b|months?\b|weeks?\b|days?\b|hours?\b|minutes?\b|knots?\b|nautical|miles?\b|-year|-month|"
    r"-week|-day|-strong|-tonne|-ton\b|st\b|nd\b|rd\b|th\b|[/:.]\d)"
)
_SPACED_THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?: \d{3})+(?![\d,.]| ?(?:mm|millimet))")
_CALIBRE_LEAD = re.compile(r"(?i)^\s*(\d{2,3})\s*-?\s*(?:mm|millimet(?:er|re)s?)\b")
_WORD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9'’-]*)")
_RATE = re.compile(
    r"(?i)^\s*(?:/\s*(?:day|week|month|year)|(?:a|per|each|every)\s+(?:day|week|month|year|hour)|daily|weekly|"
    r"monthly|annually|an hour)\b"
)
_STOP = {
    "of",
    "to",
    "from",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "and",
    "or",
    "that",
    "which",
    "who",
    "were",
    "was",
    "is",
    "are",
    "had",
    "have",
    "has",
    "could",
    "would",
    "will",
    "since",
    "between",
    "a",
    "an",
    "the",
    "than",
    "per",
    "each",
    "as",
    "into",
    "through",
    "via",
    "over",
    "across",
    "after",
    "before",
    "during",
}
# Head nouns after a unit word that make the unit a modifier ("container ships", "container terminal").
_OVERRIDE_HEADS = {
    "ship": "ships",
    "ships": "ships",
    "vessel": "ships",
    "vessels": "ships",
    "carrier": "ships",
    "carriers": "ships",
    "freighter": "ships",
    "freighters": "ships",
    "terminal": None,
    "terminals": None,
    "yard": None,
    "yards": None,
    "port": None,
    "ports": None,
    "train": None,
    "trains": None,
    "truck": None,
    "trucks": None,
    "crane": None,
    "cranes": None,
    "depot": None,
    "depots": None,
    "site": None,
    "sites": None,
    "stack": None,
    "stacks": None,
    "launcher": None,
    "launchers": None,
    "factory": None,
    "factories": None,
    "plant": None,
    "plants": None,
    "company": None,
    "companies": None,
    "line": None,
    "lines": None,
    "pieces": None,
    "systems": None,
}
_SHIP_WORDS = {"ship", "ships", "vessel", "vessels", "tanker", "tankers", "freighter", "freighters"}
_RAIL_CAR_PREFIX = {"rail", "box", "freight", "ore", "tank", "flat", "goods"}
_MODIFIERS_MAX = 3


@dataclass(frozen=True)
class Mention:
    """One quantity in a sentence; ``start``/``end`` span the number and its unit phrase."""

    quantity: float | None
    low: float | None
    high: float | None
    unit: str
    qualifier: str | None
    start: int
    end: int
    unit_text: str
    elliptical: bool = False
    word_number: bool = False


def _unit_of(word: str, prev: str | None, sentence: str) -> str | None:
    """The normalised unit of one head word (with the word before it for "rail cars", "port calls")."""
    w = word.lower().rstrip("'’").removesuffix("'s").removesuffix("’s")
    p = (prev or "").lower()
    if w in _SHIP_WORDS:
        return "ships"
    if w in ("cars", "car"):
        rail = p in _RAIL_CAR_PREFIX or re.search(r"(?i)\brail|\btrain", sentence)
        return "railcars" if rail else None
    if w in ("calls", "call") and p == "port":
        return "visits"
    if w in ("units", "unit") and p == "equivalent":
        return "teu"
    if w in ("round", "rounds") and p == "round":
        return None
    return normalise_unit(w)


def _noun_phrase(sentence: str, pos: int) -> tuple[str | None, str | None, int]:
    """(unit, head word, end offset) of the noun phrase starting at ``pos``; unit None if no unit head."""
    words: list[tuple[str, int]] = []
    i = pos
    while len(words) < 7:
        m = _WORD.match(sentence[i:])
        if not m or m.group(1).lower() in _STOP:
            break
        words.append((m.group(1), i + m.end()))
        i += m.end()
    unit: str | None = None
    head: str | None = None
    end = pos
    modifiers = 0
    for k, (word, w_end) in enumerate(words):
        prev = words[k - 1][0] if k else None
        low = word.lower()
        u = _unit_of(word, prev, sentence)
        if low in _OVERRIDE_HEADS and head is not None:
            unit, head, end = _OVERRIDE_HEADS[low], word, w_end
            continue
        if u is not None:
            unit, head, end = u, word, w_end
            continue
        if head is not None:
            break
        modifiers += 1
        if modifiers > _MODIFIERS_MAX:
            break
    return unit, head, end


def _number_value(m: re.Match[str]) -> tuple[float | None, float | None, float | None]:
    if m["num"]:
        return parse_number(_words(m["num"]) + " " + (m["scale"] or "")), None, None
    hi_scale = m["hi_scale"] or m["hi2_scale"] or ""
    lo_scale = m["lo_scale"] or m["lo2_scale"] or hi_scale
    low = parse_number(f"{_words(m['lo'] or m['lo2'])} {lo_scale}")
    high = parse_number(f"{_words(m['hi'] or m['hi2'])} {hi_scale}")
    return None, low, high


_ONES_VALUE = {w: i + 1 for i, w in enumerate(_ONES.split("|"))}
_TENS_VALUE = {w: 10 * (i + 2) for i, w in enumerate(_TENS.split("|")[:-1])}


def _words(text: str) -> str:
    t = text.lower()
    tens, _, ones = re.sub(r"\s+", "-", t).partition("-")
    if ones and tens in _TENS_VALUE:  # "twenty-five"
        return str(_TENS_VALUE[tens] + _ONES_VALUE[ones])
    if t in _TENS_VALUE:
        return str(_TENS_VALUE[t])
    if t in ("a", "an"):
        return "1"  # "a million shells"
    return "100" if t == "a hundred" else text


_IDENTIFIER_NOUN = re.compile(
    r"(?:No\.|Number|Resolution|Pier|Berth|Dock|Gate|Terminal|Route|Unit|Article|Flight|Zone|Block|Brigade|"
    r"Division|Regiment|Corps|Package|Phase|Section|Part|Annex|Order|Decree|[A-Z]{2,})"
)


def _is_year(text: str | None) -> bool:
    return bool(text) and re.fullmatch(r"(?:19|20)\d\d", text or "") is not None


def _is_not_a_count(sentence: str, m: re.Match[str], low: float | None, high: float | None) -> bool:
    """Dates ("Sept. 7", "7 October"), years and year ranges ("2023-2024"), identifiers after a proper
    noun ("Resolution 2270", "Pier 2"), and ranges written high-low ("57229-41")."""
    before = sentence[max(0, m.start() - 12) : m.start()].lower()
    after = sentence[m.end() : m.end() + 12].lower()
    month = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    if re.search(rf"\b{month}\s*$", before) or re.match(rf"^\s*{month}", after):
        return True
    if _is_year(m["num"]) or (_is_year(m["lo2"] or m["lo"]) and _is_year(m["hi2"] or m["hi"])):
        return True
    if re.match(r"0\d", m["num"] or m["lo2"] or m["lo"] or ""):
        return True  # "007", a leading zero: a code, not a count
    if low is not None and high is not None and low > high:
        return True
    word_before = re.search(r"(\S+)\s+$", sentence[: m.start()])
    return bool(
        word_before
        and m.start() > len(word_before.group(0))
        and not m["qual"]
        and _IDENTIFIER_NOUN.fullmatch(word_before.group(1)) is not None
    )


def _calibre(sentence: str, m_end: int, np_end: int, unit: str) -> str:
    """Add the calibre: before the head, in a following "of 152mm ..." phrase, or the sentence's only one."""
    if unit not in ("shells", "rockets"):
        return unit
    cal = calibre_in(sentence[m_end:np_end])
    if cal is None:
        of = re.match(r"\s+of\s+([^,.;]{0,40})", sentence[np_end:])
        cal = calibre_in(of.group(1)) if of else None
    if cal is None:
        found = {int(c) for c in re.findall(r"(\d{2,3})(?=(?:\s*/\s*\d{2,3})*\s*-?\s*mm\b)", sentence)}
        cal = found.pop() if len(found) == 1 else None
    return f"{unit}_{cal}mm" if cal else unit


def find_quantities(sentence: str) -> list[Mention]:
    """Every quantity with a unit (or an elliptical one) in ``sentence``, rates and measures left out."""
    # "10 000 containers" (space as thousands separator): read as "10,000", offsets unchanged
    sentence = _SPACED_THOUSANDS.sub(lambda m: m.group(0).replace(" ", ","), sentence)
    out: list[Mention] = []
    for m in _QUANTITY_RE.finditer(sentence):
        rest = sentence[m.end() :]
        if _MEASURE.match(rest):
            continue
        quantity, low, high = _number_value(m)
        if (quantity is None and (low is None or high is None)) or _is_not_a_count(sentence, m, low, high):
            continue
        cal = _CALIBRE_LEAD.match(rest)
        np_start = m.end() + (cal.end() if cal else 0)
        unit, head, np_end = _noun_phrase(sentence, np_start)
        mention = _mention(sentence, m, quantity, low, high, unit, head, np_end)
        if mention is None:
            continue
        if mention.elliptical and mention.qualifier is None and out and out[-1].unit == mention.unit:
            # "about 255 railcars at Tumangang and 149 at Khasan": the qualifier distributes
            mention = replace(mention, qualifier=out[-1].qualifier if out[-1].qualifier == "about" else None)
        if mention is not None:
            out.append(mention)
    return out


def _mention(
    sentence: str,
    m: re.Match[str],
    quantity: float | None,
    low: float | None,
    high: float | None,
    unit: str | None,
    head: str | None,
    np_end: int,
) -> Mention | None:
    qualifier = "range" if quantity is None else normalise_qualifier(m["qual"] or m["sym"])
    if qualifier is None and m["plus"]:
        qualifier = "at_least"  # "13,000+ containers"
    scale = (m["scale"] or m["hi_scale"] or m["hi2_scale"] or "").lower()
    word = bool(m["num"] and not re.match(r"\d", m["num"]))
    if unit is None and head is None:
        return _elliptical(sentence, m, quantity, low, high, qualifier, scale)
    if unit is None or head is None or _RATE.match(sentence[np_end:]):
        return None
    if scale in ("m", "k") and not head.lower().endswith("s"):
        return None  # "a 150m container ship": metres, not millions
    unit = _calibre(sentence, m.end(), np_end, unit)
    return Mention(quantity, low, high, unit, qualifier, m.start(), np_end, head, word_number=word)


def _elliptical(
    sentence: str,
    m: re.Match[str],
    quantity: float | None,
    low: float | None,
    high: float | None,
    qualifier: str | None,
    scale: str,
) -> Mention | None:
    """A bare number ending a clause ("that is more than 400,000.") takes the nearest unit noun before it."""
    after = sentence[m.end() :]
    partitive = re.match(r"^\s*of\s+(?:them|which|those|these)\b", after) is not None
    value = quantity if quantity is not None else high
    if (
        not re.match(r"^\s*(?:[,.;:)\"”]|$|(?:at|in|on|for|of\s+(?:them|which|those|these))\b)", after)
        or value is None
    ):
        return None
    if not (qualifier or scale or value >= 100 or partitive):
        return None
    before = sentence[: m.start()]
    best: tuple[int, str, str] | None = None
    for w in re.finditer(r"[A-Za-z][A-Za-z'’-]*", before[-120:]):
        prev = re.findall(r"[A-Za-z]+", before[-120:][: w.start()])
        unit = _unit_of(w.group(0), prev[-1] if prev else None, sentence)
        if unit is not None and (unit != "ships" or partitive):  # "27 vessels, 11 of them ..."
            best = (len(before) - 120 + w.end() if len(before) > 120 else w.end(), unit, w.group(0))
    if best is None:
        return None
    w_end, unit, head = best
    if partitive and before[w_end:].strip(" ,") != "":
        return None  # "27 vessels, 11 of them": only the noun right before; not "16 sites, 12 of them"
    if unit in ("shells", "rockets"):
        cal = calibre_in(before[max(0, w_end - len(head) - 16) : w_end].split(" ", 1)[-1])
        unit = f"{unit}_{cal}mm" if cal else unit
    return Mention(quantity, low, high, unit, qualifier, m.start(), m.end(), head, elliptical=True)
