"""supplyline.detect."""
