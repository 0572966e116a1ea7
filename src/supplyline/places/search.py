"""Fuzzy place-name search: every name and alias scored by rapidfuzz in one vectorised call, ranked, and
the cells of one GFW anchorage collapsed to one row."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from supplyline.errors import UsageError
from supplyline.places.gazetteer import SOURCES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_SCORE = 60.0
"""Lowest rapidfuzz score (0-100) of a place's best name or alias for it to be a hit."""


def normalise_name(text: str) -> str:
    """Lower case, accents and apostrophes removed, other punctuation as spaces: "Ch'ŏngjin" -> "chongjin".

    >>> normalise_name("Ch'ŏngjin  (Seishin)")
    'chongjin seishin'
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    plain = re.sub(r"['`’]", "", plain)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@dataclass(frozen=True)
class _Choices:
    """Every name and alias of every place, flattened for one vectorised rapidfuzz call."""

    raw: list[str]
    normalised: list[str]
    normalised_arr: npt.NDArray[np.object_]
    owner: IntArray  # place row of each choice, ascending
    lengths: IntArray
    is_name: BoolArray  # the place's main name (not an alias)

    @classmethod
    def of(cls, places: pa.Table) -> _Choices:
        raw: list[str] = []
        owner: list[int] = []
        is_name: list[bool] = []
        names, aliases = places["name"].to_pylist(), places["aliases"].to_pylist()
        for i, (n, a) in enumerate(zip(names, aliases, strict=True)):
            for j, s in enumerate([n, *(a.split("|") if a else [])]):
                raw.append(s)
                owner.append(i)
                is_name.append(j == 0)
        norm = [normalise_name(s) for s in raw]
        return cls(
            raw=raw,
            normalised=norm,
            normalised_arr=np.asarray(norm, dtype=object),
            owner=np.asarray(owner, dtype=np.int64),
            lengths=np.fromiter(map(len, norm), dtype=np.int64, count=len(norm)),
            is_name=np.asarray(is_name, dtype=bool),
        )


@dataclass(frozen=True)
class _Scores:
    """One query scored against every choice, and summed up per place."""

    choice: npt.NDArray[np.float32]  # score of each name/alias
    best: npt.NDArray[np.float32]  # best score of each place
    exact: BoolArray  # a name or alias of the place equals the query
    exact_name: BoolArray  # the place's main name equals the query


class NameSearch:
    """Fuzzy search over one PLACES table (see :meth:`PlaceIndex.search`, which builds one on first use)."""

    def __init__(self, places: pa.Table, xyz: FloatArray, workers: int = 1) -> None:
        self.places = places
        self.xyz = xyz  # unit vectors of the place centres, for picking a group's representative
        self.workers = workers
        self.choices = _Choices.of(places)

    def search(self, name: str, limit: int = 20, country: str | None = None) -> pa.Table:
        """Best ``limit`` matches of ``name``, one row per group; columns of PLACES + score, n_same, matched."""
        query = normalise_name(name)
        if not query:
            raise UsageError("give a place name to search for, e.g. `supplyline places search Vostochny`")
        if limit < 1:
            raise UsageError("limit must be at least 1")
        scores = self._score(query)
        order = self._rank(scores, self._country_mask(country, scores.best >= MIN_SCORE))
        return self._collapse(order, scores, limit)

    def _score(self, query: str) -> _Scores:
        ch, n = self.choices, self.places.num_rows
        # WRatio's partial matching rewards a choice found inside the query ("n" in "najin"), so names
        # shorter than the query are scored by QRatio (whole-string) only.
        kw: dict[str, Any] = {"dtype": np.float32, "workers": self.workers}
        whole = process.cdist([query], ch.normalised, scorer=fuzz.QRatio, **kw)[0]
        part = process.cdist([query], ch.normalised, scorer=fuzz.WRatio, **kw)[0]
        choice = np.where(ch.lengths >= len(query), np.maximum(whole, part), whole)
        hit = ch.normalised_arr == query
        exact = np.zeros(n, dtype=bool)
        exact[ch.owner[hit]] = True
        exact_name = np.zeros(n, dtype=bool)
        exact_name[ch.owner[hit & ch.is_name]] = True
        best = np.zeros(n, dtype=np.float32)
        np.maximum.at(best, ch.owner, choice)
        return _Scores(choice, best, exact, exact_name)

    def _country_mask(self, country: str | None, mask: BoolArray) -> BoolArray:
        if not country:
            return mask
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            raise UsageError(f"country must be an ISO 3166 alpha-2 code like RU or KP, got {country!r}")
        same = pc.equal(self.places["country"], country.upper()).fill_null(False)
        return mask & same.to_numpy(zero_copy_only=False)

    def _rank(self, s: _Scores, mask: BoolArray) -> IntArray:
        """Rows in ``mask`` ranked by exact name, exact alias, score, source quality (WPI first), row."""
        src_rank = _source_rank(self.places["source"])
        rows = np.flatnonzero(mask)
        keys = (rows, src_rank[rows], -s.best[rows], ~s.exact[rows], ~s.exact_name[rows])
        return rows[np.lexsort(keys)]

    def _collapse(self, order: IntArray, s: _Scores, limit: int) -> pa.Table:
        """Group repeated cells of one anchorage (same lower-case name, country, source); each group is shown
        by the member nearest the group's mean position (unit vectors, so wrap-free)."""
        t = self.places.take(order)
        key = pc.binary_join_element_wise(
            pc.utf8_lower(t["name"]), t["country"].fill_null(""), t["source"].fill_null(""), "\x1f"
        )
        _, first, inv, counts = np.unique(
            key.to_numpy(zero_copy_only=False), return_index=True, return_inverse=True, return_counts=True
        )
        groups = np.argsort(first, kind="stable")[:limit]  # groups in rank order of their best member
        xyz = self.xyz[order]
        mean = np.zeros((len(first), 3))
        np.add.at(mean, inv, xyz)
        mean /= counts[:, None]
        off = ((xyz - mean[inv]) ** 2).sum(axis=1)
        by_group = np.lexsort((off, inv))
        rep = by_group[np.concatenate([[0], np.cumsum(counts)[:-1]])] if len(inv) else by_group
        leaders = order[first[groups]]
        matched = [self.choices.raw[self._best_choice(int(p), s.choice)] for p in leaders]
        return (
            t.take(rep[groups])
            .append_column("score", pa.array(s.best[leaders].astype(np.float64)))
            .append_column("n_same", pa.array(counts[groups].astype(np.int64)))
            .append_column("matched", pa.array(matched, pa.string()))
        )

    def _best_choice(self, row: int, scores: npt.NDArray[np.float32]) -> int:
        """Index (into the choices) of the best-scoring name or alias of place ``row``."""
        owner = self.choices.owner
        lo, hi = np.searchsorted(owner, row, "left"), np.searchsorted(owner, row, "right")
        return int(lo + np.argmax(scores[lo:hi]))


def _source_rank(col: pa.ChunkedArray) -> IntArray:
    rank = {s: i for i, s in enumerate(SOURCES)}
    return np.array([rank.get(s, -1) for s in col.to_pylist()], dtype=np.int64)
