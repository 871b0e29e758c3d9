"""API keys from a mounted Secret's files, re-read when they change (key rotation).

The kubelet updates a Secret volume in a running pod by writing the new files beside the old
ones and swapping a symlink: `stat` on a key's path then reports another inode or time, and
only then is the file read again. A key file that is missing or empty counts as no key, so
the variable of the same name (the Deployment's `secretKeyRef`) applies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# What identifies one version of a file: inode, modification time, size.
_Version = tuple[int, int, int]


@dataclass
class KeyFiles:
    """The key files of one folder; `get(name)` is the key in file `name`, or None."""

    directory: Path | None
    _seen: dict[str, tuple[_Version, str | None]] = field(default_factory=dict, repr=False)

    def get(self, name: str) -> str | None:
        """The key in `<directory>/<name>`, stripped; None when there is no such file or it
        is empty. Read again only when the file changed since the last call."""
        if self.directory is None:
            return None
        path = self.directory / name
        try:
            stat = os.stat(path)
        except OSError:
            self._seen.pop(name, None)
            return None
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        seen = self._seen.get(name)
        if seen is not None and seen[0] == version:
            return seen[1]
        try:
            key = path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
        self._seen[name] = (version, key)
        return key
