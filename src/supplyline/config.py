"""The case file: a folder with case.toml (places, routes, watchlist, thresholds, priors) plus the evidence
ledger (claims.csv, observations.csv) and an optional scenario.toml for the simulator.

``load_case(path)`` returns a :class:`Case` or raises ``CaseError`` listing every problem as
``(file, line, message)``; ``validate_case(path)`` returns that list without raising. Case places become
``schema.PLACES`` rows with ``place_id = "case:<id>"`` and ``watched = True``; routes and observations may
name them by the short id. The format is documented in docs/case-format.md.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.detect.thresholds import Route, Thresholds
from supplyline.errors import CaseError
from supplyline.estimate.priors import DISTRIBUTIONS, PriorRange
from supplyline.evidence.ledger import Problem, check_claims, check_observations, source_part, store_ledger
from supplyline.store import Store

CASE_FILE = "case.toml"
PLACE_KINDS = ("port", "anchorage", "berth", "terminal", "rail", "depot", "area", "city")
PRIOR_DISTRIBUTIONS = DISTRIBUTIONS
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PLACE_KEYS = {
    "id", "name", "aliases", "kind", "country", "locode", "lat", "lon", "r_in_m", "r_out_m", "source", "point",
    "role", "role_source", "note",
}  # fmt: skip
_ROUTE_KEYS = {"name", "origins", "destinations", "note", "source"}
_VESSEL_KEYS = {"name", "imo", "mmsi", "aliases", "flag", "particulars", "owner", "notes", "source"}
_SANCTIONS_KEYS = {"name", "file", "source", "as_of", "note"}
_PRIOR_KEYS = {"low", "high", "mode", "unit", "distribution", "source", "note"}
_CASE_KEYS = {
    "name",
    "title",
    "description",
    "period_start",
    "period_end",
    "claims",
    "observations",
    "scenario",
}
_TOP_KEYS = {"case", "places", "routes", "watchlist", "thresholds", "priors"}
R_OUT_FACTOR = 1.5  # default r_out_m = 1.5 * r_in_m: leave-radius hysteresis so a drifting ship is one visit


@dataclass(frozen=True)
class Vessel:
    """A watched vessel with what is known of it; ``source`` says where each particular comes from."""

    name: str
    imo: int | None = None
    mmsi: int | None = None
    aliases: tuple[str, ...] = ()
    flag: str | None = None
    particulars: str | None = None
    owner: str | None = None
    notes: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class SanctionsList:
    """A reference to a sanctions extract (not inlined): ``path`` is resolved if the file is found."""

    name: str
    file: str
    path: Path | None
    source: str | None = None
    as_of: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Watchlist:
    vessels: tuple[Vessel, ...] = ()
    sanctions: tuple[SanctionsList, ...] = ()

    def table(self) -> pa.Table:
        """The watched vessels as a table: name, imo, mmsi, aliases, notes, source."""
        return pa.table(
            {
                "name": pa.array([v.name for v in self.vessels], pa.string()),
                "imo": pa.array([v.imo for v in self.vessels], pa.int64()),
                "mmsi": pa.array([v.mmsi for v in self.vessels], pa.int64()),
                "aliases": pa.array([list(v.aliases) for v in self.vessels], pa.list_(pa.string())),
                "notes": pa.array([v.notes for v in self.vessels], pa.string()),
                "source": pa.array([v.source for v in self.vessels], pa.string()),
            }
        )


# A case prior is the estimate's range (one dataclass); _parse_priors checks it first to report file and line.
Prior = PriorRange


@dataclass
class Case:
    """A loaded case folder."""

    name: str
    root: Path
    places: pa.Table  # schema.PLACES, watched=True, place_id "case:<id>"
    routes: list[Route]
    watchlist: Watchlist
    thresholds: Thresholds
    priors: dict[str, Prior]
    claims: pa.Table  # schema.CLAIMS
    observations: pa.Table  # schema.OBSERVATIONS
    scenario_path: Path | None
    title: str | None = None
    description: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    # place_id -> {point, role, role_source, note} as written in case.toml
    place_notes: dict[str, dict[str, str]] = field(default_factory=dict)
    claims_path: Path | None = None
    observations_path: Path | None = None

    def place_id(self, short: str) -> str:
        """``rajin`` -> ``case:rajin`` (raises CaseError if the case has no such place)."""
        pid = short if short.startswith("case:") else f"case:{short}"
        if pid not in set(self.places.column("place_id").to_pylist()):
            raise CaseError(f"case {self.name} has no place {short!r}")
        return pid


# --- TOML with line numbers -------------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


class _TomlLines:
    """Finds the line of a table header or key in TOML text (tomllib gives values but no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, int]] = []  # (0-based line, dotted path, array index)
        counts: dict[str, int] = {}
        for i, line in enumerate(self.lines):
            m = _HEADER_RE.match(line)
            if m:
                path = re.sub(r"\s*\.\s*", ".", m.group(2)).replace('"', "")
                idx = counts.get(path, 0)
                if m.group(1) == "[[":
                    counts[path] = idx + 1
                self.headers.append((i, path, idx))

    def table(self, path: str, index: int = 0) -> int | None:
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


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: Path | str, line: int | None, message: str) -> None:
        self.items.append((str(file), line, message))


# --- parsing ----------------------------------------------------------------------------------------------


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _unknown_keys(
    table: Mapping[str, Any],
    allowed: set[str],
    where: str,
    path: str,
    src: Path,
    lines: _TomlLines,
    pr: _Problems,
    index: int = 0,
) -> None:
    """A problem for each key of ``table`` not in ``allowed`` (``where``: how the section is written)."""
    for k in sorted(set(table) - allowed):
        pr.add(
            src,
            lines.key(path, k, index),
            f"unknown key {k!r} in {where}; allowed: {', '.join(sorted(allowed))}",
        )


def _imo_ok(imo: int) -> bool:
    """IMO check digit: digits 1-6 weighted 7..2, sum mod 10 equals digit 7."""
    d = [int(c) for c in f"{imo:07d}"]
    return len(d) == 7 and sum(w * x for w, x in zip(range(7, 1, -1), d[:6], strict=True)) % 10 == d[6]


def _resolve_data_file(root: Path, file: str) -> Path | None:
    """``package:data/x.csv`` -> inside the installed package; otherwise relative to the case folder or to
    $SUPPLYLINE_SHARED_DATA. None when not found (a reference is kept even where the file is absent)."""
    if file.startswith("package:"):
        p = Path(str(resources.files("supplyline"))) / file.removeprefix("package:")
        return p if p.exists() else None
    candidates = [root / file]
    shared = os.environ.get("SUPPLYLINE_SHARED_DATA")
    if shared:
        candidates.append(Path(shared) / file)
    return next((c for c in candidates if c.exists()), None)


def _tables(
    parent: dict[str, Any], key: str, path: str, src: Path, lines: _TomlLines, pr: _Problems
) -> list[tuple[int, dict[str, Any]]]:
    """The ``[[path]]`` entries as (index, table); any other shape is reported (never a traceback)."""
    raw = parent.get(key, [])
    if not isinstance(raw, list):
        where = lines.table(path) or lines.key(path.rpartition(".")[0], key)
        pr.add(src, where, f"{path} must be an array of tables: write [[{path}]] for each entry")
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            where = lines.key(path.rpartition(".")[0], key)
            pr.add(
                src,
                where,
                f"each {path} entry must be a table: write [[{path}]] followed by key = value lines",
            )
    return out


def _parse_places(
    doc: dict[str, Any], src: Path, lines: _TomlLines, pr: _Problems
) -> tuple[pa.Table, dict[str, dict[str, str]]]:
    rows: list[dict[str, Any]] = []
    notes: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for i, p in _tables(doc, "places", "places", src, lines, pr):
        head = lines.table("places", i)

        def where(key: str, i: int = i) -> int | None:
            return lines.key("places", key, i)

        _unknown_keys(p, _PLACE_KEYS, "[[places]]", "places", src, lines, pr, i)
        pid = p.get("id")
        if not isinstance(pid, str) or not _ID_RE.match(pid):
            pr.add(
                src,
                where("id") if "id" in p else head,
                "place id missing or invalid; use lower-case letters, digits, '-' or '_' (e.g. id = \"rajin\")",
            )
            continue
        if pid in seen:
            pr.add(
                src,
                where("id"),
                f"place id {pid!r} repeats the place at line {seen[pid]}; ids must be unique",
            )
            continue
        seen[pid] = head or 0
        ok = True
        if not isinstance(p.get("name"), str) or not p["name"].strip():
            pr.add(src, where("name"), f'place {pid!r} has no name; add name = "..."')
            ok = False
        for key, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
            v: Any = p.get(key)
            if not _num(v) or not lo <= v <= hi:
                pr.add(
                    src,
                    where(key),
                    f"place {pid!r}: {key} must be a number in [{lo:g}, {hi:g}] (decimal degrees, WGS84)",
                )
                ok = False
        r_in: Any = p.get("r_in_m")
        r_out: Any = p.get("r_out_m")
        if not _num(r_in) or r_in <= 0:
            pr.add(src, where("r_in_m"), f"place {pid!r}: r_in_m must be a positive radius in metres")
            ok = False
        elif r_out is None:
            r_out = float(r_in) * R_OUT_FACTOR
        elif not _num(r_out) or r_out < r_in:
            pr.add(
                src,
                where("r_out_m"),
                f"place {pid!r}: r_out_m must be >= r_in_m ({r_in} m); it is the leave radius",
            )
            ok = False
        kind = p.get("kind")
        if kind is not None and kind not in PLACE_KINDS:
            pr.add(
                src,
                where("kind"),
                f"place {pid!r}: kind {kind!r} unknown; use one of {', '.join(PLACE_KINDS)}",
            )
            ok = False
        if not isinstance(p.get("source"), str) or not p["source"].strip():
            pr.add(
                src,
                where("source"),
                f'place {pid!r} has no source; say where the coordinate comes from (source = "URL")',
            )
            ok = False
        aliases = p.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            pr.add(src, where("aliases"), f'place {pid!r}: aliases must be a list of names, e.g. ["Najin"]')
            ok = False
        if not ok:
            continue
        rows.append(
            {
                "place_id": f"case:{pid}",
                "name": p["name"],
                "kind": kind,
                "aliases": "|".join(aliases) or None,
                "country": p.get("country"),
                "locode": p.get("locode"),
                "lat": float(p["lat"]),
                "lon": float(p["lon"]),
                "r_in_m": float(r_in),
                "r_out_m": float(r_out),
                "watched": True,
                "source": p["source"],
            }
        )
        notes[f"case:{pid}"] = {k: str(p[k]) for k in ("point", "role", "role_source", "note") if k in p}
    return pa.Table.from_pylist(rows, schema=schema.PLACES), notes


def _parse_routes(
    doc: dict[str, Any], src: Path, lines: _TomlLines, pr: _Problems, place_ids: set[str]
) -> list[Route]:
    routes: list[Route] = []
    names: set[str] = set()
    for i, r in _tables(doc, "routes", "routes", src, lines, pr):
        _unknown_keys(r, _ROUTE_KEYS, "[[routes]]", "routes", src, lines, pr, i)
        name = r.get("name")
        if not isinstance(name, str) or not name.strip():
            pr.add(src, lines.key("routes", "name", i), 'route has no name; add name = "rajin-dunai"')
            continue
        if name in names:
            pr.add(
                src,
                lines.key("routes", "name", i),
                f"route name {name!r} is used twice; names must be unique",
            )
        names.add(name)
        ends: dict[str, tuple[str, ...]] = {}
        for key in ("origins", "destinations"):
            vals = r.get(key)
            if isinstance(vals, str):
                vals = [vals]
            if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
                pr.add(
                    src,
                    lines.key("routes", key, i),
                    f"route {name!r}: {key} must be a non-empty list of place ids",
                )
                ends[key] = ()
                continue
            resolved = []
            for v in vals:
                pid = v if ":" in v else f"case:{v}"
                if pid.startswith("case:") and pid not in place_ids:
                    known = ", ".join(sorted(p.removeprefix("case:") for p in place_ids))
                    pr.add(
                        src,
                        lines.key("routes", key, i),
                        f"route {name!r}: unknown place {v!r} in {key}; known: {known}",
                    )
                resolved.append(pid)
            ends[key] = tuple(resolved)
        if ends["origins"] and ends["destinations"]:
            routes.append(Route(name=name, origins=ends["origins"], destinations=ends["destinations"]))
    return routes


def _parse_watchlist(
    doc: dict[str, Any], src: Path, lines: _TomlLines, pr: _Problems, root: Path
) -> Watchlist:
    wl = doc.get("watchlist", {})
    if not isinstance(wl, dict):
        pr.add(
            src, lines.key("", "watchlist"), "watchlist must be a table ([watchlist] / [[watchlist.vessels]])"
        )
        return Watchlist()
    vessels: list[Vessel] = []
    for i, v in _tables(wl, "vessels", "watchlist.vessels", src, lines, pr):
        _unknown_keys(v, _VESSEL_KEYS, "[[watchlist.vessels]]", "watchlist.vessels", src, lines, pr, i)
        name = v.get("name")
        if not isinstance(name, str) or not name.strip():
            pr.add(
                src, lines.key("watchlist.vessels", "name", i), 'watched vessel has no name; add name = "..."'
            )
            continue
        imo, mmsi = v.get("imo"), v.get("mmsi")
        if imo is not None and (
            not isinstance(imo, int) or not 1_000_000 <= imo <= 9_999_999 or not _imo_ok(imo)
        ):
            pr.add(
                src,
                lines.key("watchlist.vessels", "imo", i),
                f"vessel {name!r}: imo {imo!r} is not a valid 7-digit IMO number (check digit fails); leave it out if unknown",
            )
            imo = None
        if mmsi is not None and (not isinstance(mmsi, int) or not 100_000_000 <= mmsi <= 999_999_999):
            pr.add(
                src,
                lines.key("watchlist.vessels", "mmsi", i),
                f"vessel {name!r}: mmsi {mmsi!r} must be a 9-digit integer; leave it out if unknown",
            )
            mmsi = None
        if not v.get("source"):
            pr.add(
                src,
                lines.key("watchlist.vessels", "source", i),
                f"vessel {name!r} has no source; say where its particulars come from",
            )
        aliases = v.get("aliases", [])
        vessels.append(
            Vessel(
                name=name,
                imo=imo,
                mmsi=mmsi,
                aliases=tuple(aliases) if isinstance(aliases, list) else (str(aliases),),
                flag=v.get("flag"),
                particulars=v.get("particulars"),
                owner=v.get("owner"),
                notes=v.get("notes"),
                source=v.get("source"),
            )
        )
    sanctions: list[SanctionsList] = []
    for i, s in _tables(wl, "sanctions", "watchlist.sanctions", src, lines, pr):
        _unknown_keys(s, _SANCTIONS_KEYS, "[[watchlist.sanctions]]", "watchlist.sanctions", src, lines, pr, i)
        file = s.get("file")
        if not isinstance(file, str) or not file:
            pr.add(
                src,
                lines.key("watchlist.sanctions", "file", i),
                'sanctions list needs file = "package:data/..." or a path relative to the case folder',
            )
            continue
        as_of = s.get("as_of")
        sanctions.append(
            SanctionsList(
                name=s.get("name", Path(file).stem),
                file=file,
                path=_resolve_data_file(root, file),
                source=s.get("source"),
                as_of=as_of if isinstance(as_of, dt.date) else None,
                note=s.get("note"),
            )
        )
    return Watchlist(tuple(vessels), tuple(sanctions))


def _parse_thresholds(doc: dict[str, Any], src: Path, lines: _TomlLines, pr: _Problems) -> Thresholds:
    raw = doc.get("thresholds", {})
    if not isinstance(raw, dict):
        pr.add(src, lines.key("", "thresholds"), "thresholds must be a table: [thresholds] with key = number")
        raw = {}
    for k, v in raw.items():
        if not _num(v) and not isinstance(v, bool):
            pr.add(
                src,
                lines.key("thresholds", k),
                f"threshold {k} = {v!r} must be a number (units are in the key name)",
            )
    try:
        return Thresholds.from_mapping(raw)
    except CaseError as exc:
        for _, _, message in exc.problems or [("", None, str(exc))]:
            key = next((k for k in raw if re.search(rf"\b{re.escape(k)}\b", message)), None)
            line = lines.key("thresholds", key) if key else lines.table("thresholds")
            pr.add(
                src, line, f"{message}; fix [thresholds] (keys are fields of detect.thresholds.Thresholds)"
            )
        return Thresholds()


def _parse_priors(doc: dict[str, Any], src: Path, lines: _TomlLines, pr: _Problems) -> dict[str, Prior]:
    priors: dict[str, Prior] = {}
    raw = doc.get("priors", {})
    if not isinstance(raw, dict):
        pr.add(
            src,
            lines.key("", "priors"),
            "priors must be tables: write [priors.<name>] with low, high, unit, source",
        )
        raw = {}
    for name, p in raw.items():
        path = f"priors.{name}"
        if not isinstance(p, dict):
            pr.add(
                src,
                lines.key("priors", name),
                f"prior {name} must be a table [priors.{name}] with low, high, unit, source",
            )
            continue
        _unknown_keys(p, _PRIOR_KEYS, f"[priors.{name}]", path, src, lines, pr)
        low: Any = p.get("low")
        high: Any = p.get("high")
        mode: Any = p.get("mode")
        ok = True
        if not _num(low) or not _num(high) or low < 0 or high < low:
            pr.add(
                src,
                lines.key(path, "low" if not _num(low) else "high"),
                f"prior {name}: need numbers 0 <= low <= high (got low={low!r}, high={high!r})",
            )
            ok = False
        elif mode is not None and (not _num(mode) or not low <= mode <= high):
            pr.add(
                src,
                lines.key(path, "mode"),
                f"prior {name}: mode {mode!r} must lie within [low, high] = [{low}, {high}]",
            )
            ok = False
        dist = p.get("distribution", "triangular" if mode is not None else "uniform")
        if (
            dist not in PRIOR_DISTRIBUTIONS
            or (dist == "triangular" and mode is None)
            or (dist == "loguniform" and _num(low) and low <= 0)
        ):
            pr.add(
                src,
                lines.key(path, "distribution"),
                f"prior {name}: distribution {dist!r} invalid; use uniform, triangular (needs mode) or loguniform (needs low > 0)",
            )
            ok = False
        for req in ("unit", "source"):
            if not isinstance(p.get(req), str) or not p[req].strip():
                pr.add(
                    src,
                    lines.key(path, req),
                    f"prior {name} has no {req}; every prior needs its {'unit (e.g. shells/container)' if req == 'unit' else 'source (URL or citation)'}",
                )
                ok = False
        if ok:
            priors[name] = Prior(
                name,
                float(low),
                float(high),
                p["unit"],
                p["source"],
                None if mode is None else float(mode),
                dist,
                p.get("note"),
            )
    return priors


def _read(path: Path | str) -> tuple[Case | None, list[Problem]]:
    root = Path(path)
    if root.is_file():
        root = root.parent
    src = root / CASE_FILE
    pr = _Problems()
    if not src.exists():
        pr.add(src, None, f"no {CASE_FILE} in {root}; a case folder needs one (see docs/case-format.md)")
        return None, pr.items
    text = src.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        pr.add(src, int(m.group(1)) if m else None, f"TOML syntax error: {exc}; fix the syntax")
        return None, pr.items
    lines = _TomlLines(text)
    for k in sorted(set(doc) - _TOP_KEYS):
        pr.add(
            src,
            lines.table(k) or lines.key("", k),
            f"unknown section {k!r}; allowed: {', '.join(sorted(_TOP_KEYS))}",
        )
    head = doc.get("case", {})
    if not isinstance(head, dict):
        pr.add(src, lines.key("", "case"), 'case must be a table: write [case] with name = "..."')
        head = {}
    _unknown_keys(head, _CASE_KEYS, "[case]", "case", src, lines, pr)
    name = head.get("name")
    if not isinstance(name, str) or not _ID_RE.match(name):
        pr.add(
            src,
            lines.key("case", "name") if "case" in doc else 1,
            '[case] name missing or invalid; e.g. name = "dprk-russia"',
        )
        name = root.name
    ps, pe = head.get("period_start"), head.get("period_end")
    for key, v in (("period_start", ps), ("period_end", pe)):
        if v is not None and not isinstance(v, dt.date):
            pr.add(src, lines.key("case", key), f"{key} must be a TOML date like 2023-08-01 (no quotes)")
    if isinstance(ps, dt.date) and isinstance(pe, dt.date) and ps > pe:
        pr.add(
            src, lines.key("case", "period_end"), f"period_end {pe} is before period_start {ps}; swap them"
        )
    places, notes = _parse_places(doc, src, lines, pr)
    # ids declared, even by a place with other problems, so one bad place is reported once, not per use
    raw_places = doc.get("places", [])
    raw_places = raw_places if isinstance(raw_places, list) else []
    declared = {f"case:{p['id']}" for p in raw_places if isinstance(p, dict) and isinstance(p.get("id"), str)}
    place_ids = set(places.column("place_id").to_pylist()) | declared
    routes = _parse_routes(doc, src, lines, pr, place_ids)
    watchlist = _parse_watchlist(doc, src, lines, pr, root)
    thresholds = _parse_thresholds(doc, src, lines, pr)
    priors = _parse_priors(doc, src, lines, pr)

    claims = schema.CLAIMS.empty_table()
    claims_file = root / head.get("claims", "claims.csv")
    if claims_file.exists():
        claims, probs = check_claims(claims_file)
        pr.items.extend(probs)
    elif "claims" in head:
        pr.add(src, lines.key("case", "claims"), f"claims file {claims_file.name} not found in {root}")
    observations = schema.OBSERVATIONS.empty_table()
    obs_file = root / head.get("observations", "observations.csv")
    if obs_file.exists():
        observations, probs = check_observations(obs_file, place_ids)
        pr.items.extend(probs)
    elif "observations" in head:
        pr.add(
            src, lines.key("case", "observations"), f"observations file {obs_file.name} not found in {root}"
        )
    scenario = root / head.get("scenario", "scenario.toml")
    case = Case(
        name=name,
        root=root,
        places=places,
        routes=routes,
        watchlist=watchlist,
        thresholds=thresholds,
        priors=priors,
        claims=claims,
        observations=observations,
        scenario_path=scenario if scenario.exists() else None,
        claims_path=claims_file if claims_file.exists() else None,
        observations_path=obs_file if obs_file.exists() else None,
        title=head.get("title"),
        description=head.get("description"),
        period_start=ps if isinstance(ps, dt.date) else None,
        period_end=pe if isinstance(pe, dt.date) else None,
        place_notes=notes,
    )
    return case, pr.items


def validate_case(path: Path | str) -> list[Problem]:
    """Every problem in the case folder as (file, line, message); empty when the case is valid."""
    return _read(path)[1]


def load_case(path: Path | str) -> Case:
    """Load a case folder (or its case.toml); raises CaseError listing every problem with file and line."""
    case, problems = _read(path)
    if problems or case is None:
        raise CaseError(
            f"case {path} has {len(problems)} problem(s); fix them (`supplyline case validate {path}`)",
            problems,
        )
    return case


def bundled_case_path(name: str = "dprk-russia") -> Path:
    """Folder of a case shipped inside the package (works after a plain ``pip install``)."""
    path = Path(str(resources.files("supplyline"))) / "cases" / name
    if not (path / CASE_FILE).exists():
        available = sorted(p.name for p in path.parent.glob("*") if (p / CASE_FILE).exists())
        raise CaseError(f"no bundled case {name!r}; available: {', '.join(available) or 'none'}")
    return path


def resolve_case(arg: Path | str) -> Path:
    """A case folder from a path (folder or case.toml) or the name of a bundled case ("dprk-russia")."""
    path = Path(arg)
    if path.exists():
        return path.parent if path.is_file() else path
    if isinstance(arg, str) and _ID_RE.match(arg):
        return bundled_case_path(arg)
    raise CaseError(f"no case folder at {path}; give a folder with case.toml or a bundled case name")


def validate_case_folder(path: Path | str) -> list[Problem]:
    """:func:`validate_case` plus the folder's scenario.toml (checked by the simulator's own loader)."""
    case, problems = _read(path)
    if case is None or case.scenario_path is None:
        return problems
    from supplyline.simulate.scenario import load_scenario

    try:
        load_scenario(case.scenario_path)
    except CaseError as exc:
        problems += [p for p in exc.problems if p not in problems] or [
            (str(case.scenario_path), None, str(exc))
        ]
    return problems


def store_case_evidence(store: Store, case: Case) -> tuple[int, int]:
    """Write the case's claims and observations into the store ledger, as the same parts that
    ``supplyline claims import FILE`` would write (so importing both ways never duplicates rows)."""
    for name, table, path in (
        ("claims", case.claims, case.claims_path),
        ("observations", case.observations, case.observations_path),
    ):
        if path is not None:
            store_ledger(store, name, table, source_part(path))
    return case.claims.num_rows, case.observations.num_rows


def case_summary(case: Case) -> Mapping[str, Any]:
    """A JSON-ready summary of a case (for `case show --json`)."""
    return {
        "name": case.name,
        "title": case.title,
        "root": str(case.root),
        "period": [case.period_start, case.period_end],
        "places": case.places.to_pylist(),
        "routes": [
            {"name": r.name, "origins": list(r.origins), "destinations": list(r.destinations)}
            for r in case.routes
        ],
        "watchlist": {
            "vessels": case.watchlist.table().to_pylist(),
            "sanctions": [
                {"name": s.name, "file": s.file, "found": s.path is not None, "as_of": s.as_of}
                for s in case.watchlist.sanctions
            ],
        },
        "thresholds": case.thresholds.to_dict(),
        "priors": {k: vars(p) for k, p in case.priors.items()},
        "claims": case.claims.num_rows,
        "observations": case.observations.num_rows,
        "scenario": str(case.scenario_path) if case.scenario_path else None,
    }
