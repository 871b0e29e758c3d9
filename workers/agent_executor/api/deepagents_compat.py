"""The routes bizmatters/ide-orchestrator calls on deepagents-runtime, with the bodies it reads.

ide-orchestrator (services/deepagents_client.py, api/routers/websockets.py) calls
`POST {base}/invoke` (30 s timeout, only 200 accepted), polls `GET {base}/state/{thread_id}`
every 2 s for `status` completed or failed, streams `ws://{base}/stream/{thread_id}` keeping
`data.files` of the last `on_state_update` until `end`, and finally calls
`DELETE {base}/cleanup/{thread_id}` (200, 204 and 404 all mean done). Its default base URL
has no path, while deepagents-runtime served these under `/deepagents-runtime`: the app
mounts this router at both, so either configuration works unchanged.

The thread id is the job id. Errors are `{"detail": ...}`, as FastAPI's HTTPException
wrote them in deepagents-runtime, except a store outage (503, see `errors.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contract.jobs import JOB_ID_RULE, is_valid_job_id
from workers.agent_executor.api.auth import TOKEN_RESPONSES, require_token
from workers.agent_executor.api.errors import STORE_ERRORS
from workers.agent_executor.api.job_streams import follow_job, job_known
from workers.agent_executor.api.models import ErrorBody, job_body_schema, presented_status
from workers.agent_executor.api.params import ThreadIdPath
from workers.agent_executor.api.submit_request import Refusal, submit_request
from workers.agent_executor.api.ws_relay import relay
from workers.agent_executor.ledger import JobRecord
from workers.agent_executor.services import services_of
from workers.agent_executor.thread_cleanup import delete_thread

PREFIX = "/deepagents-runtime"
# WebSocket close codes for a refused stream (4000-4999 are the application's own).
WS_BAD_THREAD_ID = 4400
WS_UNKNOWN_THREAD = 4404
WS_TRY_AGAIN_LATER = 1013

# Every job route asks for the bearer token when API_TOKEN is set (api/auth.py).
router = APIRouter(
    tags=["deepagents-runtime (ide-orchestrator)"],
    dependencies=[Depends(require_token)],
    responses=TOKEN_RESPONSES,
)


class Detail(BaseModel):
    """An error as deepagents-runtime answered one."""

    detail: str


class InvokeStarted(BaseModel):
    """deepagents-runtime's JobResponse: the thread to follow."""

    thread_id: str
    status: Literal["started", "processing"] = Field(
        description="`started` when this request queued the job, `processing` when the same "
        "job was submitted before."
    )


class ExecutionState(BaseModel):
    """deepagents-runtime's ExecutionState, filled from the job ledger."""

    thread_id: str
    status: Literal["running", "completed", "failed"] = Field(
        description="running also while the job waits in the queue; failed also when cancelled."
    )
    result: dict[str, Any] | None = Field(
        default=None, description="The job's result without its files: output, usage, ..."
    )
    generated_files: dict[str, Any] | None = Field(
        default=None, description="The files the agent wrote: {path: {content, ...}}."
    )
    error: dict[str, Any] | None = Field(default=None, description="`{message, type}`.")


class CleanedUp(BaseModel):
    """What a cleanup deleted: rows per table (and the replay stream under `events`)."""

    thread_id: str
    deleted: dict[str, int]


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(Detail(detail=message).model_dump(), status_code=status, headers=headers)


def _bad_thread_id(thread_id: str) -> JSONResponse:
    return _detail(400, f"thread_id {thread_id[:64]!r}: must be {JOB_ID_RULE}")


def _not_found(thread_id: str) -> JSONResponse:
    # deepagents-runtime's words, which ide-orchestrator's tests match.
    return _detail(404, f"Thread {thread_id} not found")


_UNAVAILABLE = {"model": ErrorBody, "description": "A store is unavailable; retry later."}
_BAD_ID = {"model": Detail, "description": "The thread id breaks the job-id rule."}


@router.post(
    "/invoke",
    response_model=InvokeStarted,
    summary="Start a job (deepagents-runtime's invoke)",
    responses={
        400: {"model": Detail, "description": "Invalid body; names the field."},
        409: {"model": Detail, "description": "The job id was used for another job."},
        413: {"model": Detail, "description": "The job is larger than one NATS message."},
        503: {"model": Detail, "description": "The job queue is unavailable; retry later."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "`{job_id, trace_id, agent_definition, input_payload}`.",
            "content": {"application/json": {"schema": job_body_schema()}},
        }
    },
)
async def invoke(request: Request) -> JSONResponse:
    """Submit the job like `POST /jobs` and answer 200 at once (ide-orchestrator accepts only
    200); the job runs on whichever worker takes it from the queue."""
    submission = await submit_request(request)
    if isinstance(submission, Refusal):
        return _detail(submission.status, submission.message, submission.headers)
    status = "started" if submission.queued else "processing"
    return JSONResponse(
        InvokeStarted(thread_id=submission.record.job_id, status=status).model_dump()
    )


@router.get(
    "/state/{thread_id}",
    response_model=ExecutionState,
    summary="A thread's state (deepagents-runtime's ExecutionState)",
    responses={
        400: _BAD_ID,
        404: {"model": Detail, "description": "No such thread."},
        503: _UNAVAILABLE,
    },
)
async def state(thread_id: ThreadIdPath, request: Request) -> JSONResponse:
    """The job's status, and once it ended its output and files, or its error."""
    if not is_valid_job_id(thread_id):
        return _bad_thread_id(thread_id)
    record = await services_of(request).runner.ledger.get(thread_id)
    if record is None:
        return _not_found(thread_id)
    return JSONResponse(execution_state(record).model_dump())


def execution_state(record: JobRecord) -> ExecutionState:
    """`record` in deepagents-runtime's terms (three statuses, files apart from the result)."""
    status = presented_status(record)
    if status in ("queued", "running"):
        return ExecutionState(thread_id=record.job_id, status="running")
    data = record.result or {}
    if status == "completed":
        result = dict(data.get("result") or {})
        files = result.pop("files", None)
        return ExecutionState(
            thread_id=record.job_id,
            status="completed",
            result=result,
            generated_files=files if isinstance(files, dict) else {},
        )
    error = data.get("error")
    return ExecutionState(
        thread_id=record.job_id,
        status="failed",
        error=error if isinstance(error, dict) else {"message": str(error), "type": "Unknown"},
    )


@router.delete(
    "/cleanup/{thread_id}",
    response_model=CleanedUp,
    summary="Delete a finished thread's checkpoints, ledger row and events",
    responses={
        400: _BAD_ID,
        404: {"model": Detail, "description": "Nothing of the thread exists."},
        409: {"model": Detail, "description": "The job is queued or running."},
        503: _UNAVAILABLE,
    },
)
async def cleanup(thread_id: ThreadIdPath, request: Request) -> JSONResponse:
    """Remove the thread's checkpoints and its job; refused while the job is unfinished."""
    if not is_valid_job_id(thread_id):
        return _bad_thread_id(thread_id)
    services = services_of(request)
    done = await delete_thread(services.pool, services.redis, thread_id)
    if done.busy:
        return _detail(
            409, f"Thread {thread_id} is queued or running; cancel it or wait until it ends"
        )
    if not done.found:
        return _not_found(thread_id)
    return JSONResponse(CleanedUp(thread_id=thread_id, deleted=done.deleted).model_dump())


@router.websocket("/stream/{thread_id}")
async def stream(websocket: WebSocket, thread_id: str) -> None:
    """The job's events as `{"event_type", "data"}` text frames, replay then live, until `end`.

    An invalid or unknown thread is closed at once with 4400 or 4404 (and a reason), a
    store outage with 1013 (try again later).
    """
    await websocket.accept()
    if not is_valid_job_id(thread_id):
        await websocket.close(WS_BAD_THREAD_ID, f"thread_id must be {JOB_ID_RULE}")
        return
    services = services_of(websocket)
    try:
        known = await job_known(services, thread_id)
    except STORE_ERRORS:
        await websocket.close(WS_TRY_AGAIN_LATER, "a store is unavailable")
        return
    if not known:
        await websocket.close(WS_UNKNOWN_THREAD, f"Thread {thread_id} not found"[:120])
        return
    await relay(websocket, thread_id, follow_job(services, websocket.app, thread_id, None))
