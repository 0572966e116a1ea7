"""Cargo from draught: the displacement method of Arslanalp, Koepke & Verschuur (2021, IMF WP/21/267),
as used by IMF PortWatch.

    Displacement (t) = L * B * d * rho * C_B          (length, beam, draught in m; rho in t/m3)
    load (t)         = Disp(reported draught) - Disp(design draught) + DWT
    cargo moved (t)  = load at departure - load at arrival        (of one port call: > 0 loaded, < 0 unloaded)

Because load is linear in the draught, the cargo moved by a call needs only L, B, C_B and rho — the design
draught and DWT cancel — so a call can be measured for a ship whose DWT is unknown. All functions are
vectorised over calls (NumPy broadcasting), so Monte Carlo draws of C_B are a second axis.
"""

from __future__ import annotations

import numpy as np

SEAWATER_T_M3 = 1.025


def displacement_t(
    length_m: np.ndarray | float,
    beam_m: np.ndarray | float,
    draught_m: np.ndarray | float,
    block_coefficient: np.ndarray | float,
    density_t_m3: np.ndarray | float = SEAWATER_T_M3,
) -> np.ndarray:
    """Displaced mass in tonnes: L * B * d * rho * C_B."""
    return (
        np.asarray(length_m)
        * np.asarray(beam_m)
        * np.asarray(draught_m)
        * density_t_m3
        * np.asarray(block_coefficient)
    )


def load_t(
    draught_m: np.ndarray | float,
    design_draught_m: np.ndarray | float,
    dwt_t: np.ndarray | float,
    length_m: np.ndarray | float,
    beam_m: np.ndarray | float,
    block_coefficient: np.ndarray | float,
    density_t_m3: np.ndarray | float = SEAWATER_T_M3,
) -> np.ndarray:
    """Cargo (plus consumables) on board in tonnes: Disp(draught) - Disp(design draught) + DWT."""
    disp = displacement_t(length_m, beam_m, draught_m, block_coefficient, density_t_m3)
    design = displacement_t(length_m, beam_m, design_draught_m, block_coefficient, density_t_m3)
    return disp - design + np.asarray(dwt_t)


def cargo_moved_t(
    draught_arrival_m: np.ndarray | float,
    draught_departure_m: np.ndarray | float,
    length_m: np.ndarray | float,
    beam_m: np.ndarray | float,
    block_coefficient: np.ndarray | float,
    density_t_m3: np.ndarray | float = SEAWATER_T_M3,
) -> np.ndarray:
    """Tonnes loaded during a port call (negative = unloaded): load at departure - load at arrival."""
    dd = np.asarray(draught_departure_m) - np.asarray(draught_arrival_m)
    return displacement_t(length_m, beam_m, dd, block_coefficient, density_t_m3)
