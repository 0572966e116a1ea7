"""Propose candidate claims from press copy, for a person to confirm (rules, no model download).

Modules, in pipeline order: ``article`` (header), ``layout`` (clutter, headlines, captions, sentence
split), ``quantities`` (numbers and head-noun units), ``attribution`` (claimants), ``periods`` (dates and
durations against the publication date), ``context`` (context figures), ``dedup`` (one candidate per
claim), ``candidates`` (the pipeline and the ledger rows). Accuracy: docs/claims-extraction.md.
"""

from supplyline.evidence.extract.article import Article, parse_article
from supplyline.evidence.extract.attribution import find_claimant
from supplyline.evidence.extract.candidates import (
    Candidate,
    claim_rows,
    extract_candidates,
    extract_claims,
    extract_file,
    read_article,
)
from supplyline.evidence.extract.layout import segments, sentences
from supplyline.evidence.extract.periods import find_period

__all__ = [
    "Article",
    "Candidate",
    "claim_rows",
    "extract_candidates",
    "extract_claims",
    "extract_file",
    "find_claimant",
    "find_period",
    "parse_article",
    "read_article",
    "segments",
    "sentences",
]
