"""supplyline.simulate."""
