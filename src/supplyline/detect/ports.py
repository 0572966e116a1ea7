"""Ports from places: gazetteer rows that share a name and country and lie near each other are one port.

Global Fishing Watch publishes its anchorages as ~0.5 km S2 cells, each labelled with the port it belongs to,
and groups them into ports by label and country (GFW docs, ``anchorages-voyages-port-visits.md``). A canal
entrance or a large harbour is then one port of many cells rather than a hundred places. We do the same over
the shipped gazetteer (sources ``wpi``, ``unlocode``, ``gfw``): rows with the same normalised name and country
form one port when they are chained by links of at most ``port_group_km`` (single linkage, so two
unrelated harbours that happen to share a name far apart stay two ports). A GFW cell labelled like a WPI or
UN/LOCODE port nearby joins that port. Places a user or case defines are never grouped: each is its own
port, as written.

The port's representative is a real place row (the WPI port of the group if any, else the UN/LOCODE one,
else the first cell), so its ``place_id`` resolves in the places table like any other.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from supplyline.geo import km_to_chord, to_unit_xyz

GROUPED_SOURCES = ("wpi", "unlocode", "gfw")
"""Gazetteer sources whose rows are grouped into ports (user and case places never are)."""

IntArray = npt.NDArray[np.int64]

_CACHE: list[tuple[pa.Table, float, IntArray]] = []


def _keys(places: pa.Table) -> IntArray:
    """Grouping label of every row as a small integer: the name without case or punctuation, plus the
    country (vectorised in Arrow: 70k names in milliseconds)."""
    name = pc.replace_substring_regex(pc.utf8_lower(places.column("name")), r"[^\p{L}\p{N}]+", "")
    label = pc.binary_join_element_wise(name, places.column("country").fill_null(""), "|")
    return np.asarray(label.dictionary_encode().combine_chunks().indices.to_numpy(), dtype=np.int64)


def port_rows(places: pa.Table, link_km: float) -> IntArray:
    """For every place row, the row of its port's representative (itself when ungrouped).

    Cached for the last places table seen (workers run many shards against one table).
    """
    for table, km, rows in _CACHE:
        if table is places and km == link_km:
            return rows
    rows = _group(places, link_km)
    _CACHE[:] = [(places, link_km, rows)]
    return rows


def _group(places: pa.Table, link_km: float) -> IntArray:
    n = places.num_rows
    out = np.arange(n, dtype=np.int64)
    if n < 2 or link_km <= 0 or "source" not in places.column_names:
        return out
    src = places.column("source").fill_null("")
    grouped = np.flatnonzero(pc.is_in(src, pa.array(GROUPED_SOURCES)).to_numpy(zero_copy_only=False))
    if len(grouped) < 2:
        return out
    key = _keys(places.take(pa.array(grouped)))
    count = np.bincount(key)
    shared = count[key] > 1  # only rows whose label recurs can join another
    grouped, key = grouped[shared], key[shared]
    if len(grouped) < 2:
        return out
    source = np.asarray(src.take(pa.array(grouped)).to_pylist(), dtype=object)
    lat = places.column("lat").to_numpy()[grouped]
    lon = places.column("lon").to_numpy()[grouped]
    tree = cKDTree(to_unit_xyz(lat, lon))
    pairs = tree.query_pairs(float(km_to_chord(link_km)), output_type="ndarray")
    pairs = pairs[key[pairs[:, 0]] == key[pairs[:, 1]]]
    m = len(grouped)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    # Representative: best source rank (wpi < unlocode < gfw), then the first row.
    rank = np.zeros(m, dtype=np.int64)
    for r, name in enumerate(GROUPED_SOURCES):
        rank[source == name] = r
    order = np.lexsort((np.arange(m), rank, comp))
    first_of_comp = np.ones(m, dtype=bool)
    first_of_comp[1:] = comp[order][1:] != comp[order][:-1]
    rep_of_comp = np.empty(int(comp.max()) + 1, dtype=np.int64)
    rep_of_comp[comp[order][first_of_comp]] = order[first_of_comp]
    out[grouped] = grouped[rep_of_comp[comp]]
    return out


__all__ = ["GROUPED_SOURCES", "port_rows"]
