"""supplyline.monitor."""
