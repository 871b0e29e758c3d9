"""Per-job PostgreSQL advisory locks, all held on one connection of their own.

JetStream may hand a still-running job to a second worker (after a server restart), and two
runs of one LangGraph thread would interleave their checkpoints, so a run holds a session
advisory lock on its job id. One dedicated connection holds the locks of every job running
in this process: a pooled connection per running job would double the connections a worker
needs, and a pool smaller than twice the concurrency (or a server `max_connections` below it)
would let lock holders wait forever for a connection to write their checkpoints.

Session locks are re-entrant within a session, so this process also keeps the set of job ids
it holds and refuses a second run of one of them itself. If the lock connection breaks, the
server has dropped its locks; the next acquire reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import structlog
from psycopg.rows import TupleRow

log = structlog.get_logger()


class JobLocks:
    """`try_acquire(job_id)` / `release(job_id)` over one autocommit connection."""

    def __init__(self, dsn: str, connect_timeout: float = 10.0) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[TupleRow] | None = None
        self._connecting = asyncio.Lock()
        self._held: set[str] = set()

    @property
    def held(self) -> frozenset[str]:
        """Job ids this process holds a lock for."""
        return frozenset(self._held)

    async def try_acquire(self, job_id: str) -> bool:
        """True when this process now runs `job_id`; False when a run of it is under way,
        here or on another worker. Raises psycopg.OperationalError when the database is down."""
        if job_id in self._held:
            return False
        self._held.add(job_id)  # before any await: a second delivery here sees it at once
        try:
            conn = await self._connection()
            cur = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (job_id,))
            row = await cur.fetchone()
        except BaseException:
            self._held.discard(job_id)
            raise
        if row is None or not row[0]:
            self._held.discard(job_id)
            return False
        return True

    async def release(self, job_id: str) -> None:
        """Give up the lock on `job_id`. Never raises: a lost connection released it already."""
        if job_id not in self._held:
            return
        self._held.discard(job_id)
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (job_id,))
        except psycopg.Error as exc:
            log.warning("could not release a job lock", job_id=job_id, error=str(exc))

    async def close(self) -> None:
        """Close the lock connection, which releases every lock it holds."""
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection[TupleRow]:
        async with self._connecting:
            conn = self._conn
            if conn is not None and not conn.closed and not conn.broken:
                return conn
            if conn is not None:
                log.warning("job lock connection lost; reconnecting")
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
                self._conn = None
            self._conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=int(self._connect_timeout)
            )
            return self._conn
