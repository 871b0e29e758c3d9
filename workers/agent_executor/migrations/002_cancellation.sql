-- A cancel request outlives the worker that received it: a queued or resumed job
-- that was asked to stop is failed as Cancelled instead of run.
ALTER TABLE agent_jobs ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz;
