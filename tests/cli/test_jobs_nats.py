"""`agentplane jobs` over NATS, against a real worker: jobs go to JetStream, progress comes
from the Redis replay stream, the outcome from AGENT_STATUS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, error, text, tool_calls
from testbed.worker import Worker, jetstream
from tests.cli.conftest import Services
from tests.support.jobs_cli import agentplane, cli_env, json_lines, read_until, start_agentplane

pytestmark = pytest.mark.slow


def over_nats(services: Services) -> tuple[str, ...]:
    return ("--nats", services.nats_url, "--redis", services.redis_url)


def test_submit_prompt_follow_json_shows_tokens_and_tool_calls_before_the_result(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(
        tool_calls(ToolCall("ls", {}), content="Let me look."),
        text("Nothing to see.", chunks=4, usage=(30, 4)),
    )
    proc = agentplane(
        "jobs", "submit", "--prompt", "Look around.", "--job-id", "cli-json-1",
        *over_nats(services), "--follow", "--json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    lines = json_lines(proc.stdout)
    assert lines[0] == {
        "kind": "submitted",
        "job_id": "cli-json-1",
        "via": "NATS agent.execute.cli-json-1",
    }
    events = [line for line in lines if line["kind"] == "event"]
    tokens = [e["data"]["delta"] for e in events if e["event_type"] == "on_llm_stream"]
    assert "".join(tokens) == "Let me look.Nothing to see."
    assert [e["data"]["tool"] for e in events if e["event_type"] == "on_tool_start"] == ["ls"]
    assert events[-1]["event_type"] == "end"
    result = lines[-1]
    assert result["kind"] == "result" and lines.index(result) == len(lines) - 1
    assert (result["job_id"], result["outcome"]) == ("cli-json-1", "completed")
    assert result["result"]["output"] == "Nothing to see."
    assert result["result"]["usage"] == {
        "gpt-4o-mini": {"prompt_tokens": 40, "completion_tokens": 9}
    }


def test_the_progress_view_shows_tokens_tool_calls_and_the_result(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(
        tool_calls(
            ToolCall("write_file", {"file_path": "/notes.md", "content": "one\ntwo"}),
            content="Writing.",
        ),
        text("Notes are in /notes.md."),
    )
    proc = agentplane(
        "jobs", "submit", "--prompt", "Take notes.", "--job-id", "cli-view-1",
        "--model", "gpt-view", *over_nats(services), "--follow",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "job cli-view-1 submitted to NATS agent.execute.cli-view-1\n"
        "orchestrator> Writing.\n"
        '  -> write_file(file_path="/notes.md", content="one\\ntwo")\n'
        "  <- write_file: Updated file /notes.md\n"
        "orchestrator> Notes are in /notes.md.\n"
        "completed: job cli-view-1 in 3 steps\n"
        "output:\n"
        "  Notes are in /notes.md.\n"
        "files:\n"
        "  /notes.md (2 lines)\n"
        "usage:\n"
        "  gpt-view: 20 prompt + 10 completion tokens\n"
    )
    assert fake.requests[0]["model"] == "gpt-view"


def test_a_failed_job_exits_1_and_names_its_error(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(error(400))
    proc = agentplane(
        "jobs", "submit", "--prompt", "Fail.", *over_nats(services), "--follow", "--json"
    )

    assert proc.returncode == 1, proc.stderr
    result = json_lines(proc.stdout)[-1]
    assert result["kind"] == "result" and result["outcome"] == "failed"
    assert "400" in result["error"]["message"]


def test_watch_follows_a_job_submitted_without_following(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(text("Watched.", latency=1))
    submitted = agentplane(
        "jobs", "submit", "--prompt", "Hi.", "--job-id", "cli-watch-1", *over_nats(services)
    )
    assert (submitted.returncode, submitted.stdout) == (
        0,
        "job cli-watch-1 submitted to NATS agent.execute.cli-watch-1\n",
    ), submitted.stderr

    watched = agentplane("jobs", "watch", "cli-watch-1", *over_nats(services), "--json")

    assert watched.returncode == 0, watched.stderr
    lines = json_lines(watched.stdout)
    tokens = [line["data"]["delta"] for line in lines if line.get("event_type") == "on_llm_stream"]
    assert "".join(tokens) == "Watched."
    assert lines[-1]["kind"] == "result" and lines[-1]["result"]["output"] == "Watched."
    # Watching a finished job again replays it whole.
    again = agentplane("jobs", "watch", "cli-watch-1", *over_nats(services), "--json")
    assert json_lines(again.stdout) == lines


def test_cancel_stops_a_running_job_and_its_follower_exits_1(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(tool_calls(ToolCall("ls", {})), text("never shown", latency=3))
    follower = start_agentplane(
        "jobs", "submit", "--prompt", "Take your time.", "--job-id", "cli-cancel-1",
        *over_nats(services), "--follow", "--json",
    )  # fmt: skip
    try:
        read_until(follower, '"on_tool_end"')

        cancel = agentplane("jobs", "cancel", "cli-cancel-1", "--nats", services.nats_url)
        assert (cancel.returncode, cancel.stdout) == (0, "cancel requested for job cli-cancel-1\n")

        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 1, err
    result = json.loads(out.splitlines()[-1])
    assert result["outcome"] == "failed" and result["error"]["type"] == "Cancelled"


def test_a_job_id_already_used_is_refused_before_anything_is_sent(
    services: Services, worker: Worker, fake: FakeOpenAI
) -> None:
    first = agentplane(
        "jobs", "submit", "--prompt", "Once.", "--job-id", "cli-once-1",
        *over_nats(services), "--follow", "--json",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    requests = fake.request_count

    again = agentplane(
        "jobs", "submit", "--prompt", "Twice?", "--job-id", "cli-once-1",
        *over_nats(services), "--follow",
    )  # fmt: skip

    assert again.returncode == 2
    assert again.stdout == ""
    assert "job id cli-once-1 was used before" in again.stderr
    assert "agentplane jobs watch cli-once-1" in again.stderr
    assert fake.request_count == requests


CLOUDEVENT = {"specversion": "1.0", "id": "1", "source": "tests"}
EXECUTE = "dev.my-platform.agent.execute"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            '{"job_id": "a"',
            "job.json:1:15: invalid JSON: Expecting ',' delimiter",
            id="not JSON",
        ),
        pytest.param(
            json.dumps({"job_id": "a", "agent_definition": []}),
            "job.json: agent_definition: Input should be a valid dictionary",
            id="definition not an object",
        ),
        pytest.param(
            json.dumps({"job_id": "not ok", "agent_definition": {}}),
            "job.json: job_id: must be 1-200 characters of A-Z a-z 0-9 . _ : -",
            id="bad job id",
        ),
        pytest.param(
            json.dumps({**CLOUDEVENT, "type": "other", "data": {}}),
            f"job.json: CloudEvent type attribute is 'other', not {EXECUTE}",
            id="CloudEvent of another type",
        ),
        pytest.param(
            json.dumps({**CLOUDEVENT, "type": EXECUTE, "data": {"job_id": "a"}}),
            "job.json: data.agent_definition: Field required",
            id="CloudEvent without a definition",
        ),
    ],
)
def test_a_bad_job_file_is_refused_with_its_problem_and_exit_2(
    services: Services, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "job.json"
    path.write_text(content)
    before = asyncio.run(_execution_sequence(services.nats_url))

    proc = agentplane("jobs", "submit", str(path), "--nats", services.nats_url)

    assert proc.returncode == 2
    assert proc.stderr == f"agentplane: {tmp_path}/{message}\n"
    assert asyncio.run(_execution_sequence(services.nats_url)) == before  # nothing was sent


def test_a_missing_file_and_an_unreachable_nats_are_named_and_exit_2(tmp_path: Path) -> None:
    missing = agentplane("jobs", "submit", str(tmp_path / "nope.yaml"), "--nats", "nats://x:1")
    assert (missing.returncode, missing.stderr) == (
        2,
        f"agentplane: {tmp_path}/nope.yaml: cannot read: No such file or directory\n",
    )

    unreachable = agentplane(
        "jobs", "submit", "--prompt", "Hi.", "--nats", "nats://bob:url-secret@127.0.0.1:1",
        env=cli_env(NATS_USER="bob", NATS_PASSWORD="env-secret"),
    )  # fmt: skip
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith(
        "agentplane: cannot connect to NATS at nats://127.0.0.1:1:"
    )
    assert "secret" not in unreachable.stderr + unreachable.stdout


async def _execution_sequence(url: str) -> int:
    """The last sequence of AGENT_EXECUTION: it grows with every job published."""
    nc, js = await jetstream(url)
    try:
        return (await js.stream_info("AGENT_EXECUTION")).state.last_seq
    finally:
        await nc.close()
