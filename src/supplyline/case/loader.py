"""case.toml (+ claims.csv, observations.csv) -> a :class:`Case`, one parser per section.

``load_case(path)`` returns a :class:`Case` or raises ``CaseError`` listing every problem as
``(file, line, message)``; ``validate_case(path)`` returns that list without raising. Each parser reads
its section, records what is wrong in the shared :class:`TomlProblems` and returns what it could read,
so a user fixes a case in one pass.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from supplyline import schema
from supplyline.case.model import (
    CASE_FILE,
    PLACE_KINDS,
    R_OUT_FACTOR,
    Case,
    Prior,
    SanctionsList,
    Vessel,
    Watchlist,
)
from supplyline.case.problems import Problem, TomlProblems
from supplyline.detect.thresholds import Route, Thresholds
from supplyline.errors import CaseError
from supplyline.estimate.priors import DISTRIBUTIONS
from supplyline.evidence.ledger import check_claims, check_observations
from supplyline.textfiles import NotUtf8Error, read_utf8

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


# --- helpers shared by the section parsers ------------------------------------------------------------------


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _unknown_keys(
    table: Mapping[str, Any], allowed: set[str], where: str, path: str, pr: TomlProblems, index: int = 0
) -> None:
    """A problem for each key of ``table`` not in ``allowed`` (``where``: how the section is written)."""
    for k in sorted(set(table) - allowed):
        pr.add(pr.key(path, k, index), f"unknown key {k!r} in {where}; allowed: {', '.join(sorted(allowed))}")


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
    parent: dict[str, Any], key: str, path: str, pr: TomlProblems
) -> list[tuple[int, dict[str, Any]]]:
    """The ``[[path]]`` entries as (index, table); any other shape is reported (never a traceback)."""
    raw = parent.get(key, [])
    if not isinstance(raw, list):
        where = pr.table(path) or pr.key(path.rpartition(".")[0], key)
        pr.add(where, f"{path} must be an array of tables: write [[{path}]] for each entry")
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            where = pr.key(path.rpartition(".")[0], key)
            pr.add(
                where, f"each {path} entry must be a table: write [[{path}]] followed by key = value lines"
            )
    return out


# --- [case] ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Head:
    """The ``[case]`` table as read: ``name`` falls back to the folder's name when invalid."""

    raw: dict[str, Any]
    name: str
    period_start: dt.date | None
    period_end: dt.date | None


def _parse_top_keys(doc: dict[str, Any], pr: TomlProblems) -> None:
    for k in sorted(set(doc) - _TOP_KEYS):
        pr.add(
            pr.table(k) or pr.key("", k), f"unknown section {k!r}; allowed: {', '.join(sorted(_TOP_KEYS))}"
        )


def _parse_head(doc: dict[str, Any], root: Path, pr: TomlProblems) -> _Head:
    head = doc.get("case", {})
    if not isinstance(head, dict):
        pr.add(pr.key("", "case"), 'case must be a table: write [case] with name = "..."')
        head = {}
    _unknown_keys(head, _CASE_KEYS, "[case]", "case", pr)
    name = head.get("name")
    if not isinstance(name, str) or not _ID_RE.match(name):
        line = pr.key("case", "name") if "case" in doc else 1
        pr.add(line, '[case] name missing or invalid; e.g. name = "dprk-russia"')
        name = root.name
    ps, pe = head.get("period_start"), head.get("period_end")
    for key, v in (("period_start", ps), ("period_end", pe)):
        if v is not None and not isinstance(v, dt.date):
            pr.add(pr.key("case", key), f"{key} must be a TOML date like 2023-08-01 (no quotes)")
    if isinstance(ps, dt.date) and isinstance(pe, dt.date) and ps > pe:
        pr.add(pr.key("case", "period_end"), f"period_end {pe} is before period_start {ps}; swap them")
    return _Head(
        head,
        name,
        ps if isinstance(ps, dt.date) else None,
        pe if isinstance(pe, dt.date) else None,
    )


# --- [[places]] ---------------------------------------------------------------------------------------------


def _place_id(p: dict[str, Any], i: int, seen: dict[str, int], pr: TomlProblems) -> str | None:
    """The place's short id if valid and not seen before (``seen``: id -> header line, updated)."""
    head = pr.table("places", i)
    pid = p.get("id")
    if not isinstance(pid, str) or not _ID_RE.match(pid):
        pr.add(
            pr.key("places", "id", i) if "id" in p else head,
            "place id missing or invalid; use lower-case letters, digits, '-' or '_' (e.g. id = \"rajin\")",
        )
        return None
    if pid in seen:
        pr.add(
            pr.key("places", "id", i),
            f"place id {pid!r} repeats the place at line {seen[pid]}; ids must be unique",
        )
        return None
    seen[pid] = head or 0
    return pid


def _place_radii(p: dict[str, Any], i: int, pid: str, pr: TomlProblems) -> tuple[float, float] | None:
    """(r_in_m, r_out_m) with the default leave radius filled in; None (and a problem) if invalid."""
    r_in: Any = p.get("r_in_m")
    r_out: Any = p.get("r_out_m")
    if not _num(r_in) or r_in <= 0:
        pr.add(pr.key("places", "r_in_m", i), f"place {pid!r}: r_in_m must be a positive radius in metres")
        return None
    if r_out is None:
        return float(r_in), float(r_in) * R_OUT_FACTOR
    if not _num(r_out) or r_out < r_in:
        pr.add(
            pr.key("places", "r_out_m", i),
            f"place {pid!r}: r_out_m must be >= r_in_m ({r_in} m); it is the leave radius",
        )
        return None
    return float(r_in), float(r_out)


def _place_ok(p: dict[str, Any], i: int, pid: str, pr: TomlProblems) -> tuple[float, float] | None:
    """Checks every field of one place in file order; the radii if all are valid, else None."""
    ok = True
    if not isinstance(p.get("name"), str) or not p["name"].strip():
        pr.add(pr.key("places", "name", i), f'place {pid!r} has no name; add name = "..."')
        ok = False
    for key, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        v: Any = p.get(key)
        if not _num(v) or not lo <= v <= hi:
            where = pr.key("places", key, i)
            pr.add(
                where, f"place {pid!r}: {key} must be a number in [{lo:g}, {hi:g}] (decimal degrees, WGS84)"
            )
            ok = False
    radii = _place_radii(p, i, pid, pr)
    kind = p.get("kind")
    if kind is not None and kind not in PLACE_KINDS:
        where = pr.key("places", "kind", i)
        pr.add(where, f"place {pid!r}: kind {kind!r} unknown; use one of {', '.join(PLACE_KINDS)}")
        ok = False
    if not isinstance(p.get("source"), str) or not p["source"].strip():
        where = pr.key("places", "source", i)
        pr.add(where, f'place {pid!r} has no source; say where the coordinate comes from (source = "URL")')
        ok = False
    aliases = p.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        pr.add(
            pr.key("places", "aliases", i), f'place {pid!r}: aliases must be a list of names, e.g. ["Najin"]'
        )
        ok = False
    return radii if ok else None


def _place_row(p: dict[str, Any], pid: str, radii: tuple[float, float]) -> dict[str, Any]:
    return {
        "place_id": f"case:{pid}",
        "name": p["name"],
        "kind": p.get("kind"),
        "aliases": "|".join(p.get("aliases", [])) or None,
        "country": p.get("country"),
        "locode": p.get("locode"),
        "lat": float(p["lat"]),
        "lon": float(p["lon"]),
        "r_in_m": radii[0],
        "r_out_m": radii[1],
        "watched": True,
        "source": p["source"],
    }


def _parse_places(doc: dict[str, Any], pr: TomlProblems) -> tuple[pa.Table, dict[str, dict[str, str]]]:
    """Valid places as a schema.PLACES table, and their notes (point, role, ...) by place_id."""
    rows: list[dict[str, Any]] = []
    notes: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for i, p in _tables(doc, "places", "places", pr):
        _unknown_keys(p, _PLACE_KEYS, "[[places]]", "places", pr, i)
        pid = _place_id(p, i, seen, pr)
        radii = _place_ok(p, i, pid, pr) if pid is not None else None
        if pid is None or radii is None:
            continue
        rows.append(_place_row(p, pid, radii))
        notes[f"case:{pid}"] = {k: str(p[k]) for k in ("point", "role", "role_source", "note") if k in p}
    return pa.Table.from_pylist(rows, schema=schema.PLACES), notes


def _known_place_ids(doc: dict[str, Any], places: pa.Table) -> set[str]:
    """Valid place ids plus ids declared by a place with other problems (reported once, not per use)."""
    raw_places = doc.get("places", [])
    raw_places = raw_places if isinstance(raw_places, list) else []
    declared = {f"case:{p['id']}" for p in raw_places if isinstance(p, dict) and isinstance(p.get("id"), str)}
    return set(places.column("place_id").to_pylist()) | declared


# --- [[routes]] ---------------------------------------------------------------------------------------------


def _route_ends(
    r: dict[str, Any], i: int, key: str, name: str, place_ids: set[str], pr: TomlProblems
) -> tuple[str, ...]:
    """``origins`` or ``destinations`` of one route as place ids; () (and a problem) if not a list of ids."""
    vals = r.get(key)
    if isinstance(vals, str):
        vals = [vals]
    if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
        pr.add(pr.key("routes", key, i), f"route {name!r}: {key} must be a non-empty list of place ids")
        return ()
    resolved = []
    for v in vals:
        pid = v if ":" in v else f"case:{v}"
        if pid.startswith("case:") and pid not in place_ids:
            known = ", ".join(sorted(p.removeprefix("case:") for p in place_ids))
            pr.add(pr.key("routes", key, i), f"route {name!r}: unknown place {v!r} in {key}; known: {known}")
        resolved.append(pid)
    return tuple(resolved)


def _parse_routes(doc: dict[str, Any], place_ids: set[str], pr: TomlProblems) -> list[Route]:
    routes: list[Route] = []
    names: set[str] = set()
    for i, r in _tables(doc, "routes", "routes", pr):
        _unknown_keys(r, _ROUTE_KEYS, "[[routes]]", "routes", pr, i)
        name = r.get("name")
        if not isinstance(name, str) or not name.strip():
            pr.add(pr.key("routes", "name", i), 'route has no name; add name = "rajin-dunai"')
            continue
        if name in names:
            pr.add(pr.key("routes", "name", i), f"route name {name!r} is used twice; names must be unique")
        names.add(name)
        origins = _route_ends(r, i, "origins", name, place_ids, pr)
        destinations = _route_ends(r, i, "destinations", name, place_ids, pr)
        if origins and destinations:
            routes.append(Route(name=name, origins=origins, destinations=destinations))
    return routes


# --- [watchlist] ----------------------------------------------------------------------------------------------


def _parse_vessel(v: dict[str, Any], i: int, pr: TomlProblems) -> Vessel | None:
    path = "watchlist.vessels"
    _unknown_keys(v, _VESSEL_KEYS, "[[watchlist.vessels]]", path, pr, i)
    name = v.get("name")
    if not isinstance(name, str) or not name.strip():
        pr.add(pr.key(path, "name", i), 'watched vessel has no name; add name = "..."')
        return None
    imo, mmsi = v.get("imo"), v.get("mmsi")
    if imo is not None and (
        not isinstance(imo, int) or not 1_000_000 <= imo <= 9_999_999 or not _imo_ok(imo)
    ):
        pr.add(
            pr.key(path, "imo", i),
            f"vessel {name!r}: imo {imo!r} is not a valid 7-digit IMO number (check digit fails); leave it out if unknown",
        )
        imo = None
    if mmsi is not None and (not isinstance(mmsi, int) or not 100_000_000 <= mmsi <= 999_999_999):
        pr.add(
            pr.key(path, "mmsi", i),
            f"vessel {name!r}: mmsi {mmsi!r} must be a 9-digit integer; leave it out if unknown",
        )
        mmsi = None
    if not v.get("source"):
        pr.add(
            pr.key(path, "source", i), f"vessel {name!r} has no source; say where its particulars come from"
        )
    aliases = v.get("aliases", [])
    return Vessel(
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


def _parse_sanctions_list(s: dict[str, Any], i: int, root: Path, pr: TomlProblems) -> SanctionsList | None:
    _unknown_keys(s, _SANCTIONS_KEYS, "[[watchlist.sanctions]]", "watchlist.sanctions", pr, i)
    file = s.get("file")
    if not isinstance(file, str) or not file:
        pr.add(
            pr.key("watchlist.sanctions", "file", i),
            'sanctions list needs file = "package:data/..." or a path relative to the case folder',
        )
        return None
    as_of = s.get("as_of")
    return SanctionsList(
        name=s.get("name", Path(file).stem),
        file=file,
        path=_resolve_data_file(root, file),
        source=s.get("source"),
        as_of=as_of if isinstance(as_of, dt.date) else None,
        note=s.get("note"),
    )


def _parse_watchlist(doc: dict[str, Any], root: Path, pr: TomlProblems) -> Watchlist:
    wl = doc.get("watchlist", {})
    if not isinstance(wl, dict):
        pr.add(pr.key("", "watchlist"), "watchlist must be a table ([watchlist] / [[watchlist.vessels]])")
        return Watchlist()
    vessels = [_parse_vessel(v, i, pr) for i, v in _tables(wl, "vessels", "watchlist.vessels", pr)]
    sanctions = [
        _parse_sanctions_list(s, i, root, pr) for i, s in _tables(wl, "sanctions", "watchlist.sanctions", pr)
    ]
    return Watchlist(tuple(v for v in vessels if v is not None), tuple(s for s in sanctions if s is not None))


# --- [thresholds] ---------------------------------------------------------------------------------------------


def _parse_thresholds(doc: dict[str, Any], pr: TomlProblems) -> Thresholds:
    raw = doc.get("thresholds", {})
    if not isinstance(raw, dict):
        pr.add(pr.key("", "thresholds"), "thresholds must be a table: [thresholds] with key = number")
        raw = {}
    for k, v in raw.items():
        if not _num(v) and not isinstance(v, bool):
            pr.add(
                pr.key("thresholds", k), f"threshold {k} = {v!r} must be a number (units are in the key name)"
            )
    try:
        return Thresholds.from_mapping(raw)
    except CaseError as exc:
        for _, _, message in exc.problems or [("", None, str(exc))]:
            key = next((k for k in raw if re.search(rf"\b{re.escape(k)}\b", message)), None)
            line = pr.key("thresholds", key) if key else pr.table("thresholds")
            pr.add(line, f"{message}; fix [thresholds] (keys are fields of detect.thresholds.Thresholds)")
        return Thresholds()


# --- [priors.<name>] ------------------------------------------------------------------------------------------


def _prior_range_ok(name: str, p: dict[str, Any], pr: TomlProblems) -> bool:
    """low/high/mode and the distribution of one prior; False (with problems) if any is invalid."""
    path = f"priors.{name}"
    low: Any = p.get("low")
    high: Any = p.get("high")
    mode: Any = p.get("mode")
    ok = True
    if not _num(low) or not _num(high) or low < 0 or high < low:
        pr.add(
            pr.key(path, "low" if not _num(low) else "high"),
            f"prior {name}: need numbers 0 <= low <= high (got low={low!r}, high={high!r})",
        )
        ok = False
    elif mode is not None and (not _num(mode) or not low <= mode <= high):
        pr.add(
            pr.key(path, "mode"), f"prior {name}: mode {mode!r} must lie within [low, high] = [{low}, {high}]"
        )
        ok = False
    dist = p.get("distribution", "triangular" if mode is not None else "uniform")
    if (
        dist not in DISTRIBUTIONS
        or (dist == "triangular" and mode is None)
        or (dist == "loguniform" and _num(low) and low <= 0)
    ):
        pr.add(
            pr.key(path, "distribution"),
            f"prior {name}: distribution {dist!r} invalid; use uniform, triangular (needs mode) or loguniform (needs low > 0)",
        )
        ok = False
    return ok


def _parse_prior(name: str, p: dict[str, Any], pr: TomlProblems) -> Prior | None:
    path = f"priors.{name}"
    _unknown_keys(p, _PRIOR_KEYS, f"[priors.{name}]", path, pr)
    ok = _prior_range_ok(name, p, pr)
    for req in ("unit", "source"):
        if not isinstance(p.get(req), str) or not p[req].strip():
            what = "unit (e.g. shells/container)" if req == "unit" else "source (URL or citation)"
            pr.add(pr.key(path, req), f"prior {name} has no {req}; every prior needs its {what}")
            ok = False
    if not ok:
        return None
    mode = p.get("mode")
    dist = p.get("distribution", "triangular" if mode is not None else "uniform")
    return Prior(
        name,
        float(p["low"]),
        float(p["high"]),
        p["unit"],
        p["source"],
        None if mode is None else float(mode),
        dist,
        p.get("note"),
    )


def _parse_priors(doc: dict[str, Any], pr: TomlProblems) -> dict[str, Prior]:
    priors: dict[str, Prior] = {}
    raw = doc.get("priors", {})
    if not isinstance(raw, dict):
        pr.add(
            pr.key("", "priors"), "priors must be tables: write [priors.<name>] with low, high, unit, source"
        )
        raw = {}
    for name, p in raw.items():
        if not isinstance(p, dict):
            pr.add(
                pr.key("priors", name),
                f"prior {name} must be a table [priors.{name}] with low, high, unit, source",
            )
            continue
        prior = _parse_prior(name, p, pr)
        if prior is not None:
            priors[name] = prior
    return priors


# --- evidence files -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    claims: pa.Table
    observations: pa.Table
    claims_path: Path | None
    observations_path: Path | None


def _unless_not_utf8(
    check: Callable[..., tuple[pa.Table, list[Problem]]], empty: pa.Table
) -> Callable[..., tuple[pa.Table, list[Problem]]]:
    """``check`` with a file that is not UTF-8 reported as a problem of the case (not an unreadable input)."""

    def checked(*args: Any) -> tuple[pa.Table, list[Problem]]:
        try:
            return check(*args)
        except NotUtf8Error as exc:
            return empty, [(str(exc.path), exc.line, exc.reason)]

    return checked


def _read_evidence(root: Path, head: dict[str, Any], place_ids: set[str], pr: TomlProblems) -> _Evidence:
    """claims.csv and observations.csv (names from ``[case]``), checked by the evidence ledger."""
    claims = schema.CLAIMS.empty_table()
    claims_file = root / head.get("claims", "claims.csv")
    if claims_file.exists():
        claims, probs = _unless_not_utf8(check_claims, claims)(claims_file)
        pr.extend(probs)
    elif "claims" in head:
        pr.add(pr.key("case", "claims"), f"claims file {claims_file.name} not found in {root}")
    observations = schema.OBSERVATIONS.empty_table()
    obs_file = root / head.get("observations", "observations.csv")
    if obs_file.exists():
        observations, probs = _unless_not_utf8(check_observations, observations)(obs_file, place_ids)
        pr.extend(probs)
    elif "observations" in head:
        pr.add(pr.key("case", "observations"), f"observations file {obs_file.name} not found in {root}")
    return _Evidence(
        claims,
        observations,
        claims_file if claims_file.exists() else None,
        obs_file if obs_file.exists() else None,
    )


# --- the whole folder -----------------------------------------------------------------------------------------


def _read_toml(src: Path, root: Path) -> tuple[dict[str, Any] | None, TomlProblems]:
    """The parsed case.toml and its problem collector; None when the file is missing or not TOML."""
    if not src.exists():
        pr = TomlProblems(src)
        pr.add(None, f"no {CASE_FILE} in {root}; a case folder needs one (see docs/case-format.md)")
        return None, pr
    try:
        text = read_utf8(src)
    except NotUtf8Error as exc:
        pr = TomlProblems(src)
        pr.add(exc.line, exc.reason)
        return None, pr
    pr = TomlProblems(src, text)
    try:
        return tomllib.loads(text), pr
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        pr.add(int(m.group(1)) if m else None, f"TOML syntax error: {exc}; fix the syntax")
        return None, pr


def read_case(path: Path | str) -> tuple[Case | None, list[Problem]]:
    """The case in folder ``path`` (None if case.toml is missing or not TOML) and every problem found."""
    root = Path(path)
    if root.is_file():
        root = root.parent
    doc, pr = _read_toml(root / CASE_FILE, root)
    if doc is None:
        return None, pr.items
    _parse_top_keys(doc, pr)
    head = _parse_head(doc, root, pr)
    places, notes = _parse_places(doc, pr)
    place_ids = _known_place_ids(doc, places)
    routes = _parse_routes(doc, place_ids, pr)
    watchlist = _parse_watchlist(doc, root, pr)
    thresholds = _parse_thresholds(doc, pr)
    priors = _parse_priors(doc, pr)
    evidence = _read_evidence(root, head.raw, place_ids, pr)
    scenario = root / head.raw.get("scenario", "scenario.toml")
    case = Case(
        name=head.name,
        root=root,
        places=places,
        routes=routes,
        watchlist=watchlist,
        thresholds=thresholds,
        priors=priors,
        claims=evidence.claims,
        observations=evidence.observations,
        scenario_path=scenario if scenario.exists() else None,
        claims_path=evidence.claims_path,
        observations_path=evidence.observations_path,
        title=head.raw.get("title"),
        description=head.raw.get("description"),
        period_start=head.period_start,
        period_end=head.period_end,
        place_notes=notes,
    )
    return case, pr.items


def validate_case(path: Path | str) -> list[Problem]:
    """Every problem in the case folder as (file, line, message); empty when the case is valid."""
    return read_case(path)[1]


def load_case(path: Path | str) -> Case:
    """Load a case folder (or its case.toml) or a bundled case by name ("dprk-russia", see
    :func:`resolve_case`); raises CaseError listing every problem with file and line."""
    if not Path(path).exists() and _ID_RE.match(str(path)):
        path = bundled_case_path(str(path))
    case, problems = read_case(path)
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
    if _ID_RE.match(str(arg)):  # typer hands --case over as a Path: Path("dprk-russia") is a name too
        return bundled_case_path(str(arg))
    raise CaseError(f"no case folder at {path}; give a folder with case.toml or a bundled case name")
