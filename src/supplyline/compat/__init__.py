"""Adapters to other tools' layouts (Global Fishing Watch events), for side-by-side checks."""

from supplyline.compat.gfw_events import from_gfw_events, to_gfw_events

__all__ = ["from_gfw_events", "to_gfw_events"]
