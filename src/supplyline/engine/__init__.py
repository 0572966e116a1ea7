"""supplyline.engine: where the detection kernels run (local: DuckDB + process pool; spark: mapInArrow)."""
