"""The input envelope: a JobExecutionEvent, bare or in a CloudEvent (DESIGN section 6)."""

from __future__ import annotations

import json
from typing import Any, Literal

from cloudevents.v1.exceptions import GenericException
from cloudevents.v1.http import from_http
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.jobs import JOB_ID_MAX_LENGTH, JOB_ID_PATTERN, is_valid_job_id

EXECUTE_TYPE = "dev.my-platform.agent.execute"


class InvalidEventError(ValueError):
    """Input that can never run; `job_id` is set when the event named one."""

    type = "InvalidInput"

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobExecutionEvent(BaseModel):
    """One job: the LangGraph thread id, the agent to run and its input."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=JOB_ID_MAX_LENGTH, pattern=JOB_ID_PATTERN)
    agent_definition: dict[str, Any]
    input_payload: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None


class Envelope(BaseModel):
    """A parsed job with where it came from: a CloudEvent's attributes, or none when bare."""

    job: JobExecutionEvent
    event_id: str | None = None
    traceparent: str | None = None
    mode: Literal["structured", "binary", "bare"] = "bare"


def _job_id_hint(data: Any) -> str | None:
    if isinstance(data, dict):
        candidate = data.get("job_id")
        if is_valid_job_id(candidate):
            return str(candidate)
    return None


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors()
    )


def _job(data: Any, job_id: str | None) -> JobExecutionEvent:
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidEventError(f"data: not JSON ({exc})", job_id) from exc
    try:
        return JobExecutionEvent.model_validate(data)
    except ValidationError as exc:
        raise InvalidEventError(_describe(exc), job_id or _job_id_hint(data)) from exc


def parse_message(body: bytes, headers: dict[str, str] | None = None) -> Envelope:
    """Parse a NATS message or HTTP request: binary (ce-* headers), structured, or bare."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if "ce-specversion" in headers:
        try:
            event = from_http(headers, body)
        except GenericException as exc:
            raise InvalidEventError(f"binary CloudEvent: {exc}") from exc
        return _from_cloudevent(event.get_attributes(), event.get_data(), "binary", headers)
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidEventError(f"body: not JSON ({exc})") from exc
    if isinstance(document, dict) and "specversion" in document:
        data = document.get("data")
        if data is None and "data_base64" in document:
            raise InvalidEventError("data_base64 is not supported; send JSON data", None)
        return _from_cloudevent(document, data, "structured", headers)
    return Envelope(job=_job(document, None), mode="bare", traceparent=headers.get("traceparent"))


def _from_cloudevent(
    attributes: Any, data: Any, mode: Literal["structured", "binary"], headers: dict[str, str]
) -> Envelope:
    job_hint = _job_id_hint(data if isinstance(data, dict) else None)
    if str(attributes.get("specversion")) != "1.0":
        raise InvalidEventError("specversion: must be 1.0", job_hint)
    if attributes.get("type") not in (EXECUTE_TYPE, None):
        raise InvalidEventError(f"type: {attributes.get('type')!r} is not {EXECUTE_TYPE}", job_hint)
    traceparent = attributes.get("traceparent") or headers.get("traceparent")
    return Envelope(
        job=_job(data, job_hint),
        event_id=attributes.get("id"),
        traceparent=traceparent,
        mode=mode,
    )
