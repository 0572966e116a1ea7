"""The NMEA line scanner in use: the C extension ``_scan`` when it was built, else its pure-Python twin.

``SUPPLYLINE_NO_C=1`` forces the pure-Python scanner (tests compare the two). Without the extension a
one-line notice on stderr says what it costs; the output is the same.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

NO_C_ENV = "SUPPLYLINE_NO_C"


def _load() -> tuple[ModuleType, bool]:
    """(scanner module, whether it is the C one)."""
    if os.environ.get(NO_C_ENV, "") not in ("", "0"):
        from supplyline.ingest import _scan_py

        return _scan_py, False
    try:
        from supplyline.ingest import _scan  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from supplyline.ingest import _scan_py

        sys.stderr.write(
            "supplyline: the C NMEA scanner is not built; using the pure-Python one (same output, NMEA decoding "
            "about 25x slower). Reinstall with a C compiler to build it.\n"
        )
        return _scan_py, False
    return _scan, True


impl, IS_C = _load()
