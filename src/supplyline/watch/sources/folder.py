"""A folder that receives files (daily NOAA/DMA drops, NMEA logs): each is ingested once, when complete.

A file is complete when its size and modification time have not changed for ``settle_s`` seconds (2) and
its name does not mark it as still being written (``.part``, ``.tmp``, ``.crdownload``, a leading dot).
Files are ingested whole with :func:`supplyline.ingest.pipeline.ingest` (format detected from content, any
size, one transaction each), not through the spool: the file itself is the durable copy. Once means: the
content hash in the manifest makes a second ingest of the same bytes a skip, and ``seen.json`` in the
source's spool folder remembers (path, size, mtime) so a file is not hashed again on every scan.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from supplyline.watch.sources.base import Source

PARTIAL = (".part", ".tmp", ".crdownload", ".partial")


@dataclass
class FolderSource(Source):
    path: str = "."
    settle_s: float = 2.0
    state_dir: Path | None = None
    _sizes: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # path -> size, mtime, since
    _seen: dict[str, list[float]] = field(default_factory=dict)

    def _load(self) -> None:
        if self.state_dir is not None and (self.state_dir / "seen.json").exists():
            self._seen = json.loads((self.state_dir / "seen.json").read_text())

    def mark_done(self, path: Path) -> None:
        """Remember ``path`` as ingested (size and mtime), durably."""
        st = path.stat()
        self._seen[str(path)] = [st.st_size, st.st_mtime]
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.state_dir / "seen.json.tmp"
            tmp.write_text(json.dumps(self._seen))
            os.replace(tmp, self.state_dir / "seen.json")

    def ready(self) -> list[Path]:
        """Files complete and not yet ingested, oldest first."""
        now, out = time.monotonic(), []
        for p in sorted(Path(self.path).rglob("*"), key=lambda q: (q.stat().st_mtime, str(q))):
            if not p.is_file() or p.name.startswith(".") or p.name.endswith(PARTIAL):
                continue
            st = p.stat()
            if self._seen.get(str(p)) == [st.st_size, st.st_mtime]:
                continue
            size, mtime, since = self._sizes.get(str(p), (-1, -1.0, now))
            if (size, mtime) != (st.st_size, st.st_mtime):
                self._sizes[str(p)] = (st.st_size, st.st_mtime, now)
            elif now - since >= self.settle_s:
                out.append(p)
        return out

    async def run(self) -> None:
        """Nothing to read: the store loop asks :meth:`ready` (files are ingested whole, not spooled)."""
        import asyncio

        self._load()
        Path(self.path).mkdir(parents=True, exist_ok=True)
        self.stats.state = "watching"
        await asyncio.Future()
