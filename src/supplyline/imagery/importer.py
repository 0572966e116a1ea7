"""Import vessel detections made elsewhere (CSV or Parquet) into the ``detections`` table.

The native layout has the columns of schema.DETECTIONS (``det_id``, ``in_place``, ``source`` and
``synthetic`` may be left out). Global Fishing Watch's public SAR vessel detections are recognised by their
columns (``scene_id``, ``timestamp``, ``lat``, ``lon``, ``length_m``, ``presence_score``; ``detect_id``
when present) and read without a map. Any other layout: ``--map ts=acq_time,lon=x,lat=y`` names the file's
column for each of ours. Rows that cannot be used (no time, position out of range) are rejected with their
reason, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from supplyline import schema
from supplyline.errors import InputError, UsageError
from supplyline.ids import stable_id

GFW_MAP = {
    "scene_id": "scene_id",
    "ts": "timestamp",
    "lat": "lat",
    "lon": "lon",
    "length_m": "length_m",
    "score": "presence_score",
}
REQUIRED = ("scene_id", "ts", "lon", "lat")


@dataclass
class ImportResult:
    """The detections kept and every rejected row with its reason."""

    detections: pa.Table
    layout: str  # native | gfw | mapped
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (1-based data row, reason)


def parse_map(spec: str | None) -> dict[str, str]:
    """``"ts=acq_time,lon=x"`` -> {"ts": "acq_time", "lon": "x"}; unknown target columns are an error."""
    if not spec:
        return {}
    out: dict[str, str] = {}
    for item in spec.split(","):
        ours, sep, theirs = item.partition("=")
        ours, theirs = ours.strip(), theirs.strip()
        if not sep or not ours or not theirs:
            raise UsageError(f"--map item {item!r} is not OURS=THEIRS (e.g. --map ts=acq_time,lon=x)")
        if ours not in schema.DETECTIONS.names:
            raise UsageError(
                f"--map names {ours!r}, not a detections column; use one of {schema.DETECTIONS.names}"
            )
        out[ours] = theirs
    return out


def read_file(path: Path) -> pa.Table:
    """The file as an Arrow table (Parquet by magic bytes, otherwise CSV); a clear error if unreadable."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            return pq.read_table(path)
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read detections from {path}: {exc}; give a CSV or Parquet file") from exc


def _layout(table: pa.Table, mapping: dict[str, str]) -> tuple[str, dict[str, str]]:
    names = set(table.column_names)
    if mapping:
        missing = sorted(v for v in mapping.values() if v not in names)
        if missing:
            raise UsageError(f"--map names columns the file does not have: {missing}; it has {sorted(names)}")
        native = {c: c for c in schema.DETECTIONS.names if c in names and c not in mapping}
        return "mapped", {**native, **mapping}
    if set(GFW_MAP.values()) - {"length_m", "presence_score"} <= names and "timestamp" in names:
        gfw = {k: v for k, v in GFW_MAP.items() if v in names}
        if "detect_id" in names:
            gfw["det_id"] = "detect_id"
        return "gfw", gfw
    return "native", {c: c for c in schema.DETECTIONS.names if c in names}


def _ts(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Times as UTC microseconds; strings are parsed as ISO 8601 (naive = UTC)."""
    if pa.types.is_timestamp(col.type):
        return col.cast(schema.TS) if col.type.tz else pc.assume_timezone(col, "UTC").cast(schema.TS)
    text = pc.utf8_replace_slice(col.cast(pa.string()), 10, 11, "T")
    text = pc.replace_substring_regex(text, r"(Z|[+-]00:?00| UTC)$", "")
    return pc.assume_timezone(pc.cast(text, pa.timestamp("us"), safe=False), "UTC").cast(schema.TS)


def _column(table: pa.Table, name: str | None, typ: pa.DataType, n: int) -> pa.Array:
    if name is None:
        return pa.nulls(n, typ)
    col = table[name]
    if name and pa.types.is_string(col.type) and not pa.types.is_string(typ):
        col = pc.if_else(pc.equal(col, ""), None, col)
    return col.cast(typ).combine_chunks()


def _ts_rows(col: pa.ChunkedArray) -> pa.Array:
    """:func:`_ts`, row by row when the fast path fails: unparsable times become null (and are rejected)."""
    try:
        return _ts(col).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = []
    for v in col.cast(pa.string()).to_pylist():
        try:
            out.append(_ts(pa.chunked_array([[v]], pa.string()))[0].as_py() if v else None)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            out.append(None)
    return pa.array(out, schema.TS)


def _rejects(t: pa.Table) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Rows to keep and (row, reason) for the others."""
    ts_ok = t["ts"].is_valid().to_numpy(zero_copy_only=False)
    lat = t["lat"].to_numpy(zero_copy_only=False).astype(np.float64)
    lon = t["lon"].to_numpy(zero_copy_only=False).astype(np.float64)
    pos_ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)  # NaN (missing) compares False
    scene_ok = t["scene_id"].is_valid().to_numpy(zero_copy_only=False)
    length = t["length_m"].to_numpy(zero_copy_only=False).astype(np.float64)
    len_ok = ~(length <= 0)
    reasons = np.select(
        [~scene_ok, ~ts_ok, ~pos_ok, ~len_ok],
        ["no_scene_id", "no_time", "position_out_of_range", "bad_value: length_m <= 0"],
        "",
    )
    keep = reasons == ""
    return keep, [(int(i) + 1, str(reasons[i])) for i in np.flatnonzero(~keep)]


def import_detections(
    path: Path | str, mapping: dict[str, str] | None = None, sensor: str | None = None
) -> ImportResult:
    """Read a detections file into schema.DETECTIONS rows (``in_place`` is filled when stored)."""
    path = Path(path)
    raw = read_file(path)
    layout, cols = _layout(raw, mapping or {})
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise UsageError(
            f"{path.name} has no column for {missing}; its columns are {raw.column_names}. "
            "Name them with --map, e.g. --map ts=acquired,lon=x,lat=y"
        )
    n = raw.num_rows
    out = {f.name: _column(raw, cols.get(f.name), f.type, n) for f in schema.DETECTIONS if f.name != "ts"}
    out["ts"] = _ts_rows(raw[cols["ts"]])
    if "sensor" not in cols:
        out["sensor"] = pa.array([sensor or ("sar" if layout == "gfw" else None)] * n, pa.string())
    if "source" not in cols:
        out["source"] = pa.array([f"import:{path.name}"] * n, pa.string())
    if "synthetic" not in cols:
        out["synthetic"] = pa.array([False] * n, pa.bool_())
    table = pa.table({f.name: out[f.name] for f in schema.DETECTIONS})
    keep, rejected = _rejects(table)
    table = table.filter(pa.array(keep))
    if "det_id" not in cols:
        table = table.set_column(0, "det_id", detection_ids(table))
    return ImportResult(table.cast(schema.DETECTIONS), layout, rejected)


def detection_ids(table: pa.Table) -> pa.Array:
    """Stable ids from scene, time and position (to the micro-degree, ~0.1 m)."""
    ts = table["ts"].cast(pa.int64()).to_pylist()
    rows = zip(
        table["scene_id"].to_pylist(), ts, table["lon"].to_pylist(), table["lat"].to_pylist(), strict=True
    )
    return pa.array([stable_id("det", s, t, f"{x:.6f}", f"{y:.6f}") for s, t, x, y in rows], pa.string())
