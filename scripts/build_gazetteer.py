"""Build the shipped gazetteer files (src/supplyline/data/places_*.parquet) from ../shared/data.

Reproducible: the same inputs give byte-identical outputs (rows sorted by place_id, no timestamps).

    python scripts/build_gazetteer.py [--data ../shared/data] [--out src/supplyline/data]

Cleaning decisions (why):
- WPI: one port per row, radius from ``Harbor Size`` (a bigger harbour spreads berths further from the point).
  Country = ISO 3166 alpha-2 from the UN/LOCODE prefix; WPI gives country *names*, so rows without a
  LOCODE take the alpha-2 most used by WPI rows with the same name. Aliases: WPI alternate names plus the
  UN/LOCODE names of the same LOCODE (e.g. Najin gains "Rajin").
- UN/LOCODE: names with mojibake (U+FFFD) are replaced by their ASCII form. Only port-function rows (function starts with "1") with UNECE's own coordinates; rows whose
  coordinates Geoapify geocoded are dropped (they can be ~200 km off, e.g. KP NAM), and LOCODEs the WPI
  already has are dropped (WPI points are at the harbour, UNECE's at the town, 1 arc-minute precision).
- GFW: one anchorage per level-14 S2 cell (~0.5 km); 431 cell tokens were mangled into numbers
  ("3.40E+08") by a spreadsheet, so those cells get ``pt<hash of lat/lon>`` ids; the placeholder row near the pole (|lat| > 85) is
  dropped, as are the "REMOVE" row at (0, 0) and one row with longitude 1001. ISO3 is turned into alpha-2 by matching cells to the nearest WPI/UN/LOCODE port (majority vote).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.spatial import cKDTree

from supplyline import schema
from supplyline.geo import km_to_chord, to_unit_xyz
from supplyline.ids import stable_id

REPO = Path(__file__).resolve().parents[1]

# Entry radius by WPI harbour size (m); exit radius is 4/3 of it, the ratio of GFW's 3 km enter / 4 km exit.
WPI_R_IN_M = {"Very Small": 2000.0, "Small": 3000.0, "Medium": 5000.0, "Large": 8000.0, "": 3000.0}
UNLOCODE_R_IN_M = 3000.0  # town-centre coordinates at 1' precision: GFW's default 3 km
GFW_R_IN_M = 750.0  # a level-14 S2 cell is ~0.5 km across; 0.75 km covers it plus AIS noise
EXIT_RATIO = 4.0 / 3.0


def _split_names(*names: str | None) -> list[str]:
    """Every usable spelling: split on ';' and on parentheses ("Rajin (Najin)" -> both)."""
    out: list[str] = []
    for raw in names:
        if not raw:
            continue
        for part in re.split(r"[;]", raw):
            part = part.strip().strip('"').strip()
            if not part or "\ufffd" in part:
                continue
            out.append(part)
            m = re.match(r"^(.*?)\s*\((.*?)\)\s*$", part)
            if m:
                out.extend(p.strip() for p in m.groups() if p.strip())
    return out


def _clean(name: str | None) -> str | None:
    """None for names with U+FFFD: 1,547 UN/LOCODE port names lost their accents to mojibake ("Durr?s", the ?
    being U+FFFD); ``nameWoDiacritics`` ("Durres") is intact and used instead."""
    return None if not name or "\ufffd" in name else name


def _aliases(name: str, candidates: list[str]) -> str | None:
    seen = {name.casefold()}
    keep: list[str] = []
    for c in candidates:
        if c.casefold() not in seen:
            seen.add(c.casefold())
            keep.append(c)
    return "|".join(keep) or None


def _table(cols: dict[str, list[object]]) -> pa.Table:
    """Rows -> PLACES table. A place_id seen twice (the sources repeat some ports and cells under other
    spellings) keeps its first row; the later rows' names become aliases of it."""
    first: dict[object, int] = {}
    keep: list[int] = []
    extra: dict[int, list[str]] = {}
    for i, pid in enumerate(cols["place_id"]):
        if pid in first:
            alias = cols["aliases"][i]
            extra.setdefault(first[pid], []).extend(
                [str(cols["name"][i]), *(str(alias).split("|") if alias else [])]
            )
        else:
            first[pid] = i
            keep.append(i)
    for i, names in extra.items():
        old = cols["aliases"][i]
        cols["aliases"][i] = _aliases(str(cols["name"][i]), [*(str(old).split("|") if old else []), *names])
    cols = {k: [v[i] for i in keep] for k, v in cols.items()}
    n = len(keep)
    cols.setdefault("watched", [False] * n)
    cols.setdefault("geometry_wkb", [None] * n)
    shipped = pa.schema([f for f in schema.PLACES if f.name != "exclusion_only"])  # set per run by `detect`
    table = pa.table({f.name: pa.array(cols[f.name], f.type) for f in shipped}, schema=shipped)
    return table.sort_by("place_id")


def build_wpi(con: duckdb.DuckDBPyConnection, data: Path, unlocode_names: dict[str, list[str]]) -> pa.Table:
    rows = con.execute(
        """
        select "World Port Index Number" as num, trim("Main Port Name") as name,
               trim("Alternate Port Name") as alt, replace(trim("UN/LOCODE"), ' ', '') as locode,
               trim("Country Code") as cname, trim("Harbor Size") as size,
               cast("Latitude" as double) as lat, cast("Longitude" as double) as lon
        from read_csv(?, all_varchar = true)
        order by cast(num as double), name, lat, lon
        """,
        [str(data / "nga_world_port_index" / "UpdatedPub150.csv")],
    ).fetchall()
    votes: dict[str, Counter[str]] = {}
    for _, _, _, locode, cname, *_ in rows:
        if locode:
            votes.setdefault(cname, Counter())[locode[:2]] += 1
    name_to_iso2 = {k: v.most_common(1)[0][0] for k, v in votes.items()}
    cols: dict[str, list[object]] = {
        f.name: [] for f in schema.PLACES if f.name not in ("watched", "geometry_wkb", "exclusion_only")
    }
    for num, name, alt, locode, cname, size, lat, lon in rows:
        r_in = WPI_R_IN_M.get(size or "", 3000.0)
        cols["place_id"].append(f"wpi:{num.strip()}")
        cols["name"].append(name)
        cols["kind"].append("port")
        cols["country"].append(locode[:2] if locode else name_to_iso2.get(cname))
        cols["locode"].append(locode or None)
        cols["lat"].append(lat)
        cols["lon"].append(lon)
        cols["r_in_m"].append(r_in)
        cols["r_out_m"].append(round(r_in * EXIT_RATIO))
        cols["source"].append("wpi")
        cols["aliases"].append(_aliases(name, _split_names(name, alt, *unlocode_names.get(locode or "", []))))
    return _table(cols)


def load_unlocode_names(con: duckdb.DuckDBPyConnection, data: Path) -> dict[str, list[str]]:
    rows = con.execute(
        "select country || location, name, nameWoDiacritics from read_csv(?, all_varchar = true)",
        [str(data / "unlocode_geoapify" / "unlocode_all_geoapify.csv.gz")],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for code, name, plain in rows:
        out.setdefault(code, []).extend(n for n in (_clean(name), plain) if n)
    return out


def build_unlocode(con: duckdb.DuckDBPyConnection, data: Path, wpi_locodes: set[str]) -> pa.Table:
    rows = con.execute(
        """
        select country, location, name, nameWoDiacritics, cast(lat as double), cast(lon as double)
        from read_csv(?, all_varchar = true)
        where lat is not null and lon is not null and coalesce(geocoded, '') <> 'true'
        order by country, location
        """,
        [str(data / "unlocode_geoapify" / "unlocode_ports_function1.csv")],
    ).fetchall()
    cols: dict[str, list[object]] = {
        f.name: [] for f in schema.PLACES if f.name not in ("watched", "geometry_wkb", "exclusion_only")
    }
    for country, location, raw_name, plain, lat, lon in rows:
        code = f"{country}{location}"
        if code in wpi_locodes:
            continue
        name = _clean(raw_name) or plain
        cols["place_id"].append(f"unlocode:{code}")
        cols["name"].append(name)
        cols["kind"].append("port")
        cols["country"].append(country)
        cols["locode"].append(code)
        cols["lat"].append(lat)
        cols["lon"].append(lon)
        cols["r_in_m"].append(UNLOCODE_R_IN_M)
        cols["r_out_m"].append(round(UNLOCODE_R_IN_M * EXIT_RATIO))
        cols["source"].append("unlocode")
        cols["aliases"].append(_aliases(name, _split_names(name, plain)))
    return _table(cols)


def _iso3_to_iso2(cells: list[tuple[object, ...]], ports: pa.Table) -> dict[str, str]:
    """ISO3 -> alpha-2 by majority over each cell's nearest shipped port within 50 km."""
    tree = cKDTree(to_unit_xyz(ports["lat"].to_numpy(), ports["lon"].to_numpy()))
    lat = np.array([c[1] for c in cells], dtype=np.float64)
    lon = np.array([c[2] for c in cells], dtype=np.float64)
    _, idx = tree.query(to_unit_xyz(lat, lon), k=1, distance_upper_bound=float(km_to_chord(50.0)))
    iso2 = ports["country"].to_pylist()
    votes: dict[str, Counter[str]] = {}
    for cell, i in zip(cells, idx, strict=True):
        if cell[5] and i < len(iso2) and iso2[i]:
            votes.setdefault(str(cell[5]), Counter())[iso2[i]] += 1
    return {k: v.most_common(1)[0][0] for k, v in votes.items()}


def _gfw_name(label: str) -> str:
    """GFW labels are upper case; title-case them for display but keep codes like "CHN-1371" as they are."""
    return label if re.fullmatch(r"[A-Z]{3}-\d+", label) else label.title()


def build_gfw(con: duckdb.DuckDBPyConnection, data: Path, ports: pa.Table) -> pa.Table:
    cells = con.execute(
        """
        select s2id, cast(latitude as double) as lat, cast(longitude as double) as lon, trim(label),
               trim(sublabel) as sub, iso3
        from read_csv(?, all_varchar = true)
        where abs(lat) <= 85 and abs(lon) <= 180 and upper(label) <> 'REMOVE'
        order by s2id, sub nulls last, lat, lon, label
        """,
        [str(data / "gfw_anchorages" / "anchorage_overrides.csv")],
    ).fetchall()
    iso = _iso3_to_iso2(cells, ports)
    cols: dict[str, list[object]] = {
        f.name: [] for f in schema.PLACES if f.name not in ("watched", "geometry_wkb", "exclusion_only")
    }
    for s2id, lat, lon, label, sublabel, iso3 in cells:
        name = _gfw_name(label)
        subs = [] if not sublabel or sublabel.lower() == str(s2id).lower() else [sublabel.title()]
        token = (
            s2id if re.fullmatch(r"[0-9a-f]+", s2id) else "pt" + stable_id("gfw", f"{lat:.6f}", f"{lon:.6f}")
        )
        cols["place_id"].append(f"gfw:{token}")
        cols["name"].append(name)
        cols["kind"].append("anchorage")
        cols["country"].append(iso.get(iso3) if iso3 else None)
        cols["locode"].append(None)
        cols["lat"].append(float(lat))
        cols["lon"].append(float(lon))
        cols["r_in_m"].append(GFW_R_IN_M)
        cols["r_out_m"].append(GFW_R_IN_M * EXIT_RATIO)
        cols["source"].append("gfw")
        cols["aliases"].append(_aliases(name, subs))
    return _table(cols)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "src" / "supplyline" / "data")
    args = ap.parse_args(argv)
    con = duckdb.connect()
    names = load_unlocode_names(con, args.data)
    wpi = build_wpi(con, args.data, names)
    unl = build_unlocode(con, args.data, {c for c in wpi["locode"].to_pylist() if c})
    gfw = build_gfw(con, args.data, pa.concat_tables([wpi, unl]))
    args.out.mkdir(parents=True, exist_ok=True)
    for source, table in (("wpi", wpi), ("unlocode", unl), ("gfw", gfw)):
        path = args.out / f"places_{source}.parquet"
        pq.write_table(table, path, compression="zstd", compression_level=19, write_statistics=False)
        missing = table.num_rows - table["country"].drop_null().length()
        print(
            f"{path}: {table.num_rows} places, {path.stat().st_size / 1e6:.2f} MB, {missing} without country"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
