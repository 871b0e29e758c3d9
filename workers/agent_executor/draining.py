"""The process's "shutting down" flag, for responses that would otherwise hold the drain up.

uvicorn waits for open responses before it runs the app's shutdown (the consumer's drain),
and an event stream may stay open for as long as a job runs. `__main__` sets this flag from
uvicorn's signal handler; event streams end at their next check (within seconds) and their
clients reconnect, with their last event id, to a worker that is not stopping.
"""

from __future__ import annotations


class Draining:
    """Set once; a plain attribute, so setting it from a signal handler is safe."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """The process begins shutting down."""
        self._set = True

    def is_set(self) -> bool:
        """True once `set` was called."""
        return self._set
