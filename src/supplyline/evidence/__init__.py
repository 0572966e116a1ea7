"""supplyline.evidence."""
