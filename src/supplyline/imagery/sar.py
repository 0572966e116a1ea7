"""SAR imaging geometry shared by the matcher and the pass simulator."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def azimuth_shift_m(speed_ms: F64, cog_deg: F64, track_deg: float, shift_s: float) -> F64:
    """Along-track displacement (m, + = in the flight direction) of a moving target in a right-looking SAR.

    A target approaching the radar at radial speed v_r has its zero-Doppler point when the platform is
    already R * v_r / V past it, so it is imaged that far ahead (Raney 1971). Right-looking, the radar looks
    at ``track + 90``; the ground speed towards it is ``-v * sin(cog - track)``, and ``shift_s`` stands for
    (R / V) * sin(incidence) (Sentinel-1 IW: ~850 km / 7.6 km/s x ~0.57 = ~63 s).
    """
    return -shift_s * speed_ms * np.sin(np.radians(cog_deg - track_deg))
