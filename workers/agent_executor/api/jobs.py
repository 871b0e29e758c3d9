"""Job routes: run a CloudEvent (`POST /`), read a job's ledger row, cancel a job."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from contract.jobs import is_valid_job_id
from contract.nats import CANCEL_PREFIX, subject_token
from workers.agent_executor.acks import Handled, http_status
from workers.agent_executor.api.auth import TOKEN_RESPONSES, require_token
from workers.agent_executor.api.errors import NOT_FOUND, bad_job_id, error_response
from workers.agent_executor.api.models import (
    CancelRefused,
    CancelRequested,
    ErrorBody,
    JobView,
    ResultEvent,
    job_body_schema,
    job_view,
)
from workers.agent_executor.api.params import JobIdPath
from workers.agent_executor.handling import conflict, handle
from workers.agent_executor.runner import JobIdConflictError
from workers.agent_executor.services import services_of

# Every job route asks for the bearer token when API_TOKEN is set (api/auth.py).
router = APIRouter(tags=["jobs"], dependencies=[Depends(require_token)], responses=TOKEN_RESPONSES)

_BAD_ID = {"model": ErrorBody, "description": "The job id breaks the job-id rule."}
_UNAVAILABLE = {"model": ErrorBody, "description": "A store is unavailable; retry later."}


@router.get(
    "/jobs/{job_id}",
    response_model=JobView,
    summary="A job's status and result, in any state",
    responses={
        400: _BAD_ID,
        404: {"model": ErrorBody, "description": "No such job."},
        503: _UNAVAILABLE,
    },
)
async def job(job_id: JobIdPath, request: Request) -> JSONResponse:
    """The ledger row of `job_id`: status (queued, running, completed, failed or cancelled),
    attempts and the recorded result."""
    if not is_valid_job_id(job_id):
        return bad_job_id(job_id)
    services = services_of(request)
    record = await services.runner.ledger.get(job_id)
    if record is None:
        return error_response(404, f"no job {job_id!r}", NOT_FOUND)
    return JSONResponse(job_view(record).model_dump())


@router.delete(
    "/jobs/{job_id}",
    status_code=202,
    response_model=CancelRequested,
    summary="Cancel a job",
    responses={
        202: {"model": CancelRequested, "description": "Every worker was asked to stop it."},
        400: _BAD_ID,
        409: {"model": CancelRefused, "description": "The job already ended."},
        503: _UNAVAILABLE,
    },
)
async def cancel(job_id: JobIdPath, request: Request) -> JSONResponse:
    """Ask whichever worker runs `job_id` to stop it; a queued job is cancelled on pickup."""
    if not is_valid_job_id(job_id):
        return bad_job_id(job_id)
    services = services_of(request)
    record = await services.runner.ledger.get(job_id)
    if record is not None and record.status not in ("queued", "running"):
        return JSONResponse(
            {"job_id": job_id, "cancel": "too late", "status": record.status}, status_code=409
        )
    await services.runner.ledger.request_cancel(job_id)
    await services.nc.publish(
        CANCEL_PREFIX + subject_token(job_id), json.dumps({"job_id": job_id}).encode()
    )
    await services.nc.flush()
    return JSONResponse({"job_id": job_id, "cancel": "requested"}, status_code=202)


@router.post(
    "/",
    response_model=ResultEvent,
    summary="Run a job and answer with its result event",
    responses={
        200: {"model": ResultEvent, "description": "The job ended: its result event."},
        400: {
            "model": ResultEvent | ErrorBody,
            "description": "Input that can never run: the failed event when it named a job.",
        },
        409: {"model": ErrorBody, "description": "The job id was used for another job."},
        500: {"model": ErrorBody, "description": "The run raised an unexpected error."},
        503: {"model": ErrorBody, "description": "A transient fault; retry after Retry-After."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": job_body_schema()}},
        }
    },
)
async def execute(request: Request) -> JSONResponse:
    """Run a CloudEvent (structured or binary) the same way as one from NATS."""
    services = services_of(request)
    handling = await handle(services.runner, await request.body(), dict(request.headers))
    status = http_status(handling.handled)
    error = {"error": {"message": handling.error, "type": handling.error_type}}
    if handling.handled is Handled.INVALID and handling.job_id is not None:
        try:
            failed = await services.runner.fail(
                handling.job_id, handling.error, handling.error_type, handling.digest
            )
        except JobIdConflictError as exc:
            handling = conflict(handling.job_id, str(exc))
            return JSONResponse(
                {"error": {"message": handling.error, "type": handling.error_type}},
                status_code=http_status(handling.handled),
            )
        event = await services.publisher.publish(failed.job_id, failed.outcome, failed.data, None)
        return JSONResponse(event, status_code=status)
    if handling.handled is Handled.FINISHED and handling.result is not None:
        result = handling.result
        event = await services.publisher.publish(
            result.job_id, result.outcome, result.data, handling.traceparent
        )
        return JSONResponse(event, status_code=status)
    if handling.handled in (Handled.TRANSIENT, Handled.BUSY):
        headers = {"Retry-After": str(int(handling.retry_after or 5))}
        return JSONResponse(error, status_code=status, headers=headers)
    return JSONResponse(error, status_code=status)
