"""A Secret volume as the kubelet keeps it: key files that are links through `..data`, which
an update repoints at a new folder in one rename (atomic for readers)."""

from __future__ import annotations

import os
from pathlib import Path


def kubelet_writes(directory: Path, name: str, value: str) -> None:
    """Set key `name` to `value`: a new timestamped folder, then `..data` swapped to it."""
    directory.mkdir(parents=True, exist_ok=True)
    generation = directory / f"..gen-{len(list(directory.glob('..gen-*')))}"
    generation.mkdir()
    previous = directory / "..data"
    if previous.exists():
        for old in previous.iterdir():
            if old.name != name:
                (generation / old.name).write_bytes(old.read_bytes())
    (generation / name).write_text(value)
    link = directory / "..data_tmp"
    link.symlink_to(generation.name)
    os.replace(link, previous)
    if not (directory / name).is_symlink():
        (directory / name).symlink_to(f"..data/{name}")
