"""The events the worker consumes and produces, as pydantic models (DESIGN section 6).

`contract/events.py` names the types and the attribute rule; these models give the whole
shape, so the examples under `docs/event_examples/` are validated against them
(`tests/unit/test_event_examples.py`) and cannot drift from what the worker sends. The
worker's own input parser (`workers/agent_executor/envelope.py`) stays the authority on what
it accepts; the tests check that it accepts the execute examples too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.governance import EscalationData, ViolationData
from contract.jobs import JOB_ID_MAX_LENGTH, JOB_ID_PATTERN

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

JobId = Field(min_length=1, max_length=JOB_ID_MAX_LENGTH, pattern=JOB_ID_PATTERN)


# The literals below are contract/events.py's EXECUTE_TYPE, COMPLETED_TYPE, FAILED_TYPE and
# RESULT_SOURCE (a type annotation cannot name a constant); the tests hold them equal.


class _Strict(BaseModel):
    # An example with a field no producer sends is a wrong example.
    model_config = ConfigDict(extra="forbid")


class CloudEvent(_Strict):
    """The CloudEvents 1.0 attributes the platform's structured events carry."""

    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str
    subject: str | None = None
    time: str | None = None
    datacontenttype: Literal["application/json"] | None = None
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)


class JobExecution(_Strict):
    """A job: the JobExecutionEvent, bare or as a CloudEvent's data."""

    job_id: str = JobId
    agent_definition: dict[str, Any]
    input_payload: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None


class ExecuteEvent(CloudEvent):
    """A job in a structured CloudEvent, on `agent.execute.<anything>`."""

    type: Literal["dev.my-platform.agent.execute"]
    data: JobExecution


class Usage(_Strict):
    """Tokens one model used in a job."""

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class FileData(_Strict):
    """A file of the job's virtual filesystem."""

    content: list[str]
    created_at: str
    modified_at: str


class CompletedResult(_Strict):
    """What a completed job reports."""

    output: str | None
    status: Literal["completed"]
    files: dict[str, FileData]
    usage: dict[str, Usage]
    # How the definition was read differently than written (deepagents-runtime's leniency).
    warnings: list[str] | None = None
    # Present only when the event was trimmed to fit NATS's max payload.
    truncated: dict[str, Any] | None = None


class CompletedData(_Strict):
    """`data` of a completed event."""

    job_id: str = JobId
    result: CompletedResult


class CompletedEvent(CloudEvent):
    """The result of a completed job, on `agent.status.completed`."""

    type: Literal["dev.my-platform.agent.completed"]
    source: Literal["agent-executor-service"]
    data: CompletedData


class ErrorInfo(_Strict):
    """Why a job failed: a message and a stable type (InvalidInput, Cancelled, ...)."""

    message: str
    type: str = Field(min_length=1)
    truncated: dict[str, Any] | None = None


class FailedData(_Strict):
    """`data` of a failed event."""

    job_id: str = JobId
    error: ErrorInfo


class FailedEvent(CloudEvent):
    """The result of a failed job, on `agent.status.failed`."""

    type: Literal["dev.my-platform.agent.failed"]
    source: Literal["agent-executor-service"]
    data: FailedData


class CancelRequest(_Strict):
    """The body of `agent.control.cancel.<job_id>`; its job id wins over the subject's."""

    job_id: str = JobId


class DeadLetterHeaders(BaseModel):
    """The headers a dead-letter copy adds to the original message's own."""

    # The original's headers (a binary CloudEvent's ce-*, traceparent, ...) stay on the copy.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    msg_id: str = Field(alias="Nats-Msg-Id", pattern=r"\.dlq$")
    reason: str = Field(alias="Agent-Dead-Letter-Reason", min_length=1, max_length=1000)
    type: str = Field(alias="Agent-Dead-Letter-Type", min_length=1)


# --- Control and governance (contract/control.py, contract/governance.py, contract/heartbeats.py)


class ViolationEvent(CloudEvent):
    """A policy violation, on `agent.governance.violation`."""

    type: Literal["dev.my-platform.agent.governance.violation"]
    source: Literal["agent-executor-service"]
    data: ViolationData


class EscalationEvent(CloudEvent):
    """A dead-lettered job announced on `agent.control.escalate` (seed 001's `escalate`)."""

    type: Literal["dev.my-platform.agent.escalate"]
    source: Literal["agent-executor-service"]
    data: EscalationData
