"""Adapters to other tools' layouts (Global Fishing Watch events, IMF PortWatch daily port calls), for side-by-side checks."""

from supplyline.compat.gfw_events import from_gfw_events, to_gfw_events
from supplyline.compat.portwatch import PORTWATCH_DAILY, portwatch_daily

__all__ = ["PORTWATCH_DAILY", "from_gfw_events", "portwatch_daily", "to_gfw_events"]
