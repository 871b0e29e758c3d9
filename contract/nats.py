"""JetStream names, subjects and delivery defaults of the platform."""

from __future__ import annotations

DEFAULT_URL = "nats://nats.nats.svc:4222"
DEFAULT_STREAM = "AGENT_EXECUTION"
DEFAULT_CONSUMER = "agent-executor-workers"
DEFAULT_MONITORING_ENDPOINT = "nats-headless.nats.svc.cluster.local:8222"
# One NATS account per tenant, named after the tenant's namespace (`{layer}-{category}`):
# the subjects and stream names below are the same inside every account, and nothing in
# one account can see another's. An AgentExecutor without `nats.account` uses its own
# namespace's account (`tenant_account`).
SYSTEM_ACCOUNT = "SYS"
# The NACK `Account` resource in each tenant namespace: the JetStream admin credentials
# NACK uses for the tenant's account. The registry generates it; the function's managed
# Stream and Consumer reference it by this name.
NACK_ACCOUNT_RESOURCE = "nats-account"

EXECUTE_SUBJECTS = ("agent.execute.*",)
STATUS_COMPLETED = "agent.status.completed"
STATUS_FAILED = "agent.status.failed"
DLQ_PREFIX = "agent.dlq."
CONTROL_PREFIX = "agent.control."
CANCEL_PREFIX = CONTROL_PREFIX + "cancel."
# Control commands besides cancel (DESIGN section 6, "Control and governance").
CONTROL_COMMANDS = ("cancel", "heartbeat", "set_budget", "flush_cache")
HEARTBEAT_PREFIX = "agent.heartbeat."
GOVERNANCE_PREFIX = "agent.governance."

# The streams every tenant account has (generated from the tenant registry) and their subjects.
STATUS_STREAM = "AGENT_STATUS"
DLQ_STREAM = "AGENT_DLQ"
# The workers' latest heartbeats, one message per pod (`agent.heartbeat.<ns>.<executor>.<pod>`):
# `agentplane status` reads the fleet from it (contract/heartbeats.py).
HEARTBEAT_STREAM = "AGENT_HEARTBEATS"
HEARTBEAT_SUBJECTS = (HEARTBEAT_PREFIX + ">",)
PLATFORM_STREAMS: dict[str, tuple[str, ...]] = {
    DEFAULT_STREAM: EXECUTE_SUBJECTS,
    STATUS_STREAM: ("agent.status.*",),
    DLQ_STREAM: ("agent.dlq.*",),
    HEARTBEAT_STREAM: HEARTBEAT_SUBJECTS,
}
# The heartbeat stream keeps one message per subject (the pod's newest), for this long: a pod
# gone (crashed, or replaced by a rollout) stays visible as stale or stopped for an hour.
HEARTBEAT_MAX_MSGS_PER_SUBJECT = 1
HEARTBEAT_MAX_AGE_SECONDS = 3600

# Delivery settings of a managed consumer. The worker never assumes them: it reads
# max_deliver and ack_wait from the consumer it binds (the server is the one truth).
DEFAULT_MAX_DELIVER = 5
DEFAULT_ACK_WAIT_SECONDS = 120

# Headers of a result and of a dead-letter copy.
MSG_ID_HEADER = "Nats-Msg-Id"
DEAD_LETTER_REASON_HEADER = "Agent-Dead-Letter-Reason"
DEAD_LETTER_TYPE_HEADER = "Agent-Dead-Letter-Type"


def tenant_account(namespace: str) -> str:
    """The NATS account of the tenant that owns `namespace` (one account per tenant)."""
    return namespace


def subject_token(job_id: str) -> str:
    """A job id as one subject token: dots would split it into several."""
    return job_id.replace(".", "_")


def subjects_overlap(first: str, second: str) -> bool:
    """True when some subject matches both patterns (`*` one token, `>` one or more)."""
    a, b = first.split("."), second.split(".")
    for x, y in zip(a, b, strict=False):
        if ">" in (x, y):
            return True
        if "*" not in (x, y) and x != y:
            return False
    return len(a) == len(b)
