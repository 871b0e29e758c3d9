"""Who may call the job routes: a bearer token, when the claim sets `api.tokenSecret`.

The NetworkPolicy decides which namespaces reach port 8080 at all (DESIGN section 3, `api`);
this decides, among those callers, who may submit, read and cancel jobs. The Deployment
sets API_TOKEN from the tenant's Secret; without it the routes stay as open as the
NetworkPolicy leaves them. `/health`, `/ready` and `/metrics` never ask for a token: the
kubelet and Prometheus have none.

Every router that submits, reads, streams or cancels jobs applies the same dependency, so
one setting covers them all (WebSocket routes included: there a refusal closes the
connection with 1008, policy violation)::

    from workers.agent_executor.api.auth import TOKEN_RESPONSES, require_token

    router = APIRouter(dependencies=[Depends(require_token)], responses=TOKEN_RESPONSES)
"""

from __future__ import annotations

import hmac
from typing import Any, cast

import structlog
from fastapi import HTTPException, Security, WebSocketException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from workers.agent_executor.services import Services

log = structlog.get_logger()

# The security scheme OpenAPI shows on every route that depends on `require_token`.
# auto_error=False: a missing header is answered below, as a 401 with WWW-Authenticate.
bearer = HTTPBearer(
    scheme_name="apiToken",
    description="The executor's API token (the API_TOKEN key of the Secret the claim's "
    "api.tokenSecret names). Required only when that is set.",
    auto_error=False,
)

# For `APIRouter(responses=...)`: documents the 401 of every protected route.
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_401_UNAUTHORIZED: {
        "description": "API_TOKEN is set and the bearer token is missing or wrong",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    },
}


def _expected_token(connection: HTTPConnection) -> SecretStr | None:
    # HTTPConnection, not Request: the same dependency serves WebSocket routes.
    services = cast(Services, connection.app.state.services)
    return services.settings.API_TOKEN


def _refuse(
    connection: HTTPConnection, reason: str, challenge: str
) -> HTTPException | WebSocketException:
    # The path only: never a header, and so never the token or a guess at it.
    log.info("api request refused", reason=reason, path=connection.url.path)
    message = f"unauthorized: {reason}; send 'Authorization: Bearer <token>'"
    if connection.scope["type"] == "websocket":
        return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=message)
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": challenge},
    )


async def require_token(
    connection: HTTPConnection,
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
) -> None:
    """Refuse the call (401, or 1008 on a WebSocket) unless it carries API_TOKEN as bearer token.

    A FastAPI dependency for every job router (see the module docstring); does nothing when
    API_TOKEN is not set.
    """
    expected = _expected_token(connection)
    if expected is None:
        return
    if credentials is None:
        raise _refuse(connection, "no bearer token", "Bearer")
    # Compared as bytes in constant time: the time taken says nothing about how much of a
    # guess was right, and a non-ASCII guess is just wrong (compare_digest refuses such str).
    given = credentials.credentials.encode()
    if not hmac.compare_digest(given, expected.get_secret_value().encode()):
        raise _refuse(connection, "wrong bearer token", 'Bearer error="invalid_token"')
