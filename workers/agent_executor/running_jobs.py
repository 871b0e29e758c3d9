"""When the jobs this process is running now started: the age of the oldest, for a gauge.

A job that outlives its time limit is stuck where the limit cannot reach it; the alert on
`agent_executor_oldest_job_age_seconds` finds it while it still runs, which no counter of
finished jobs can.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager


def oldest_age(starts: Iterable[float], now: float) -> float:
    """Seconds since the earliest of `starts` at `now`; 0 when nothing runs."""
    earliest = min(starts, default=None)
    return 0.0 if earliest is None else max(0.0, now - earliest)


class RunningJobs:
    """The start times of the runs in progress, keyed by a token per run (not the job id,
    so that the end of a run removes exactly its own start, whatever the ids)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._starts: dict[int, float] = {}
        self._tokens = itertools.count()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the enclosed block as one run, from entry until it exits in any way."""
        token = next(self._tokens)
        self._starts[token] = self._clock()
        try:
            yield
        finally:
            del self._starts[token]

    def oldest_age(self) -> float:
        """Seconds the oldest run in progress has been running; 0 when idle."""
        return oldest_age(self._starts.values(), self._clock())
