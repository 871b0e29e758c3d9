"""Per-job advisory locks on one dedicated connection, against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from testbed.servers import PostgresServer
from workers.agent_executor.job_locks import JobLocks


def _with_locks(url: str, body: Callable[[JobLocks, JobLocks], Awaitable[None]]) -> None:
    async def main() -> None:
        first, second = JobLocks(url), JobLocks(url)
        try:
            await body(first, second)
        finally:
            await first.close()
            await second.close()

    asyncio.run(main())


def _lock_holders(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory'").fetchall()
    return {row[0] for row in rows}


def test_a_job_locked_by_one_worker_is_refused_to_another_until_released(
    postgres: PostgresServer,
) -> None:
    async def body(first: JobLocks, second: JobLocks) -> None:
        assert await first.try_acquire("job-a")
        assert not await second.try_acquire("job-a")
        await first.release("job-a")
        assert await second.try_acquire("job-a")
        await second.release("job-a")

    _with_locks(postgres.url, body)


def test_a_second_run_of_a_job_in_the_same_process_is_refused(postgres: PostgresServer) -> None:
    async def body(first: JobLocks, second: JobLocks) -> None:
        del second
        # Session locks are re-entrant in PostgreSQL; the process must refuse on its own.
        results = await asyncio.gather(*(first.try_acquire("job-b") for _ in range(5)))
        assert sorted(results) == [False, False, False, False, True]
        assert first.held == {"job-b"}
        await first.release("job-b")
        assert first.held == frozenset()

    _with_locks(postgres.url, body)


def test_every_running_job_is_locked_on_one_connection(postgres: PostgresServer) -> None:
    async def body(first: JobLocks, second: JobLocks) -> None:
        del second
        jobs = [f"job-many-{i}" for i in range(40)]
        assert all(await asyncio.gather(*(first.try_acquire(j) for j in jobs)))
        assert len(_lock_holders(postgres.url)) == 1
        await asyncio.gather(*(first.release(j) for j in jobs))
        assert _lock_holders(postgres.url) == set()

    _with_locks(postgres.url, body)


def test_closing_releases_every_lock(postgres: PostgresServer) -> None:
    async def body(first: JobLocks, second: JobLocks) -> None:
        assert await first.try_acquire("job-c")
        assert await first.try_acquire("job-d")
        await first.close()
        assert await second.try_acquire("job-c")
        assert await second.try_acquire("job-d")

    _with_locks(postgres.url, body)


def test_a_lost_lock_connection_fails_one_acquire_then_reconnects(
    postgres: PostgresServer,
) -> None:
    async def body(first: JobLocks, second: JobLocks) -> None:
        assert await first.try_acquire("job-e")
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            (pid,) = _lock_holders(postgres.url)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The server dropped the session and with it the lock on job-e.
        assert await second.try_acquire("job-e")
        with pytest.raises(psycopg.OperationalError):
            await first.try_acquire("job-f")
        assert "job-f" not in first.held
        assert await first.try_acquire("job-f")
        await first.release("job-e")  # its lock went with the old session: no error

    _with_locks(postgres.url, body)
