"""A running worker publishes its heartbeat into AGENT_HEARTBEATS every HEARTBEAT_SECONDS,
answers `agent.control.heartbeat` with the same status, and never stops for a heartbeat
it cannot publish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from prometheus_client.parser import text_string_to_metric_families

from contract.heartbeats import (
    HEARTBEAT_CONTROL_SUBJECT,
    HEARTBEAT_TYPE,
    HeartbeatEvent,
    heartbeat_subject,
)
from contract.nats import HEARTBEAT_STREAM
from testbed.fake_openai import FakeOpenAI
from testbed.servers import NatsServer, eventually
from testbed.worker import Worker, job, publish, wait_result

pytestmark = pytest.mark.slow

POD = {
    "POD_NAME": "research-agent-5c7d9-abcde",
    "POD_NAMESPACE": "intelligence-tests",
    "OTEL_SERVICE_NAME": "research-agent",
    "EXECUTOR_IMAGE": "ghcr.io/bizmatters/agent-executor:1.4.0",
}
SUBJECT = heartbeat_subject(POD["POD_NAMESPACE"], POD["OTEL_SERVICE_NAME"], POD["POD_NAME"])


async def nats_connect(url: str) -> NatsClient:
    # The tests' `nats` fixture (the server) hides the module inside them.
    return await nats.connect(url)


async def _stored(url: str, subject: str = SUBJECT) -> HeartbeatEvent | None:
    """The newest heartbeat the stream keeps on `subject`, if any."""
    nc = await nats.connect(url)
    try:
        msg = await nc.jetstream().get_last_msg(HEARTBEAT_STREAM, subject)
        return HeartbeatEvent.model_validate_json(msg.data or b"")
    except nats.js.errors.NotFoundError:
        return None
    finally:
        await nc.close()


def stored(nats_server: NatsServer) -> HeartbeatEvent | None:
    return asyncio.run(_stored(nats_server.url))


def metric(worker: Worker, name: str) -> float:
    for family in text_string_to_metric_families(httpx.get(f"{worker.url}/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} is not exported")


def test_the_worker_publishes_its_status_on_its_pods_subject(
    nats: NatsServer, start_worker: Callable[..., Worker]
) -> None:
    start_worker(**POD)
    eventually(lambda: stored(nats) is not None, 10, "a heartbeat in AGENT_HEARTBEATS")
    event = stored(nats)

    assert event is not None and event.type == HEARTBEAT_TYPE
    status = event.data
    assert (status.namespace, status.executor, status.pod) == (
        "intelligence-tests",
        "research-agent",
        "research-agent-5c7d9-abcde",
    )
    assert (status.image, status.version) == (POD["EXECUTOR_IMAGE"], "1.4.0")
    assert status.state == "running"
    assert (status.heartbeat_seconds, status.concurrency) == (1.0, 4)
    assert event.subject == "intelligence-tests/research-agent/research-agent-5c7d9-abcde"


def test_heartbeats_come_every_interval_and_the_stream_keeps_only_the_newest(
    nats: NatsServer, start_worker: Callable[..., Worker]
) -> None:
    worker = start_worker(**POD)
    eventually(lambda: stored(nats) is not None, 10, "a first heartbeat")
    first = stored(nats)
    time.sleep(2.5)
    later = stored(nats)

    assert first is not None and later is not None
    assert later.data.sent_at > first.data.sent_at
    assert later.data.uptime_seconds >= first.data.uptime_seconds + 1.5

    async def kept() -> int:
        nc = await nats_connect(nats.url)
        try:
            info = await nc.jetstream().stream_info(HEARTBEAT_STREAM)
            return int(info.state.messages)
        finally:
            await nc.close()

    assert asyncio.run(kept()) == 1
    published_at = metric(worker, "agent_executor_heartbeat_published_timestamp_seconds")
    assert time.time() - published_at < 3
    assert metric(worker, "agent_executor_heartbeat_interval_seconds") == 1.0


def test_a_finished_job_shows_in_the_next_heartbeat(
    nats: NatsServer, start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    start_worker(**POD)
    body = job()
    asyncio.run(publish(nats.url, body))
    wait_result(nats, body["job_id"])

    def counted() -> bool:
        event = stored(nats)
        return event is not None and event.data.completed == 1

    eventually(counted, 10, "the completed job in a heartbeat")
    event = stored(nats)
    assert event is not None
    assert event.data.failed == 0 and event.data.in_flight == 0
    assert event.data.last_activity_at is not None


def test_every_worker_answers_a_heartbeat_request_with_its_status(
    nats: NatsServer, start_worker: Callable[..., Worker]
) -> None:
    start_worker(**POD)
    start_worker(**{**POD, "POD_NAME": "research-agent-5c7d9-fghij"})

    async def ask() -> set[str]:
        nc = await nats_connect(nats.url)
        inbox = nc.new_inbox()
        replies = await nc.subscribe(inbox)
        await nc.publish(HEARTBEAT_CONTROL_SUBJECT, b"{}", reply=inbox)
        pods: set[str] = set()
        deadline = time.monotonic() + 3
        try:
            while len(pods) < 2 and time.monotonic() < deadline:
                msg = await replies.next_msg(timeout=deadline - time.monotonic())
                pods.add(HeartbeatEvent.model_validate_json(msg.data).data.pod)
        finally:
            await nc.close()
        return pods

    assert asyncio.run(ask()) == {"research-agent-5c7d9-abcde", "research-agent-5c7d9-fghij"}


def test_a_heartbeat_that_cannot_be_stored_is_counted_and_the_worker_keeps_working(
    nats: NatsServer, start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    worker = start_worker(**POD)
    eventually(lambda: stored(nats) is not None, 10, "a first heartbeat")

    async def drop_the_stream() -> None:
        nc = await nats_connect(nats.url)
        try:
            await nc.jetstream().delete_stream(HEARTBEAT_STREAM)
        finally:
            await nc.close()

    asyncio.run(drop_the_stream())
    eventually(
        lambda: metric(worker, "agent_executor_heartbeat_publish_failures_total") >= 2,
        10,
        "two failed heartbeats",
    )
    body = job()
    asyncio.run(publish(nats.url, body))
    assert wait_result(nats, body["job_id"])["type"] == "dev.my-platform.agent.completed"
    assert httpx.get(f"{worker.url}/ready").status_code == 200
    # Logged when it starts failing, not at every interval.
    assert worker.logs().count("heartbeat not published") == 1


def test_a_worker_that_stops_says_so_in_its_last_heartbeat(
    nats: NatsServer, start_worker: Callable[..., Worker]
) -> None:
    worker = start_worker(**POD)
    eventually(lambda: stored(nats) is not None, 10, "a first heartbeat")
    worker.terminate()  # uvicorn re-raises SIGTERM once the lifespan has drained

    event = stored(nats)
    assert event is not None and event.data.state == "stopped"
