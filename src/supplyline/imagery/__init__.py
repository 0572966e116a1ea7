"""Vessels seen from space: read scenes, detect (SAR CFAR, Sentinel-2 NDWI), import detections made
elsewhere, match them to AIS (matched / dark) and turn dark ones into evidence. See docs/imagery.md."""
