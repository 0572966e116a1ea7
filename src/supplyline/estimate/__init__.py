"""supplyline.estimate."""
