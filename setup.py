"""Build of the one C extension (the NMEA line scanner); everything else is in pyproject.toml.

The extension is optional: without a C compiler (or if the build fails) the package installs anyway and
``supplyline.ingest.nmea`` uses its pure NumPy/Python scanner, which gives the same output more slowly. It
uses only the stable ABI (Py_LIMITED_API 3.11), so one wheel per platform serves every CPython >= 3.11.
"""

import sysconfig

from setuptools import Extension, setup

LIMITED = not sysconfig.get_config_var("Py_GIL_DISABLED")  # free-threaded builds have no stable ABI

setup(
    ext_modules=[
        Extension(
            "supplyline.ingest._scan",
            ["src/supplyline/ingest/_scan.c"],
            optional=True,
            py_limited_api=LIMITED,
            define_macros=[("Py_LIMITED_API", "0x030B0000")] if LIMITED else [],
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}} if LIMITED else {},
)
