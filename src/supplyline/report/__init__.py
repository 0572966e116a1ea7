"""supplyline.report: the self-contained HTML report and the GeoJSON/KML/CSV/Parquet exports."""

from supplyline.report.builder import build_payload, build_report
from supplyline.report.export import export_store, map_layers

__all__ = ["build_payload", "build_report", "export_store", "map_layers"]
