"""Build-time conversion of Natural Earth land (world-atlas TopoJSON) into the compact rings the report ships.

Run once when updating the vendored coastlines (not at report time)::

    npm pack world-atlas@2 && tar xzf world-atlas-2.0.2.tgz
    python -m supplyline.report._coastlines package/land-50m.json src/supplyline/report/assets/land-50m.json
    python -m supplyline.report._coastlines package/land-10m.json src/supplyline/serve/static/land-10m.json 1:10m

Output: ``{"source": ..., "scale": 1000, "rings": [[x0, y0, dx1, dy1, ...], ...]}`` — each ring is
lon/lat in thousandths of a degree (~100 m), first point absolute, then deltas. Integer deltas keep the
file about a third the size of GeoJSON and the report decodes them in a few milliseconds. Exterior rings
and holes are not distinguished; the report fills with ``evenodd``, which draws lakes as holes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SCALE = 1000  # integer units per degree in the shipped file


def _decode_arcs(topo: dict[str, Any]) -> list[np.ndarray]:
    """Every arc as an (n, 2) float array of lon/lat degrees (delta-decoded and de-quantised)."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.int64), axis=0)
        arcs.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return arcs


def _ring(arcs: list[np.ndarray], indexes: list[int]) -> np.ndarray:
    parts = []
    for k, i in enumerate(indexes):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])  # consecutive arcs share their joining point
    return np.concatenate(parts)


def convert(topo: dict[str, Any], object_name: str = "land", resolution: str = "1:50m") -> dict[str, Any]:
    """Compact delta-encoded integer rings of one TopoJSON object (Polygon/MultiPolygon geometries)."""
    arcs = _decode_arcs(topo)
    obj = topo["objects"][object_name]
    geoms = obj["geometries"] if obj["type"] == "GeometryCollection" else [obj]
    rings: list[list[int]] = []
    for g in geoms:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        for poly in polys:
            for ring_idx in poly:
                q = np.rint(_ring(arcs, ring_idx) * SCALE).astype(np.int64)
                keep = np.ones(len(q), dtype=bool)
                keep[1:] = np.any(q[1:] != q[:-1], axis=1)  # drop points that coincide once rounded
                q = q[keep]
                if len(q) < 4:
                    continue
                d = np.vstack([q[:1], np.diff(q, axis=0)])
                rings.append(d.ravel().tolist())
    return {
        "source": f"Natural Earth {resolution} land via world-atlas 2.0.2 (npm), ISC / public domain",
        "scale": SCALE,
        "rings": rings,
    }


def main(argv: list[str]) -> None:
    src, dst = Path(argv[0]), Path(argv[1])
    out = convert(json.loads(src.read_text()), resolution=argv[2] if len(argv) > 2 else "1:50m")
    dst.write_text(json.dumps(out, separators=(",", ":")))
    print(f"{dst}: {len(out['rings'])} rings, {dst.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
