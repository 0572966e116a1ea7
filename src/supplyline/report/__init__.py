"""supplyline.report."""
