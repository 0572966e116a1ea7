"""simulate(): scenario -> synthetic AIS files (Parquet and/or NMEA) + ground-truth tables, streamed.

Generation runs window by window (all ships, one time window at a time) so memory stays bounded and the
NMEA log is in time order like a receiver's; each window is written as Parquet row groups and appended to
the NMEA file. Random numbers come from ``SeedSequence([seed, ship, window])``, so a seed gives identical
bytes. Every output is labelled synthetic: file names, Parquet metadata and a README.txt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.errors import InputError, UsageError
from supplyline.simulate import nmea
from supplyline.simulate.ais import GapCarry, ship_window
from supplyline.simulate.scenario import Scenario, ais_text, load_scenario
from supplyline.simulate.timeline import ShipPlan, plan_all, to_ts, truth_tables
from supplyline.store import WHOLE, Store

FORMATS = ("nmea", "parquet")
TARGET_ROWS_PER_WINDOW = 1_500_000  # bounds memory: ~1.5 M reports per window across all ships
POSITIONS_FILE = "positions.synthetic.parquet"
STATICS_FILE = "statics.synthetic.parquet"
NMEA_FILE = "ais.synthetic.nmea"
TRUTH_TABLES = ("visits", "voyages", "dark", "encounters", "identity_changes", "spoofing")


@dataclass(frozen=True)
class SimResult:
    """Where the outputs went, the ground truth, and how much was written."""

    paths: dict[str, Path]
    truth: dict[str, pa.Table]
    n_positions: int
    n_statics: int
    scenario: Scenario
    warnings: tuple[str, ...] = ()  # schedule targets that could not be met (late arrivals, dropped calls)


def truth_file(name: str) -> str:
    return f"truth_{name}.synthetic.parquet"


def _window_s(sc: Scenario, min_interval_s: float) -> float:
    """Window length: whole hours, sized so all ships together emit ~TARGET_ROWS_PER_WINDOW reports."""
    if sc.chunk_h:
        return float(sc.chunk_h) * 3600
    per_ship_h = 3600.0 / max(10.0, min_interval_s)
    hours = TARGET_ROWS_PER_WINDOW / max(1, len(sc.ships)) / per_ship_h
    return float(min(max(math.floor(hours), 1), 24 * 7) * 3600)


def _meta(sc: Scenario, seed: int, table: str) -> dict[bytes, bytes]:
    return {
        b"synthetic": b"true",
        b"supplyline.scenario": sc.name.encode(),
        b"supplyline.seed": str(seed).encode(),
        b"supplyline.table": table.encode(),
    }


def _eta(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) month/day/hour/minute and the "MM-DD HH:MM" text (zeros / None when unknown: ts NaN)."""
    ok = ~np.isnan(ts)
    d = np.where(ok, ts, 0).astype("datetime64[s]")
    month = (d.astype("datetime64[M]").astype(np.int64) % 12) + 1
    day = (d - d.astype("datetime64[M]")).astype("timedelta64[D]").astype(np.int64) + 1
    sec = (d - d.astype("datetime64[D]")).astype(np.int64)
    parts = np.stack([month, day, sec // 3600, (sec % 3600) // 60], axis=1) * ok[:, None]
    iso = np.datetime_as_string(d.astype("datetime64[m]"), unit="m").astype("S16").view(np.uint8)
    iso = iso.reshape(len(ts), 16)[:, 5:16].copy()  # "YYYY-MM-DDTHH:MM" -> "MM-DDTHH:MM"
    iso[:, 5] = ord(" ")
    text = iso.view("S11").ravel().astype(str).astype(object)
    text[~ok] = None
    return parts, text


def _statics_rows(sc: Scenario, plan: ShipPlan, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Static reports of one ship (a few per hour) as column arrays; class B gives 24A + 24B rows."""
    ship = plan.ship
    ids = ship.identities
    i = s["identity"]
    n = len(i)
    names = np.asarray([x.name for x in ids], dtype=object)[i]
    calls = np.asarray([x.callsign for x in ids], dtype=object)[i]
    mmsi = np.asarray([x.mmsi for x in ids], dtype=np.int64)[i]
    imo = np.asarray([x.imo or 0 for x in ids], dtype=np.int64)[i]
    stop_names = [ais_text(sc.places[st.place_id].name, 20) for st in plan.stops] + [""]
    dest = np.asarray(stop_names, dtype=object)[np.minimum(s["next_stop"], len(plan.stops))]
    eta_t = np.append(plan.stop_arr, np.nan)[np.minimum(s["next_stop"], len(plan.stops))]
    eta_parts, eta_text = _eta(eta_t)
    out = {
        "mmsi": mmsi,
        "ts": s["t"].astype(np.int64),
        "imo": imo,
        "name": names,
        "callsign": calls,
        "ship_type": np.full(n, ship.ship_type, dtype=np.int16),
        "length_m": np.full(n, ship.length_m, dtype=np.float32),
        "width_m": np.full(n, ship.width_m, dtype=np.float32),
        "draught_m": np.round(s["draught"], 1).astype(np.float32),
        "destination": dest,
        "eta": eta_text,
        "eta_parts": eta_parts,
        "msg_type": np.full(n, 5, dtype=np.int8),
        "part": np.zeros(n, dtype=np.int64),
    }
    if ship.ais_class == "B":  # 24A (name) then 24B (type, call sign, dimensions); no IMO/draught/voyage
        rep = {k: np.concatenate([v, v]) for k, v in out.items()}
        rep["part"] = np.repeat([0, 1], n)
        rep["msg_type"] = np.full(2 * n, 24, dtype=np.int8)
        for k in ("imo", "draught_m", "destination", "eta"):
            rep[k] = np.full(2 * n, None, dtype=object)
        for k, part in (("name", 0), ("callsign", 1), ("ship_type", 1), ("length_m", 1), ("width_m", 1)):
            col = rep[k].astype(object)
            col[rep["part"] != part] = None  # each part carries only its own fields
            rep[k] = col
        return rep
    return out


def _fit(columns: dict[str, pa.Array], target: pa.Schema) -> pa.Table:
    """A table of ``target`` from ``columns``; fields the simulator does not produce are null."""
    n = len(next(iter(columns.values())))
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in target]
    return pa.Table.from_arrays(arrays, schema=target)


def _positions_table(cols: dict[str, np.ndarray]) -> pa.Table:
    b = cols["msg_type"] == 18
    return _fit(
        {
            "mmsi": pa.array(cols["mmsi"], pa.int64()),
            "ts": pa.array(cols["ts"] * 1_000_000, pa.int64()).cast(schema.TS),
            "lat": pa.array(cols["lat"], pa.float64()),
            "lon": pa.array(cols["lon"], pa.float64()),
            "sog_kn": pa.array(cols["sog_kn"], pa.float32()),
            "cog_deg": pa.array(cols["cog_deg"], pa.float32()),
            "heading_deg": pa.array(cols["heading_deg"], pa.float32(), mask=np.isnan(cols["heading_deg"])),
            "nav_status": pa.array(cols["nav_status"], pa.int8(), mask=b),
            "msg_type": pa.array(cols["msg_type"], pa.int8()),
            "source": pa.repeat(nmea.SOURCE, len(b)),
        },
        schema.POSITIONS,
    )


def _statics_table(cols: dict[str, np.ndarray]) -> pa.Table:
    n = len(cols["mmsi"])
    imo = cols["imo"]
    return _fit(
        {
            "mmsi": pa.array(cols["mmsi"], pa.int64()),
            "ts": pa.array(cols["ts"] * 1_000_000, pa.int64()).cast(schema.TS),
            "imo": pa.array([None if v is None or v == 0 else int(v) for v in imo], pa.int64()),
            "name": pa.array(cols["name"], pa.string()),
            "callsign": pa.array(cols["callsign"], pa.string()),
            "ship_type": pa.array(cols["ship_type"], pa.int16()),
            "length_m": pa.array(cols["length_m"], pa.float32()),
            "width_m": pa.array(cols["width_m"], pa.float32()),
            "draught_m": pa.array(cols["draught_m"], pa.float32()),
            "destination": pa.array(cols["destination"], pa.string()),
            "eta": pa.array(cols["eta"], pa.string()),
            "msg_type": pa.array(cols["msg_type"], pa.int8()),
            "source": pa.repeat(nmea.SOURCE, n),
        },
        schema.STATICS,
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _nmea_bytes(pos: dict[str, np.ndarray], sta: dict[str, np.ndarray]) -> bytes:
    """One window as NMEA text in time order (positions are already sorted by time)."""
    f64 = np.float64
    lines = nmea.encode_positions(
        pos["mmsi"], pos["ts"], pos["lat"], pos["lon"], pos["sog_kn"].astype(f64), pos["cog_deg"].astype(f64),
        pos["heading_deg"].astype(f64), pos["nav_status"], pos["msg_type"],
    )  # fmt: skip
    statics: list[tuple[np.ndarray, np.ndarray]] = []
    a = sta["msg_type"] == 5
    if a.any():
        t5 = nmea.encode_type5(
            sta["mmsi"][a], sta["ts"][a], sta["imo"][a].astype(np.int64), sta["callsign"][a].astype(str),
            sta["name"][a].astype(str), sta["ship_type"][a].astype(np.int64), sta["length_m"][a].astype(f64),
            sta["width_m"][a].astype(f64), sta["eta_parts"][a], sta["draught_m"][a].astype(f64),
            sta["destination"][a].astype(str),
        )  # fmt: skip
        statics.append((sta["ts"][a], t5))
    b = ~a
    if b.any():

        def filled(col: str, empty: object) -> np.ndarray:
            v = sta[col][b].copy()
            # each 24 part lacks the other part's fields
            v[np.asarray([x is None for x in v], dtype=bool)] = empty
            return v

        t24 = nmea.encode_type24(
            sta["mmsi"][b], sta["ts"][b], sta["part"][b], filled("name", "").astype(str),
            filled("callsign", "").astype(str), filled("ship_type", 0).astype(np.int64),
            filled("length_m", 0).astype(f64), filled("width_m", 0).astype(f64),
        )  # fmt: skip
        statics.append((sta["ts"][b], t24))
    return nmea.merge_sorted(pos["ts"], lines, statics)


# (ship, start, end, start_lat, start_lon, end_lat, end_lon, mmsi, likely cause) of one reception gap
DarkRow = tuple[str, float, float | None, float, float, float | None, float | None, int, str]


def _dark_table(rows: list[DarkRow]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    return pa.table(
        {
            "ship": pa.array([r[0] for r in rows], pa.string()),
            "mmsi": pa.array([r[7] for r in rows], pa.int64()),
            "start_ts": to_ts([r[1] for r in rows]),
            "end_ts": to_ts([r[2] for r in rows]),
            "duration_h": pa.array(
                [None if r[2] is None else (r[2] - r[1]) / 3600 for r in rows], pa.float64()
            ),
            "start_lat": pa.array([r[3] for r in rows], pa.float64()),
            "start_lon": pa.array([r[4] for r in rows], pa.float64()),
            "end_lat": pa.array([r[5] for r in rows], pa.float64()),
            "end_lon": pa.array([r[6] for r in rows], pa.float64()),
            "likely": pa.array([r[8] for r in rows], pa.string()),
        }
    )


def _prepare(
    scenario_path: str | Path, seed: int | None, formats: Sequence[str], min_interval_s: float | None
) -> Scenario:
    """The scenario with the caller's seed and reporting floor applied (bad options are usage errors)."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"unknown output format(s) {bad or formats}; use nmea, parquet or both")
    sc = load_scenario(scenario_path)
    rc = sc.reception
    if min_interval_s is not None:
        if min_interval_s < 0:
            raise UsageError("--min-interval must be >= 0 seconds")
        rc = dataclasses.replace(rc, min_interval_s=float(min_interval_s))
    return dataclasses.replace(sc, seed=sc.seed if seed is None else int(seed), reception=rc)


class _Outputs:
    """The AIS files being written window by window (Parquet positions + statics, and/or NMEA text)."""

    def __init__(self, sc: Scenario, out: Path, formats: Sequence[str]) -> None:
        self.paths: dict[str, Path] = {}
        self.pos_writer: pq.ParquetWriter | None = None
        self.sta_writer: pq.ParquetWriter | None = None
        self.nmea_file: BinaryIO | None = None
        if "parquet" in formats:
            self.paths["positions"], self.paths["statics"] = out / POSITIONS_FILE, out / STATICS_FILE
            # dictionary-encode only text columns: trying it on millions of distinct floats costs a third of the time
            self.pos_writer = pq.ParquetWriter(
                self.paths["positions"],
                schema.POSITIONS.with_metadata(_meta(sc, sc.seed, "positions")),
                use_dictionary=["source", "input_id"],
            )
            self.sta_writer = pq.ParquetWriter(
                self.paths["statics"], schema.STATICS.with_metadata(_meta(sc, sc.seed, "statics"))
            )
        if "nmea" in formats:
            self.paths["nmea"] = out / NMEA_FILE
            self.nmea_file = self.paths["nmea"].open("wb")

    def write(self, pos: dict[str, np.ndarray], sta: dict[str, np.ndarray]) -> None:
        if self.pos_writer is not None and self.sta_writer is not None:
            self.pos_writer.write_table(_positions_table(pos))
            self.sta_writer.write_table(_statics_table(sta))
        if self.nmea_file is not None:
            self.nmea_file.write(_nmea_bytes(pos, sta))

    def close(self) -> None:
        for wr in (self.pos_writer, self.sta_writer):
            if wr is not None:
                wr.close()
        if self.nmea_file is not None:
            self.nmea_file.close()


def _window(
    sc: Scenario, plans: list[ShipPlan], carries: list[GapCarry], w: int, a: float, b: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[DarkRow]]:
    """Reports of every ship in [a, b) (window ``w``), sorted by time then MMSI, and the gaps closed in it."""
    pos_parts, sta_parts = [], []
    dark_rows: list[DarkRow] = []
    for plan in plans:
        rng = np.random.default_rng([sc.seed, 3, plan.index, w])
        pos, sta, gaps = ship_window(plan, a, b, sc.reception, rng, carries[plan.index], sc.dark_min_h * 3600)
        pos_parts.append(pos)
        sta_parts.append(_statics_rows(sc, plan, sta))
        dark_rows.extend((plan.ship.key, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]) for g in gaps)
    pos_all, sta_all = _concat(pos_parts), _concat(sta_parts)
    po = np.lexsort((pos_all["mmsi"], pos_all["ts"]))
    so = np.lexsort((sta_all["part"], sta_all["mmsi"], sta_all["ts"]))
    return {k: v[po] for k, v in pos_all.items()}, {k: v[so] for k, v in sta_all.items()}, dark_rows


def _open_silences(sc: Scenario, plans: list[ShipPlan], carries: list[GapCarry]) -> list[DarkRow]:
    """Silences still running at the end of the scenario (no end time, position or end)."""
    rows: list[DarkRow] = []
    for plan, c in zip(plans, carries, strict=True):
        if c.t is not None and c.lost[1:].any() and sc.end - c.t >= sc.dark_min_h * 3600:
            cause = ("kept", "disabled", "coverage", "satellite", "loss")[int(np.argmax(c.lost[1:])) + 1]
            rows.append((plan.ship.key, c.t, None, c.lat, c.lon, None, None, c.mmsi, cause))
    return rows


def simulate(
    scenario_path: str | Path,
    out_dir: str | Path,
    *,
    seed: int | None = None,
    formats: Sequence[str] = FORMATS,
    min_interval_s: float | None = None,
    on_window: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Run the scenario; write synthetic AIS in ``formats`` and the truth tables into ``out_dir``.

    ``seed`` overrides the scenario's seed; ``min_interval_s`` overrides its reporting-interval floor
    (a coarse value such as 60 s keeps big scenarios small). ``on_window(done, total)`` reports progress.
    """
    sc = _prepare(scenario_path, seed, formats, min_interval_s)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_all(sc)
    truth = truth_tables(sc, plans)
    outputs = _Outputs(sc, out, formats)
    window = _window_s(sc, sc.reception.min_interval_s)
    t0 = math.floor(sc.start)
    n_windows = max(1, math.ceil((sc.end - t0) / window))
    carries = [GapCarry() for _ in plans]
    dark_rows: list[DarkRow] = []
    n_pos = n_sta = 0
    try:
        for w in range(n_windows):
            a, b = t0 + w * window, min(t0 + (w + 1) * window, sc.end)
            pos_all, sta_all, gaps = _window(sc, plans, carries, w, a, b)
            dark_rows += gaps
            n_pos += len(pos_all["ts"])
            n_sta += len(sta_all["ts"])
            outputs.write(pos_all, sta_all)
            if on_window:
                on_window(w + 1, n_windows)
    finally:
        outputs.close()
    truth["dark"] = _dark_table(dark_rows + _open_silences(sc, plans, carries))
    paths = outputs.paths
    for name in TRUTH_TABLES:
        p = out / truth_file(name)
        pq.write_table(truth[name].replace_schema_metadata(_meta(sc, sc.seed, f"truth_{name}")), p)
        paths[f"truth_{name}"] = p
    paths["readme"] = out / "README.txt"
    paths["readme"].write_text(_readme(sc, sc.seed, paths, n_pos, n_sta), encoding="utf-8")
    warnings = tuple(w for plan in plans for w in plan.warnings)
    return SimResult(
        paths=paths, truth=truth, n_positions=n_pos, n_statics=n_sta, scenario=sc, warnings=warnings
    )


def _readme(sc: Scenario, seed: int, paths: dict[str, Path], n_pos: int, n_sta: int) -> str:
    start = dt.datetime.fromtimestamp(sc.start, dt.UTC).isoformat()
    end = dt.datetime.fromtimestamp(sc.end, dt.UTC).isoformat()
    files = "\n".join(f"  {p.name}" for k, p in sorted(paths.items()) if k != "readme")
    return (
        "SYNTHETIC DATA - generated by `supplyline simulate`; not observations of real ships.\n\n"
        f"scenario: {sc.name} ({sc.path})\nseed: {seed}\nperiod: {start} .. {end}\n"
        f"positions: {n_pos}\nstatic reports: {n_sta}\n\nfiles:\n{files}\n\n"
        "truth_*.parquet hold what really happened in the simulation (port visits, voyages, dark periods,\n"
        "ship-to-ship meetings, identity changes, spoofed windows), to score detectors against.\n"
        "Every Parquet file carries the metadata synthetic=true; NMEA tag blocks carry s:sim.\n"
    )


def load_truth(out_dir: str | Path) -> dict[str, pa.Table]:
    """The truth tables a simulation wrote into ``out_dir`` (raises InputError when there are none)."""
    out = Path(out_dir)
    found = {name: out / truth_file(name) for name in TRUTH_TABLES if (out / truth_file(name)).exists()}
    if not found:
        raise InputError(
            f"no truth_*.synthetic.parquet in {out}; give the --out folder of `supplyline simulate`"
        )
    return {name: pq.read_table(path) for name, path in found.items()}


def import_truth(store: Store, truth: Mapping[str, pa.Table]) -> list[str]:
    """Write truth tables into ``store`` as ``truth_<name>`` (marks the store's data as synthetic)."""
    names = []
    with store.lock(), store.transaction() as txn:  # every truth table or none
        for name, table in truth.items():
            txn.replace_parts(f"truth_{name}", {WHOLE: table})
            names.append(f"truth_{name}")
    return names
