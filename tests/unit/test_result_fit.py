"""A result event always fits the NATS payload: trimmed when it must be, and saying so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.agent_executor.results import fit, result_event


def _completed(output: str, files: dict[str, Any] | None = None) -> dict[str, Any]:
    data = {"result": {"output": output, "status": "completed", "files": files or {}, "usage": {}}}
    return result_event("job-1", "completed", data, None)


def test_an_event_that_fits_is_sent_unchanged() -> None:
    event = _completed("short")
    body, trimmed = fit(event, 10_000)
    assert not trimmed
    assert json.loads(body) == event


@pytest.mark.parametrize("limit", [2_000, 10_000, 100_000])
def test_a_large_output_is_clipped_to_the_limit_and_flagged(limit: int) -> None:
    event = _completed("é" * 200_000)
    body, trimmed = fit(event, limit)
    assert trimmed
    assert len(body) <= limit
    result = json.loads(body)["data"]["result"]
    assert event["data"]["result"]["output"].startswith(result["output"])
    assert result["truncated"]["full_bytes"] > limit


def test_file_contents_are_dropped_and_their_paths_kept() -> None:
    files = {f"/f{i}.txt": {"content": ["z" * 1000] * 10} for i in range(50)}
    body, trimmed = fit(_completed("done", files), 20_000)
    result = json.loads(body)["data"]["result"]
    assert trimmed
    assert result["files"] == {}
    assert result["truncated"]["omitted_files"] == sorted(files)
    assert result["output"] == "done"


def test_a_huge_error_message_is_clipped_too() -> None:
    event = result_event("job-1", "failed", {"error": {"message": "m" * 50_000, "type": "X"}}, None)
    body, trimmed = fit(event, 5_000)
    data = json.loads(body)["data"]
    assert trimmed
    assert len(body) <= 5_000
    assert data["error"]["type"] == "X"
    assert data["job_id"] == "job-1"
