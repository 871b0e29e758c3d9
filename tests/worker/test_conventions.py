"""Seed 000's conventions on a real worker process: log fields, message counters, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testbed.fake_openai import FakeOpenAI, text
from testbed.servers import NatsServer, eventually, local_redis_server
from testbed.worker import Worker, cloudevent, job, publish, wait_result

pytestmark = pytest.mark.slow

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"  # of testbed's cloudevent() traceparent


def json_lines(worker: Worker) -> list[dict[str, Any]]:
    """Every line the worker wrote, each of which must be a JSON object."""
    return [json.loads(line) for line in worker.logs().splitlines() if line.strip()]


def samples(worker: Worker) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(httpx.get(f"{worker.url}/metrics").text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def messages(worker: Worker, action: str) -> float:
    return samples(worker)[("agent_executor_nats_messages_total", (("action", action),))]


def test_every_log_line_names_the_service_and_inside_a_job_its_job_and_trace(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.fail_next(1, status=503, retry_after=None)  # a retry: the consumer logs it too
    fake.script(text("logged"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])

    lines = json_lines(worker)
    assert all(line["service"] == "agent-executor" for line in lines)
    ours = [line for line in lines if line.get("job_id") == body["job_id"]]
    assert [line["msg"] for line in ours] == [
        "job started",
        "job finished",
        "retrying later",
        "job started",
        "resuming from checkpoint",
        "job finished",
    ]
    assert {line["trace_id"] for line in ours} == {TRACE_ID}
    assert ours[1]["error_type"] == "LLMUnavailable" and ours[-1]["outcome"] == "completed"
    assert "sk-test-secret-value" not in worker.logs()


def test_each_message_is_counted_by_what_the_worker_did_with_it(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    before = {a: messages(worker, a) for a in ("fetched", "acked", "terminated", "dead_lettered")}
    fake.script(text("counted"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    asyncio.run(publish(nats.url, {"not": "a job"}))  # poison: terminated and dead-lettered

    eventually(lambda: messages(worker, "terminated") == before["terminated"] + 1, 20, "term")
    assert messages(worker, "fetched") == before["fetched"] + 2
    assert messages(worker, "acked") == before["acked"] + 1
    assert messages(worker, "dead_lettered") == before["dead_lettered"] + 1
    metrics = samples(worker)
    assert metrics[("agent_executor_dead_letters_total", (("reason", "InvalidInput"),))] == 1


def test_the_health_gauge_follows_the_readiness_checks(
    worker_env: dict[str, str], start_worker: Callable[..., Worker]
) -> None:
    with local_redis_server() as own_redis:
        worker = start_worker(REDIS_URL=own_redis.url)
        assert samples(worker)[("agent_executor_health", ())] == 1
    # Its Redis is gone: /ready says so, and the gauge with it.
    reply = httpx.get(f"{worker.url}/ready", timeout=10)
    assert reply.status_code == 503 and reply.json()["services"]["dragonfly"] == "down"
    assert samples(worker)[("agent_executor_health", ())] == 0
