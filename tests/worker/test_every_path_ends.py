"""Every job ends: completed, failed with a named error, or dead-lettered with a reason.

Real NATS JetStream, PostgreSQL and Redis; the worker as a process. Nothing may be
left unacknowledged in the work queue, and no input may leave a ledger row behind.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from nats.js.api import ConsumerConfig, RawStreamMsg, RetentionPolicy, StreamConfig

from contract.nats import DEAD_LETTER_REASON_HEADER, DEAD_LETTER_TYPE_HEADER, PLATFORM_STREAMS
from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer, PostgresServer, eventually
from testbed.worker import Worker, cloudevent, jetstream, job, publish, results, wait_result
from workers.agent_executor.retention import prune

pytestmark = pytest.mark.slow

STREAM, CONSUMER = "AGENT_EXECUTION", "agent-executor-workers"


async def _create_streams(url: str, *, max_deliver: int, ack_wait: float) -> None:
    """The platform's streams and a consumer whose delivery settings the worker must read."""
    nc, js = await jetstream(url)
    try:
        for name, subjects in PLATFORM_STREAMS.items():
            retention = RetentionPolicy.WORK_QUEUE if name == STREAM else RetentionPolicy.LIMITS
            await js.add_stream(
                StreamConfig(name=name, subjects=list(subjects), retention=retention)
            )
        await js.add_consumer(
            STREAM,
            ConsumerConfig(durable_name=CONSUMER, max_deliver=max_deliver, ack_wait=ack_wait),
        )
    finally:
        await nc.close()


async def _dead_letters(url: str) -> list[RawStreamMsg]:
    nc, js = await jetstream(url)
    try:
        info = await js.stream_info("AGENT_DLQ")
        if not info.state.messages:
            return []
        return [
            await js.get_msg("AGENT_DLQ", seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await nc.close()


async def _work_queue_is_empty(url: str) -> bool:
    nc, js = await jetstream(url)
    try:
        stream = await js.stream_info(STREAM)
        consumer = await js.consumer_info(STREAM, CONSUMER)
        return (
            stream.state.messages == 0
            and consumer.num_pending == 0
            and consumer.num_ack_pending == 0
        )
    finally:
        await nc.close()


def _wait_for_dead_letters(nats_server: NatsServer, count: int, timeout: float = 30) -> list[Any]:
    found: list[Any] = []

    def arrived() -> bool:
        found[:] = asyncio.run(_dead_letters(nats_server.url))
        return len(found) >= count

    eventually(arrived, timeout, f"{count} dead letter(s)")
    return found


def _ledger_rows(postgres: PostgresServer, prefix: str) -> int:
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM agent_jobs WHERE job_id LIKE %s", (prefix + "%",)
        ).fetchone()
    return int(row[0]) if row else 0


def test_the_consumers_own_max_deliver_ends_a_failing_job_in_one_failed_event_and_one_dead_letter(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    # The worker is told 5 deliveries; the server's consumer says 3, and the server wins.
    asyncio.run(_create_streams(nats.url, max_deliver=3, ack_wait=4))
    worker = start_worker(NATS_MAX_DELIVER="5")
    fake.fail_next(1000, status=503)
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))

    event = wait_result(nats, body["job_id"], timeout=60)
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == "LLMUnavailable"
    assert "after 3 deliveries" in event["data"]["error"]["message"]
    letters = _wait_for_dead_letters(nats, 1)
    assert [m.subject for m in letters] == [f"agent.dlq.{body['job_id']}"]
    assert letters[0].headers[DEAD_LETTER_TYPE_HEADER] == "LLMUnavailable"
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")
    time.sleep(5)  # past the ack wait: nothing more may arrive
    assert len(asyncio.run(results(nats.url, body["job_id"]))) == 1
    assert len(asyncio.run(_dead_letters(nats.url))) == 1
    record = httpx.get(f"{worker.url}/jobs/{body['job_id']}").json()
    assert (record["status"], record["attempts"]) == ("failed", 3)
    assert "consumer delivery settings" in worker.logs()


def test_a_body_nested_too_deeply_is_dead_lettered_with_its_reason(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    nested = b'{"job_id": "deep-1", "agent_definition": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

    async def send() -> None:
        nc, js = await jetstream(nats.url)
        try:
            await js.publish("agent.execute.tests", nested)
        finally:
            await nc.close()

    asyncio.run(send())
    letters = _wait_for_dead_letters(nats, 1)
    assert letters[0].data == nested
    assert "nested" in letters[0].headers[DEAD_LETTER_REASON_HEADER]
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")
    assert fake.request_count == 0


def test_a_job_id_with_a_nul_is_dead_lettered_before_any_row_is_written(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    postgres: PostgresServer,
    fake: FakeOpenAI,
) -> None:
    start_worker()
    asyncio.run(publish(nats.url, cloudevent(job("nul-test\x00x"))))
    letters = _wait_for_dead_letters(nats, 1)
    assert letters[0].subject.startswith("agent.dlq.unknown-seq-")
    assert "job_id" in letters[0].headers[DEAD_LETTER_REASON_HEADER]
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")
    assert _ledger_rows(postgres, "nul-test") == 0
    assert fake.request_count == 0


def test_a_result_larger_than_the_nats_payload_is_published_trimmed_and_recorded_whole(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(JOB_MAX_RESULT_BYTES=str(8 * 1024 * 1024))
    output = "x" * (1536 * 1024)  # 1.5 MiB; the test server's max payload is 1 MiB
    fake.script(text(output))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))

    event = wait_result(nats, body["job_id"], timeout=60)
    assert event["nats_subject"] == "agent.status.completed"
    result = event["data"]["result"]
    assert result["truncated"]["full_bytes"] > len(output)
    assert len(result["output"]) < len(output)
    assert output.startswith(result["output"])
    record = httpx.get(f"{worker.url}/jobs/{body['job_id']}", timeout=30).json()
    assert record["result"]["result"]["output"] == output
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")


@pytest.mark.parametrize(
    ("limit", "replies", "error_type"),
    [
        (
            {"JOB_MAX_STEPS": "6"},
            [tool_calls(ToolCall("ls", {"path": "/"})) for _ in range(40)],
            "StepLimitExceeded",
        ),
        ({"JOB_TIMEOUT_SECONDS": "1"}, [text("too slow", latency=4)], "TimeoutExceeded"),
        ({"JOB_MAX_RESULT_BYTES": "2048"}, [text("y" * 5000)], "ResultTooLarge"),
    ],
    ids=["steps", "wall-clock", "result-size"],
)
def test_a_job_over_a_limit_fails_with_the_limits_error_type(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    fake: FakeOpenAI,
    limit: dict[str, str],
    replies: list[Any],
    error_type: str,
) -> None:
    start_worker(**limit)
    fake.script(*replies)
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"], timeout=60)
    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == error_type
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/a%00b"),
        ("DELETE", "/jobs/a%00b"),
        ("DELETE", "/jobs/a%20b"),
        ("DELETE", "/jobs/a%09b"),
        ("GET", "/jobs/" + "j" * 201),
        ("DELETE", "/jobs/caf%C3%A9"),
    ],
)
def test_a_bad_job_id_in_the_path_is_a_400_that_names_the_rule(
    start_worker: Callable[..., Worker], method: str, path: str
) -> None:
    worker = start_worker()
    answer = httpx.request(method, worker.url + path)
    assert answer.status_code == 400
    assert "A-Z a-z 0-9" in answer.json()["error"]["message"]


def test_a_deeply_nested_http_request_is_a_400(start_worker: Callable[..., Worker]) -> None:
    worker = start_worker()
    body = b'{"job_id": "deep-http", "agent_definition": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    answer = httpx.post(f"{worker.url}/", content=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "InvalidInput"


def test_a_cancel_for_a_job_that_never_arrives_leaves_no_row_prune_keeps(
    start_worker: Callable[..., Worker], postgres: PostgresServer
) -> None:
    worker = start_worker()
    answer = httpx.delete(f"{worker.url}/jobs/never-arrives-1")
    assert answer.status_code == 202
    assert _ledger_rows(postgres, "never-arrives-") == 1
    time.sleep(1.1)
    prune(postgres.url, older_than=timedelta(seconds=1))
    assert _ledger_rows(postgres, "never-arrives-") == 0


def test_a_body_that_is_not_a_job_is_dead_lettered_not_redelivered(
    start_worker: Callable[..., Worker], nats: NatsServer
) -> None:
    start_worker()

    async def send() -> None:
        nc, js = await jetstream(nats.url)
        try:
            await js.publish("agent.execute.tests", json.dumps([1, 2, 3]).encode())
        finally:
            await nc.close()

    asyncio.run(send())
    letters = _wait_for_dead_letters(nats, 1)
    assert letters[0].headers[DEAD_LETTER_TYPE_HEADER] == "InvalidInput"
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")


def test_a_second_job_with_the_same_id_is_dead_lettered_and_never_gets_a_result(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    fake.script(text("the first job's answer"))
    first = job("test-job-001")
    asyncio.run(publish(nats.url, cloudevent(first)))
    assert wait_result(nats, "test-job-001")["data"]["result"]["output"] == "the first job's answer"

    second = {
        **job("test-job-001"),
        "input_payload": {"messages": [{"role": "user", "content": "Another task."}]},
    }
    asyncio.run(publish(nats.url, cloudevent(second)))
    letters = _wait_for_dead_letters(nats, 1)
    assert letters[0].headers[DEAD_LETTER_TYPE_HEADER] == "JobIdConflict"
    eventually(lambda: asyncio.run(_work_queue_is_empty(nats.url)), 10, "an empty work queue")
    assert len(asyncio.run(results(nats.url, "test-job-001"))) == 1
    assert fake.request_count == 1
    metrics = httpx.get(f"{worker.url}/metrics").text
    assert (
        'agent_executor_governance_violations_total{severity="high",type="JobIdConflict"} 1.0'
        in metrics
    )

    again = httpx.post(f"{worker.url}/", json=cloudevent(second))
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "JobIdConflict"
    same = httpx.post(f"{worker.url}/", json=cloudevent(first))
    assert same.status_code == 200
    assert same.json()["data"]["result"]["output"] == "the first job's answer"
