"""The asynchronous jobs API: submit a job (`POST /jobs`) and follow its events as SSE.

`GET /jobs/{job_id}` and `DELETE /jobs/{job_id}` are in `jobs.py`; all four answer for the
same ledger row. Nothing here runs a job: submitting publishes it to JetStream, where the
workers' consumer picks it up like any other producer's job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from contract.jobs import is_valid_job_id
from workers.agent_executor.api import sse
from workers.agent_executor.api.auth import TOKEN_RESPONSES, require_token
from workers.agent_executor.api.errors import (
    NOT_FOUND,
    STORE_ERRORS,
    bad_job_id,
    error_response,
    json_error,
)
from workers.agent_executor.api.job_streams import follow_job, job_known
from workers.agent_executor.api.models import (
    ErrorBody,
    JobAccepted,
    job_body_schema,
    links,
    presented_status,
)
from workers.agent_executor.api.params import JobIdPath, LastEventIdHeader
from workers.agent_executor.api.submit_request import Refusal, submit_request
from workers.agent_executor.envelope import InvalidEventError
from workers.agent_executor.event_replay import JobEvent, is_entry_id
from workers.agent_executor.services import services_of

log = structlog.get_logger()

# Every job route asks for the bearer token when API_TOKEN is set (api/auth.py).
router = APIRouter(tags=["jobs"], dependencies=[Depends(require_token)], responses=TOKEN_RESPONSES)


class EventStreamResponse(StreamingResponse):
    """A `text/event-stream` response (so OpenAPI names the media type)."""

    media_type = sse.MEDIA_TYPE


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid job id, body or header; names the field."},
    503: {"model": ErrorBody, "description": "A store is unavailable; retry after Retry-After."},
}


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobAccepted,
    summary="Submit a job; answered before it runs",
    responses={
        200: {"model": JobAccepted, "description": "The same job was submitted before."},
        202: {"model": JobAccepted, "description": "Queued: published to the job queue."},
        **_ERRORS,
        409: {"model": ErrorBody, "description": "The job id was used for another job."},
        413: {"model": ErrorBody, "description": "The job is larger than one NATS message."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A JobExecutionEvent, or a CloudEvent carrying one (structured, "
            "or binary with `ce-*` headers).",
            "content": {"application/json": {"schema": job_body_schema()}},
        }
    },
)
async def submit_job(request: Request) -> Response:
    """Validate the job, record it as queued and publish it to `agent.execute.api`.

    The same job submitted again is not published again: the answer is 200 with its
    current status. A job id already used for another job is refused (409).
    """
    submission = await submit_request(request)
    if isinstance(submission, Refusal):
        return error_response(
            submission.status, submission.message, submission.type, submission.headers
        )
    record = submission.record
    accepted = JobAccepted(
        job_id=record.job_id, status=presented_status(record), links=links(record.job_id)
    )
    return JSONResponse(
        accepted.model_dump(),
        status_code=202 if submission.queued else 200,
        headers={"Location": accepted.links.self},
    )


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventStreamResponse,
    summary="Follow a job's events (Server-Sent Events)",
    responses={
        200: {
            "description": "The job's events: first those recorded so far, then live ones, "
            "until `end`. `id:` is the event's Redis Stream entry id, `event:` its "
            "event_type, `data:` its data as JSON; a comment line every 15 s keeps the "
            "connection open.",
            "content": {sse.MEDIA_TYPE: {"schema": sse.EVENT_SCHEMA}},
        },
        400: json_error("Invalid job id or Last-Event-ID; names which."),
        404: json_error("No such job (nor any event of it)."),
        503: json_error("A store is unavailable; retry after Retry-After."),
    },
)
async def job_events(
    job_id: JobIdPath, request: Request, last_event_id: LastEventIdHeader = None
) -> Response:
    """Replay the job's events from its Redis Stream, then follow it live until `end`."""
    if not is_valid_job_id(job_id):
        return bad_job_id(job_id)
    if last_event_id is not None and not is_entry_id(last_event_id.strip()):
        return error_response(
            400,
            f"Last-Event-ID {last_event_id[:64]!r}: not an event id (<milliseconds>-<sequence>)",
            InvalidEventError.type,
        )
    services = services_of(request)
    if not await job_known(services, job_id):
        return error_response(404, f"no job {job_id!r}", NOT_FOUND)
    after = last_event_id.strip() if last_event_id else None
    events = follow_job(services, request.app, job_id, after)
    return EventStreamResponse(
        _frames(job_id, events),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(job_id: str, events: AsyncIterator[JobEvent | None]) -> AsyncIterator[bytes]:
    """The SSE bytes of `events`; a store failure mid-stream ends the stream, never the process.

    The client then reconnects with its Last-Event-ID and misses nothing.
    """
    yield sse.RETRY
    try:
        async for event in events:
            yield sse.HEARTBEAT if event is None else sse.frame(event)
    except STORE_ERRORS as exc:
        log.warning("event stream ended by a store failure", job_id=job_id, error=str(exc))
