-- A job submitted over HTTP (POST /jobs, /deepagents-runtime/invoke) is recorded as
-- 'queued' before it is published, so GET /jobs/{id} answers before a worker starts it;
-- the worker's first attempt moves it to 'running'. Only the CHECK constraint changes
-- (001 named it implicitly: agent_jobs_status_check); existing rows are untouched.
ALTER TABLE agent_jobs DROP CONSTRAINT IF EXISTS agent_jobs_status_check;
ALTER TABLE agent_jobs ADD CONSTRAINT agent_jobs_status_check
    CHECK (status IN ('queued', 'running', 'completed', 'failed'));
