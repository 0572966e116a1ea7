"""Units and numbers as they are written in claims: one normalised vocabulary for the ledger and extraction.

Normalised units (``schema.CLAIMS.unit``): containers, teu, tonnes, shells, shells_<calibre>mm (e.g.
shells_152mm, shells_122mm when the calibre is known), rockets_<calibre>mm, missiles, trips, shipments,
railcars; observations may also count ships and visits. Qualifiers: at_least, about, up_to, exactly, range.
"""

from __future__ import annotations

import re

BASE_UNITS = (
    "containers",
    "teu",
    "tonnes",
    "shells",
    "rockets",
    "missiles",
    "trips",
    "shipments",
    "railcars",
    "ships",
    "visits",
)
CLAIM_UNITS = BASE_UNITS
QUALIFIERS = ("at_least", "about", "up_to", "exactly", "range")

# Surface words -> base unit (singular and plural; longest phrases first when matching text).
_UNIT_WORDS: dict[str, str] = {
    "containers": "containers",
    "container": "containers",
    "containers-worth": "containers",
    "teu": "teu",
    "teus": "teu",
    "twenty-foot equivalent units": "teu",
    "tonnes": "tonnes",
    "tonne": "tonnes",
    "tons": "tonnes",
    "ton": "tonnes",
    "metric tons": "tonnes",
    "metric tonnes": "tonnes",
    "t": "tonnes",
    "shells": "shells",
    "shell": "shells",
    "artillery shells": "shells",
    "artillery rounds": "shells",
    "rounds": "shells",
    "round": "shells",
    "munitions": "shells",
    "projectiles": "shells",
    "rockets": "rockets",
    "rocket": "rockets",
    "missiles": "missiles",
    "missile": "missiles",
    "ballistic missiles": "missiles",
    "trips": "trips",
    "trip": "trips",
    "voyages": "trips",
    "voyage": "trips",
    "round trips": "trips",
    "deliveries": "shipments",
    "delivery": "shipments",
    "shipments": "shipments",
    "shipment": "shipments",
    "cargo shipments": "shipments",
    "occasions": "shipments",
    "railcars": "railcars",
    "railcar": "railcars",
    "rail cars": "railcars",
    "rail car": "railcars",
    "freight cars": "railcars",
    "wagons": "railcars",
    "box cars": "railcars",
    "ships": "ships",
    "vessels": "ships",
    "visits": "visits",
    "port calls": "visits",
}
UNIT_WORDS_PATTERN = "|".join(sorted((re.escape(w) for w in _UNIT_WORDS if w != "t"), key=len, reverse=True))

_CALIBRE_UNIT = re.compile(r"^(shells|rockets)_(\d{2,3})mm$")
_CALIBRE_TEXT = re.compile(r"(\d{2,3})\s*-?\s*(?:mm|millimet(?:er|re)s?)\b", re.I)

_SCALE = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
}
SCALE_PATTERN = r"(?:thousand|million|millions|mln|mn|billion|bn|k|m)\b"
NUMBER_PATTERN = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a dozen": 12,
}
WORD_NUMBER_PATTERN = "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))


def normalise_unit(text: str | None, calibre_mm: int | None = None) -> str | None:
    """The normalised unit for a written unit ("Containers", "rounds", "152mm shells"), or None if unknown.

    A calibre (in the text or given) turns shells/rockets into ``shells_152mm`` etc.
    """
    if text is None:
        return None
    raw = text.strip().lower().replace("_", " ")
    if not raw:
        return None
    m = _CALIBRE_UNIT.match(text.strip().lower())
    if m:
        return text.strip().lower()
    cal = _CALIBRE_TEXT.search(raw)
    if cal:
        calibre_mm = calibre_mm or int(cal.group(1))
        raw = _CALIBRE_TEXT.sub("", raw).strip(" -")
    raw = re.sub(r"\s+", " ", raw)
    base = _UNIT_WORDS.get(raw)
    if base is None and raw.endswith(" shells"):
        base = "shells"
    if base is None:
        return None
    if calibre_mm and base in ("shells", "rockets"):
        return f"{base}_{calibre_mm}mm"
    return base


def unit_base(unit: str) -> str:
    """``shells_152mm`` -> ``shells``: the unit family, for comparing claims across calibres."""
    m = _CALIBRE_UNIT.match(unit)
    return m.group(1) if m else unit


def is_known_unit(unit: str, allowed: tuple[str, ...] = BASE_UNITS) -> bool:
    """True for a normalised unit in ``allowed`` (calibre variants of shells/rockets included)."""
    return unit_base(unit) in allowed


def parse_number(text: str) -> float | None:
    """'6,700' -> 6700; '1.6 million' -> 1.6e6; '74,000' -> 74000; 'two' -> 2; None if not a number."""
    s = re.sub(r"\s+", " ", text.strip().lower())
    m = re.fullmatch(rf"({NUMBER_PATTERN}|{WORD_NUMBER_PATTERN})\s*({SCALE_PATTERN})?", s)
    if not m:
        return None
    word = _WORD_NUMBERS.get(m.group(1))
    value = float(word if word is not None else m.group(1).replace(",", ""))
    if m.group(2):
        value *= _SCALE[m.group(2)]
    return value


_QUALIFIER_WORDS: tuple[tuple[str, str], ...] = (
    ("at least", "at_least"),
    ("more than", "at_least"),
    ("over", "at_least"),
    ("in excess of", "at_least"),
    ("upwards of", "at_least"),
    ("no fewer than", "at_least"),
    ("no less than", "at_least"),
    ("a minimum of", "at_least"),
    ("some", "about"),
    ("about", "about"),
    ("around", "about"),
    ("approximately", "about"),
    ("roughly", "about"),
    ("nearly", "about"),
    ("almost", "about"),
    ("an estimated", "about"),
    ("estimated", "about"),
    ("close to", "about"),
    ("up to", "up_to"),
    ("a maximum of", "up_to"),
    ("at most", "up_to"),
    ("as many as", "up_to"),
    ("fewer than", "up_to"),
    ("less than", "up_to"),
    ("no more than", "up_to"),
    ("exactly", "exactly"),
)
# Symbols used in analysts' notes ("~300 containers", "≥19 visits"); matched without a following space.
_QUALIFIER_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("~", "about"),
    ("≈", "about"),
    ("c.", "about"),
    ("≥", "at_least"),
    (">=", "at_least"),
    (">", "at_least"),
    ("≤", "up_to"),
    ("<=", "up_to"),
    ("<", "up_to"),
)
QUALIFIER_SYMBOL_PATTERN = "|".join(re.escape(w) for w, _ in _QUALIFIER_SYMBOLS)
QUALIFIER_PATTERN = "|".join(sorted((re.escape(w) for w, _ in _QUALIFIER_WORDS), key=len, reverse=True))
_QUALIFIER_MAP = dict(_QUALIFIER_WORDS + _QUALIFIER_SYMBOLS)


def normalise_qualifier(text: str | None) -> str | None:
    """'More than' -> 'at_least'; 'some' -> 'about'; a normalised qualifier passes through; None if unknown."""
    if text is None:
        return None
    s = re.sub(r"\s+", " ", text.strip().lower().replace("_", " "))
    if s.replace(" ", "_") in QUALIFIERS:
        return s.replace(" ", "_")
    return _QUALIFIER_MAP.get(s)


def calibre_in(text: str) -> int | None:
    """The calibre in mm mentioned in ``text`` ("152mm", "122-mm", "152 mm"), else None."""
    m = _CALIBRE_TEXT.search(text)
    return int(m.group(1)) if m else None


def fill_bounds(
    quantity: float | None, low: float | None, high: float | None, qualifier: str | None
) -> tuple[float | None, float | None]:
    """Bounds implied by the qualifier when not written: at_least -> low = quantity, up_to -> high =
    quantity, exactly -> both; 'about' leaves them empty (how much 'about' allows is the estimator's call)."""
    if quantity is None:
        return low, high
    if qualifier in ("at_least", "exactly") and low is None:
        low = quantity
    if qualifier in ("up_to", "exactly") and high is None:
        high = quantity
    return low, high
