-- The per-run token budget set by `agent.control.set_budget`, for every worker and every
-- restart: one row (the `singleton` key admits only true); `tokens_per_run` NULL means no
-- override, TOKEN_BUDGET_PER_RUN applies. Workers read it at start and every
-- BUDGET_REFRESH_SECONDS; the worker that takes a set_budget command writes it.
CREATE TABLE IF NOT EXISTS agent_token_budget_override (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tokens_per_run bigint CHECK (tokens_per_run > 0),
    reason text,
    set_by text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
