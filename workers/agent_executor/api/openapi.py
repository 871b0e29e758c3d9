"""The app's OpenAPI document, made to say exactly what the routes answer.

FastAPI lists a 422 "Validation Error" for every route with a parameter, but no route of
this app can give one: bodies are read raw and validated by `envelope.parse_message`, path
and header parameters are plain strings checked by the routes (400 naming the field), and
any validation FastAPI would still do is answered 400 by `invalid_request` below.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from workers.agent_executor.api.errors import error_response
from workers.agent_executor.envelope import InvalidEventError

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """400 naming each field FastAPI found wrong (never 422)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    named = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors
    )
    return error_response(400, named or "invalid request", InvalidEventError.type)


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document without FastAPI's 422 responses and their schemas."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        schemas = spec.get("components", {}).get("schemas", {})
        for name in _FASTAPI_VALIDATION_SCHEMAS:
            schemas.pop(name, None)
        app.openapi_schema = spec
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` at /openapi.json and answer request validation errors with 400."""
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
