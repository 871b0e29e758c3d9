"""What the agent needs from the service around it, and the errors it raises.

The agent package (graph, tools, LLM client) depends only on these protocols;
the worker supplies Redis-backed events and a Postgres-backed token budget,
tests supply in-memory ones.
"""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    """Receives progress events; implementations must never raise into the agent."""

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Publish one event: on_llm_stream, on_tool_start, on_tool_end, on_state_update."""


class TokenBudget(Protocol):
    """Per-run and daily token limits, checked before and charged after each LLM call."""

    async def before_call(self, run_tokens: int) -> None:
        """Raise BudgetExceededError if another call may not start."""

    async def record(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Charge a finished call's usage."""


class PolicyReporter(Protocol):
    """Told when a run does something the worker's policy refuses; must never raise."""

    def tool_script_refused(self, tool: str) -> None:
        """A tool script was called while ALLOW_TOOL_SCRIPTS is off."""


class NoPolicyReporter:
    """A PolicyReporter that reports nowhere (tests and benchmarks of the agent alone)."""

    def tool_script_refused(self, tool: str) -> None:
        """Nothing to report to."""


class AgentError(Exception):
    """A job-level failure with a stable `type` for the failed result event."""

    type = "AgentError"


class InvalidAgentDefinitionError(AgentError):
    """The agent_definition cannot be run (names the field and the reason); never retried."""

    type = "InvalidAgentDefinition"


class BudgetExceededError(AgentError):
    """A token budget is spent; the job fails with this type and is not retried."""

    type = "BudgetExceeded"

    def __init__(self, message: str, scope: str = "per_run") -> None:
        super().__init__(message)
        # Which budget: `per_run` or `daily` (the daily one stops every job: more severe).
        self.scope = scope


class ToolScriptError(AgentError):
    """A tool script failed or timed out; reported to the model as the tool's result."""

    type = "ToolScriptError"
