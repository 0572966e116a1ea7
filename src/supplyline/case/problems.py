"""One collector of ``(file, line, message)`` problems for a TOML file, used by the case loader and the
scenario loader: tomllib gives values but no positions, so lines are found by reading the text again.

Two ways to find a line, one per caller's habit: by table path and key (``table``/``key``, exact TOML
headers, used for case.toml) and by searching text from a line on (``line_of``/``nth``, used for
scenario.toml, whose messages have always been placed this way). Problems from elsewhere (the evidence
CSVs, a case a scenario refers to) are added with ``extend``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from supplyline.evidence.ledger import Problem  # (file, 1-based line or None, message)

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


class TomlProblems:
    """Problems found in one TOML file (``path``), with the means to find the line each one is about."""

    def __init__(self, path: Path | str, text: str = "") -> None:
        self.path = str(path)
        self.lines = text.splitlines()
        self.items: list[Problem] = []
        self.headers: list[tuple[int, str, int]] = []  # (0-based line, dotted path, array index)
        counts: dict[str, int] = {}
        for i, line in enumerate(self.lines):
            m = _HEADER_RE.match(line)
            if m:
                dotted = re.sub(r"\s*\.\s*", ".", m.group(2)).replace('"', "")
                idx = counts.get(dotted, 0)
                if m.group(1) == "[[":
                    counts[dotted] = idx + 1
                self.headers.append((i, dotted, idx))

    # --- recording ---------------------------------------------------------------------------------------

    def add(self, line: int | None, message: str) -> None:
        """A problem of this file at ``line`` (None: the file as a whole)."""
        self.items.append((self.path, line, message))

    def add_near(self, message: str, needle: str | None = None, after: int = 0) -> None:
        """A problem at the first line after ``after`` containing ``needle`` (else line ``after``, or none)."""
        line = self.line_of(needle, after) if needle else None
        self.add(line if line is not None else (after or None), message)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Problems of other files (evidence CSVs, a referenced case), kept as they are."""
        self.items.extend(problems)

    # --- finding lines by table path and key --------------------------------------------------------------

    def table(self, path: str, index: int = 0) -> int | None:
        """1-based line of the header ``[path]`` (or the ``index``-th ``[[path]]``); None if absent."""
        for i, p, idx in self.headers:
            if p == path and idx == index:
                return i + 1
        return None

    def key(self, path: str, key: str, index: int = 0) -> int | None:
        """1-based line of ``key = `` inside table ``path`` (array item ``index``); the header line if absent."""
        start = self.table(path, index) if path else 0
        if start is None:
            return None
        pat = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for i in range(start, len(self.lines)):
            if _HEADER_RE.match(self.lines[i]):
                break
            if pat.match(self.lines[i]):
                return i + 1
        return start or None

    # --- finding lines by searching text --------------------------------------------------------------------

    def line_of(self, needle: str | None, after: int = 0) -> int | None:
        """First line after line ``after`` containing ``needle`` ("key =" also matches "key=")."""
        if not needle:
            return None
        if needle.endswith(" ="):
            pat = re.compile(r"^\s*" + re.escape(needle[:-2]) + r"\s*=")
        else:
            pat = re.compile(re.escape(needle))
        for i, line in enumerate(self.lines[after:], after + 1):
            if pat.search(line):
                return i
        return None

    def nth(self, header: str, n: int, after: int = 0) -> int:
        """Line of the ``n``-th (0-based) table header ``header`` after line ``after`` (``after`` if absent)."""
        found = 0
        for i, line in enumerate(self.lines[after:], after + 1):
            if line.strip().startswith(header):
                if found == n:
                    return i
                found += 1
        return after
