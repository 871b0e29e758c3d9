"""Token budgets: per run (in memory) and per UTC day across every pod (in Postgres)."""

from __future__ import annotations

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from workers.agent_executor.agent.ports import BudgetExceededError
from workers.agent_executor.budget_override import PerRunBudget
from workers.agent_executor.metrics import BUDGET_USED, LLM_TOKENS


class PostgresBudget:
    """A TokenBudget for one run, charging the shared daily counter."""

    def __init__(self, pool: AsyncConnectionPool, per_run: PerRunBudget, daily: int | None) -> None:
        self.pool = pool
        self.per_run = per_run
        self.daily = daily

    async def before_call(self, run_tokens: int) -> None:
        """Refuse another LLM call once either budget is spent."""
        # Read at every call: a set_budget override takes effect on running jobs too.
        per_run = self.per_run.tokens
        if per_run is not None and run_tokens >= per_run:
            raise BudgetExceededError(
                f"per-run token budget exhausted: {run_tokens} of {per_run} tokens used"
            )
        if self.daily is None:
            return
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT tokens FROM agent_token_usage WHERE day = (now() AT TIME ZONE 'utc')::date"
            )
            row = await cur.fetchone()
        used = int(row["tokens"]) if row else 0
        BUDGET_USED.labels(scope="daily").set(min(1.0, used / self.daily))
        if used >= self.daily:
            raise BudgetExceededError(
                f"daily token budget exhausted: {used} of {self.daily} tokens used today (UTC)",
                scope="daily",
            )

    async def record(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Count a finished call's tokens in the metrics and the daily total."""
        LLM_TOKENS.labels(model=model, kind="prompt").inc(prompt_tokens)
        LLM_TOKENS.labels(model=model, kind="completion").inc(completion_tokens)
        if self.daily is None:
            return
        async with self.pool.connection() as conn:
            await conn.execute(
                """
                INSERT INTO agent_token_usage (day, tokens)
                VALUES ((now() AT TIME ZONE 'utc')::date, %s)
                ON CONFLICT (day) DO UPDATE SET tokens = agent_token_usage.tokens + EXCLUDED.tokens
                """,
                (prompt_tokens + completion_tokens,),
            )
