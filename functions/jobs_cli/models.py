"""What crosses the wire, as pydantic models: jobs going in, events and outcomes coming back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.events import CANCELLED
from contract.jobs import JOB_ID_MAX_LENGTH, JOB_ID_PATTERN

Outcome = Literal["completed", "failed"]


class JobExecutionEvent(BaseModel):
    """One job as the executor reads it; other fields a producer adds are passed on as given."""

    model_config = ConfigDict(extra="allow")

    job_id: str = Field(min_length=1, max_length=JOB_ID_MAX_LENGTH, pattern=JOB_ID_PATTERN)
    agent_definition: dict[str, Any]
    input_payload: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None


class StreamEvent(BaseModel):
    """One progress event: its Redis Stream entry id (the SSE `id`), type and data."""

    id: str
    event_type: str
    data: dict[str, Any] = Field(default_factory=dict)


class JobOutcome(BaseModel):
    """A finished job: `result` (output, files, usage) when completed, `error` when failed."""

    job_id: str
    outcome: Outcome
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def from_data(cls, outcome: Outcome, data: dict[str, Any], job_id: str) -> JobOutcome:
        """From a result event's `data`, or a ledger row's `result`: `{"result"}` or `{"error"}`."""
        result, error = data.get("result"), data.get("error")
        return cls(
            job_id=job_id,
            outcome=outcome,
            result=result if isinstance(result, dict) else None,
            error=error if isinstance(error, dict) else None,
        )

    @property
    def cancelled(self) -> bool:
        """True when the job failed because it was asked to stop."""
        return self.outcome == "failed" and (self.error or {}).get("type") == CANCELLED

    @property
    def exit_code(self) -> int:
        """0 for a completed job, 1 for a failed or cancelled one."""
        return 0 if self.outcome == "completed" else 1


class LedgerRow(BaseModel):
    """`GET /jobs/{id}`: the worker's ledger row of a job."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    status: str
    attempts: int = 0
    outcome: str | None = None
    result: dict[str, Any] | None = None

    def finished(self) -> JobOutcome | None:
        """The job's outcome once the ledger has recorded one, else None."""
        if self.outcome not in ("completed", "failed") or self.result is None:
            return None
        outcome: Outcome = "completed" if self.outcome == "completed" else "failed"
        return JobOutcome.from_data(outcome, self.result, self.job_id)


class Links(BaseModel):
    """Where to read an accepted job: its ledger row and its event stream."""

    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    events: str


class Accepted(BaseModel):
    """`POST /jobs` → 202: the job is queued."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    status: str
    links: Links | None = None


class CancelReply(BaseModel):
    """`DELETE /jobs/{id}`'s answer, and what a NATS cancel request amounts to."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    cancel: Literal["requested", "too late"]
    status: str | None = None
