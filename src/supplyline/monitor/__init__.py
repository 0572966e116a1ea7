"""supplyline.monitor: cadence, halts and route shifts, new vessels, dark gaps near places (by their context),
sanctions, identity changes, shared MMSIs and spoofing."""

from supplyline.monitor.alerts import MonitorConfig, MonitorInputs, evaluate, replay
from supplyline.monitor.cadence import CadenceConfig, daily_profile, find_halts, replay_days
from supplyline.monitor.identity import identity_changes, valid_imo
from supplyline.monitor.run import run_monitor
from supplyline.monitor.sanctions import flag_from_mmsi, load_sanctions_list, screen_vessels

__all__ = [
    "CadenceConfig",
    "MonitorConfig",
    "MonitorInputs",
    "daily_profile",
    "evaluate",
    "find_halts",
    "flag_from_mmsi",
    "identity_changes",
    "load_sanctions_list",
    "replay",
    "replay_days",
    "run_monitor",
    "screen_vessels",
    "valid_imo",
]
