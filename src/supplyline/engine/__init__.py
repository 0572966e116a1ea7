"""supplyline.engine: where the detection kernels run (local: DuckDB + process pool; spark: mapInArrow),
both implementing the contract in :mod:`supplyline.engine.base`."""
