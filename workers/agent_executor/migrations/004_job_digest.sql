-- What a job id was first used for: a digest of its definition and input (or of the raw
-- message, for input that could not run). The same id with another digest is a conflict,
-- never a second result for that id.
ALTER TABLE agent_jobs ADD COLUMN IF NOT EXISTS digest text;
