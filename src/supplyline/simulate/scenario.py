"""scenario.toml -> a validated :class:`Scenario` (ships, their calls, reception, coverage areas).

The format is documented in docs/simulator.md. Times are handled as float seconds since the Unix epoch
(UTC) inside the simulator; every problem found is collected and raised at once as a ``CaseError`` with
``(file, line, message)`` entries (found by the case package's ``TomlProblems``), so a user fixes a
scenario in one pass. ``validate_case_folder`` checks a case folder and its scenario together; it lives here,
not in ``supplyline.case``, because the scenario loader reads the case (the dependency goes one way).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from supplyline import schema
from supplyline.case.loader import load_case, read_case
from supplyline.case.problems import Problem, TomlProblems
from supplyline.errors import CaseError
from supplyline.textfiles import NotUtf8Error, read_utf8

# AIS 6-bit text alphabet (ITU-R M.1371 table 47): '@' (padding) A-Z [\]^_ space !"#$%&'()*+,-./0-9:;<=>?
_SIXBIT_TEXT = re.compile(r"[^@A-Z\[\\\]\^_ !\"#$%&'()*+,\-./0-9:;<=>?]")
# Unix seconds must have 10 digits so NMEA tag blocks have a fixed width (2001-09-09 .. 2286-11-20).
_MIN_TS, _MAX_TS = 1_000_000_000, 9_999_999_999


def ais_text(value: str, width: int) -> str:
    """``value`` as AIS 6-bit text: upper case, characters outside the alphabet -> space, cut to ``width``."""
    return _SIXBIT_TEXT.sub(" ", value.upper())[:width].rstrip()


@dataclass(frozen=True)
class Place:
    """A place ships call at: ``place_id`` as in schema.PLACES, radii in metres."""

    place_id: str
    name: str
    lat: float
    lon: float
    r_in_m: float
    r_out_m: float


@dataclass(frozen=True)
class Area:
    """A reception area: a circle (``radius_km``) or a polygon (``polygon`` lon/lat rows).

    ``kind`` "hole": terrestrial reception multiplied by ``reception`` (0 = nothing heard);
    ``kind`` "satellite": no terrestrial reception, only satellite passes (sparse reports).
    ``start``/``end`` (unix s) limit it in time (None = always).
    """

    kind: str
    reception: float
    lat: float = 0.0
    lon: float = 0.0
    radius_km: float = 0.0
    polygon: np.ndarray | None = None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Reception:
    """How positions are reported and received (intervals in seconds, probabilities 0..1)."""

    min_interval_s: float = 0.0  # floor on the reporting interval (decimation for big/demo scenarios)
    loss: float = 0.0  # random loss of single messages
    statics_interval_s: float = 360.0  # ITU-R M.1371: static/voyage data every 6 min
    satellite_revisit_min: float = 90.0  # time between satellite passes over a satellite-only area
    satellite_pass_min: float = 10.0  # how long a pass hears the ship
    satellite_keep: float = 0.5  # share of messages heard during a pass
    gps_noise_m: float = 5.0  # 1-sigma position noise per axis
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class Call:
    """One stop of a ship: a berth/anchorage at a place, or a ship-to-ship meeting point at sea.

    ``arrive_by``/``depart_at`` are targets in unix s (None = as soon as possible / after ``dwell_s``);
    ``draught`` "laden"/"ballast" is the state after this stop; ``dark_out`` = (off_km, on_km): the
    transponder goes off ``off_km`` after leaving and back on ``on_km`` before the next stop.
    """

    kind: str
    lat: float
    lon: float
    place_id: str | None = None
    arrive_by: float | None = None
    depart_at: float | None = None
    dwell_s: float = 0.0
    draught: str | None = None
    dark_out: tuple[float, float] | None = None
    meet_id: str | None = None
    order: float | None = None  # sort key when neither target time is set (unload after its load)


@dataclass(frozen=True)
class Identity:
    """What the transponder broadcasts from ``at`` (unix s) on."""

    at: float
    mmsi: int
    name: str
    callsign: str
    imo: int | None


@dataclass(frozen=True)
class Ship:
    """A simulated ship and its expanded, time-ordered list of calls."""

    key: str
    ais_class: str  # "A" or "B"
    ship_type: int
    length_m: float
    width_m: float
    draught_ballast_m: float
    draught_laden_m: float
    speed_kn: float
    start: float
    start_place: Call
    calls: tuple[Call, ...]
    identities: tuple[Identity, ...]  # first one at ``start``
    off: tuple[tuple[float, float], ...] = ()  # transponder switched off (start, end) unix s
    spoofs: tuple[tuple[float, float, float, float], ...] = ()  # (start, end, lat, lon) reported instead
    initial_draught: str = "ballast"


@dataclass(frozen=True)
class Encounter:
    """A planned ship-to-ship meeting (both ships get a ``meet`` call)."""

    key: str
    ships: tuple[str, str]
    lat: float
    lon: float
    start: float
    hours: float


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; ``places`` is a schema.PLACES table of every place the ships may call at."""

    name: str
    path: Path
    start: float
    end: float
    seed: int
    places: dict[str, Place]
    places_table: pa.Table
    lanes: dict[tuple[str, str], np.ndarray]  # (from_id, to_id) -> via points (n, 2) lon/lat
    ships: tuple[Ship, ...]
    encounters: tuple[Encounter, ...]
    reception: Reception
    routes: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    dark_min_h: float = 1.0  # truth lists gaps between received messages at least this long
    chunk_h: float | None = None  # time window per generation step (None = sized from the ship count)
    description: str = ""


# --- parsing ---------------------------------------------------------------------------------------------


def to_unix(value: Any) -> float:
    """A TOML datetime/date or ISO string -> unix seconds (naive values are UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a date/time: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


class _Reader:
    """Typed access to a TOML table that records problems instead of raising."""

    def __init__(
        self,
        problems: TomlProblems,
        table: Mapping[str, Any],
        where: str,
        needle: str | None,
        index: int = 0,
        after: int = 0,
    ) -> None:
        self.p, self.t, self.where, self.needle = problems, table, where, needle
        # the line of this table's header: keys are searched from there on
        self.after = problems.nth(needle, index, after) if needle and needle.startswith("[") else after

    def add(self, message: str, needle: str | None = None) -> None:
        self.p.add_near(message, needle or self.needle, self.after)

    def _bad(self, key: str, msg: str) -> None:
        self.add(f"{self.where}.{key}: {msg}", f"{key} =" if key in self.t else None)

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.t:
            if key not in allowed and not isinstance(self.t[key], list | dict):
                self.add(
                    f"{self.where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})", f"{key} ="
                )
            elif key not in allowed:
                self.add(f"{self.where}: unknown table {key!r} (allowed: {', '.join(sorted(allowed))})")

    def num(
        self, key: str, default: float | None = None, lo: float = -math.inf, hi: float = math.inf
    ) -> float:
        v = self.t.get(key, default)
        if v is None:
            self._bad(key, "is required (a number)")
            return math.nan if default is None else default
        if isinstance(v, bool) or not isinstance(v, int | float) or not (lo <= v <= hi):
            self._bad(key, f"must be a number in [{lo}, {hi}], got {v!r}")
            return default if default is not None else math.nan
        return float(v)

    def int_(self, key: str, default: int | None = None, lo: int = 0, hi: int = 2**62) -> int:
        v = self.t.get(key, default)
        if v is None or isinstance(v, bool) or not isinstance(v, int) or not (lo <= v <= hi):
            self._bad(key, f"must be a whole number in [{lo}, {hi}], got {v!r}")
            return default if default is not None else 0
        return int(v)

    def str_(self, key: str, default: str | None = None, choices: tuple[str, ...] | None = None) -> str:
        v = self.t.get(key, default)
        if not isinstance(v, str) or (choices and v not in choices):
            extra = f" (one of {', '.join(choices)})" if choices else ""
            self._bad(key, f"must be a text{extra}, got {v!r}")
            return default or ""
        return v

    def time(self, key: str, default: float | None = None) -> float | None:
        v = self.t.get(key)
        if v is None:
            return default
        try:
            ts = to_unix(v)
        except ValueError as exc:
            self._bad(key, f"{exc}; write e.g. 2023-08-15T12:00:00Z")
            return default
        if not (_MIN_TS <= ts <= _MAX_TS):
            self._bad(key, "must lie between 2001-09-09 and 2286-11-20 (10-digit unix seconds)")
            return default
        return ts


def _case_places(case_path: Path, problems: TomlProblems) -> tuple[pa.Table | None, tuple[Any, ...]]:
    """Places (schema.PLACES) and routes of the case file the scenario refers to."""
    try:
        case = load_case(case_path.parent if case_path.name == "case.toml" else case_path)
    except CaseError as exc:
        problems.extend(exc.problems or [(str(case_path), None, str(exc))])
        return None, ()
    routes = tuple((r.name, tuple(r.origins), tuple(r.destinations)) for r in case.routes)
    return case.places, routes


def _places_from_table(table: pa.Table) -> dict[str, Place]:
    rows = table.select(["place_id", "name", "lat", "lon", "r_in_m", "r_out_m"]).to_pylist()
    return {r["place_id"]: Place(**r) for r in rows}


RouteSpec = tuple[str, tuple[str, ...], tuple[str, ...]]  # (name, origin place ids, destination place ids)
_TOP_TABLES = ("scenario", "reception")
_TOP_ARRAYS = ("area", "place", "lane", "route", "ship", "encounter")


def _read_toml(path: Path) -> tuple[dict[str, Any], TomlProblems]:
    """The parsed scenario.toml and its problem collector; an unreadable file or bad TOML raises at once."""
    try:
        text = read_utf8(path)
    except NotUtf8Error as exc:
        raise CaseError(f"scenario {path} is not UTF-8 text", [(str(path), exc.line, exc.reason)]) from None
    except OSError as exc:
        raise CaseError(
            f"cannot read scenario {path}: {exc.strerror}; give the path of a scenario.toml"
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise CaseError(
            f"{path} is not valid TOML", [(str(path), int(m.group(1)) if m else None, str(exc))]
        ) from None
    return doc, TomlProblems(path, text)


def _check_shape(doc: Mapping[str, Any], p: TomlProblems, path: Path) -> None:
    """Unknown top-level keys are problems; a section of the wrong shape stops the reading at once."""
    _Reader(p, doc, "top level", None).check_keys({*_TOP_TABLES, *_TOP_ARRAYS})
    for key in _TOP_TABLES:
        if not isinstance(doc.get(key, {}), dict):
            raise CaseError(
                f"{path}: [{key}] must be a table", [(str(path), p.line_of(f"{key} ="), "not a table")]
            )
    for key in _TOP_ARRAYS:
        if not (isinstance(doc.get(key, []), list) and all(isinstance(x, dict) for x in doc.get(key, []))):
            raise CaseError(
                f"{path}: {key} must be written as [[{key}]] tables",
                [(str(path), p.line_of(f"{key} ="), "not [[tables]]")],
            )


@dataclass(frozen=True)
class _Head:
    """The ``[scenario]`` table as read (times in unix s; defaults where a value is missing or invalid)."""

    reader: _Reader
    name: str
    start: float
    end: float
    seed: int
    chunk_h: float | None
    dark_min_h: float


def _parse_head(doc: Mapping[str, Any], p: TomlProblems) -> _Head:
    table = doc.get("scenario", {})
    head = _Reader(p, table, "scenario", "[scenario]")
    head.check_keys({"name", "description", "case", "start", "end", "seed", "dark_min_h", "chunk_h"})
    name = head.str_("name", "scenario")
    start = head.time("start")
    end = head.time("end")
    if start is None or end is None:
        p.add_near("scenario: start and end are required (e.g. start = 2023-08-01T00:00:00Z)", "[scenario]")
        start, end = start or _MIN_TS, end or _MIN_TS + 86400
    elif end <= start:
        p.add_near("scenario: end must be after start", "end =")
    seed = head.int_("seed", 0)
    chunk_h = head.num("chunk_h", None, 1.0, 24 * 7) if "chunk_h" in table else None
    dark_min_h = head.num("dark_min_h", 1.0, 0.01)
    return _Head(head, name, start, end, seed, chunk_h, dark_min_h)


def _inline_place(p: TomlProblems, pl: Mapping[str, Any], i: int) -> dict[str, Any]:
    """One ``[[place]]`` table as a schema.PLACES row with ``place_id = "scenario:<id>"``."""
    r = _Reader(p, pl, f"place #{i + 1}", "[[place]]", i)
    r.check_keys({"id", "name", "kind", "lat", "lon", "r_in_m", "r_out_m", "source", "note", "country"})
    r_in = r.num("r_in_m", 3000.0, 1.0)
    return {
        "place_id": f"scenario:{r.str_('id')}",
        "name": r.str_("name", pl.get("id", "")),
        "kind": r.str_("kind", "port"),
        "country": pl.get("country"),
        "locode": None,
        "lat": r.num("lat", None, -90, 90),
        "lon": r.num("lon", None, -180, 180),
        "r_in_m": r_in,
        "r_out_m": r.num("r_out_m", r_in * 4 / 3, r_in),
        "watched": True,
        "source": r.str_("source", "scenario.toml"),
    }


def _parse_places(
    doc: Mapping[str, Any], p: TomlProblems, head: _Head, path: Path
) -> tuple[pa.Table, list[RouteSpec]]:
    """The case's places and routes (if ``[scenario] case`` names one) plus inline ``[[place]]`` tables."""
    tables: list[pa.Table] = []
    routes: list[RouteSpec] = []
    if "case" in doc.get("scenario", {}):
        case_path = (path.parent / head.reader.str_("case")).resolve()
        t, case_routes = _case_places(case_path, p)
        if t is not None:
            tables.append(t.select(schema.PLACES.names).cast(schema.PLACES))
            routes.extend(case_routes)
    inline = [_inline_place(p, pl, i) for i, pl in enumerate(doc.get("place", []))]
    if inline:
        cols = {f.name: [row.get(f.name) for row in inline] for f in schema.PLACES}
        tables.append(pa.table(cols, schema=schema.PLACES))
    places_table = pa.concat_tables(tables) if tables else schema.empty(schema.PLACES)
    return places_table, routes


class _PlaceResolver:
    """Finds a place by id, short case id or short scenario id; an unknown one is a problem."""

    def __init__(self, places: dict[str, Place]) -> None:
        self.places = places

    def __call__(self, ref: Any, where: str, reader: _Reader, needle: str | None) -> Place | None:
        if isinstance(ref, str):
            for cand in (ref, f"case:{ref}", f"scenario:{ref}"):
                if cand in self.places:
                    return self.places[cand]
        known = ", ".join(sorted(self.places)) or "none"
        reader.add(f"{where}: unknown place {ref!r} (known: {known})", needle)
        return None


def _parse_routes(doc: Mapping[str, Any], p: TomlProblems, resolve: _PlaceResolver) -> list[RouteSpec]:
    routes: list[RouteSpec] = []
    for i, rt in enumerate(doc.get("route", [])):
        r = _Reader(p, rt, f"route #{i + 1}", "[[route]]", i)
        r.check_keys({"name", "origins", "destinations", "note"})
        ends: list[tuple[str, ...]] = []
        for key in ("origins", "destinations"):
            found = (resolve(ref, f"route {key}", r, f'"{ref}"') for ref in rt.get(key, []))
            ends.append(tuple(pl.place_id for pl in found if pl))
        routes.append((r.str_("name"), ends[0], ends[1]))
    return routes


def _parse_lanes(
    doc: Mapping[str, Any], p: TomlProblems, resolve: _PlaceResolver
) -> dict[tuple[str, str], np.ndarray]:
    """(from_id, to_id) -> via points (n, 2) lon/lat, both ways (a reverse lane given later wins)."""
    lanes: dict[tuple[str, str], np.ndarray] = {}
    for i, ln in enumerate(doc.get("lane", [])):
        r = _Reader(p, ln, f"lane #{i + 1}", "[[lane]]", i)
        r.check_keys({"from", "to", "via", "note", "source"})
        a = resolve(ln.get("from"), f"lane #{i + 1} from", r, "from =")
        b = resolve(ln.get("to"), f"lane #{i + 1} to", r, "to =")
        try:
            via = np.asarray(ln.get("via", []), dtype=np.float64).reshape(-1, 2)
        except (ValueError, TypeError):
            r.add(f"lane #{i + 1}.via: must be a list of [lon, lat] pairs", "via =")
            continue
        if np.any(np.abs(via[:, 1]) > 90) or np.any(np.abs(via[:, 0]) > 180):
            r.add(f"lane #{i + 1}.via: points must be [lon, lat] in degrees", "via =")
        if a and b:
            lanes[(a.place_id, b.place_id)] = via
            lanes.setdefault((b.place_id, a.place_id), via[::-1].copy())
    return lanes


def _parse_ships(doc: Mapping[str, Any], p: TomlProblems, head: _Head, resolve: _PlaceResolver) -> list[Ship]:
    ships = [
        _parse_ship(p, s, i, head.start, head.end, head.seed, resolve)
        for i, s in enumerate(doc.get("ship", []))
    ]
    if not ships:
        p.add_near("the scenario has no ship tables; add at least one [[ship]]", None)
    keys = [s.key for s in ships]
    for k in {k for k in keys if keys.count(k) > 1}:
        p.add_near(f"ship key {k!r} is used twice; keys must be unique", f'"{k}"')
    return ships


def _parse_encounters(doc: Mapping[str, Any], p: TomlProblems, keys: list[str]) -> list[Encounter]:
    encounters: list[Encounter] = []
    for i, en in enumerate(doc.get("encounter", [])):
        r = _Reader(p, en, f"encounter #{i + 1}", "[[encounter]]", i)
        r.check_keys({"ships", "lat", "lon", "start", "hours", "note", "source"})
        pair = en.get("ships")
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(k in keys for k in pair) and pair[0] != pair[1]
        ):
            r.add(f"encounter #{i + 1}.ships: must name two different ship keys from {keys}", "ships =")
            continue
        t0 = r.time("start")
        if t0 is None:
            r.add(f"encounter #{i + 1}.start is required")
            continue
        encounters.append(
            Encounter(
                key=f"e{i + 1}",
                ships=(pair[0], pair[1]),
                lat=r.num("lat", None, -90, 90),
                lon=r.num("lon", None, -180, 180),
                start=t0,
                hours=r.num("hours", 4.0, 0.1, 240),
            )
        )
    return encounters


def _with_meeting(ship: Ship, en: Encounter) -> Ship:
    """``ship`` with a ``meet`` call for ``en``; if nothing follows it, a call back where the ship came from."""
    meet = Call(
        kind="meet",
        lat=en.lat,
        lon=en.lon,
        arrive_by=en.start,
        depart_at=en.start + en.hours * 3600,
        dwell_s=en.hours * 3600,
        meet_id=en.key,
    )
    calls = sorted((*ship.calls, meet), key=_call_time)
    if calls[-1] is meet:
        back = next((c for c in reversed(calls[:-1]) if c.kind != "meet"), ship.start_place)
        calls.append(
            Call(kind=back.kind, lat=back.lat, lon=back.lon, place_id=back.place_id, order=meet.depart_at)
        )
    return replace(ship, calls=tuple(calls))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate ``scenario.toml``; raise CaseError listing every problem."""
    path = Path(path)
    if path.is_dir():
        path = path / "scenario.toml"
    doc, p = _read_toml(path)
    _check_shape(doc, p, path)
    head = _parse_head(doc, p)
    places_table, case_routes = _parse_places(doc, p, head, path)
    places = _places_from_table(places_table)
    resolve = _PlaceResolver(places)
    routes = case_routes + _parse_routes(doc, p, resolve)
    lanes = _parse_lanes(doc, p, resolve)
    reception = _parse_reception(p, doc)
    ships = _parse_ships(doc, p, head, resolve)
    keys = [s.key for s in ships]
    encounters = _parse_encounters(doc, p, keys)
    if p.items:
        raise CaseError(f"{path}: {len(p.items)} problem(s) in the scenario", p.items)
    by_key = {s.key: s for s in ships}
    for en in encounters:  # meetings become calls of both ships
        for k in en.ships:
            by_key[k] = _with_meeting(by_key[k], en)
    return Scenario(
        name=head.name,
        path=path,
        start=head.start,
        end=head.end,
        seed=head.seed,
        places=places,
        places_table=places_table,
        lanes=lanes,
        ships=tuple(by_key[k] for k in keys),
        encounters=tuple(encounters),
        reception=reception,
        routes=tuple(routes),
        dark_min_h=head.dark_min_h,
        chunk_h=head.chunk_h,
        description=str(doc.get("scenario", {}).get("description", "")),
    )


def validate_case_folder(path: Path | str) -> list[Problem]:
    """:func:`~supplyline.case.validate_case` plus the folder's scenario.toml (checked by :func:`load_scenario`)."""
    case, problems = read_case(path)
    if case is None or case.scenario_path is None:
        return problems
    try:
        load_scenario(case.scenario_path)
    except CaseError as exc:
        problems += [q for q in exc.problems if q not in problems] or [
            (str(case.scenario_path), None, str(exc))
        ]
    return problems


def _call_time(c: Call) -> float:
    """Sort key of a call: its explicit order, else its target arrival (or target departure)."""
    if c.order is not None:
        return c.order
    if c.arrive_by is not None:
        return c.arrive_by
    return c.depart_at if c.depart_at is not None else math.inf


def _parse_reception(p: TomlProblems, doc: Mapping[str, Any]) -> Reception:
    r = _Reader(p, doc.get("reception", {}), "reception", "[reception]")
    r.check_keys(
        {
            "min_interval_s", "loss", "statics_interval_s", "satellite_revisit_min", "satellite_pass_min",
            "satellite_keep", "gps_noise_m", "note",
        }
    )  # fmt: skip
    areas: list[Area] = []
    for i, ar in enumerate(doc.get("area", [])):
        a = _Reader(p, ar, f"area #{i + 1}", "[[area]]", i)
        a.check_keys(
            {"kind", "reception", "lat", "lon", "radius_km", "polygon", "start", "end", "note", "name"}
        )
        kind = a.str_("kind", "hole", ("hole", "satellite"))
        poly = None
        if "polygon" in ar:
            try:
                poly = np.asarray(ar["polygon"], dtype=np.float64).reshape(-1, 2)
                if len(poly) < 3:
                    raise ValueError
            except (ValueError, TypeError):
                a.add(f"area #{i + 1}.polygon: needs at least 3 [lon, lat] points", "polygon =")
                continue
            lat = lon = rad = 0.0
        else:
            lat, lon = a.num("lat", None, -90, 90), a.num("lon", None, -180, 180)
            rad = a.num("radius_km", None, 0.001)
        areas.append(
            Area(
                kind=kind,
                reception=a.num("reception", 0.0, 0.0, 1.0),
                lat=lat,
                lon=lon,
                radius_km=rad,
                polygon=poly,
                start=a.time("start"),
                end=a.time("end"),
            )
        )
    return Reception(
        min_interval_s=r.num("min_interval_s", 0.0, 0.0, 86400),
        loss=r.num("loss", 0.0, 0.0, 1.0),
        statics_interval_s=r.num("statics_interval_s", 360.0, 10.0, 86400),
        satellite_revisit_min=r.num("satellite_revisit_min", 90.0, 1.0),
        satellite_pass_min=r.num("satellite_pass_min", 10.0, 0.1),
        satellite_keep=r.num("satellite_keep", 0.5, 0.0, 1.0),
        gps_noise_m=r.num("gps_noise_m", 5.0, 0.0, 1000.0),
        areas=tuple(areas),
    )


_SHIP_KEYS = {
    "key", "name", "mmsi", "imo", "callsign", "class", "ship_type", "length_m", "width_m",
    "draught_ballast_m", "draught_laden_m", "speed_kn", "start", "start_place", "start_kind", "initial_draught",
    "shuttle", "call", "identity", "off", "spoof", "note", "source",
}  # fmt: skip


def _parse_call(
    p: TomlProblems, c: Mapping[str, Any], j: int, ship: _Reader, resolve: _PlaceResolver
) -> Call:
    """One ``[[ship.call]]``: a stop at a place with target times (``ship``: the ship's reader)."""
    where = ship.where
    cr = _Reader(p, c, f"{where} call #{j + 1}", "[[ship.call]]", j, ship.after)
    cr.check_keys({"place", "kind", "arrive", "depart", "dwell_h", "draught", "dark_out", "note", "source"})
    pl = resolve(c.get("place"), f"{where} call #{j + 1}", cr, "place =")
    arrive, depart = cr.time("arrive"), cr.time("depart")
    if arrive is None and depart is None:
        cr.add(f"{where} call #{j + 1}: give arrive or depart (a UTC time)")
    dark = c.get("dark_out")
    if dark is not None and not (
        isinstance(dark, list) and len(dark) == 2 and all(isinstance(x, int | float) and x >= 0 for x in dark)
    ):
        cr.add(f"{where} call #{j + 1}.dark_out: give [off_km, on_km], two distances >= 0", "dark_out =")
        dark = None
    return Call(
        kind=cr.str_("kind", "berth", ("berth", "anchor")),
        lat=pl.lat if pl else 0.0,
        lon=pl.lon if pl else 0.0,
        place_id=pl.place_id if pl else None,
        arrive_by=arrive,
        depart_at=depart,
        dwell_s=cr.num("dwell_h", 0.0, 0.0) * 3600,
        draught=cr.str_("draught", "", ("", "laden", "ballast")) or None,
        dark_out=(float(dark[0]), float(dark[1])) if isinstance(dark, list) and len(dark) == 2 else None,
    )


def _parse_identities(
    p: TomlProblems, s: Mapping[str, Any], ship: _Reader, first: Identity
) -> list[Identity]:
    """``first`` then each ``[[ship.identity]]`` (unset fields kept from the one before), in time order."""
    where = ship.where
    identities = [first]
    for j, idt in enumerate(s.get("identity", [])):
        ir = _Reader(p, idt, f"{where} identity #{j + 1}", "[[ship.identity]]", j, ship.after)
        ir.check_keys({"at", "mmsi", "name", "callsign", "imo", "note", "source"})
        at = ir.time("at")
        if at is None:
            ir.add(f"{where} identity #{j + 1}: 'at' (a UTC time) is required")
            continue
        prev = identities[-1]
        identities.append(
            Identity(
                at=at,
                mmsi=ir.int_("mmsi", prev.mmsi, 100_000_000, 999_999_999),
                name=ais_text(ir.str_("name", prev.name), 20),
                callsign=ais_text(ir.str_("callsign", prev.callsign), 7),
                imo=ir.int_("imo", prev.imo, 1_000_000, 9_999_999) if idt.get("imo") else prev.imo,
            )
        )
    identities.sort(key=lambda x: x.at)
    return identities


def _parse_windows(
    p: TomlProblems, s: Mapping[str, Any], ship: _Reader, key: str, extra: tuple[str, ...] = ()
) -> list[tuple[float, ...]]:
    """``[[ship.off]]`` / ``[[ship.spoof]]`` as (start, end, *extra) with start < end (unix s)."""
    out = []
    for j, w in enumerate(s.get(key, [])):
        wr = _Reader(p, w, f"{ship.where} {key} #{j + 1}", f"[[ship.{key}]]", j, ship.after)
        wr.check_keys({"start", "end", "note", "source", *extra})
        a, b = wr.time("start"), wr.time("end")
        if a is None or b is None or b <= a:
            wr.add(f"{ship.where} {key} #{j + 1}: needs start < end (UTC times)")
            continue
        out.append((a, b, *(wr.num(x, None, -180, 180) for x in extra)))
    return out


def _draughts(r: _Reader) -> tuple[float, float]:
    """(laden, ballast) draught in metres; ballast deeper than laden is a problem."""
    laden = r.num("draught_laden_m", 6.0, 0.1, 25.5)
    ballast = r.num("draught_ballast_m", 4.0, 0.1, 25.5)
    if ballast > laden:
        r.add(f"{r.where}: draught_ballast_m must not exceed draught_laden_m", "draught_ballast_m =")
    return laden, ballast


def _parse_ship(
    p: TomlProblems,
    s: Mapping[str, Any],
    i: int,
    start: float,
    end: float,
    seed: int,
    resolve: _PlaceResolver,
) -> Ship:
    key = s.get("key", f"ship{i + 1}")
    where = f"ship {key!r}"
    r = _Reader(p, s, where, "[[ship]]", i)
    if not isinstance(key, str) or not key:
        r.add(f"ship #{i + 1}.key: must be a text, got {key!r}", "key =")
        key = f"ship{i + 1}"
    r.check_keys(_SHIP_KEYS)
    ais_class = r.str_("class", "A", ("A", "B"))
    mmsi = r.int_("mmsi", None, 100_000_000, 999_999_999)
    name = ais_text(r.str_("name", key), 20)
    callsign = ais_text(r.str_("callsign", ""), 7)
    imo = r.int_("imo", None, 1_000_000, 9_999_999) if s.get("imo") is not None else None
    ship_start = r.time("start", start) or start
    sp = resolve(s.get("start_place"), f"{where}.start_place", r, "start_place =")
    kind = r.str_("start_kind", "berth", ("berth", "anchor"))
    start_call = Call(kind=kind, lat=sp.lat, lon=sp.lon, place_id=sp.place_id) if sp else Call(kind, 0, 0)
    laden, ballast = _draughts(r)
    rng = np.random.default_rng([seed, 7, i])
    calls: list[Call] = []
    for j, sh in enumerate(s.get("shuttle", [])):
        sr = _Reader(p, sh, f"{where} shuttle #{j + 1}", "[[ship.shuttle]]", j, r.after)
        calls.extend(_expand_shuttle(sr, sh, resolve, rng))
    calls.extend(_parse_call(p, c, j, r, resolve) for j, c in enumerate(s.get("call", [])))
    calls.sort(key=_call_time)
    identities = _parse_identities(p, s, r, Identity(ship_start, mmsi, name, callsign, imo))
    # read in the order problems have always been listed: particulars, windows, then the initial draught
    ship_type = r.int_("ship_type", 70, 0, 255)
    length_m = float(round(r.num("length_m", 100.0, 2.0, 1022)))
    width_m = float(round(r.num("width_m", 16.0, 2.0, 126)))
    speed_kn = r.num("speed_kn", 11.0, 1.0, 40.0)
    off = _parse_windows(p, s, r, "off")
    spoofs = _parse_windows(p, s, r, "spoof", ("lat", "lon"))
    return Ship(
        key=key,
        ais_class=ais_class,
        ship_type=ship_type,
        length_m=length_m,
        width_m=width_m,
        draught_ballast_m=round(ballast, 1),
        draught_laden_m=round(laden, 1),
        speed_kn=speed_kn,
        start=ship_start,
        start_place=start_call,
        calls=tuple(calls),
        identities=tuple(identities),
        off=tuple((a, b) for a, b in off),
        spoofs=tuple((a, b, la, lo) for a, b, la, lo in spoofs),
        initial_draught=r.str_("initial_draught", "ballast", ("laden", "ballast")),
    )


def _parse_unloads(
    r: _Reader, sh: Mapping[str, Any], resolve: _PlaceResolver
) -> list[tuple[float, Place | None]]:
    """A shuttle's unload place(s) as (until unix s, place): one place, or a list of {place, until}."""
    where = r.where
    unloads: list[tuple[float, Place | None]] = []
    spec = sh.get("unload")
    if isinstance(spec, str):
        unloads.append((math.inf, resolve(spec, f"{where}.unload", r, "unload =")))
    elif isinstance(spec, list) and spec:
        for u in spec:
            if not isinstance(u, Mapping) or "place" not in u:
                r.add(f"{where}.unload: list items must be {{place = ..., until = <time>}}", "unload =")
                continue
            try:
                until = to_unix(u["until"]) if "until" in u else math.inf
            except ValueError as exc:
                r.add(f"{where}.unload: until: {exc}; write e.g. 2023-12-25T00:00:00Z", "unload =")
                continue
            unloads.append((until, resolve(u["place"], f"{where}.unload", r, "unload =")))
    else:
        r.add(f"{where}.unload: a place id or a list of {{place, until}}")
    return unloads


def _expand_shuttle(
    r: _Reader, sh: Mapping[str, Any], resolve: _PlaceResolver, rng: np.random.Generator
) -> list[Call]:
    """A block of round trips -> calls: load (arrive before, depart at the load time, laden), unload."""
    r.check_keys(
        {
            "load", "unload", "first", "count", "every_days", "jitter_h", "load_dwell_h", "unload_dwell_h",
            "dark", "dark_off_km", "dark_on_km", "note", "source",
        }
    )  # fmt: skip
    load = resolve(sh.get("load"), f"{r.where}.load", r, "load =")
    unloads = _parse_unloads(r, sh, resolve)
    first = r.time("first")
    if first is None:
        r.add(f"{r.where}.first (first loaded departure, UTC) is required")
    count = r.int_("count", 1, 1, 100_000)
    every = r.num("every_days", 14.0, 0.1) * 86400
    jitter = r.num("jitter_h", 0.0, 0.0) * 3600
    load_dwell = r.num("load_dwell_h", 36.0, 0.5) * 3600
    unload_dwell = r.num("unload_dwell_h", 24.0, 0.5) * 3600
    dark = r.str_("dark", "none", ("none", "loaded", "all"))
    off_km, on_km = r.num("dark_off_km", 5.0, 0.0), r.num("dark_on_km", 25.0, 0.0)
    if load is None or first is None or not unloads:
        return []
    calls = []
    jit = rng.uniform(-jitter, jitter, count) if jitter > 0 else np.zeros(count)
    for k in range(count):
        t_load = first + k * every + float(jit[k])
        dest = next((pl for until, pl in unloads if t_load < until), unloads[-1][1])
        if dest is None:
            return []
        load_call = Call(
            kind="berth",
            lat=load.lat,
            lon=load.lon,
            place_id=load.place_id,
            arrive_by=t_load - load_dwell,
            depart_at=t_load,
            dwell_s=load_dwell,
            draught="laden",
            dark_out=(off_km, on_km) if dark != "none" else None,
        )
        unload_call = Call(
            kind="berth",
            lat=dest.lat,
            lon=dest.lon,
            place_id=dest.place_id,
            dwell_s=unload_dwell,
            draught="ballast",
            dark_out=(on_km, off_km) if dark == "all" else None,
            order=t_load + 1.0,
        )
        calls += [load_call, unload_call]
    return calls
