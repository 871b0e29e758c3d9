"""The ledger's queued state (migration 005), against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
import pytest

from testbed.servers import PostgresServer
from workers.agent_executor.db_pool import connection_pool
from workers.agent_executor.ledger import Ledger

T = TypeVar("T")
DIGEST = "job:" + "a" * 64
OTHER = "job:" + "b" * 64


def _with_ledger(url: str, body: Callable[[Ledger], Awaitable[T]]) -> T:
    async def main() -> T:
        async with connection_pool(url, 2) as pool:
            return await body(Ledger(pool))

    return asyncio.run(main())


def _id() -> str:
    return f"queue-{uuid.uuid4().hex[:12]}"


def test_a_submitted_job_is_queued_with_no_attempt(postgres: PostgresServer) -> None:
    job_id = _id()
    record, queued = _with_ledger(postgres.url, lambda ledger: ledger.enqueue(job_id, "t", DIGEST))
    assert queued
    assert (record.status, record.attempts, record.digest) == ("queued", 0, DIGEST)


def test_the_same_job_submitted_again_is_not_queued_twice(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[bool, bool, str]:
        _, first = await ledger.enqueue(job_id, None, DIGEST)
        again, second = await ledger.enqueue(job_id, None, DIGEST)
        return first, second, again.status

    assert _with_ledger(postgres.url, body) == (True, False, "queued")


def test_another_job_under_a_used_id_gets_the_first_row_back(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[bool, bool]:
        await ledger.enqueue(job_id, None, DIGEST)
        record, queued = await ledger.enqueue(job_id, None, OTHER)
        return queued, record.conflicts_with(OTHER)

    assert _with_ledger(postgres.url, body) == (False, True)


def test_the_first_attempt_moves_a_queued_job_to_running(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[str, int]:
        await ledger.enqueue(job_id, None, DIGEST)
        record = await ledger.start_attempt(job_id, None, DIGEST)
        return record.status, record.attempts

    assert _with_ledger(postgres.url, body) == ("running", 1)


def test_a_queued_job_can_be_failed_before_any_attempt(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[str, str | None]:
        await ledger.enqueue(job_id, None, DIGEST)
        error = {"error": {"message": "gave up", "type": "Busy"}}
        record = await ledger.finish(job_id, "failed", error, DIGEST)
        return record.status, record.outcome

    assert _with_ledger(postgres.url, body) == ("failed", "failed")


def test_a_cancel_request_reaches_a_queued_job(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> bool:
        await ledger.enqueue(job_id, None, DIGEST)
        await ledger.request_cancel(job_id)
        record = await ledger.start_attempt(job_id, None, DIGEST)
        return record.cancel_requested_at is not None

    assert _with_ledger(postgres.url, body)


def test_a_job_known_only_from_a_cancel_request_is_queued_and_keeps_the_request(
    postgres: PostgresServer,
) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[bool, str, bool]:
        await ledger.request_cancel(job_id)
        record, queued = await ledger.enqueue(job_id, None, DIGEST)
        return queued, record.status, record.cancel_requested_at is not None

    assert _with_ledger(postgres.url, body) == (True, "queued", True)


def test_withdrawing_an_unpublished_job_frees_its_id(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> bool:
        await ledger.enqueue(job_id, None, DIGEST)
        await ledger.withdraw(job_id, DIGEST)
        return await ledger.get(job_id) is None

    assert _with_ledger(postgres.url, body)


def test_withdrawing_leaves_a_started_job_alone(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> str | None:
        await ledger.enqueue(job_id, None, DIGEST)
        await ledger.start_attempt(job_id, None, DIGEST)
        await ledger.withdraw(job_id, DIGEST)
        record = await ledger.get(job_id)
        return record.status if record else None

    assert _with_ledger(postgres.url, body) == "running"


def test_withdrawing_keeps_an_earlier_cancel_request(postgres: PostgresServer) -> None:
    job_id = _id()

    async def body(ledger: Ledger) -> tuple[str, str | None, bool]:
        await ledger.request_cancel(job_id)
        await ledger.enqueue(job_id, None, DIGEST)
        await ledger.withdraw(job_id, DIGEST)
        record = await ledger.get(job_id)
        assert record is not None
        return record.status, record.digest, record.cancel_requested_at is not None

    assert _with_ledger(postgres.url, body) == ("running", None, True)


def test_the_status_column_still_refuses_unknown_values(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO agent_jobs (job_id, status) VALUES (%s, 'sleeping')", (_id(),))
