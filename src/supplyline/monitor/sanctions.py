"""Sanctions screening: every vessel seen against the shipped OFAC SDN vessel extract, and flags from MMSI.

Matching order follows how the list is built (see data/ofac_vessels_2024-05-03.PROVENANCE.md): IMO exact
first (842 of 851 listed vessels have one), then MMSI exact (154 have one), then the name, fuzzily
(AIS names are typed by crews: "CHON MA SAN", "CHONMASAN", "CHON MA SANN" must all hit). The flag of every
MMSI comes from its ITU Maritime Identification Digits (MID, digits 1-3), so a DPRK-flagged target (MID 445)
is caught even when it never broadcasts a name or an IMO.

The list is a dated snapshot (3 May 2024): screening says "listed on that date", nothing about later changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from supplyline.errors import InputError
from supplyline.schema import TS

if TYPE_CHECKING:  # numpy.typing only for annotations: this module is imported at CLI start-up
    import numpy.typing as npt

OFAC_FILE = "ofac_vessels_2024-05-03.csv"
OFAC_DATE = "2024-05-03"
MID_FILE = "itu_mid.csv"
DPRK_FLAG = "Democratic People's Republic of Korea"

MATCHES = pa.schema(
    [
        pa.field("mmsi", pa.int64()),
        pa.field("imo", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("flag", pa.string()),
        pa.field("match", pa.string()),  # imo | mmsi | name | flag
        pa.field("score", pa.float64()),  # 100 for exact matches, rapidfuzz ratio for names
        pa.field("ent_num", pa.int64()),  # OFAC entry number, null for flag-only hits
        pa.field("listed_name", pa.string()),
        pa.field("program", pa.string()),
        pa.field("listed_imo", pa.int64()),
        pa.field("listed_flag", pa.string()),
        # high: IMO or MMSI; medium: a name whose MID flag agrees with the listing (or either is unknown),
        # or a watched flag; low: a name only, under another flag (FREEDOM, a US yacht, is not the listed tanker)
        pa.field("confidence", pa.string()),
        pa.field("first_seen", TS),
        # what the match rests on: IMO | MMSI | name+flag | name only | name only (flag differs) | flag
        pa.field("basis", pa.string()),
        pa.field("name_ratio", pa.float64()),  # rapidfuzz ratio of the names (100 = same letters), else null
        pa.field("flag_iso", pa.string()),  # ISO 3166-1 alpha-2 of the vessel's MID flag
        pa.field("listed_flag_iso", pa.string()),
        pa.field("list_name", pa.string()),  # which list: OFAC SDN, UN, EU, UK ... (one row per list)
        pa.field("entity_id", pa.string()),  # the list's id of the entry (OFAC ent_num, OpenSanctions id)
        pa.field("designated", pa.date32()),  # designation date on that list (null: not given)
    ]
)

ALERT_SCORE = 80.0  # a hit alerts from this score on (see score_hits)
RARE_NAME_LEN = 12  # a name this long (letters and digits) counts as rare; shorter ones less so

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_PREFIX = re.compile(r"^(M/?V|M/?T|MS|SS)\s+")


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}


def number_tags(names: Sequence[str | None]) -> list[str]:
    """The numbers in each name, Roman numerals after the first word included ("SPARTA IV" -> "4").

    Fuzzy scores barely see "SPARTA IV" vs "SPARTA V", but they are different ships: numbers must agree.
    """
    out = []
    for n in names:
        words = [w for w in re.split(r"[^A-Z0-9]+", (n or "").upper()) if w]
        nums = [w for w in words if w.isdigit()] + [str(_ROMAN[w]) for w in words[1:] if w in _ROMAN]
        out.append(" ".join(nums))
    return out


_FLAG_WORDS = {
    "st.": "saint",
    "&": "and",
    "viet nam": "vietnam",
    "türkiye": "turkey",
    "republic of türkiye": "turkey",
}


def _flag_key(flag: str | None) -> str:
    """A comparable flag name: ITU's "China (People's Republic of) - Hong Kong (...)" -> "hong kong",
    "Russian Federation" and OFAC's "Russia" both contain "russia"."""
    f = (flag or "").lower().strip()
    if " - " in f:
        f = f.split(" - ", 1)[1]
    f = re.sub(r"\(.*?\)", "", f).strip()
    for a, b in _FLAG_WORDS.items():
        f = f.replace(a, b)
    return " ".join(f.split())


def flags_agree(a: str | None, b: str | None) -> bool | None:
    """True/False when both flags are known (one name contained in the other), None when either is not."""
    ka, kb = _flag_key(a), _flag_key(b)
    if not ka or not kb or "none identified" in (ka, kb):
        return None
    return ka in kb or kb in ka


def _data_path(name: str) -> Path:
    return Path(str(resources.files("supplyline") / "data" / name))


def normalise_names(names: Sequence[str | None]) -> list[str]:
    """Upper-case, drop a leading M/V-style prefix, then keep only letters and digits ("CHON MA-SAN" -> "CHONMASAN").

    Spaces are dropped because crews and lists split Korean names differently; '' for a missing name.
    """
    out = []
    for n in names:
        s = (n or "").upper().replace("@", " ").strip()
        s = _PREFIX.sub("", s)
        out.append(_NON_ALNUM.sub("", s))
    return out


@lru_cache(maxsize=4)
def load_sanctions_list(path: str | None = None) -> pa.Table:
    """The OFAC vessel list (shipped extract by default): one row per (entry, name or former name).

    Columns: ent_num, listed_name (as listed), matched_name (that name or a former one), key (normalised name), numbers (see :func:`number_tags`),
    program, flag, imo, mmsi, alias (bool).
    """
    file = Path(path) if path else _data_path(OFAC_FILE)
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read the sanctions list {file}: {exc}") from exc
    need = {"ent_num", "name", "aliases", "program", "flag", "imo", "mmsi"}
    if rows and not need <= set(rows[0]):
        raise InputError(
            f"{file} lacks columns {sorted(need - set(rows[0]))}; expected the format of {OFAC_FILE}"
        )
    cols: dict[str, list[object]] = {
        k: [] for k in ("ent_num", "listed_name", "program", "flag", "imo", "mmsi")
    }
    alias: list[bool] = []
    names: list[str] = []
    for r in rows:
        for i, nm in enumerate([r["name"], *[a for a in r["aliases"].split(";") if a]]):
            cols["ent_num"].append(int(r["ent_num"]))
            cols["listed_name"].append(r["name"])
            cols["program"].append(r["program"])
            cols["flag"].append(r["flag"] or None)
            cols["imo"].append(int(r["imo"]) if r["imo"] else None)
            cols["mmsi"].append(int(r["mmsi"]) if r["mmsi"] else None)
            names.append(nm)
            alias.append(i > 0)
    n = len(names)
    return pa.table(
        {
            "list_name": pa.array([f"OFAC SDN ({OFAC_DATE})"] * n, pa.string()),
            "entity_id": pa.array([f"ofac-{e}" for e in cols["ent_num"]], pa.string()),
            "designated": pa.nulls(n, pa.date32()),  # the extract carries no designation dates
            "flag_iso": pa.array([iso_for_flag(f) for f in cols["flag"]], pa.string()),
            "ent_num": pa.array(cols["ent_num"], pa.int64()),
            "listed_name": pa.array(cols["listed_name"], pa.string()),
            "matched_name": pa.array(names, pa.string()),
            "key": pa.array(normalise_names(names), pa.string()),
            "numbers": pa.array(number_tags(names), pa.string()),
            "program": pa.array(cols["program"], pa.string()),
            "flag": pa.array(cols["flag"], pa.string()),
            "imo": pa.array(cols["imo"], pa.int64()),
            "mmsi": pa.array(cols["mmsi"], pa.int64()),
            "alias": pa.array(alias, pa.bool_()),
        }
    )


@lru_cache(maxsize=1)
def _mid_table() -> tuple[np.ndarray, np.ndarray]:
    """(flag names, ISO 3166-1 alpha-2 codes), arrays of 1000 indexed by MID ('' where ITU allocated none)."""
    names = np.full(1000, "", dtype=object)
    iso = np.full(1000, "", dtype=object)
    with open(_data_path(MID_FILE), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            names[int(r["mid"])] = r["flag"]
            iso[int(r["mid"])] = r.get("iso2") or ""
    return names, iso


def _mid_lookup() -> np.ndarray:
    """Array of 1000 flag names indexed by MID ('' where ITU allocated none)."""
    return _mid_table()[0]


@lru_cache(maxsize=512)
def iso_for_flag(flag: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of a flag name (ITU's or a list's: "Russia", "Korea, North") or of a code;
    None when unknown. Exact name first, then a unique containment match over the ITU names."""
    if not flag or not flag.strip():
        return None
    f = flag.strip()
    if len(f) == 2 and f.isalpha():
        return f.upper()
    key = _flag_key(f)
    key = _FLAG_ALIASES.get(key, key)
    names, iso = _mid_table()
    exact = {str(i) for n, i in zip(names, iso, strict=True) if n and _flag_key(n) == key}
    if len(exact) == 1:
        return exact.pop()
    near = {str(i) for n, i in zip(names, iso, strict=True) if n and flags_agree(n, key)}
    return near.pop() if len(near) == 1 else None


_FLAG_ALIASES = {
    "korea, north": "democratic people's republic of korea",
    "north korea": "democratic people's republic of korea",
    "korea, south": "korea",
    "south korea": "korea",
    "burma": "myanmar",
}


def iso_from_mmsi(mmsi: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """ISO 3166-1 alpha-2 code of each ship-station MMSI's flag (null where :func:`flag_from_mmsi` is)."""
    names = flag_from_mmsi(mmsi)
    m = np.asarray(mmsi.to_numpy(zero_copy_only=False) if not isinstance(mmsi, np.ndarray) else mmsi)
    m = np.nan_to_num(m.astype(np.float64), nan=0).astype(np.int64)
    codes = _mid_table()[1][np.clip(m // 1_000_000, 0, 999)]
    valid = np.asarray(names.is_valid().to_numpy(zero_copy_only=False), dtype=bool) & (codes != "")
    return pa.array(codes.tolist(), pa.string(), mask=~valid)


def flag_from_mmsi(mmsi: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """Flag administration of each ship-station MMSI from its MID (digits 1-3); null for non-ship MMSIs.

    Only 9-digit MMSIs 200000000..799999999 are ship stations; coast stations, AtoN, SAR aircraft and
    craft MMSIs carry the MID at another offset and are left null rather than guessed.
    """
    m = np.asarray(mmsi.to_numpy(zero_copy_only=False) if not isinstance(mmsi, np.ndarray) else mmsi)
    m = np.nan_to_num(m.astype(np.float64), nan=0).astype(np.int64)
    ship = (m >= 200_000_000) & (m <= 799_999_999)
    mid = np.where(ship, m // 1_000_000, 0)
    flags = _mid_lookup()[mid]
    valid = ship & (flags != "")
    return pa.array(flags.tolist(), pa.string(), mask=~valid)


Hit = tuple[int, int, str, float]
"""(vessel row, sanctions row, match kind, score 0-100)."""


@dataclass(frozen=True)
class _Vessels:
    """The columns of the vessels being screened, with a null column for each one not given."""

    mmsi_col: pa.Array | pa.ChunkedArray
    mmsi: npt.NDArray[np.int64]
    imo_col: pa.Array | pa.ChunkedArray
    imo: npt.NDArray[np.float64]  # NaN = unknown
    names: list[str | None]
    first_seen: pa.Array | pa.ChunkedArray
    flags: pa.Array  # flag administration from the MMSI's MID

    @classmethod
    def of(cls, vessels: pa.Table) -> _Vessels:
        n, cols = vessels.num_rows, vessels.column_names
        mmsi = np.asarray(vessels["mmsi"].to_numpy(zero_copy_only=False), dtype=np.int64)
        imo_col = vessels["imo"] if "imo" in cols else pa.nulls(n, pa.int64())
        first_type = MATCHES.field("first_seen").type
        return cls(
            mmsi_col=vessels["mmsi"],
            mmsi=mmsi,
            imo_col=imo_col,
            imo=_float_array(imo_col),
            names=vessels["name"].to_pylist() if "name" in cols else [None] * n,
            first_seen=vessels["first_seen"] if "first_seen" in cols else pa.nulls(n, first_type),
            flags=flag_from_mmsi(mmsi),
        )


def _float_array(col: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    return np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def screen_vessels(
    vessels: pa.Table,
    sanctions: pa.Table | None = None,
    *,
    name_cutoff: float = 90.0,
    min_name_len: int = 4,
    watched_flags: tuple[str, ...] = (DPRK_FLAG,),
    as_of: dt.date | None = None,
) -> pa.Table:
    """Screen ``vessels`` (columns mmsi, imo, name, optional first_seen) against the sanctions list(s).

    Returns one row per hit (schema ``MATCHES``): IMO exact, MMSI exact, fuzzy name (rapidfuzz ratio on
    normalised names >= ``name_cutoff``, digits must agree, and not when both sides carry different IMOs —
    many ships share a name like MARIA), and a ``flag`` hit for MMSIs whose MID belongs to ``watched_flags``.
    A vessel hit by IMO is not reported again by name for the same entry. ``as_of``: only designations
    dated on or before it (undated entries always count). ``score`` and ``basis``: see :func:`score_hits`.
    """
    sanctions = sanctions if sanctions is not None else load_sanctions_list()
    if as_of is not None and "designated" in sanctions.column_names:
        d = sanctions["designated"]
        keep = pc.or_kleene(pc.is_null(d), pc.less_equal(d, pa.scalar(as_of, pa.date32())))
        sanctions = sanctions.filter(keep)
    v = _Vessels.of(vessels)
    hits = _number_hits(v, sanctions) + _name_hits(v, sanctions, name_cutoff, min_name_len)
    ids = sanctions["entity_id"] if "entity_id" in sanctions.column_names else sanctions["ent_num"]
    rows = _best_per_entry(hits, ids.to_pylist())
    flagged = [i for i, f in enumerate(v.flags.to_pylist()) if f in watched_flags]
    return _matches_table(v, sanctions, rows, flagged)


def _number_hits(v: _Vessels, sanctions: pa.Table) -> list[Hit]:
    """Exact IMO and MMSI hits: sorted-array joins (vectorised)."""
    hits: list[Hit] = []
    pairs = (("imo", v.imo, sanctions["imo"]), ("mmsi", v.mmsi.astype(np.float64), sanctions["mmsi"]))
    for kind, left, right_col in pairs:
        right = _float_array(right_col)
        r_idx = np.flatnonzero(~np.isnan(right))
        order = np.argsort(right[r_idx], kind="stable")
        sorted_vals = right[r_idx][order]
        lo = np.searchsorted(sorted_vals, left, "left")
        hi = np.searchsorted(sorted_vals, left, "right")
        for i in np.flatnonzero((hi > lo) & ~np.isnan(left) & (left > 0)):
            hits.extend((int(i), int(r_idx[order[j]]), kind, 100.0) for j in range(lo[i], hi[i]))
    return hits


def _name_hits(v: _Vessels, sanctions: pa.Table, name_cutoff: float, min_name_len: int) -> list[Hit]:
    """Fuzzy name hits: one rapidfuzz cdist over (distinct vessel names) x (listed names and aliases);
    the digits in both names must agree, and two different known IMOs rule a hit out."""
    s_keys = sanctions["key"].to_pylist()
    keys = normalise_names(v.names)
    uniq = sorted({k for k in keys if len(k) >= min_name_len})
    if not uniq or not s_keys:
        return []
    scores = process.cdist(uniq, s_keys, scorer=fuzz.ratio, score_cutoff=name_cutoff, workers=1)
    s_imo = _float_array(sanctions["imo"])
    s_digits = sanctions["numbers"].to_pylist()
    v_digits = number_tags(v.names)
    pos = {k: i for i, k in enumerate(uniq)}
    hits: list[Hit] = []
    for vi, k in enumerate(keys):
        if k not in pos:
            continue
        row = scores[pos[k]]
        imo = v.imo[vi]
        for sj in np.flatnonzero(row >= name_cutoff):
            if s_digits[sj] != v_digits[vi]:
                continue
            if not np.isnan(imo) and imo > 0 and not np.isnan(s_imo[sj]) and imo != s_imo[sj]:
                continue
            hits.append((vi, int(sj), "name", float(row[sj])))
    return hits


def _best_per_entry(hits: list[Hit], ent: Sequence[object]) -> list[Hit]:
    """The best hit per (vessel, listed entry): imo > mmsi > name, then the higher score; sorted."""
    rank = {"imo": 0, "mmsi": 1, "name": 2}
    best: dict[tuple[int, object], Hit] = {}
    for h in hits:
        key = (h[0], ent[h[1]])
        cur = best.get(key)
        if cur is None or (rank[h[2]], -h[3]) < (rank[cur[2]], -cur[3]):
            best[key] = h
    return sorted(best.values())


def _matches_table(v: _Vessels, sanctions: pa.Table, rows: list[Hit], flagged: list[int]) -> pa.Table:
    """The MATCHES table: list hits first (with the listed entry's columns), then watched-flag hits."""
    vrows = [h[0] for h in rows] + flagged
    take_v = pa.array(vrows, pa.int64())
    s_take = pa.array([h[1] for h in rows], pa.int64())
    nf = len(flagged)

    def from_s(col: str, typ: pa.DataType) -> pa.Array:
        if col not in sanctions.column_names:
            return pa.nulls(len(rows) + nf, typ)
        return pa.concat_arrays([sanctions[col].take(s_take).combine_chunks().cast(typ), pa.nulls(nf, typ)])

    listed_iso = from_s("flag_iso", pa.string()).to_pylist()
    v_iso = iso_from_mmsi(v.mmsi).take(take_v)
    scored = score_hits(
        v, rows, vrows, v_iso.to_pylist(), listed_iso, from_s("flag", pa.string()).to_pylist()
    )
    return pa.table(
        {
            "mmsi": v.mmsi_col.take(take_v).cast(pa.int64()),
            "imo": v.imo_col.take(take_v).cast(pa.int64()),
            "name": pa.array([v.names[i] for i in vrows], pa.string()),
            "flag": v.flags.take(take_v),
            "match": pa.array([h[2] for h in rows] + ["flag"] * nf, pa.string()),
            "score": pa.array([x[0] for x in scored], pa.float64()),
            "ent_num": from_s("ent_num", pa.int64()),
            "listed_name": from_s("listed_name", pa.string()),
            "program": from_s("program", pa.string()),
            "listed_imo": from_s("imo", pa.int64()),
            "listed_flag": from_s("flag", pa.string()),
            "confidence": pa.array([x[2] for x in scored], pa.string()),
            "first_seen": v.first_seen.take(take_v).cast(MATCHES.field("first_seen").type),
            "basis": pa.array([x[1] for x in scored], pa.string()),
            "name_ratio": pa.array(
                [h[3] if h[2] == "name" else None for h in rows] + [None] * nf, pa.float64()
            ),
            "flag_iso": v_iso,
            "listed_flag_iso": pa.array(listed_iso, pa.string()),
            "list_name": from_s("list_name", pa.string()),
            "entity_id": from_s("entity_id", pa.string()),
            "designated": from_s("designated", pa.date32()),
        },
        schema=MATCHES,
    )


def name_rarity(names: Sequence[str | None], mmsi: Sequence[int]) -> dict[str, float]:
    """Rarity 0..1 of each normalised name: length up to ``RARE_NAME_LEN`` (short names are shared by many
    ships: MARIA) divided by 1 + log2(the number of distinct MMSIs in the screened data using it)."""
    users: dict[str, set[int]] = {}
    for n, m in zip(normalise_names(names), mmsi, strict=True):
        if n:
            users.setdefault(n, set()).add(int(m))
    return {k: min(1.0, len(k) / RARE_NAME_LEN) / (1 + math.log2(len(u))) for k, u in users.items()}


def score_hits(
    v: _Vessels,
    rows: list[Hit],
    vrows: list[int],
    v_iso: list[str | None],
    listed_iso: list[str | None],
    listed_flag: list[str | None],
) -> list[tuple[float, str, str]]:
    """(score 0-100, basis, confidence) per hit. IMO or MMSI: 100, high. A name is never exact: with the flag
    agreeing, name ratio x (0.8 + 0.2 rarity), at most 95 (medium); on the name only, ratio x rarity, at most
    90 (medium from ``ALERT_SCORE`` on, else low); under a different flag half that (low). A watched flag:
    100, medium. "MARIA" alone scores 100 x 5/12 = 42, below ``ALERT_SCORE``; with a Russian flag, 88."""
    rarity = name_rarity(v.names, v.mmsi.tolist())
    keys = normalise_names(v.names)
    out: list[tuple[float, str, str]] = []
    for k, vrow in enumerate(vrows):
        if k >= len(rows):
            out.append((100.0, "flag", "medium"))
            continue
        kind, ratio = rows[k][2], rows[k][3]
        if kind in ("imo", "mmsi"):
            out.append((100.0, kind.upper(), "high"))
            continue
        agree = _flags_match(v_iso[k], listed_iso[k], v.flags[vrow].as_py(), listed_flag[k])
        r = rarity.get(keys[vrow], 0.0)
        if agree:
            out.append((min(95.0, ratio * (0.8 + 0.2 * r)), "name+flag", "medium"))
        elif agree is None:
            score = min(90.0, ratio * r)
            out.append((score, "name only", "medium" if score >= ALERT_SCORE else "low"))
        else:
            out.append((min(90.0, ratio * r) / 2, "name only (flag differs)", "low"))
    return out


def _flags_match(v_iso: str | None, l_iso: str | None, v_flag: str | None, l_flag: str | None) -> bool | None:
    """By ISO code where both are known, else by name (:func:`flags_agree`)."""
    if v_iso and l_iso:
        return v_iso == l_iso
    return flags_agree(v_flag, l_flag)
