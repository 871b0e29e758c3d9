"""Error answers shared by the routes, and the one answer to a store that is down (503)."""

from __future__ import annotations

from typing import Any

import nats.errors
import psycopg
import redis.exceptions
import structlog
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.routing import Match

from contract.jobs import JOB_ID_RULE
from workers.agent_executor.api.models import ErrorBody, ErrorDetail
from workers.agent_executor.envelope import InvalidEventError

log = structlog.get_logger()

UNAVAILABLE = "ServiceUnavailable"
NOT_FOUND = "NotFound"
UNAUTHORIZED = "Unauthorized"
RETRY_AFTER_SECONDS = 5
# What a route meets when PostgreSQL, Redis or NATS is down or too slow: each is answered
# 503 with Retry-After, never 500. Bugs (anything else) are not hidden behind it.
STORE_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,  # PoolTimeout included
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    nats.errors.Error,
    ConnectionError,
    TimeoutError,
)


def error_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """`{"error": {"message", "type"}}` with `status`."""
    body = ErrorBody(error=ErrorDetail(message=message, type=kind))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def bad_job_id(job_id: str) -> JSONResponse:
    """400 for a job id outside the rule (DESIGN section 6, "Job ids")."""
    return error_response(
        400, f"job_id {job_id[:64]!r}: must be {JOB_ID_RULE}", InvalidEventError.type
    )


def json_error(description: str) -> dict[str, Any]:
    """An error response for `responses=` of a route whose own media type is not JSON.

    Given as content rather than a model, or FastAPI would file the JSON error body under
    the route's media type (text/event-stream).
    """
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def unavailable(message: str) -> JSONResponse:
    """503 with Retry-After: the caller may try again shortly."""
    return error_response(
        503, message, UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


async def _store_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
    return unavailable(f"a store this route needs is unavailable: {type(exc).__name__}")


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 whose Allow lists every method of the path (RFC 9110, 15.5.6).

    Starlette names only the methods of the first route matching the path, and GET and
    DELETE /jobs/{job_id} are two routes.
    """
    allowed: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            allowed |= set(getattr(route, "methods", None) or ())
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status_code=405,
        headers={"Allow": ", ".join(sorted(allowed))},
    )


async def _unauthorized(request: Request, exc: Exception) -> JSONResponse:
    """401 in the routes' own error shape, keeping the WWW-Authenticate challenge."""
    assert isinstance(exc, HTTPException)
    return error_response(401, str(exc.detail), UNAUTHORIZED, headers=dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    """Answer every store failure of every route with 503, 405 with a complete Allow, and
    401 in the same JSON error shape as every other error."""
    for kind in STORE_ERRORS:
        app.add_exception_handler(kind, _store_down)
    app.add_exception_handler(405, _method_not_allowed)
    app.add_exception_handler(401, _unauthorized)
