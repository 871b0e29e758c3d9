"""ide-orchestrator's contract with deepagents-runtime, driven the way its code drives it
(tests/support/ide_orchestrator.py) against a real worker with real NATS JetStream,
PostgreSQL and Redis and the OpenAI-compatible fake."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer, PostgresServer, eventually
from testbed.worker import Worker, agent_definition, redis_events, wait_result
from tests.support.ide_orchestrator import IdeOrchestrator, RuntimeCallError

pytestmark = pytest.mark.slow

BASES = ["/deepagents-runtime", ""]  # the old Go client's prefix; the Python client's default
SPEC = '{"nodes": []}'


def _refinement(thread: str, definition: dict[str, Any]) -> dict[str, Any]:
    """What deepagents_client.process_refinement_job sends (ids as it makes them)."""
    return {
        "job_id": f"refinement-{thread}",
        "trace_id": f"trace-{thread}",
        "agent_definition": definition,
        "input_payload": {
            "instructions": "Add a greeting agent",
            "context": "",
            "context_file_path": None,
        },
    }


def _checkpoints(postgres: PostgresServer, thread_id: str) -> int:
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        ).fetchone()
    return int(row[0]) if row else 0


def _script_refinement(fake: FakeOpenAI, latency: float = 0.0) -> None:
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/definition.json", "content": SPEC})),
        text("The specification is in /definition.json.", latency=latency),
    )


@pytest.mark.parametrize("base", BASES, ids=["prefixed", "unprefixed"])
def test_a_refinement_runs_as_ide_orchestrator_drives_it(
    start_worker: Callable[..., Worker],
    postgres: PostgresServer,
    fake: FakeOpenAI,
    base: str,
) -> None:
    worker = start_worker()
    client = IdeOrchestrator(worker.url + base)
    _script_refinement(fake, latency=1.0)
    payload = _refinement(uuid.uuid4().hex[:8], agent_definition())

    async def refine() -> tuple[dict[str, Any], dict[str, Any], Any]:
        started = await client.invoke_job(payload)
        # The browser's WebSocket and the polling run side by side.
        streamed, state = await asyncio.gather(
            client.stream(started["thread_id"]), client.wait_for_completion(started["thread_id"])
        )
        return started, state, streamed

    started, state, streamed = asyncio.run(refine())
    thread_id = payload["job_id"]

    assert started == {"thread_id": thread_id, "status": "started"}
    assert state["status"] == "completed"
    assert state["result"]["output"] == "The specification is in /definition.json."
    assert state["generated_files"]["/definition.json"]["content"] == [SPEC]
    assert streamed.ended and streamed.close_code == 1000
    assert streamed.final_files == state["generated_files"]
    assert [e["event_type"] for e in streamed.events].count("end") == 1

    assert _checkpoints(postgres, thread_id) > 0
    assert asyncio.run(client.cleanup_thread_data(thread_id))
    assert _checkpoints(postgres, thread_id) == 0
    assert httpx.get(f"{client.base_url}/state/{thread_id}").status_code == 404
    assert httpx.get(f"{worker.url}/jobs/{thread_id}").status_code == 404
    again = httpx.delete(f"{client.base_url}/cleanup/{thread_id}")
    assert again.status_code == 404  # which ide-orchestrator counts as done


def test_the_invoke_of_create_refinement_proposal_starts_and_fails_naming_the_empty_definition(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    # orchestration_service.create_refinement_proposal sends agent_definition {} ("empty
    # for now") with messages and instructions; deepagents-runtime answered it 422.
    worker = start_worker()
    client = IdeOrchestrator(worker.url)
    payload = {
        "job_id": f"refinement-proposal-{uuid.uuid4().int % 10**12}",
        "trace_id": "trace-proposal-1",
        "agent_definition": {},
        "input_payload": {
            "messages": [{"role": "user", "content": "Add a greeting agent"}],
            "instructions": "Add a greeting agent",
            "context": "",
            "context_file_path": None,
        },
    }
    started = asyncio.run(client.invoke_job(payload))
    with pytest.raises(RuntimeCallError, match="job failed"):
        asyncio.run(client.wait_for_completion(started["thread_id"]))
    state = asyncio.run(client.get_execution_state(started["thread_id"]))

    assert started["status"] == "started"
    assert state["status"] == "failed"
    assert state["error"]["type"] == "InvalidAgentDefinition"
    assert "agent_definition: is empty" in state["error"]["message"]
    assert fake.request_count == 0


def test_a_late_websocket_gets_the_whole_replay_then_a_normal_close(
    start_worker: Callable[..., Worker], nats: NatsServer, redis_url: str, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    client = IdeOrchestrator(worker.url + "/deepagents-runtime")
    _script_refinement(fake)
    payload = _refinement(uuid.uuid4().hex[:8], agent_definition())
    asyncio.run(client.invoke_job(payload))
    wait_result(nats, payload["job_id"])

    streamed = asyncio.run(client.stream(payload["job_id"]))

    assert streamed.events == redis_events(redis_url, payload["job_id"])
    assert streamed.final_files["/definition.json"]["content"] == [SPEC]
    assert streamed.close_code == 1000


def test_cleanup_refuses_a_running_thread_and_deletes_nothing(
    start_worker: Callable[..., Worker], postgres: PostgresServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    _script_refinement(fake, latency=3.0)
    payload = _refinement(uuid.uuid4().hex[:8], agent_definition())
    httpx.post(f"{worker.url}/invoke", json=payload)
    thread_id = payload["job_id"]
    eventually(lambda: _checkpoints(postgres, thread_id) > 0, 30, "a first checkpoint")

    refused = httpx.delete(f"{worker.url}/cleanup/{thread_id}")

    assert refused.status_code == 409
    assert "running" in refused.json()["detail"]
    assert _checkpoints(postgres, thread_id) > 0
    assert httpx.get(f"{worker.url}/state/{thread_id}").json()["status"] == "running"


def test_an_unknown_thread_is_404_for_state_and_cleanup_and_4404_on_the_stream(
    start_worker: Callable[..., Worker],
) -> None:
    worker = start_worker()
    thread_id = f"nobody-{uuid.uuid4().hex[:8]}"
    state = httpx.get(f"{worker.url}/deepagents-runtime/state/{thread_id}")
    cleanup = httpx.delete(f"{worker.url}/deepagents-runtime/cleanup/{thread_id}")

    async def stream() -> int | None:
        url = worker.url.replace("http://", "ws://")
        async with websockets.connect(f"{url}/deepagents-runtime/stream/{thread_id}") as socket:
            with pytest.raises(websockets.ConnectionClosedError):
                await socket.recv()
            return socket.close_code

    assert (state.status_code, state.json()) == (404, {"detail": f"Thread {thread_id} not found"})
    assert cleanup.status_code == 404
    assert asyncio.run(stream()) == 4404


def test_invoke_refuses_an_invalid_body_400_and_a_reused_id_409_with_detail(
    start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    worker = start_worker()
    invalid = httpx.post(f"{worker.url}/invoke", json={"job_id": "j-1", "input_payload": {}})
    payload = _refinement(uuid.uuid4().hex[:8], agent_definition())
    first = httpx.post(f"{worker.url}/invoke", json=payload)
    same = httpx.post(f"{worker.url}/invoke", json=payload)
    other = httpx.post(
        f"{worker.url}/invoke", json={**payload, "agent_definition": agent_definition(model="m2")}
    )

    assert invalid.status_code == 400 and "agent_definition" in invalid.json()["detail"]
    assert (first.status_code, first.json()["status"]) == (200, "started")
    assert (same.status_code, same.json()["status"]) == (200, "processing")
    assert other.status_code == 409 and "already used" in other.json()["detail"]
