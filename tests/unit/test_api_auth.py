"""The job routes' bearer token (workers/agent_executor/api/auth.py), on an app of its own.

A small app with one HTTP and one WebSocket route behind `require_token`, the way the job
routers use it; the real worker process is exercised in tests/worker/test_api_access.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect
from structlog.testing import capture_logs

from workers.agent_executor.api.auth import TOKEN_RESPONSES, require_token
from workers.agent_executor.app import create_app

TOKEN = "0123456789abcdef-the-right-token"
WRONG = "0123456789abcdef-a-wrong-guess"


def _app(token: str | None) -> FastAPI:
    router = APIRouter(dependencies=[Depends(require_token)], responses=TOKEN_RESPONSES)

    @router.get("/jobs/{job_id}")
    async def job(job_id: str) -> dict[str, str]:
        return {"job_id": job_id}

    @router.websocket("/stream/{job_id}")
    async def stream(websocket: WebSocket, job_id: str) -> None:
        await websocket.accept()
        await websocket.send_json({"job_id": job_id})
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    # What the lifespan puts there; the dependency reads only the settings' API_TOKEN.
    settings = SimpleNamespace(API_TOKEN=SecretStr(token) if token is not None else None)
    app.state.services = SimpleNamespace(settings=settings)
    return app


@dataclass(frozen=True)
class Call:
    """An Authorization header (None: no header) and the answer it must get."""

    id: str
    # bytes: a header value outside ASCII, as a client may send it (Latin-1 on the wire).
    authorization: str | bytes | None
    status: int
    challenge: str | None = None


WITH_TOKEN = [
    Call("no-header", None, 401, "Bearer"),
    Call("wrong-token", f"Bearer {WRONG}", 401, 'Bearer error="invalid_token"'),
    Call("right-token", f"Bearer {TOKEN}", 200),
    Call("scheme-in-lower-case", f"bearer {TOKEN}", 200),
    Call("token-prefix", f"Bearer {TOKEN[:-1]}", 401, 'Bearer error="invalid_token"'),
    Call("token-with-more", f"Bearer {TOKEN}x", 401, 'Bearer error="invalid_token"'),
    Call("basic-scheme", "Basic dXNlcjpwYXNz", 401, "Bearer"),
    Call("token-without-scheme", TOKEN, 401, "Bearer"),
    Call("empty-bearer", "Bearer ", 401, "Bearer"),
    Call(
        "non-ascii-guess",
        "Bearer tökén-0123456789abcdef".encode("latin-1"),
        401,
        'Bearer error="invalid_token"',
    ),
]
WITHOUT_TOKEN = [
    Call("no-header", None, 200),
    Call("any-bearer", f"Bearer {WRONG}", 200),
]


def _headers(call: Call) -> dict[bytes, bytes]:
    value = call.authorization
    if value is None:
        return {}
    return {b"Authorization": value if isinstance(value, bytes) else value.encode("latin-1")}


def _get(app: FastAPI, call: Call) -> tuple[int, dict[str, str]]:
    headers = _headers(call)
    with TestClient(app) as client:
        response = client.get("/jobs/j-1", headers=headers)
    return response.status_code, dict(response.headers)


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in WITH_TOKEN])
def test_with_api_token_set_only_the_right_bearer_token_passes(call: Call) -> None:
    status, headers = _get(_app(TOKEN), call)

    assert status == call.status
    assert headers.get("www-authenticate") == call.challenge


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in WITHOUT_TOKEN])
def test_without_api_token_the_routes_ask_for_nothing(call: Call) -> None:
    status, _ = _get(_app(None), call)

    assert status == call.status


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in WITH_TOKEN])
def test_neither_the_token_nor_a_guess_reaches_the_logs_or_the_answer(call: Call) -> None:
    with capture_logs() as logs, TestClient(_app(TOKEN)) as client:
        body = client.get("/jobs/j-1", headers=_headers(call)).text

    logged = repr(logs)
    for secret in (TOKEN, WRONG, TOKEN[:-1]):
        assert secret not in logged
        assert secret not in body
    if call.status == 401:
        assert logs == [
            {
                "event": "api request refused",
                "log_level": "info",
                "reason": logs[0]["reason"],
                "path": "/jobs/j-1",
            }
        ]


@pytest.mark.parametrize(
    ("authorization", "accepted"),
    [
        pytest.param(None, False, id="no-header"),
        pytest.param(f"Bearer {WRONG}", False, id="wrong-token"),
        pytest.param(f"Bearer {TOKEN}", True, id="right-token"),
    ],
)
def test_a_websocket_route_is_closed_with_policy_violation_without_the_token(
    authorization: str | None, accepted: bool
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with TestClient(_app(TOKEN)) as client:
        if accepted:
            with client.websocket_connect("/stream/j-1", headers=headers) as ws:
                assert ws.receive_json() == {"job_id": "j-1"}
        else:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect("/stream/j-1", headers=headers),
            ):
                pass
            assert refused.value.code == 1008


# --- the worker's own app: which routes are protected, as OpenAPI documents it ---------------

OPENAPI = create_app(consume=False).openapi()
JOB_ROUTES = [("post", "/"), ("get", "/jobs/{job_id}"), ("delete", "/jobs/{job_id}")]
OPEN_ROUTES = [("get", "/health"), ("get", "/ready"), ("get", "/metrics")]


def test_openapi_describes_the_bearer_scheme() -> None:
    scheme = OPENAPI["components"]["securitySchemes"]["apiToken"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize(("method", "path"), JOB_ROUTES)
def test_every_job_route_requires_the_token_and_documents_its_401(method: str, path: str) -> None:
    operation = OPENAPI["paths"][path][method]

    assert operation["security"] == [{"apiToken": []}]
    assert "401" in operation["responses"]


@pytest.mark.parametrize(("method", "path"), OPEN_ROUTES)
def test_probes_and_metrics_stay_open(method: str, path: str) -> None:
    operation = OPENAPI["paths"][path][method]

    assert "security" not in operation
    assert "401" not in operation["responses"]
