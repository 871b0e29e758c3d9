"""The worker end to end: real NATS JetStream, PostgreSQL and Redis, an OpenAI-compatible fake."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import (
    NatsServer,
    PostgresServer,
    eventually,
    free_port,
    postgres_server,
)
from testbed.worker import (
    Worker,
    cloudevent,
    jetstream,
    job,
    publish,
    redis_events,
    results,
    wait_result,
)

pytestmark = pytest.mark.slow

OLDEST_JOB_AGE = "agent_executor_oldest_job_age_seconds"


def test_structured_cloudevent_completes_with_events_checkpoints_and_ledger(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    redis_url: str,
    postgres: PostgresServer,
    fake: FakeOpenAI,
) -> None:
    worker = start_worker()
    fake.script(text("The report is ready.", usage=(12, 6)))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"])

    assert event["nats_subject"] == "agent.status.completed"
    assert event["type"] == "dev.my-platform.agent.completed"
    assert event["source"] == "agent-executor-service"
    assert event["traceparent"].startswith("00-4bf92f35")
    result = event["data"]["result"]
    assert (result["output"], result["status"]) == ("The report is ready.", "completed")
    assert result["usage"]["gpt-test"] == {"prompt_tokens": 12, "completion_tokens": 6}

    kinds = [e["event_type"] for e in redis_events(redis_url, body["job_id"])]
    assert kinds[-1] == "end"
    assert "on_llm_stream" in kinds and "on_state_update" in kinds
    assert kinds.index("on_llm_stream") < kinds.index("on_state_update")

    with psycopg.connect(postgres.url) as conn:
        checkpoints = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (body["job_id"],)
        ).fetchone()
    assert checkpoints is not None and checkpoints[0] > 0
    ledger = httpx.get(f"{worker.url}/jobs/{body['job_id']}").json()
    assert (ledger["status"], ledger["attempts"]) == ("completed", 1)


def test_a_bare_job_over_nats_completes(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    body = job()
    asyncio.run(publish(nats.url, body))
    assert wait_result(nats, body["job_id"])["nats_subject"] == "agent.status.completed"


def test_more_concurrent_jobs_than_pooled_connections_all_complete(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    # Job locks live on their own connection, so running jobs never hold pooled ones
    # while they wait for another to write a checkpoint.
    start_worker(WORKER_CONCURRENCY="8", POSTGRES_POOL_MAX="2")
    fake.script(*(text(f"answer {i}", latency=0.3) for i in range(12)))
    bodies = [job() for _ in range(12)]

    async def publish_all() -> None:
        for body in bodies:
            await publish(nats.url, body)

    asyncio.run(publish_all())
    subjects = {wait_result(nats, body["job_id"])["nats_subject"] for body in bodies}
    assert subjects == {"agent.status.completed"}


def test_a_binary_cloudevent_over_http_replies_with_the_result_event(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(text("over http"))
    body = job()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "http-1",
        "ce-source": "tests",
        "ce-type": "dev.my-platform.agent.execute",
        "content-type": "application/json",
    }
    reply = httpx.post(f"{worker.url}/", content=json.dumps(body), headers=headers, timeout=60)
    assert reply.status_code == 200
    assert reply.json()["data"]["result"]["output"] == "over http"
    assert wait_result(nats, body["job_id"])["data"]["result"]["output"] == "over http"


def test_the_orchestrator_delegates_and_written_files_reach_the_result_and_the_events(
    start_worker: Callable[..., Worker], nats: NatsServer, redis_url: str, fake: FakeOpenAI
) -> None:
    start_worker()
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "researcher", "description": "find facts"})),
        tool_calls(
            ToolCall("write_file", {"file_path": "/notes.md", "content": "fact one\nfact two"})
        ),
        text("facts written to /notes.md"),
        text("Report: see /notes.md"),
    )
    body = job(specialist=True)
    asyncio.run(publish(nats.url, cloudevent(body)))
    result = wait_result(nats, body["job_id"])["data"]["result"]

    assert result["output"] == "Report: see /notes.md"
    assert result["files"]["/notes.md"]["content"] == ["fact one", "fact two"]
    task_result = fake.requests[3]["messages"][-1]
    assert (task_result["role"], task_result["content"]) == ("tool", "facts written to /notes.md")
    updates = [
        e for e in redis_events(redis_url, body["job_id"]) if e["event_type"] == "on_state_update"
    ]
    assert any("/notes.md" in u["data"]["files"] for u in updates)


def _spec_builders_node(node_id: str, kind: str, name: str) -> dict[str, Any]:
    # No tools listed: deepagents gave every agent its file tools (and task) unlisted.
    return {
        "id": node_id,
        "type": kind,
        "config": {
            "name": name,
            "system_prompt": f"You are the {name}.",
            "model": {"provider": "openai", "model": "gpt-test"},
            "tools": [],
        },
    }


def test_a_spec_builders_run_returns_every_file_its_agents_wrote(
    start_worker: Callable[..., Worker], nats: NatsServer, redis_url: str, fake: FakeOpenAI
) -> None:
    # Issue #11: this workflow ended with none of its files under the runtime before.
    start_worker()
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/user_request.md", "content": "hi"})),
        tool_calls(ToolCall("task", {"subagent_type": "Guardrail Agent", "description": "Check."})),
        tool_calls(
            ToolCall("write_file", {"file_path": "/guardrail_assessment.md", "content": "ok"})
        ),
        text("Assessment saved."),
        tool_calls(
            ToolCall("task", {"subagent_type": "Workflow Spec Agent", "description": "Spec."})
        ),
        tool_calls(
            ToolCall("write_file", {"file_path": "/THE_SPEC/constitution.md", "content": "c"}),
            ToolCall("write_file", {"file_path": "/THE_SPEC/requirements.md", "content": "r TBD"}),
        ),
        text("Spec written."),
        tool_calls(
            ToolCall(
                "edit_file",
                {"file_path": "/THE_SPEC/requirements.md", "old_string": "TBD", "new_string": "ok"},
            )
        ),
        text("All done."),
    )
    job_id = f"spec-builders-{time.time_ns()}"
    body = {
        "job_id": job_id,
        "agent_definition": {
            "name": "spec-builders",
            "nodes": [
                _spec_builders_node("builder_agent_orchestrator", "Orchestrator", "Builder"),
                _spec_builders_node("guardrail-agent", "Specialist", "Guardrail Agent"),
                _spec_builders_node("workflow-spec-agent", "Specialist", "Workflow Spec Agent"),
            ],
        },
        "input_payload": {"messages": [{"role": "user", "content": "Build a hello agent."}]},
        "trace_id": "trace-spec-builders",
    }
    asyncio.run(publish(nats.url, cloudevent(body)))
    result = wait_result(nats, job_id)["data"]["result"]

    expected = {
        "/user_request.md": ["hi"],
        "/guardrail_assessment.md": ["ok"],
        "/THE_SPEC/constitution.md": ["c"],
        "/THE_SPEC/requirements.md": ["r ok"],
    }
    assert result["output"] == "All done."
    assert {path: f["content"] for path, f in result["files"].items()} == expected
    events = redis_events(redis_url, job_id)
    assert events[-1]["event_type"] == "end"
    last_update = [e for e in events if e["event_type"] == "on_state_update"][-1]
    assert {path: f["content"] for path, f in last_update["data"]["files"].items()} == expected
    assert fake.pending == 0


def test_malformed_input_with_a_job_id_fails_once_and_is_not_redelivered(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    asyncio.run(publish(nats.url, cloudevent({"job_id": "bad-1", "input_payload": {}})))
    event = wait_result(nats, "bad-1")
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == "InvalidInput"
    assert "agent_definition" in event["data"]["error"]["message"]
    time.sleep(6)  # longer than the ack wait: a redelivery would show up now
    assert len(asyncio.run(results(nats.url, "bad-1"))) == 1
    assert fake.request_count == 0


def test_a_binary_cloudevent_with_a_bad_header_fails_the_job_its_body_names(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    body = job()
    headers = {  # no ce-id
        "ce-specversion": "1.0",
        "ce-source": "tests",
        "ce-type": "dev.my-platform.agent.execute",
        "content-type": "application/json",
    }
    asyncio.run(publish(nats.url, body, headers=headers))
    event = wait_result(nats, body["job_id"])
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"] == {
        "message": "binary CloudEvent: ce-id header is missing",
        "type": "InvalidInput",
    }
    assert fake.request_count == 0


def test_an_llm_429_is_retried_after_a_delayed_redelivery(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.fail_next(1, status=429, retry_after=1)
    fake.script(text("after the rate limit"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"], timeout=45)
    assert event["data"]["result"]["output"] == "after the rate limit"
    assert httpx.get(f"{worker.url}/jobs/{body['job_id']}").json()["attempts"] == 2


def test_a_run_over_its_token_budget_fails_with_a_typed_error(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker(TOKEN_BUDGET_PER_RUN="20")
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "x"}), usage=(15, 10)),
        text("never reached"),
    )
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"])
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == "BudgetExceeded"
    assert fake.request_count == 1


def test_a_redelivered_completed_job_is_republished_without_running_again(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    fake.script(text("only once"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    asyncio.run(publish(nats.url, cloudevent(body)))  # the same job, delivered again
    time.sleep(3)
    assert fake.request_count == 1
    completed = asyncio.run(results(nats.url, body["job_id"]))
    assert [e["nats_subject"] for e in completed] == ["agent.status.completed"]


def test_a_killed_worker_resumes_from_the_checkpoint_without_repeating_finished_llm_calls(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    first = start_worker()
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/draft.md", "content": "draft"})),
        text("interrupted answer", latency=30),  # in flight when the worker dies
        text("final answer"),
    )
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    eventually(lambda: fake.request_count == 2, 30, "the second LLM call")
    time.sleep(0.5)
    first.kill()
    start_worker()
    event = wait_result(nats, body["job_id"], timeout=60)

    assert event["data"]["result"]["output"] == "final answer"
    assert event["data"]["result"]["files"]["/draft.md"]["content"] == ["draft"]
    # The finished first call is not repeated; only the one cut off is.
    assert fake.request_count == 3
    time.sleep(2)
    assert len(asyncio.run(results(nats.url, body["job_id"]))) == 1


def test_ready_is_503_while_postgres_is_down_and_200_after_it_returns(
    start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    with postgres_server() as own:
        from testbed.database import migrate

        migrate(own.url)
        worker = start_worker(DATABASE_URL=own.url)
        assert httpx.get(f"{worker.url}/ready").status_code == 200
        own.stop()
        reply = httpx.get(f"{worker.url}/ready", timeout=10)
        assert reply.status_code == 503
        assert reply.json()["services"] == {"postgres": "down", "dragonfly": "up", "nats": "up"}
        own.start()
        eventually(
            lambda: httpx.get(f"{worker.url}/ready", timeout=10).status_code == 200,
            30,
            "ready again",
        )


def test_sigterm_during_a_run_loses_no_message(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    first = start_worker(SHUTDOWN_TIMEOUT_SECONDS="1")
    fake.script(text("slow", latency=6), text("finished by the next worker"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    eventually(lambda: fake.request_count == 1, 30, "the LLM call")
    # uvicorn drains, then re-raises SIGTERM so the exit status says why it stopped.
    assert first.terminate(timeout=30) == -15
    assert "worker stopped" in first.logs()
    assert asyncio.run(results(nats.url, body["job_id"])) == []
    start_worker()
    event = wait_result(nats, body["job_id"], timeout=60)
    assert event["data"]["result"]["output"] == "finished by the next worker"
    assert len(asyncio.run(results(nats.url, body["job_id"]))) == 1


def test_secrets_never_reach_the_logs(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(LOG_LEVEL="DEBUG")
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    worker.terminate()
    assert "sk-test-secret-value" not in worker.logs()


def test_llm_requests_are_not_logged_one_line_each_at_info(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(LOG_LEVEL="INFO")
    body = job()
    asyncio.run(publish(nats.url, body))
    wait_result(nats, body["job_id"])
    worker.terminate()
    assert fake.request_count >= 1
    assert "HTTP Request" not in worker.logs()


def test_health_answers_quickly_while_a_long_run_is_in_flight(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(text("slow answer", latency=5))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    eventually(lambda: fake.request_count == 1, 30, "the LLM call")
    began = time.monotonic()
    assert httpx.get(f"{worker.url}/health", timeout=5).status_code == 200
    assert time.monotonic() - began < 0.5
    wait_result(nats, body["job_id"])


def test_heartbeats_keep_a_run_longer_than_the_ack_wait_from_being_redelivered(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()  # ack wait 4 s, heartbeat 1 s
    fake.script(text("took a while", latency=9))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"], timeout=60)
    assert fake.request_count == 1
    assert httpx.get(f"{worker.url}/jobs/{body['job_id']}").json()["attempts"] == 1


def test_metrics_count_the_job_its_tokens_and_llm_latency(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(text("measured", usage=(21, 4)))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    metrics = httpx.get(f"{worker.url}/metrics").text
    assert 'agent_executor_jobs_total{outcome="completed"} 1.0' in metrics
    assert 'agent_executor_llm_tokens_total{kind="prompt",model="gpt-test"} 21.0' in metrics
    assert 'agent_executor_llm_request_duration_seconds_count{model="gpt-test"} 1.0' in metrics
    assert "agent_executor_jobs_in_flight 0.0" in metrics


def _gauge(metrics: str, name: str) -> float:
    (line,) = [line for line in metrics.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def test_metrics_show_the_age_of_the_oldest_running_job_until_it_ends(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(text("slow answer", latency=4))
    body = job()
    assert _gauge(httpx.get(f"{worker.url}/metrics").text, OLDEST_JOB_AGE) == 0

    asyncio.run(publish(nats.url, cloudevent(body)))
    eventually(
        lambda: _gauge(httpx.get(f"{worker.url}/metrics").text, OLDEST_JOB_AGE) >= 2,
        30,
        "the running job's age on /metrics",
    )
    wait_result(nats, body["job_id"])

    assert _gauge(httpx.get(f"{worker.url}/metrics").text, OLDEST_JOB_AGE) == 0


def test_after_the_last_delivery_a_job_fails_and_is_dead_lettered(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker(NATS_MAX_DELIVER="2")
    fake.fail_next(10, status=500)
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"], timeout=60)
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == "LLMUnavailable"
    assert "after 2 deliveries" in event["data"]["error"]["message"]

    async def dead_letters() -> list[Any]:
        nc, js = await jetstream(nats.url)
        try:
            msg = await js.get_last_msg("AGENT_DLQ", f"agent.dlq.{body['job_id']}")
            return [json.loads(msg.data or b"{}")]
        finally:
            await nc.close()

    copies = asyncio.run(dead_letters())
    assert copies[0]["data"]["job_id"] == body["job_id"]  # the original event, unchanged


def test_a_redis_outage_does_not_fail_the_job(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(wait_for="/health", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert httpx.get(f"{worker.url}/ready").json()["services"]["dragonfly"] == "down"
    fake.script(text("no streaming, still a result"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"])
    assert event["data"]["result"]["output"] == "no streaming, still a result"
    metrics = httpx.get(f"{worker.url}/metrics").text
    assert "agent_executor_stream_publish_errors_total 0.0" not in metrics
