"""File digests remembered by their stat, so a build with nothing to do need not read every file again."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

DIGESTS_FILE = "digests.json"  # kept in the index folder: a new build's folder starts without one
# A digest is remembered only for a file left alone this long before it was read. A write in the same tick
# of the file system's clock as an earlier one could otherwise leave size and times as they were.
SETTLE_NS = 2_000_000_000


def _stamp(st: os.stat_result) -> list[int]:
    # Any write, truncation or rename through the file system moves ctime, which no program can set back.
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class DigestCache:
    """Digests of files keyed by path and stat; a file whose stat has moved is read and hashed again."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, list] = {}
        self._dirty = False
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = {k: v for k, v in loaded.items() if isinstance(v, list) and len(v) == 6}

    def digest(self, path: Path, compute: Callable[[Path], str]) -> str:
        """The digest of a file: remembered when its stat is as it was, else `compute(path)` (may raise OSError)."""
        key = os.path.abspath(path)
        before = _stamp(os.stat(path))
        entry = self._entries.get(key)
        if entry is not None and entry[:5] == before:
            return entry[5]
        digest = compute(path)
        after = _stamp(os.stat(path))
        if after == before and time.time_ns() - max(before[1], before[2]) >= SETTLE_NS:
            self._entries[key] = [*after, digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write the remembered digests (best effort: without them the next check just reads the files)."""
        if not self._dirty:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(json.dumps(self._entries), encoding="utf-8")
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            tmp.unlink(missing_ok=True)
