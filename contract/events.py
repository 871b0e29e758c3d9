"""Event formats producers, the worker and the tenant CLI agree on (DESIGN section 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def attribute_problem(attributes: Mapping[str, Any], *, binary: bool = False) -> str | None:
    """What makes `attributes` a CloudEvent the executor refuses, naming the attribute as the
    producer wrote it (a `ce-` header in binary mode), or None when it is accepted."""

    def label(name: str) -> str:
        return f"ce-{name} header" if binary else f"{name} attribute"

    for name in REQUIRED_ATTRIBUTES:
        value = attributes.get(name)
        if value is None:
            return f"{label(name)} is missing"
        if not isinstance(value, str) or not value:
            return f"{label(name)} must be a non-empty string"
    if attributes["specversion"] != "1.0":
        return f"{label('specversion')} is {_shown(attributes['specversion'])}, not 1.0"
    if attributes["type"] != EXECUTE_TYPE:
        return f"{label('type')} is {_shown(attributes['type'])}, not {EXECUTE_TYPE}"
    return None


def _shown(value: str) -> str:
    """A producer's value in an error message, cut short: it is echoed to logs and events."""
    return repr(value if len(value) <= 80 else value[:80] + "...")
