"""Event formats producers, the worker and the tenant CLI agree on (DESIGN section 6)."""

from __future__ import annotations

# The CloudEvent a job arrives in, and the attributes it must carry.
EXECUTE_TYPE = "dev.my-platform.agent.execute"
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")
# The result CloudEvents on agent.status.<outcome>.
COMPLETED_TYPE = "dev.my-platform.agent.completed"
FAILED_TYPE = "dev.my-platform.agent.failed"
RESULT_SOURCE = "agent-executor-service"
# The error type of a cancelled job's failed result.
CANCELLED = "Cancelled"
# The progress event that is always last.
END_EVENT = "end"


def channel(job_id: str) -> str:
    """The Redis pub/sub channel of a job's progress events."""
    return f"langgraph:stream:{job_id}"


def replay_key(job_id: str) -> str:
    """The capped, expiring Redis Stream late subscribers replay a job's events from."""
    return f"{channel(job_id)}:replay"
