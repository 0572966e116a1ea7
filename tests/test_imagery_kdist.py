"""K-distribution CFAR: the threshold factor gives the false-alarm rate it was set for (docs/imagery.md)."""

from __future__ import annotations

import numpy as np
import pytest

from supplyline.imagery.cfar import CfarConfig, cfar_mask
from supplyline.imagery.kdist import k_ccdf, shape_from_moments, threshold_factor


def _k_clutter(nu: float, looks: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.gamma(nu, 1.0 / nu, n) * rng.gamma(looks, 1.0 / looks, n)


def test_gamma_limit_is_the_speckle_threshold() -> None:
    """Large nu: no texture, exponential single-look intensity, P(I > t) = exp(-t)."""
    assert k_ccdf(10.0, 100.0, 1.0) == pytest.approx(np.exp(-10.0) * 1.5, rel=0.6)
    assert float(threshold_factor(np.array([1.0]), np.array([1.0]), 1.0, 1e-5)[0]) == pytest.approx(
        -np.log(1e-5), rel=0.1
    )


@pytest.mark.parametrize("nu", [0.5, 2.0, 10.0])
def test_false_alarm_rate_on_k_clutter(nu: float) -> None:
    rng = np.random.default_rng(7)
    x = _k_clutter(nu, 4.0, 2_000_000, rng)
    t = threshold_factor(np.array([x.mean()]), np.array([x.std()]), 4.0, 1e-4)[0]
    assert float(shape_from_moments(np.array([x.mean()]), np.array([x.std()]), 4.0)[0]) == pytest.approx(
        nu, rel=0.2
    )
    assert 0.5e-4 < float(np.mean(x > t * x.mean())) < 2e-4


def test_k_cfar_holds_its_rate_where_two_parameter_does_not() -> None:
    """Spiky clutter (nu 0.5) beside calm clutter (nu 20): the K test keeps ~pfa in both halves; mu + k sigma
    set for the calm half fires far more often in the spiky half."""
    rng = np.random.default_rng(11)
    h, w = 400, 800
    x = np.empty((h, w))
    x[:, : w // 2] = _k_clutter(20.0, 4.0, h * w // 2, rng).reshape(h, w // 2)
    x[:, w // 2 :] = _k_clutter(0.5, 4.0, h * w // 2, rng).reshape(h, w // 2)
    kcfg = CfarConfig(method="k", pfa=1e-3, looks=4.0, guard=4, train=16, censor=0, block=4)
    hit, _ = cfar_mask(x, None, kcfg)
    inner = np.s_[20:-20, 20 : w // 2 - 20], np.s_[20:-20, w // 2 + 20 : -20]
    rates_k = [float(hit[s].mean()) for s in inner]
    assert all(0.3e-3 < r < 3e-3 for r in rates_k), rates_k
    hit2, _ = cfar_mask(x, None, CfarConfig(k=5.0, guard=4, train=16, censor=0, block=4))
    rates_2 = [float(hit2[s].mean()) for s in inner]
    assert 0.5e-3 < rates_2[0] < 2e-3 and rates_2[1] > 4 * rates_2[0], rates_2  # k=5: ~pfa where calm only
