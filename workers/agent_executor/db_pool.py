"""The worker's PostgreSQL connection pool, checked only where a check can find something.

psycopg_pool's `check_connection` pings a connection on every checkout: one extra round trip
per checkpoint write or ledger query, about a sixth of the worker's CPU under load. A
connection that was in use a moment ago has just proved itself; one that sat idle may have
been cut by a server restart or a proxy's idle timeout, so only those are pinged. A connection
that breaks between two close uses still fails its query, which the runner treats as a
transient fault (the job is redelivered and resumes from its checkpoint).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

IDLE_CHECK_SECONDS = 5.0


class IdleCheck:
    """Pool `check`/`reset` callbacks: ping a connection idle for over `idle_seconds`."""

    def __init__(self, idle_seconds: float = IDLE_CHECK_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    async def reset(self, conn: AsyncConnection[Any]) -> None:
        """Note when `conn` went back to the pool."""
        self._returned[conn] = time.monotonic()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        """Raise when an idle `conn` is unusable, so the pool replaces it."""
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > self.idle_seconds:
            await AsyncConnectionPool.check_connection(conn)


def connection_pool(
    dsn: str, max_size: int, idle_check_seconds: float = IDLE_CHECK_SECONDS
) -> AsyncConnectionPool:
    """An unopened pool in the form AsyncPostgresSaver expects (autocommit, dict rows)."""
    idle = IdleCheck(idle_check_seconds)
    return AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=idle.check,
        reset=idle.reset,
    )
