"""The same claim stated more than once (headline, caption, body, a closing recap) is proposed once.

Two candidates are the same claim when quantity (or range) and unit agree and the claimants are
compatible (equal, one inside the other, or one missing). A headline or caption repeats the body, so it is
folded into a body candidate with the same figure whatever its claimant. The kept candidate is the best
placed one (body before headline/caption, then the surer claimant, then one with a period); fields it
lacks are filled from the others, and ``mentions`` counts how often the figure was stated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supplyline.evidence.extract.candidates import Candidate


def _key(c: Candidate) -> tuple[object, ...]:
    amount = c.quantity if c.quantity is not None else (c.quantity_low, c.quantity_high)
    return (amount, c.unit)


def _compatible(a: Candidate, b: Candidate) -> bool:
    if a.role != "body" or b.role != "body" or not a.claimant or not b.claimant:
        return True
    x, y = a.claimant.lower(), b.claimant.lower()
    return x in y or y in x


def _rank(c: Candidate) -> tuple[int, float, int]:
    return (
        c.role == "body",
        c.confidence.get("claimant", 0.0),
        c.period_start is not None or c.period_end is not None,
    )


def _merge(best: Candidate, other: Candidate) -> Candidate:
    conf = dict(best.confidence)
    changes: dict[str, object] = {"mentions": best.mentions + other.mentions}
    if best.claimant is None and other.claimant is not None:
        changes["claimant"] = other.claimant
        conf["claimant"] = other.confidence.get("claimant", 0.0) * 0.8
    if best.period_start is None and best.period_end is None and (other.period_start or other.period_end):
        changes["period_start"], changes["period_end"] = other.period_start, other.period_end
        conf["period"] = other.confidence.get("period", 0.0) * 0.8
    return replace(best, confidence=conf, **changes)  # type: ignore[arg-type]


_ROUNDING = 0.1  # a headline's "nearly 5 million" for the body's 4.8 million


def _amount(c: Candidate) -> float | None:
    return c.quantity if c.quantity is not None else c.quantity_high


def _fold_rounded_headlines(groups: list[list[Candidate]]) -> list[list[Candidate]]:
    """A figure stated only in a headline or caption, within 10% of a body figure of the same unit, is
    that body figure rounded: fold it in rather than propose it."""
    kept: list[list[Candidate]] = []
    for group in groups:
        amount = _amount(group[0])
        if amount and all(c.role != "body" for c in group):
            target = next(
                (
                    g
                    for g in groups
                    if g is not group
                    and g[0].unit == group[0].unit
                    and any(c.role == "body" for c in g)
                    and (b := _amount(g[0]))
                    and abs(b - amount) <= _ROUNDING * b
                ),
                None,
            )
            if target is not None:
                target.extend(group)
                continue
        kept.append(group)
    return kept


def deduplicate(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per distinct claim, in the order each claim was first stated."""
    groups: list[list[Candidate]] = []
    for c in candidates:
        for group in groups:
            if _key(group[0]) == _key(c) and all(_compatible(g, c) for g in group):
                group.append(c)
                break
        else:
            groups.append([c])
    groups = _fold_rounded_headlines(groups)
    out: list[Candidate] = []
    for group in groups:
        ordered = sorted(group, key=_rank, reverse=True)
        best = ordered[0]
        for other in ordered[1:]:
            best = _merge(best, other)
        out.append(best)
    return out
