"""Who makes a claim: the original source named in the sentence, or resolved from earlier sentences.

Patterns, strongest first: "citing X" / "a briefing by X" (the original behind a relay); "X said" /
"X estimated that" (the subject of a reporting verb); ", said X"; "according to X" (with "according to
their estimates" / "according to data obtained by X" / "according to images X released" unwrapped). A
pronoun ("he said", "according to their analysis") or a generic subject ("the ministry", "the think
tank", "its analysts") is resolved to the latest claimant named before it that fits (a person for
he/she; the claimant whose name holds the generic word, e.g. "ministry" in "South Korea's defence
ministry"; else the latest organisation); unnamed sources ("officials", "intelligence sources") stay as
written. A relaying outlet ("the Guardian reported", "told Reuters", "Reuters reported, citing X") yields
to any other source the sentence names, and is the claimant only when the sentence names no other
("VOA estimated"). In a sentence of two clauses each figure takes its own clause's source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_STRONG_VERBS = (
    r"said|says|told|reported|reports|stated|states|announced|wrote|writes|added|disclosed|confirmed|"
    r"estimated|estimates|calculated|counted|found|finds|concluded|assessed|assesses|believes|believed"
)
_WEAK_VERBS = (
    r"claimed|claims|noted|revealed|alleged|showed|shows|indicated|warned|observed|shared|released|published|"
    r"provided|obtained|designated|sanctioned|listed|put(?=\s+(?:the|its|their|his|her)\s+(?:number|figure|total|estimate|tally|count)\b)"
)
# outlets that relay others' figures: a claimant only when the sentence names no other source
_RELAY_OUTLETS = re.compile(
    r"(?i)^(?:the\s+)?(?:reuters|bloomberg|associated press|ap|afp|agence france-presse|yonhap|kyodo|tass|"
    r"ria novosti|interfax|guardian|financial times|ft|washington post|new york times|wall street journal|"
    r"cnn|bbc|nhk|kbs|nk news|daily nk|radio free asia|rfa|politico|newsweek|the times|telegraph|"
    r"[\w ]*(?:news agency|newspaper|broadcaster))$"
)
_VERB_RES = tuple(re.compile(rf"\s(?:{verbs})\b") for verbs in (_STRONG_VERBS, _WEAK_VERBS))
_DELIMITERS = re.compile(r"[,;:\"“”()]")
_AUXILIARY = re.compile(r"(?:\s+(?:has|have|had))?(?:\s+also)?\s*$")
_SAID_INV_RE = re.compile(
    r"(?i)[,\"”]\s*(?:said|says|told|wrote|writes|added|reported|stated|noted|estimated)\s+"
    r"(?!(?:with|to|in|on|at|by|that|it|they|he|she)\b)(?P<who>[^,.;:()\"“”]+)"
)
_ACCORDING_RE = re.compile(r"(?i)\baccording\s+to\s+(?P<who>[^,.;:()\"“”]+)")
_CITING_RE = re.compile(
    r"(?i)\b(?:citing|(?:a\s+)?(?:closed-door\s+)?briefing\s+(?:by|from)|briefed\s+by)\s+(?P<who>[^,.;:()\"“”]+)"
)
_LEAD_NOUNS = re.compile(
    r"(?i)^(?:(?:an?|the|new|latest|recent|its|their|his|her)\s+)*(?:estimates?|data|figures?|images?|imagery|"
    r"analysis|analyses|report|reports|assessment|documents?|calculations?|findings|study|research|"
    r"satellite\s+imagery|satellite\s+images?|intelligence)\b\s*"
)
_RELAY_TAIL = re.compile(
    r"(?i)\s+(?:released|published|obtained|reviewed|provided|shared|compiled|analysed|analyzed|seen|cited)\b.*$"
)
_WORK_NOUNS = r"(?:analysis|analyses|estimates?|reports?|review|assessment|count|data|calculations?|findings|research|study)"
_OWN_WORK = re.compile(
    rf"^(?:(?i:(.+?)['’]s\s+(?:own\s+)?{_WORK_NOUNS})|((?:[A-Z][\w.&-]*\s+)*[A-Z][\w.&-]*)\s+(?i:{_WORK_NOUNS}))\b.*$"
)
_ACRONYM_ASIDE = re.compile(r"\s*\((?:[A-Z][A-Za-z.&-]{1,10})\)")  # "the National Intelligence Service (NIS)"
_PRONOUN = re.compile(r"(?i)^(?:he|she|they|it|his|her|their|its|we|i)$")
_PERSON_PRONOUNS = {"he", "she", "his", "her"}
_GENERIC_HEADS = (
    *("ministry", "agency", "department", "think tank", "think-tank", "institute", "group", "centre"),
    *("center", "team", "report", "researchers", "researcher", "analysts", "analyst", "officials"),
    *("official", "outlet", "government", "service", "spokesman", "spokeswoman", "spokesperson"),
    *("minister", "company", "project", "program", "programme", "organisation", "organization", "panel"),
    *("intelligence", "military", "office", "source", "sources", "newspaper", "paper", "broadcaster"),
    *("website", "monitors", "expert", "experts", "study", "assessment", "statement", "data"),
)
_ANONYMOUS_HEADS = {
    *("analysts", "analyst", "researchers", "researcher", "outlet", "group", "think tank", "think-tank"),
    *("team", "officials", "sources", "source", "monitors", "experts", "expert", "study", "data"),
    *("program", "programme", "project", "report", "assessment", "newspaper", "paper"),
}
_UNNAMED = {"source", "sources", "official", "officials", "expert", "experts"}
_SPOKESPERSON = {"ministry": "minister", "department": "secretary"}
_GENERIC = re.compile(
    r"(?i)^(?:(?:the|its|their|his|her|this|that)\s+)?(?:(?-i:[a-z]+)['’]s\s+)?"
    r"(?P<mod>(?-i:[a-z-]+)\s+)?(?P<head>" + "|".join(_GENERIC_HEADS) + r")$"
)
_ORG_WORDS = re.compile(
    r"(?i)\b(?:ministry|agency|department|institute|centre|center|council|service|house|group|government|"
    r"intelligence|office|project|team|pro|news|post|times|reuters|staff|parallel|C4ADS|RUSI|CSIS|NIS|DIA|"
    r"MSMT|OSC|VOA|analysts|officials|state|committee|panel|forces|military|army|navy)\b"
)
_NON_CLAIMANTS = re.compile(
    r"(?i)^(?:north korea|russia|pyongyang|moscow|the north|the ships?|ships|the containers|containers|"
    r"the shells|the cargo|the images?|satellite imagery|imagery|it|this|that|there|which|who|if|when|while|"
    r"although|though|as|because|but|and|once|after|before|unless|since|so|yet)$"
)


@dataclass(frozen=True)
class Attribution:
    """A claimant as written and how it was found (explicit | generic | pronoun)."""

    text: str
    how: str


def _clean(who: str) -> str | None:
    who = re.sub(r"\s+", " ", who).strip(" \"'“”‘’-—")
    if re.search(r"(?i)(?:^according\b|\b(?:their|its|his|her|the|a|an|our|to)$)", who):
        return None  # "According to their estimates": a noun, not a reporting verb
    who = _OWN_WORK.sub(lambda m: m.group(1) or m.group(2), who)
    who = re.sub(r"(?i)^(?:and|but|while|as|however|separately|meanwhile|also|earlier|now)\s+", "", who)
    who = re.sub(r"(?i)\s+(?:on|in|last|this|earlier|late|after|before|during|who|which|that)\s+.*$", "", who)
    who = re.sub(r"^[Aa]n?\s+", "", who) if not _GENERIC.match(who) else who
    who = re.sub(r"(?i)^(?:that|which)\s+", "", who)
    who = re.sub(r"(?i)\s+(?:also|earlier|now|recently|previously)$", "", who)
    words = who.split()
    if not words or len(words) > 10 or _NON_CLAIMANTS.match(who):
        return None
    if re.search(r"(?i)\b(?:is|are|was|were|been|be|being)$", who):
        return None  # passive: "North Korea is believed to have sent ..."
    if re.search(r"\d", who) and not re.search(r"(?i)C4ADS|\b[A-Z]+\d", who):
        return None
    if not re.search(r"[A-Z]", who) and not (_GENERIC.match(who) or _PRONOUN.match(who)):
        return None
    return who


def _classify(who: str) -> Attribution:
    if _PRONOUN.match(who):
        return Attribution(who, "pronoun")
    if _GENERIC.match(who):
        return Attribution(who, "generic")
    return Attribution(who, "explicit")


def _according(sentence: str) -> Attribution | None:
    m = _ACCORDING_RE.search(sentence)
    if not m:
        return None
    who = m["who"]
    possessive = re.match(r"(?i)^(their|its|his|her)\s+", who)
    lead = _LEAD_NOUNS.match(who)
    if lead and lead.end() < len(who):
        rest = who[lead.end() :]
        by = re.match(r"(?i)^(?:\w+\s+)?(?:by|from|of)\s+(.+)$", rest)
        who = by.group(1) if by else re.sub(r"(?i)^that\s+", "", rest)
    elif possessive:
        return Attribution(possessive.group(1), "pronoun")
    found = _clean(_RELAY_TAIL.sub("", re.split(r"(?i)\s+and\s+(?:reviewed|seen|obtained|shared)\b", who)[0]))
    if found is None and possessive:
        return Attribution(possessive.group(1), "pronoun")
    return _classify(found) if found else None


def _said_subjects(sentence: str, verb_re: re.Pattern[str]) -> Iterator[str]:
    """For each reporting verb, the words before it back to the clause start or the previous verb
    ("X said", "X has also estimated"); linear in the sentence length."""
    floor = 0
    for m in verb_re.finditer(sentence):
        head = sentence[floor : m.start()]
        delims = list(_DELIMITERS.finditer(head))
        start = delims[-1].end() if delims else 0
        yield _AUXILIARY.sub("", head[start:])
        floor = m.end()


def find_attribution(sentence: str) -> Attribution | None:
    """The strongest attribution in ``sentence`` (see the module docstring); None if it names nobody."""
    sentence = _ACRONYM_ASIDE.sub("", sentence)
    m = _CITING_RE.search(sentence)
    if m and (who := _clean(m["who"])):
        return _classify(who)
    candidates: list[Attribution] = []
    for verb_re in _VERB_RES:
        for raw in _said_subjects(sentence, verb_re):
            cut = raw.rfind(" that ")
            who = _clean(raw[cut + 6 :] if cut >= 0 else raw)
            if who:
                candidates.append(_classify(who))
                break
    m = _SAID_INV_RE.search(sentence)
    if m and (who := _clean(m["who"])):
        candidates.append(_classify(who))
    according = _according(sentence)
    if according:
        candidates.append(according)
    sources = [c for c in candidates if not (c.how == "explicit" and _RELAY_OUTLETS.match(c.text))]
    for how in ("explicit", "generic", "pronoun"):
        for c in [*sources, *candidates]:
            if c.how == how:
                return c
    return None


def find_claimant(sentence: str) -> str | None:
    """Who makes the claim in this sentence, as written; None if nobody (pronouns are not claimants)."""
    a = find_attribution(sentence)
    return a.text if a and a.how != "pronoun" else None


_TITLED = re.compile(
    r"(?i)\b(?:spokes\w+|minister|lawmaker|chief|head|director|secretary|president|analyst|commander|"
    r"general|colonel|official)\s+(?-i:[A-Z][a-z]+(?:[ -][A-Z]?[a-z]+)+)$"
)
_NAME = re.compile(r"^(?:[A-Z][a-z]+[ -]){1,3}[A-Z]?[a-z]+$")


def is_person(name: str) -> bool:
    """A personal name ("Shin Won-sik", "spokesman John Kirby", "RUSI's Jack Watling")."""
    tail = re.sub(r"^.*['’]s\s+", "", name)
    return bool(_TITLED.search(name)) or bool(_NAME.match(tail) and not _ORG_WORDS.search(tail))


def resolve(found: Attribution, earlier: list[str]) -> tuple[str | None, float]:
    """(claimant, confidence) for an attribution, given the claimants named earlier (latest last); a
    pronoun with nobody to point to gives (None, 0)."""
    if found.how == "explicit":
        return found.text, 0.9
    if found.how == "pronoun":
        want_person = found.text.lower() in _PERSON_PRONOUNS
        for name in reversed(earlier):
            if is_person(name) == want_person or not want_person:
                return name, 0.7
        return None, 0.0
    generic = _GENERIC.match(found.text)
    head = generic["head"].lower() if generic else found.text.lower()
    keys = [head] + ([generic["mod"].strip().lower()] if generic and generic["mod"] else [])
    keys += [_SPOKESPERSON[head]] if head in _SPOKESPERSON else []  # "the ministry" after "the minister said"
    for (
        key
    ) in keys:  # "the ministry" -> "South Korea's defence ministry"; "an agency official" -> "... Agency"
        for name in reversed(earlier):
            if key in name.lower():
                return name, 0.7
    qualified = bool(generic and generic["mod"]) and head not in _ANONYMOUS_HEADS
    if head in _UNNAMED:  # "officials", "intelligence sources": nobody named, say so
        return found.text, 0.3
    if not qualified:  # "the outlet's analysts": the latest organisation; "the defence ministry" stays
        for name in reversed(earlier):
            if not is_person(name):
                return name, 0.6
    return found.text, 0.4 if qualified else 0.3
