"""The per-run token budget in force: `set_budget`'s persisted override, else TOKEN_BUDGET_PER_RUN.

The override lives in PostgreSQL (`agent_token_budget_override`, migration 006), so every
worker of the executor and every restart sees it. One worker writes it (the one the
`set_budget` queue group hands the command to); every worker reads it at start and every
BUDGET_REFRESH_SECONDS, and each LLM call checks the value in force then, so a lowered
budget also stops a job that is already running, at its next call.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from workers.agent_executor.metrics import TOKEN_BUDGET_PER_RUN


@dataclass(frozen=True)
class Override:
    """A stored override; `tokens_per_run` None means the override was cleared."""

    tokens_per_run: int | None
    reason: str | None
    set_by: str


class PerRunBudget:
    """The per-run budget this process applies now, mirrored in the metric."""

    def __init__(self, default: int | None) -> None:
        self.default = default
        self.override: int | None = None
        self._publish()

    @property
    def tokens(self) -> int | None:
        """The budget in force: the override when one is set, else the configured default."""
        return self.override if self.override is not None else self.default

    def apply(self, override: int | None) -> None:
        """Take `override` (None: back to the default) as the value in force."""
        self.override = override
        self._publish()

    def _publish(self) -> None:
        # 0 stands for "no per-run budget": a gauge has no way to say unset.
        TOKEN_BUDGET_PER_RUN.set(self.tokens or 0)


async def read_override(pool: AsyncConnectionPool) -> int | None:
    """The stored override, or None when none is set."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT tokens_per_run FROM agent_token_budget_override")
        row = await cur.fetchone()
    return int(row["tokens_per_run"]) if row and row["tokens_per_run"] is not None else None


async def store_override(pool: AsyncConnectionPool, override: Override) -> int | None:
    """Store `override` and return the one it replaced (None when there was none)."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        # The row is locked for the transaction, so two commands stored at once each see
        # the other's value as the previous one, in the order they were written.
        await cur.execute("SELECT tokens_per_run FROM agent_token_budget_override FOR UPDATE")
        row = await cur.fetchone()
        await cur.execute(
            """
            INSERT INTO agent_token_budget_override (singleton, tokens_per_run, reason, set_by)
            VALUES (true, %s, %s, %s)
            ON CONFLICT (singleton) DO UPDATE SET tokens_per_run = EXCLUDED.tokens_per_run,
                reason = EXCLUDED.reason, set_by = EXCLUDED.set_by, set_at = now()
            """,
            (override.tokens_per_run, override.reason, override.set_by),
        )
    return int(row["tokens_per_run"]) if row and row["tokens_per_run"] is not None else None
