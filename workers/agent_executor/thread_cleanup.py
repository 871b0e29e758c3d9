"""Deleting one thread: its LangGraph checkpoints, its ledger row and its replay events.

What ide-orchestrator's `DELETE /cleanup/{thread_id}` asks for once a proposal is approved or
rejected. A job that is queued or running is never deleted under its worker: the caller is
told so and nothing is touched. The checkpoints and the row go in one transaction, with the
row locked, so a worker starting the same id meanwhile waits and then starts afresh.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from contract.events import replay_key
from workers.agent_executor.retention import CHECKPOINT_TABLES

LEDGER_TABLE = "agent_jobs"
EVENTS = "events"


@dataclass(frozen=True)
class ThreadCleanup:
    """What a cleanup did: refused because the job is unfinished, or rows deleted per table."""

    busy: bool = False
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """True when anything of the thread existed (and is now gone)."""
        return any(self.deleted.values())


async def delete_thread(pool: AsyncConnectionPool, redis: Redis, thread_id: str) -> ThreadCleanup:
    """Delete everything the worker keeps of `thread_id`, unless its job is unfinished."""
    deleted: dict[str, int] = {}
    async with (
        pool.connection() as conn,
        conn.transaction(),
        conn.cursor(row_factory=dict_row) as cur,
    ):
        await cur.execute(
            "SELECT status FROM agent_jobs WHERE job_id = %s FOR UPDATE", (thread_id,)
        )
        row = await cur.fetchone()
        # Queued or running, a row with no attempt yet included (a job still to come, known
        # from a cancel request): deleting it would not stop the job, only hide it.
        if row is not None and row["status"] in ("queued", "running"):
            return ThreadCleanup(busy=True)
        for table in CHECKPOINT_TABLES:
            await cur.execute(
                sql.SQL("DELETE FROM {} WHERE thread_id = %s").format(sql.Identifier(table)),
                (thread_id,),
            )
            deleted[table] = cur.rowcount
        await cur.execute("DELETE FROM agent_jobs WHERE job_id = %s", (thread_id,))
        deleted[LEDGER_TABLE] = cur.rowcount
    # Best effort, like all streaming: the stream expires on its own anyway.
    with contextlib.suppress(RedisError, OSError):
        deleted[EVENTS] = int(await redis.delete(replay_key(thread_id)))
    return ThreadCleanup(deleted=deleted)
