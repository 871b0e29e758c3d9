"""How a ledger row is shown: the jobs API's status and deepagents-runtime's ExecutionState."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workers.agent_executor.api.deepagents_compat import execution_state
from workers.agent_executor.api.models import presented_status
from workers.agent_executor.ledger import JobRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)
COMPLETED = {"result": {"output": "hi", "files": {"/a.md": {"content": ["a"]}}, "usage": {}}}


def _record(status: str, attempts: int = 1, result: dict[str, Any] | None = None) -> JobRecord:
    outcome = status if status in ("completed", "failed") else None
    return JobRecord("job-1", status, attempts, outcome, result, None, NOW, NOW, None)


def _failed(kind: str) -> dict[str, Any]:
    return {"error": {"message": "stopped", "type": kind}}


@pytest.mark.parametrize(
    ("record", "shown"),
    [
        (_record("queued", 0), "queued"),
        (_record("running", 0), "queued"),  # known only from a cancel request so far
        (_record("running", 2), "running"),
        (_record("completed", 1, COMPLETED), "completed"),
        (_record("failed", 1, _failed("InternalError")), "failed"),
        (_record("failed", 1, _failed("Cancelled")), "cancelled"),
    ],
)
def test_the_status_a_client_sees(record: JobRecord, shown: str) -> None:
    assert presented_status(record) == shown


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_unfinished_job_is_a_running_execution(status: str) -> None:
    state = execution_state(_record(status, 0))
    assert (state.status, state.result, state.generated_files, state.error) == (
        "running",
        None,
        None,
        None,
    )


def test_a_completed_job_has_its_files_apart_from_its_result() -> None:
    state = execution_state(_record("completed", 1, COMPLETED))
    assert state.status == "completed"
    assert state.result == {"output": "hi", "usage": {}}
    assert state.generated_files == {"/a.md": {"content": ["a"]}}


def test_a_cancelled_job_is_a_failed_execution_with_its_error() -> None:
    state = execution_state(_record("failed", 1, _failed("Cancelled")))
    assert (state.status, state.error) == ("failed", {"message": "stopped", "type": "Cancelled"})
