"""Build of the one C extension (the NMEA line scanner); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("supplyline.ingest._scan", ["src/supplyline/ingest/_scan.c"])])
