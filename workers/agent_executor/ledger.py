"""The job ledger: status, attempts and the recorded result of every job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool


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

    async def start_attempt(self, job_id: str, trace_id: str | None) -> JobRecord:
        """Count one more attempt on an unfinished job (creating its row) and return it."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                INSERT INTO agent_jobs (job_id, status, attempts, trace_id)
                VALUES (%s, 'running', 1, %s)
                ON CONFLICT (job_id) DO UPDATE
                   SET attempts = agent_jobs.attempts + 1, updated_at = now()
                 WHERE agent_jobs.status = 'running'
                RETURNING *
                """,
                (job_id, trace_id),
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
                 WHERE agent_jobs.status = 'running' AND agent_jobs.cancel_requested_at IS NULL
                """,
                (job_id,),
            )

    async def finish(self, job_id: str, outcome: str, result: dict[str, Any]) -> JobRecord:
        """Record the outcome once; a job already finished keeps its first result."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                INSERT INTO agent_jobs (job_id, status, attempts, outcome, result, finished_at)
                VALUES (%(id)s, %(outcome)s, 1, %(outcome)s, %(result)s, now())
                ON CONFLICT (job_id) DO UPDATE
                   SET status = %(outcome)s, outcome = %(outcome)s, result = %(result)s,
                       finished_at = now(), updated_at = now()
                 WHERE agent_jobs.status = 'running'
                RETURNING *
                """,
                {"id": job_id, "outcome": outcome, "result": Jsonb(result)},
            )
            row = await cur.fetchone()
            if row is None:  # finished before: the first result stands
                await cur.execute("SELECT * FROM agent_jobs WHERE job_id = %s", (job_id,))
                row = await cur.fetchone()
        assert row is not None
        return JobRecord(**row)
