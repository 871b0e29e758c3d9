"""The resource limits a tool script runs under."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Kernel limits (setrlimit) of the script and everything it starts, plus the output cap.

    `memory_bytes` is address space, not resident memory: Python with `langchain_core` imported
    maps about 70 MiB, and every thread reserves more, hence the generous default.
    `processes` is how many processes and threads the script may add to those its user
    already runs (RLIMIT_NPROC counts them all per uid, so the supervisor sets the limit to
    "now + processes" for the script only; the worker's own limit is untouched).
    `cpu_seconds` defaults to the wall-clock limit plus one second, a backstop for children
    that the wall-clock kill would reach anyway.
    """

    memory_bytes: int = 1024 * MIB
    processes: int = 64
    file_bytes: int = 64 * MIB
    open_files: int = 256
    output_bytes: int = 400_000
    cpu_seconds: int | None = None

    def cpu_for(self, time_limit: float) -> int:
        """The CPU-seconds limit for a run with this wall-clock limit."""
        if self.cpu_seconds is not None:
            return self.cpu_seconds
        return math.ceil(time_limit) + 1


DEFAULT_LIMITS = SandboxLimits()
