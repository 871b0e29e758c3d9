"""Closing the worker's memory and environment to processes of the same user.

A tool script runs as a child of the worker. On Linux any process of the same uid may read
`/proc/<pid>/environ` and `/proc/<pid>/mem` of a *dumpable* process, and the worker's
environment holds DATABASE_URL, OPENAI_API_KEY and the other secrets. `PR_SET_DUMPABLE 0`
makes those files (and ptrace) require CAP_SYS_PTRACE instead: they become owned by root and
the kernel's ptrace access check refuses readers without that capability. It also turns off
core dumps of the worker, which would carry the same secrets.

It does not stop a reader that holds CAP_SYS_PTRACE (root usually does), which is why a root
worker also runs scripts as another user (see `workers.agent_executor.agent.sandbox`).
"""

from __future__ import annotations

import ctypes
import os

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3

# The C library the interpreter is linked with (dlopen(NULL)); no search, no subprocess.
_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, arg: int = 0) -> int:
    result: int = _libc.prctl(option, arg, 0, 0, 0)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}): {os.strerror(errno)}")
    return result


def is_dumpable() -> bool:
    """Whether processes of the same uid may read this process's environ and memory."""
    return _prctl(PR_GET_DUMPABLE) != 0


def make_non_dumpable() -> None:
    """Close `/proc/<this pid>/environ`, `/mem` and ptrace to same-uid processes; idempotent.

    The flag is per process (all threads) and survives until the next execve, so one call
    early in the worker's startup covers every script it later starts.
    """
    if is_dumpable():
        _prctl(PR_SET_DUMPABLE, 0)
