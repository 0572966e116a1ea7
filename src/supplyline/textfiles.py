"""Reading the text files people write by hand (case.toml, scenario.toml, claims.csv...) as UTF-8.

A file saved as Latin-1 or UTF-16 is a common mistake; it should get the file, the line and what to do,
never a UnicodeDecodeError traceback.
"""

from __future__ import annotations

from pathlib import Path

from supplyline.errors import InputError


class NotUtf8Error(InputError):
    """A text file that is not UTF-8; ``line`` is the 1-based line of the first bad byte."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def read_utf8(path: Path | str) -> str:
    """The text of ``path`` (UTF-8, a leading byte-order mark dropped); :class:`NotUtf8Error` otherwise."""
    p = Path(path)
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = (
            f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        )
        raise NotUtf8Error(p, line, reason) from None
