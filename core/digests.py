"""sha256 of input files, remembered while a file is unchanged.

A run names itself after the digests of its inputs, so every run used to read every
input byte again (a season of imagery: gigabytes at a province's size) before it could
tell that nothing had changed. ``DigestCache`` keeps each file's digest with what the
file system says about it (inode, size, modification and change times in
nanoseconds): while all four stay the same the file is not read again. The change
time moves with every write and cannot be set back by ``touch`` or a copy tool. As in
git's index, a file modified within ``RACY_S`` seconds of being hashed is hashed again
next time, since a coarse file-system clock could hide a second write in that interval.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from core.io import atomic_write_json, sha256_file

__all__ = ["DigestCache", "RACY_S"]

RACY_S = 2.0
"""A file modified this recently when it was hashed is not trusted to be unchanged."""


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


class DigestCache:
    """File digests kept in a JSON file (``path``), or in memory only when ``path`` is None.

    Examples
    --------
    >>> cache = DigestCache(workspace / ".admon" / "input-digests.json")  # doctest: +SKIP
    >>> cache.sha256("imagery/2024/B04.tif")  # read once, then from the cache  # doctest: +SKIP
    >>> cache.save()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: dict[str, dict] = {}
        self.hashed = 0
        """Files read (and hashed) by this cache since it was opened."""
        if self.path is not None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}

    def sha256(self, file: str | os.PathLike[str]) -> str:
        """The hex sha256 of ``file``, read only if it changed since it was last hashed."""
        key = str(Path(file).resolve())
        stat = os.stat(key)
        known = self._entries.get(key)
        if known is not None and known.get("stamp") == _stamp(stat):
            return str(known["sha256"])
        started_ns = time.time_ns()
        digest = sha256_file(key)
        self.hashed += 1
        after = os.stat(key)
        settled = after.st_mtime_ns < started_ns - int(RACY_S * 1e9)
        if settled and _stamp(after) == _stamp(stat):
            self._entries[key] = {"stamp": _stamp(stat), "sha256": digest}
        else:
            self._entries.pop(key, None)
        return digest

    def save(self) -> None:
        """Write the digests back (atomically); entries of files that are gone are dropped."""
        if self.path is None:
            return
        kept = {key: entry for key, entry in self._entries.items() if os.path.exists(key)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, kept)
