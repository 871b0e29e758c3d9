"""The worker's OpenAPI document says what each route answers (the app is built, not started)."""

from __future__ import annotations

from typing import Any

import pytest

from contract.jobs import JOB_ID_PATTERN
from workers.agent_executor.app import create_app
from workers.agent_executor.settings import Settings

DOCUMENT = create_app(
    Settings(DATABASE_URL="postgresql://unused", REDIS_URL="redis://unused")
).openapi()
_ALL = [
    (f"{method.upper()} {path}", operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]
OPERATIONS = [pytest.param(operation, id=name) for name, operation in _ALL]
WITH_PATH_PARAMETER = [
    pytest.param(operation, id=name)
    for name, operation in _ALL
    if any(q["in"] == "path" for q in operation.get("parameters", []))
]
# Probes answer without a store (/health, /metrics) or report one as down (/ready's own 503).
NO_STORE = {"/health", "/metrics"}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_operation_lists_a_422_it_cannot_give(operation: dict[str, Any]) -> None:
    assert "422" not in operation["responses"]


@pytest.mark.parametrize("operation", WITH_PATH_PARAMETER)
def test_every_id_in_a_path_states_the_job_id_rule_and_its_400(operation: dict[str, Any]) -> None:
    (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
    assert parameter["schema"]["pattern"] == JOB_ID_PATTERN
    assert "400" in operation["responses"]


@pytest.mark.parametrize(
    "path", [p for p in DOCUMENT["paths"] if p not in NO_STORE], ids=lambda p: str(p)
)
def test_every_route_that_needs_a_store_documents_503(path: str) -> None:
    for operation in DOCUMENT["paths"][path].values():
        assert "503" in operation["responses"]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_error_has_a_json_body_schema(operation: dict[str, Any]) -> None:
    for code, response in operation["responses"].items():
        if int(code) >= 400:
            assert "schema" in response["content"]["application/json"], code


def test_the_routes_ide_orchestrator_calls_exist_with_and_without_the_prefix() -> None:
    routes = {
        ("post", "/invoke"),
        ("get", "/state/{thread_id}"),
        ("delete", "/cleanup/{thread_id}"),
    }
    for prefix in ("", "/deepagents-runtime"):
        for method, path in routes:
            assert method in DOCUMENT["paths"][prefix + path], prefix + path


def test_the_event_stream_is_documented_as_server_sent_events() -> None:
    ok = DOCUMENT["paths"]["/jobs/{job_id}/events"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
