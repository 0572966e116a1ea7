"""supplyline.engine."""
