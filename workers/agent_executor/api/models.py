"""The bodies the job routes answer with: pydantic models, so OpenAPI shows each one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from contract.events import EXECUTE_TYPE
from workers.agent_executor.envelope import JobExecutionEvent
from workers.agent_executor.ledger import JobRecord
from workers.agent_executor.runner import JobCancelledError

JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
# The ledger column's values (its CHECK constraint allows no others).
_COLUMN: dict[str, JobStatus] = {
    "queued": "queued",
    "running": "running",
    "completed": "completed",
    "failed": "failed",
}


class ErrorDetail(BaseModel):
    """What went wrong, and its type (`InvalidInput`, `JobIdConflict`, ...)."""

    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error of the job routes."""

    error: ErrorDetail


class JobLinks(BaseModel):
    """Where to read a job, and where to follow its events."""

    self: str = Field(examples=["/jobs/job-1"])
    events: str = Field(examples=["/jobs/job-1/events"])


class JobAccepted(BaseModel):
    """The answer to `POST /jobs`: the job id, its status now, and its links."""

    job_id: str
    status: JobStatus
    links: JobLinks


class JobView(BaseModel):
    """A job's ledger row as `GET /jobs/{job_id}` shows it."""

    job_id: str
    status: JobStatus
    attempts: int = Field(description="Attempts a worker started; 0 while queued.")
    outcome: Literal["completed", "failed"] | None
    result: dict[str, Any] | None = Field(
        description="The data of the result event: `{result: {output, files, usage, ...}}` "
        "or `{error: {message, type}}`; null until the job ends."
    )
    trace_id: str | None
    created_at: str
    updated_at: str
    finished_at: str | None
    cancel_requested_at: str | None
    links: JobLinks


class CancelRequested(BaseModel):
    """The answer to `DELETE /jobs/{job_id}` when the request went out."""

    job_id: str
    cancel: Literal["requested"]


class CancelRefused(BaseModel):
    """The answer to `DELETE /jobs/{job_id}` for a job that already ended."""

    job_id: str
    cancel: Literal["too late"]
    status: str


def links(job_id: str) -> JobLinks:
    """The links of `job_id` (relative: the worker does not know how it is reached)."""
    return JobLinks(self=f"/jobs/{job_id}", events=f"/jobs/{job_id}/events")


def presented_status(record: JobRecord) -> JobStatus:
    """The status a client sees, which says more than the ledger's column.

    A cancelled job is a failed row whose error type is Cancelled, and a row with no
    attempt yet is waiting to run (a cancel request can create one before the job
    arrives) even though its column still says running.
    """
    if record.status == "failed":
        error = (record.result or {}).get("error")
        if isinstance(error, dict) and error.get("type") == JobCancelledError.type:
            return "cancelled"
        return "failed"
    if record.status == "running" and record.attempts == 0:
        return "queued"
    return _COLUMN.get(record.status, "failed")


def job_view(record: JobRecord) -> JobView:
    """`record` for `GET /jobs/{job_id}`."""
    row = record.as_json()
    return JobView(**{**row, "status": presented_status(record), "links": links(record.job_id)})


def job_body_schema() -> dict[str, Any]:
    """The JSON Schema of a job submission: a JobExecutionEvent, or a structured CloudEvent
    whose `data` is one (binary mode: the JobExecutionEvent as the body, `ce-*` headers).

    Written into OpenAPI by hand because the route reads the raw body (parse_message does
    the validation, so every refusal is a 400 naming the field, never FastAPI's 422). It
    states what parse_message checks and no more: a body with `specversion` is read as a
    CloudEvent, and of its other attributes only `traceparent` is used, when a string.
    """
    job = JobExecutionEvent.model_json_schema()
    bare = {**job, "not": {"required": ["specversion"]}}
    cloudevent = {
        "title": "CloudEvent",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1},
            "source": {"type": "string", "minLength": 1},
            "type": {"const": EXECUTE_TYPE},
            "traceparent": {"description": "W3C trace context; used when it is a string."},
            "data": job,
        },
    }
    return {"anyOf": [bare, cloudevent]}


class ResultEvent(BaseModel):
    """The CloudEvent `POST /` answers with, as published to `agent.status.<outcome>`."""

    specversion: Literal["1.0"]
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, Any] = Field(description="`{job_id, result}` or `{job_id, error}`.")
    traceparent: str | None = None
