"""Which user a tool script runs as, and which directories that user must be shown.

A worker that is not root (the production image runs as uid 10001) runs scripts as itself:
it cannot change user, and being non-dumpable already closes its secrets to them. A root
worker (CI, development machines) must not: root usually holds CAP_SYS_PTRACE, which reads a
non-dumpable process's environ anyway, and root is exempt from RLIMIT_NPROC. So it runs scripts
as `nobody`. That user may be unable to reach the interpreter (pyenv under a 0700 /root); the
supervisor then shows it just the interpreter's directories (see `exposures`).
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

# Debian's and most images' `nobody`; used when the passwd database has no such entry.
NOBODY_ID = 65534


@dataclass(frozen=True)
class SandboxUser:
    """A uid and gid to switch to (supplementary groups are dropped)."""

    uid: int
    gid: int


def sandbox_user(euid: int) -> SandboxUser | None:
    """The user a worker running as `euid` starts scripts as; None: stay this user."""
    if euid != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return SandboxUser(NOBODY_ID, NOBODY_ID)
    return SandboxUser(entry.pw_uid, entry.pw_gid)


def interpreter_paths() -> list[str]:
    """What running `sys.executable -I` reads: the interpreter, its prefixes, its libraries."""
    paths = {
        os.path.realpath(sys.executable),
        sys.prefix,
        sys.base_prefix,
        *(sysconfig.get_paths().get(key, "") for key in ("stdlib", "platstdlib", "purelib")),
        str(sysconfig.get_config_var("LIBDIR") or ""),
    }
    return sorted(os.path.realpath(p) for p in paths if p and os.path.exists(p))


def _searchable_by_others(path: str) -> bool:
    mode = os.stat(path).st_mode
    return not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH)


def blocked_ancestor(path: str, searchable: Iterable[str] | None = None) -> str | None:
    """The outermost directory above `path` that others may not enter, if any.

    `searchable` (for tests) lists the directories that count as enterable; by default the
    file system's `o+x` bit decides. `nobody` owns nothing on a normal system, so the "other"
    permission bits are the ones that apply to it.
    """
    allowed = set(searchable) if searchable is not None else None
    for parent in reversed(PurePosixPath(path).parents):
        directory = str(parent)
        if directory == "/":
            continue
        ok = directory in allowed if allowed is not None else _searchable_by_others(directory)
        if not ok:
            return directory
    return None


def exposures(
    paths: Iterable[str], searchable: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """For each directory others may not enter, the paths below it to show them.

    Paths nested in another shown path are dropped: showing the outer one shows them.
    """
    allowed = list(searchable) if searchable is not None else None
    groups: dict[str, list[str]] = {}
    for path in sorted(set(paths)):
        ancestor = blocked_ancestor(path, allowed)
        if ancestor is None:
            continue
        shown = groups.setdefault(ancestor, [])
        if not any(PurePosixPath(path).is_relative_to(outer) for outer in shown):
            shown.append(path)
    return groups


@cache
def interpreter_exposures() -> dict[str, list[str]]:
    """The interpreter's paths that `nobody` cannot reach on this machine (computed once)."""
    return exposures(interpreter_paths())
