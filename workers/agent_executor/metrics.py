"""Prometheus metrics; names and labels are the contract of platform/observability."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from contract import governance
from workers.agent_executor.running_jobs import RunningJobs

JOBS = Counter("agent_executor_jobs_total", "Jobs finished, by outcome.", ["outcome"])
JOB_DURATION = Histogram(
    "agent_executor_job_duration_seconds",
    "Wall time of a job attempt, by outcome.",
    ["outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
IN_FLIGHT = Gauge("agent_executor_jobs_in_flight", "Jobs running in this process.")
# Read at scrape time from the runs in progress (runner.py enters RUNNING_JOBS.running()).
RUNNING_JOBS = RunningJobs()
OLDEST_JOB_AGE = Gauge(
    "agent_executor_oldest_job_age_seconds",
    "Age of the oldest job this process is running now, 0 when idle.",
)
OLDEST_JOB_AGE.set_function(RUNNING_JOBS.oldest_age)
# `reason` is the dead letter's error type (Agent-Dead-Letter-Type: InvalidInput,
# RateLimited, ...), a short fixed set; the free-text reason stays in the header.
DEAD_LETTERS = Counter(
    "agent_executor_dead_letters_total",
    "Messages copied to the dead-letter stream, by reason (the error type).",
    ["reason"],
)
REDELIVERIES = Counter("agent_executor_redeliveries_total", "Messages delivered more than once.")
LLM_TOKENS = Counter("agent_executor_llm_tokens_total", "LLM tokens used.", ["model", "kind"])
LLM_LATENCY = Histogram(
    "agent_executor_llm_request_duration_seconds",
    "Duration of one LLM call, by model.",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60, 120),
)
LLM_FALLBACKS = Counter(
    "agent_executor_llm_fallbacks_total",
    "LLM calls moved on to the next model of a fallback chain, by models and reason.",
    ["from_model", "to_model", "reason"],
)
STREAM_PUBLISH_ERRORS = Counter(
    "agent_executor_stream_publish_errors_total", "Progress events Redis did not take."
)
BUDGET_USED = Gauge(
    "agent_executor_token_budget_used_ratio", "Share of a token budget used (0..1).", ["scope"]
)

# Every outcome the alerts and the dashboard select on. Their series exist from the start
# (at zero), so a rate over "dead_lettered" is 0, not absent, before the first dead letter.
OUTCOMES = ("completed", "failed", "cancelled", "dead_lettered")
for _outcome in OUTCOMES:
    JOBS.labels(outcome=_outcome)
    JOB_DURATION.labels(outcome=_outcome)
NATS_ERRORS = Counter(
    "agent_executor_nats_errors_total",
    "Errors the NATS server reported to this worker, by kind (a permissions violation means "
    "the server config does not grant what the worker does).",
    ["kind"],
)
# Every kind from the start, so an alert's increase() is 0 rather than absent.
NATS_ERROR_KINDS = ("permissions", "authorization", "other")
for _kind in NATS_ERROR_KINDS:
    NATS_ERRORS.labels(kind=_kind)

# Seed 000's conventions: what happened to each JetStream message, and one health gauge.
NATS_MESSAGES = Counter(
    "agent_executor_nats_messages_total",
    "JetStream job messages by what this worker did with them: fetched, then acked, nacked "
    "(redelivered later) or terminated; dead_lettered when a copy went to agent.dlq.",
    ["action"],
)
NATS_ACTIONS = ("fetched", "acked", "nacked", "terminated", "dead_lettered")
for _action in NATS_ACTIONS:
    NATS_MESSAGES.labels(action=_action)
HEALTH = Gauge(
    "agent_executor_health",
    "1 when PostgreSQL, Redis/Dragonfly and NATS all answered the last check (/ready, or "
    "the periodic one), else 0.",
)
# Governance (DESIGN section 6, "Control and governance"): violations by type and severity,
# every series from the start (SEVERITY_OF in contract/governance.py), and the per-run token
# budget in force after any set_budget (0: none).
GOVERNANCE_VIOLATIONS = Counter(
    "agent_executor_governance_violations_total",
    "Policy violations published on agent.governance.violation, by type and severity.",
    ["type", "severity"],
)
for _type, _severity in governance.SEVERITY_OF.items():
    GOVERNANCE_VIOLATIONS.labels(type=_type, severity=_severity)
GOVERNANCE_VIOLATIONS.labels(
    type=governance.BUDGET_EXCEEDED, severity=governance.DAILY_BUDGET_SEVERITY
)
TOKEN_BUDGET_PER_RUN = Gauge(
    "agent_executor_token_budget_per_run",
    "Per-run token budget in force (TOKEN_BUDGET_PER_RUN or the set_budget override; 0: none).",
)
# Heartbeats (contract/heartbeats.py): the alert "heartbeats missing" compares the two gauges.
HEARTBEAT_PUBLISHED = Gauge(
    "agent_executor_heartbeat_published_timestamp_seconds",
    "Unix time of the last heartbeat this worker published successfully.",
)
HEARTBEAT_INTERVAL = Gauge(
    "agent_executor_heartbeat_interval_seconds", "How often this worker publishes a heartbeat."
)
HEARTBEAT_FAILURES = Counter(
    "agent_executor_heartbeat_publish_failures_total",
    "Heartbeats JetStream did not take (no stream, no permission, NATS down).",
)
