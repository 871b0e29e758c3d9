-- The job ledger: one row per job id (= LangGraph thread_id), written by every worker.
CREATE TABLE IF NOT EXISTS agent_jobs (
    job_id      text PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    outcome     text CHECK (outcome IN ('completed', 'failed')),
    -- The data of the published result event, so a redelivery republishes it unchanged.
    result      jsonb,
    trace_id    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS agent_jobs_finished_at ON agent_jobs (finished_at)
    WHERE finished_at IS NOT NULL;

-- Tokens spent per UTC day, for DAILY_TOKEN_BUDGET across every pod.
CREATE TABLE IF NOT EXISTS agent_token_usage (
    day    date PRIMARY KEY,
    tokens bigint NOT NULL DEFAULT 0
);
