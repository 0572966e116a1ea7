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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
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
    ]
)

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
    return pa.table(
        {
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
def _mid_lookup() -> np.ndarray:
    """Array of 1000 flag names indexed by MID ('' where ITU allocated none)."""
    table = np.full(1000, "", dtype=object)
    with open(_data_path(MID_FILE), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            table[int(r["mid"])] = r["flag"]
    return table


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
) -> pa.Table:
    """Screen ``vessels`` (columns mmsi, imo, name, optional first_seen) against the sanctions list.

    Returns one row per hit (schema ``MATCHES``): IMO exact, MMSI exact, fuzzy name (rapidfuzz ratio on
    normalised names >= ``name_cutoff``, digits must agree, and not when both sides carry different IMOs —
    many ships share a name like MARIA), and a ``flag`` hit for MMSIs whose MID belongs to ``watched_flags``.
    A vessel hit by IMO is not reported again by name for the same entry.
    """
    sanctions = sanctions if sanctions is not None else load_sanctions_list()
    v = _Vessels.of(vessels)
    hits = _number_hits(v, sanctions) + _name_hits(v, sanctions, name_cutoff, min_name_len)
    rows = _best_per_entry(hits, sanctions["ent_num"].to_pylist())
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


def _best_per_entry(hits: list[Hit], ent: list[int]) -> list[Hit]:
    """The best hit per (vessel, listed entry): imo > mmsi > name, then the higher score; sorted."""
    rank = {"imo": 0, "mmsi": 1, "name": 2}
    best: dict[tuple[int, int], Hit] = {}
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
        return pa.concat_arrays([sanctions[col].take(s_take).combine_chunks().cast(typ), pa.nulls(nf, typ)])

    listed_flag = from_s("flag", pa.string())
    return pa.table(
        {
            "mmsi": v.mmsi_col.take(take_v).cast(pa.int64()),
            "imo": v.imo_col.take(take_v).cast(pa.int64()),
            "name": pa.array([v.names[i] for i in vrows], pa.string()),
            "flag": v.flags.take(take_v),
            "match": pa.array([h[2] for h in rows] + ["flag"] * nf, pa.string()),
            "score": pa.array([h[3] for h in rows] + [100.0] * nf, pa.float64()),
            "ent_num": from_s("ent_num", pa.int64()),
            "listed_name": from_s("listed_name", pa.string()),
            "program": from_s("program", pa.string()),
            "listed_imo": from_s("imo", pa.int64()),
            "listed_flag": listed_flag,
            "confidence": pa.array(_confidence(v, rows, vrows, listed_flag.to_pylist()), pa.string()),
            "first_seen": v.first_seen.take(take_v).cast(MATCHES.field("first_seen").type),
        },
        schema=MATCHES,
    )


def _confidence(v: _Vessels, rows: list[Hit], vrows: list[int], listed_flags: list[str | None]) -> list[str]:
    """high: IMO or MMSI; medium: a name whose flags agree (or either is unknown), or a watched flag;
    low: a name only, under another flag."""
    flag_list = v.flags.to_pylist()
    conf = []
    for hit_no, (vrow, lf) in enumerate(zip(vrows, listed_flags, strict=True)):
        if hit_no >= len(rows):
            conf.append("medium")
        elif rows[hit_no][2] in ("imo", "mmsi"):
            conf.append("high")
        else:
            conf.append("low" if flags_agree(flag_list[vrow], lf) is False else "medium")
    return conf
