"""JetStream names and subjects of the platform, shared by the function and the worker."""

from __future__ import annotations

EXECUTE_SUBJECTS = ("agent.execute.*",)
STATUS_COMPLETED = "agent.status.completed"
STATUS_FAILED = "agent.status.failed"
DLQ_PREFIX = "agent.dlq."
CANCEL_PREFIX = "agent.control.cancel."

# The platform's own streams (platform/nats-streams) and their subjects.
PLATFORM_STREAMS: dict[str, tuple[str, ...]] = {
    "AGENT_EXECUTION": EXECUTE_SUBJECTS,
    "AGENT_STATUS": ("agent.status.*",),
    "AGENT_DLQ": ("agent.dlq.*",),
}


def subjects_overlap(first: str, second: str) -> bool:
    """True when some subject matches both patterns (`*` one token, `>` one or more)."""
    a, b = first.split("."), second.split(".")
    for x, y in zip(a, b, strict=False):
        if ">" in (x, y):
            return True
        if "*" not in (x, y) and x != y:
            return False
    return len(a) == len(b)
