"""JetStream names, subjects and delivery defaults of the platform."""

from __future__ import annotations

DEFAULT_URL = "nats://nats.nats.svc:4222"
DEFAULT_STREAM = "AGENT_EXECUTION"
DEFAULT_CONSUMER = "agent-executor-workers"
DEFAULT_MONITORING_ENDPOINT = "nats-headless.nats.svc.cluster.local:8222"
DEFAULT_ACCOUNT = "$G"

EXECUTE_SUBJECTS = ("agent.execute.*",)
STATUS_COMPLETED = "agent.status.completed"
STATUS_FAILED = "agent.status.failed"
DLQ_PREFIX = "agent.dlq."
CANCEL_PREFIX = "agent.control.cancel."

# The platform's own streams (platform/nats-streams) and their subjects.
PLATFORM_STREAMS: dict[str, tuple[str, ...]] = {
    DEFAULT_STREAM: EXECUTE_SUBJECTS,
    "AGENT_STATUS": ("agent.status.*",),
    "AGENT_DLQ": ("agent.dlq.*",),
}

# Delivery settings of a managed consumer. The worker never assumes them: it reads
# max_deliver and ack_wait from the consumer it binds (the server is the one truth).
DEFAULT_MAX_DELIVER = 5
DEFAULT_ACK_WAIT_SECONDS = 120

# Headers of a result and of a dead-letter copy.
MSG_ID_HEADER = "Nats-Msg-Id"
DEAD_LETTER_REASON_HEADER = "Agent-Dead-Letter-Reason"
DEAD_LETTER_TYPE_HEADER = "Agent-Dead-Letter-Type"


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
