"""supplyline.ingest."""
