"""`agentplane jobs` over the worker's HTTP API, against a real worker: `POST /jobs`, the job's
Server-Sent Events at `GET /jobs/{id}/events`, `GET /jobs/{id}` and `DELETE /jobs/{id}`.

Needs the worker's `POST /jobs` and events endpoint (issue #12, parts 1-3).
"""

from __future__ import annotations

import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.worker import Worker
from tests.support.jobs_cli import (
    agentplane,
    cli_env,
    json_lines,
    read_until,
    start_agentplane,
)

pytestmark = pytest.mark.slow


def test_submit_follow_json_streams_events_then_the_result(
    worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(
        tool_calls(ToolCall("ls", {}), content="Let me look."),
        text("Nothing to see.", chunks=4),
    )
    proc = agentplane(
        "jobs", "submit", "--prompt", "Look around.", "--job-id", "http-json-1",
        "--api", worker.url, "--follow", "--json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    lines = json_lines(proc.stdout)
    assert lines[0] == {
        "kind": "submitted",
        "job_id": "http-json-1",
        "via": f"the API at {worker.url}",
    }
    events = [line for line in lines if line["kind"] == "event"]
    tokens = [e["data"]["delta"] for e in events if e["event_type"] == "on_llm_stream"]
    assert "".join(tokens) == "Let me look.Nothing to see."
    assert [e["data"]["tool"] for e in events if e["event_type"] == "on_tool_start"] == ["ls"]
    assert all(e["id"] for e in events)  # the SSE ids, for Last-Event-ID
    assert events[-1]["event_type"] == "end"
    assert lines[-1]["kind"] == "result"
    assert (lines[-1]["outcome"], lines[-1]["result"]["output"]) == ("completed", "Nothing to see.")


def test_get_shows_the_ledger_row_and_names_an_unknown_job(
    worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(text("Stored."))
    done = agentplane(
        "jobs", "submit", "--prompt", "Store it.", "--job-id", "http-get-1",
        "--api", worker.url, "--follow",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    row = agentplane("jobs", "get", "http-get-1", "--api", worker.url, "--json")
    assert row.returncode == 0, row.stderr
    [record] = json_lines(row.stdout)
    assert (record["job_id"], record["status"], record["outcome"]) == (
        "http-get-1",
        "completed",
        "completed",
    )
    shown = agentplane("jobs", "get", "http-get-1", "--api", worker.url)
    assert shown.stdout.startswith("completed: job http-get-1\noutput:\n  Stored.\n")

    unknown = agentplane("jobs", "get", "http-nobody", "--api", worker.url)
    assert (unknown.returncode, unknown.stderr) == (
        2,
        f"agentplane: the API at {worker.url} has no job http-nobody\n",
    )


def test_watch_follows_a_job_submitted_without_following(worker: Worker, fake: FakeOpenAI) -> None:
    fake.script(text("Watched.", latency=1))
    submitted = agentplane(
        "jobs", "submit", "--prompt", "Hi.", "--job-id", "http-watch-1", "--api", worker.url
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr

    watched = agentplane("jobs", "watch", "http-watch-1", "--api", worker.url, "--json")

    assert watched.returncode == 0, watched.stderr
    lines = json_lines(watched.stdout)
    tokens = [line["data"]["delta"] for line in lines if line.get("event_type") == "on_llm_stream"]
    assert "".join(tokens) == "Watched."
    assert lines[-1]["kind"] == "result" and lines[-1]["result"]["output"] == "Watched."


def test_cancel_stops_a_running_job_and_comes_too_late_for_a_finished_one(
    worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(tool_calls(ToolCall("ls", {})), text("never shown", latency=3))
    follower = start_agentplane(
        "jobs", "submit", "--prompt", "Take your time.", "--job-id", "http-cancel-1",
        "--api", worker.url, "--follow", "--json",
    )  # fmt: skip
    try:
        read_until(follower, '"on_tool_end"')
        cancel = agentplane("jobs", "cancel", "http-cancel-1", "--api", worker.url)
        assert (cancel.returncode, cancel.stdout) == (0, "cancel requested for job http-cancel-1\n")
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 1, err
    result = json_lines(out)[-1]
    assert result["outcome"] == "failed" and result["error"]["type"] == "Cancelled"

    again = agentplane("jobs", "cancel", "http-cancel-1", "--api", worker.url)
    assert (again.returncode, again.stdout) == (
        1,
        "too late to cancel job http-cancel-1: it is failed\n",
    )


def test_the_token_comes_from_the_environment_and_a_refusal_names_the_variable(
    worker_env: dict[str, str], fake: FakeOpenAI
) -> None:
    token = "cli-test-token-0123456789abcdef"
    guarded = Worker({**worker_env, "API_TOKEN": token}).start()
    try:
        ok = agentplane(
            "jobs", "submit", "--prompt", "Hi.", "--job-id", "http-token-1",
            "--api", guarded.url, "--follow", env=cli_env(AGENTPLANE_API_TOKEN=token),
        )  # fmt: skip
        missing = agentplane("jobs", "get", "http-token-1", "--api", guarded.url)
        wrong = agentplane(
            "jobs", "get", "http-token-1", "--api", guarded.url,
            env=cli_env(AGENTPLANE_API_TOKEN="not-the-token-at-all"),
        )  # fmt: skip
    finally:
        guarded.stop()

    assert ok.returncode == 0, ok.stderr
    assert "completed: job http-token-1" in ok.stdout
    assert (missing.returncode, wrong.returncode) == (2, 2)
    assert missing.stderr.endswith("(401): set AGENTPLANE_API_TOKEN\n")
    assert wrong.stderr.endswith("(401): check AGENTPLANE_API_TOKEN\n")
    for proc in (ok, missing, wrong):
        assert token not in proc.stdout + proc.stderr
        assert "not-the-token" not in proc.stdout + proc.stderr
