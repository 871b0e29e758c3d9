"""Agents written for deepagents-runtime and its client, run end to end (issue #11).

A scripted model that, like a real one, calls only the tools it is offered (the fake is
strict), with deepagents' argument names. Real NATS, PostgreSQL and Redis; the worker as a
process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer
from testbed.worker import Worker, cloudevent, redis_events, results

pytestmark = pytest.mark.slow


def _node(node_id: str, kind: str, name: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "config": {
            "name": name,
            "system_prompt": f"You are {name}.",
            "model": {"provider": "openai", "model_name": "gpt-test"},
            "tools": [],
        },
    }


# The shape ide-orchestrator's tests recorded: two Orchestrator nodes, lower-case types too.
GENERATED_DEFINITION: dict[str, Any] = {
    "name": "greeting-workflow",
    "nodes": [
        _node("start_node", "Orchestrator", "Start"),
        _node("OrchestratorAgent", "orchestrator", "Orchestrator Agent"),
        _node("GreetingAgent", "specialist", "Greeting Agent"),
    ],
    "edges": [{"source": "OrchestratorAgent", "target": "GreetingAgent", "type": "specialists"}],
}


def test_an_ide_orchestrator_refinement_runs_over_http_with_its_context_file_and_a_warning(
    start_worker: Callable[..., Worker], nats: NatsServer, redis_url: str, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(
        tool_calls(ToolCall("read_file", {"file_path": "/THE_CAST/GreetingAgent.md"})),
        tool_calls(
            ToolCall("task", {"subagent_type": "Greeting Agent", "description": "Make it warm."})
        ),
        tool_calls(
            ToolCall(
                "edit_file",
                {
                    "file_path": "/THE_CAST/GreetingAgent.md",
                    "old_string": "Say hello.",
                    "new_string": "Say hello warmly.",
                },
            )
        ),
        text("Edited."),
        text("The greeting is warmer now."),
    )
    job_id = f"refinement-proposal-{time.time_ns()}"
    body = {
        "job_id": job_id,
        "trace_id": f"trace-proposal-{job_id}",
        "agent_definition": GENERATED_DEFINITION,
        "input_payload": {
            "instructions": "Make the greeting warmer.",
            "context": "Say hello.",
            "context_file_path": "/THE_CAST/GreetingAgent.md",
        },
    }
    answer = httpx.post(f"{worker.url}/", json=cloudevent(body), timeout=60)
    assert answer.status_code == 200, answer.text
    result = answer.json()["data"]["result"]

    assert result["output"] == "The greeting is warmer now."
    assert result["files"]["/THE_CAST/GreetingAgent.md"]["content"] == ["Say hello warmly."]
    assert result["warnings"] == [
        "agent_definition.nodes: 2 nodes have type Orchestrator; nodes[1] ('Orchestrator Agent') "
        "ran, as in deepagents-runtime, and nodes[0] ('Start') did not run"
    ]
    first_request = fake.requests[0]
    assert first_request["messages"][-1]["content"].startswith(
        "Make the greeting warmer.\n\nContext (from /THE_CAST/GreetingAgent.md):\nSay hello."
    )
    assert first_request["messages"][0]["content"].startswith("You are Orchestrator Agent.")
    events = redis_events(redis_url, job_id)
    assert events[-1]["event_type"] == "end"
    assert len(asyncio.run(results(nats.url, job_id))) == 1
    assert fake.pending == 0


def test_an_ide_orchestrator_workflow_specification_fails_with_an_error_that_names_it(
    start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = {
        "job_id": f"template-{time.time_ns()}",
        "agent_definition": {
            "graph": {
                "nodes": [{"id": "o", "type": "AgentNode", "data": {"llm_config": {"model": "m"}}}]
            }
        },
        "input_payload": {"messages": [{"role": "user", "content": "Hi"}]},
    }
    answer = httpx.post(f"{worker.url}/", json=cloudevent(body), timeout=60)
    error = answer.json()["data"]["error"]
    assert error["type"] == "InvalidAgentDefinition"
    assert "ide-orchestrator workflow specification" in error["message"]
    assert fake.request_count == 0
