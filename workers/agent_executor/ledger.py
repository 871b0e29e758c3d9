"""The job ledger: status, attempts and the recorded result of every job.

A row's status moves `queued` (submitted over HTTP, not started yet) → `running` (a worker
counted an attempt) → `completed` or `failed`. A job that arrives over NATS directly has
no queued row: its first attempt creates it as running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

# `enqueue` reads a row it could not insert; a cleanup may delete it in between.
_RACE_ATTEMPTS = 3


class LedgerRaceError(RuntimeError):
    """A row changed under `enqueue` every time it looked (a cleanup deleting it meanwhile)."""


@dataclass(frozen=True)
class JobRecord:
    """One ledger row."""

    job_id: str
    status: str
    attempts: int
    outcome: str | None
    result: dict[str, Any] | None
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    cancel_requested_at: datetime | None = None
    digest: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row for `GET /jobs/{job_id}`."""
        return {
            "job_id": self.job_id,
            "status": self.status,
            "attempts": self.attempts,
            "outcome": self.outcome,
            "result": self.result,
            "trace_id": self.trace_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "cancel_requested_at": (
                self.cancel_requested_at.isoformat() if self.cancel_requested_at else None
            ),
        }

    def conflicts_with(self, digest: str) -> bool:
        """True when this row belongs to another job that used the same id."""
        return self.digest is not None and self.digest != digest


class Ledger:
    """Reads and writes `agent_jobs` through the shared connection pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, job_id: str) -> JobRecord | None:
        """The row of `job_id`, if any."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM agent_jobs WHERE job_id = %s", (job_id,))
            row = await cur.fetchone()
        return JobRecord(**row) if row else None

    async def enqueue(
        self, job_id: str, trace_id: str | None, digest: str
    ) -> tuple[JobRecord, bool]:
        """Record a submitted job as queued; True when this call queued it.

        An id nobody used yet is queued, and so is one known only from a cancel request
        (a placeholder row without a digest), which keeps its request. Any other row is
        returned unchanged with False: the caller answers with its status, or refuses a
        row of another digest as a conflict, and never publishes the job again.
        """
        for _ in range(_RACE_ATTEMPTS):
            async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """
                    INSERT INTO agent_jobs (job_id, status, attempts, trace_id, digest)
                    VALUES (%(id)s, 'queued', 0, %(trace)s, %(digest)s)
                    ON CONFLICT (job_id) DO UPDATE
                       SET status = 'queued', digest = EXCLUDED.digest, updated_at = now(),
                           trace_id = coalesce(agent_jobs.trace_id, EXCLUDED.trace_id)
                     WHERE agent_jobs.status = 'running' AND agent_jobs.attempts = 0
                       AND agent_jobs.digest IS NULL
                    RETURNING *
                    """,
                    {"id": job_id, "trace": trace_id, "digest": digest},
                )
                row = await cur.fetchone()
                if row is not None:
                    return JobRecord(**row), True
                await cur.execute("SELECT * FROM agent_jobs WHERE job_id = %s", (job_id,))
                row = await cur.fetchone()
            if row is not None:
                return JobRecord(**row), False
            # Deleted between the two statements (a cleanup): the id is free again.
        raise LedgerRaceError(f"job {job_id}: its row kept changing while being queued")

    async def withdraw(self, job_id: str, digest: str) -> None:
        """Undo `enqueue` when the job could not be published: no worker will ever start it.

        Only a row still queued for this digest is touched; a cancel request it carried
        is kept as the placeholder it was.
        """
        params = {"id": job_id, "digest": digest}
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                """
                DELETE FROM agent_jobs
                 WHERE job_id = %(id)s AND status = 'queued' AND attempts = 0
                   AND digest = %(digest)s AND cancel_requested_at IS NULL
                """,
                params,
            )
            await conn.execute(
                """
                UPDATE agent_jobs SET status = 'running', digest = NULL, updated_at = now()
                 WHERE job_id = %(id)s AND status = 'queued' AND attempts = 0
                   AND digest = %(digest)s AND cancel_requested_at IS NOT NULL
                """,
                params,
            )

    async def start_attempt(self, job_id: str, trace_id: str | None, digest: str) -> JobRecord:
        """Count one more attempt on an unfinished job of this digest (creating its row).

        A queued row becomes running with its first attempt.

        A finished row, or a row of another digest, is returned unchanged: the caller
        republishes the first or refuses the second as a conflict.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                INSERT INTO agent_jobs (job_id, status, attempts, trace_id, digest)
                VALUES (%(id)s, 'running', 1, %(trace)s, %(digest)s)
                ON CONFLICT (job_id) DO UPDATE
                   SET status = 'running', attempts = agent_jobs.attempts + 1, updated_at = now(),
                       digest = coalesce(agent_jobs.digest, EXCLUDED.digest),
                       trace_id = coalesce(agent_jobs.trace_id, EXCLUDED.trace_id)
                 WHERE agent_jobs.status IN ('queued', 'running')
                   AND (agent_jobs.digest IS NULL OR agent_jobs.digest = EXCLUDED.digest)
                RETURNING *
                """,
                {"id": job_id, "trace": trace_id, "digest": digest},
            )
            row = await cur.fetchone()
            if row is None:  # finished meanwhile: return it unchanged
                await cur.execute("SELECT * FROM agent_jobs WHERE job_id = %s", (job_id,))
                row = await cur.fetchone()
        assert row is not None
        return JobRecord(**row)

    async def request_cancel(self, job_id: str) -> None:
        """Remember that `job_id` must stop; a job that already finished is left alone."""
        async with self.pool.connection() as conn:
            await conn.execute(
                """
                INSERT INTO agent_jobs (job_id, status, attempts, cancel_requested_at)
                VALUES (%s, 'running', 0, now())
                ON CONFLICT (job_id) DO UPDATE SET cancel_requested_at = now(), updated_at = now()
                 WHERE agent_jobs.status IN ('queued', 'running')
                   AND agent_jobs.cancel_requested_at IS NULL
                """,
                (job_id,),
            )

    async def finish(
        self, job_id: str, outcome: str, result: dict[str, Any], digest: str
    ) -> JobRecord:
        """Record the outcome once, for this digest's job.

        A job already finished keeps its first result, and a row of another digest is left
        alone: the returned row says which happened.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                INSERT INTO agent_jobs
                       (job_id, status, attempts, outcome, result, finished_at, digest)
                VALUES (%(id)s, %(outcome)s, 1, %(outcome)s, %(result)s, now(), %(digest)s)
                ON CONFLICT (job_id) DO UPDATE
                   SET status = %(outcome)s, outcome = %(outcome)s, result = %(result)s,
                       finished_at = now(), updated_at = now(),
                       digest = coalesce(agent_jobs.digest, EXCLUDED.digest)
                 WHERE agent_jobs.status IN ('queued', 'running')
                   AND (agent_jobs.digest IS NULL OR agent_jobs.digest = EXCLUDED.digest)
                RETURNING *
                """,
                {"id": job_id, "outcome": outcome, "result": Jsonb(result), "digest": digest},
            )
            row = await cur.fetchone()
            if row is None:  # finished before: the first result stands
                await cur.execute("SELECT * FROM agent_jobs WHERE job_id = %s", (job_id,))
                row = await cur.fetchone()
        assert row is not None
        return JobRecord(**row)
