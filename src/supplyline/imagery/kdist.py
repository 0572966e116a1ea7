"""K-distributed sea clutter: the CFAR threshold factor for a target false-alarm rate.

Sea clutter at high resolution is spikier than speckle alone: intensity = texture x speckle, with a gamma
texture of shape ``nu`` (mean 1) and L-look gamma speckle (mean 1) gives the K distribution (Jakeman & Pusey
1976; Ward 1981). Its moments give the shape: ``E[I^2] / E[I]^2 = (1 + 1/L)(1 + 1/nu)``, so a ring's mean and
standard deviation give ``nu`` (large ``nu``: plain gamma speckle, small: spiky clutter). The threshold for a
false-alarm probability ``pfa`` is ``mu * t(nu)``, with ``P(I/mu > t) = E_tau[Q(L, L t / tau)] = pfa``
solved once per (L, pfa) on a table of ``nu`` and interpolated in log ``nu``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

F64 = npt.NDArray[np.float64]
NU_MIN, NU_MAX = 0.05, 100.0
_NU_TABLE = np.geomspace(NU_MIN, NU_MAX, 48)


def k_ccdf(t: float, nu: float, looks: float) -> float:
    """P(I / mean > t) for K-distributed intensity (texture shape ``nu``, ``looks`` looks)."""
    tau = np.geomspace(1e-8, 1e4, 6000)  # texture values; integrate over ln(tau)
    pdf = stats.gamma.pdf(tau, nu, scale=1.0 / nu)
    q = special.gammaincc(looks, looks * t / tau)
    return float(np.trapezoid(pdf * q * tau, np.log(tau)))


@lru_cache(maxsize=32)
def threshold_table(looks: float, pfa: float) -> tuple[F64, F64]:
    """(ln nu, t) for the table of shapes: the threshold factor over the mean for ``pfa``."""

    def excess(ln_t: float, nu: float) -> float:
        return float(np.log(max(k_ccdf(float(np.exp(ln_t)), nu, looks), 1e-300)) - np.log(pfa))

    out = [
        np.exp(optimize.brentq(excess, 0.0, np.log(1e6), args=(float(nu),), xtol=1e-6)) for nu in _NU_TABLE
    ]
    return np.log(_NU_TABLE), np.asarray(out)


def shape_from_moments(mu: F64, sd: F64, looks: float) -> F64:
    """Texture shape ``nu`` from a ring's mean and standard deviation (clipped to the table's range)."""
    r = 1.0 + (sd / np.maximum(mu, 1e-12)) ** 2  # E[I^2] / E[I]^2
    excess = r / (1.0 + 1.0 / looks) - 1.0
    return np.clip(1.0 / np.maximum(excess, 1.0 / NU_MAX), NU_MIN, NU_MAX)


def threshold_factor(mu: F64, sd: F64, looks: float, pfa: float) -> F64:
    """``t`` with ``x > t * mu`` the K-CFAR test, per cell."""
    ln_nu, t = threshold_table(float(looks), float(pfa))
    return np.interp(np.log(shape_from_moments(mu, sd, looks)), ln_nu, t)
