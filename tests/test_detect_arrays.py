"""The kernels' vectorised building blocks against brute-force loops (random inputs, edge cases included)."""

from __future__ import annotations

import numpy as np
import pytest

from supplyline.detect._arrays import (
    carry_forward,
    first_true_after,
    last_true_index,
    start_index,
    wrapped_dlon,
)
from supplyline.detect.near import NearFilter
from supplyline.detect.segments import _resolve_forks
from supplyline.detect.stops import _window_ends

RNG = np.random.default_rng(5)


def _masks(count: int = 400) -> list[np.ndarray]:
    out = [np.zeros(0, bool), np.ones(1, bool), np.zeros(1, bool)]
    for _ in range(count):
        n = int(RNG.integers(1, 30))
        out.append(RNG.random(n) < RNG.random())
    return out


def test_carried_indices_match_a_loop() -> None:
    for m in _masks():
        latest, group = [], []
        seen, start = -1, 0
        for i, v in enumerate(m.tolist()):
            seen = i if v else seen
            start = i if v else start
            latest.append(seen)
            group.append(start)
        assert last_true_index(m).tolist() == latest
        assert start_index(m).tolist() == group
        rows = np.arange(len(m))
        nxt = [next((j for j in range(i, len(m)) if m[j]), len(m)) for i in range(len(m))]
        assert first_true_after(m, rows).tolist() == nxt


def test_carry_forward_matches_a_loop() -> None:
    for m in _masks():
        values = RNG.integers(-1, 3, len(m))
        flags = RNG.random(len(m)) < 0.5
        for vals, before in ((values, -7), (flags, False)):
            want, cur = [], before
            for v, mark in zip(vals.tolist(), m.tolist(), strict=True):
                cur = v if mark else cur
                want.append(cur)
            got = carry_forward(vals, m, before)
            assert got.dtype == vals.dtype and got.tolist() == want


def test_wrapped_dlon_is_the_remainder_bit_for_bit() -> None:
    d = np.concatenate(
        [RNG.uniform(-720, 720, 5000), RNG.normal(0, 1e-4, 5000), [-360.0, -180.0, -0.0, 0.0, 180.0, 359.99]]
    )
    want = np.remainder(d + 180.0, 360.0) - 180.0
    assert np.array_equal(wrapped_dlon(d).view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("span_us", [86_400_000_000, 2**61])  # a day; so long that tracks go in batches
def test_window_ends_match_a_loop(span_us: int) -> None:
    lengths = RNG.integers(1, 12, 40)
    track = np.repeat(np.arange(len(lengths)), lengths)
    ts = np.concatenate([np.sort(RNG.integers(0, span_us, k)) for k in lengths]).astype(np.int64)
    w = span_us // 20
    rows = np.flatnonzero(RNG.random(len(ts)) < 0.6)
    back, fwd = _window_ends(ts, track, w, rows)
    for k, r in enumerate(rows.tolist()):
        mine = np.flatnonzero(track == track[r])
        before = mine[ts[mine] <= ts[r] - w]
        after = mine[ts[mine] >= ts[r] + w]
        assert (back[k] in mine) == (len(before) > 0) and (fwd[k] in mine) == (len(after) > 0)
        if len(before):
            assert back[k] == before[-1]
        if len(after):
            assert fwd[k] == after[0]


def test_resolve_forks_keeps_one_child_per_parent_like_a_count() -> None:
    for _ in range(3000):
        n = int(RNG.integers(0, 25))
        parent = np.arange(n) - RNG.integers(1, 5, n)
        parent[(parent < 0) | (RNG.random(n) < 0.2)] = -1
        far = RNG.random(n) < 0.15
        parent[far] = (RNG.random(far.sum()) * np.arange(n)[far]).astype(np.int64) - (np.arange(n)[far] == 0)
        children = np.bincount(parent[parent >= 0], minlength=n)
        want = parent.copy()
        for p in np.flatnonzero(children > 1):
            kids = np.flatnonzero(parent == p)
            keep = max(kids.tolist(), key=lambda c: (children[c] > 0, c))  # continues, then the later one
            want[kids[kids != keep]] = -1
        assert _resolve_forks(parent).tolist() == want.tolist()


@pytest.mark.parametrize("spread_deg", [0.05, 170.0])  # a dense table of cells; keys too spread for one
def test_near_filter_lookup_is_the_key_search(spread_deg: float) -> None:
    plat = RNG.uniform(-60, 60, 50) * spread_deg / 170.0 + 40.0 * (spread_deg < 1)
    plon = RNG.uniform(-180, 180, 50) * spread_deg / 180.0
    f = NearFilter(plat, plon, RNG.uniform(50, 500, 50))
    assert (f.grid is not None) == (spread_deg < 1)
    lat = np.concatenate([plat + RNG.normal(0, 0.01, 50), RNG.uniform(-90, 90, 5000), [90.0, -90.0]])
    lon = np.concatenate([plon + RNG.normal(0, 0.01, 50), RNG.uniform(-180, 180, 5000), [180.0, -180.0]])
    cy = np.floor(lat / f.g).astype(np.int64) + f.row0
    cx = np.floor((lon + 180.0) / f.g).astype(np.int64) % f.ncol
    want = np.isin(cy * f.ncol + cx, f.keys)
    got = f.mask(lat, lon)
    assert got.sum() > 10 and np.array_equal(got, want)
