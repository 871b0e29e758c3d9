"""Control subjects work under the production permissions (contract/nats_permissions.py):
cancel from the worker's API and from a producer stops a running job; the other control
commands get through from a producer to a worker's user."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg

from contract.nats import CANCEL_PREFIX, CONTROL_COMMANDS, CONTROL_PREFIX, subject_token
from testbed.fake_openai import FakeOpenAI, ToolCall, tool_calls
from testbed.producer import Client, connect, submit, wait_results
from testbed.worker import job
from tests.system.conftest import NAMESPACES, Tenant

pytestmark = pytest.mark.slow

STEPS = 40  # scripted model turns: 40 x STEP_SECONDS if nothing stops the job
STEP_SECONDS = 0.5
PROMPTLY = 10.0  # seconds from the cancel to the job's result


def _slow_job(llm: FakeOpenAI) -> tuple[dict[str, Any], str]:
    """A job whose model takes STEP_SECONDS for each of STEPS tool-calling turns."""
    body = job(f"slow-{uuid.uuid4().hex[:10]}", model=f"slow-{uuid.uuid4().hex[:8]}")
    model = body["agent_definition"]["nodes"][0]["config"]["model"]["model"]
    llm.script(
        *(
            tool_calls(
                ToolCall("write_file", {"file_path": f"/step-{i}.md", "content": "."}),
                model=model,
                latency=STEP_SECONDS,
            )
            for i in range(STEPS)
        )
    )
    return body, model


def _calls(llm: FakeOpenAI, model: str) -> int:
    return sum(1 for body in llm.requests if body.get("model") == model)


async def _running_then_cancelled(
    tenant: Tenant, llm: FakeOpenAI, cancel: Callable[[Client, str], Awaitable[None]]
) -> None:
    producer = await connect(tenant.platform.nats.urls, tenant.producer)
    try:
        body, model = _slow_job(llm)
        await submit(producer, tenant.subject(body["job_id"]), body)
        deadline = time.monotonic() + 30
        while _calls(llm, model) < 2:
            assert time.monotonic() < deadline, "the job never started"
            await asyncio.sleep(0.05)

        cancelled_at = time.monotonic()
        await cancel(producer, body["job_id"])
        results = await wait_results(producer, [body["job_id"]], within=PROMPTLY)
        took = time.monotonic() - cancelled_at

        (result,) = results[body["job_id"]]
        assert result.subject == "agent.status.failed"
        assert result.event["data"]["error"]["type"] == "Cancelled"
        assert took < PROMPTLY
        assert _calls(llm, model) < STEPS / 2, "the job ran on after the cancel"
        assert producer.violations() == []
        assert "permissions violation" not in tenant.worker.logs().lower()
    finally:
        await producer.close()


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_cancel_through_the_workers_api_stops_a_running_job_promptly(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    tenant = dev_tenants[namespace]

    async def through_the_api(_: Client, job_id: str) -> None:
        # The worker publishes agent.control.cancel.<job> with its own (worker) user.
        async with httpx.AsyncClient() as http:
            reply = await http.delete(f"{tenant.worker.url}/jobs/{job_id}")
        assert reply.status_code == 202, reply.text

    asyncio.run(_running_then_cancelled(tenant, llm, through_the_api))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_cancel_published_by_the_producer_stops_a_running_job_promptly(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    async def from_the_producer(producer: Client, job_id: str) -> None:
        # What `agentplane jobs cancel` publishes.
        subject = CANCEL_PREFIX + subject_token(job_id)
        await producer.nc.publish(subject, json.dumps({"job_id": job_id}).encode())
        await producer.nc.flush()

    asyncio.run(_running_then_cancelled(dev_tenants[namespace], llm, from_the_producer))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_the_producer_may_send_every_control_command_and_a_worker_user_receive_it(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    # What heartbeat, set_budget and flush_cache do is a later issue (DESIGN section 6,
    # "Control and governance"; the worker listens to cancel only so far). What this proves
    # is the grants: a producer may publish each command, a client with the worker's
    # credentials may receive it, and may answer a request (heartbeat) on the inbox.
    tenant = dev_tenants[namespace]
    urls = tenant.platform.nats.urls

    async def scenario() -> None:
        worker = await connect(urls, tenant.worker_user)
        producer = await connect(urls, tenant.producer)
        received: list[str] = []
        commands = [c for c in CONTROL_COMMANDS if c != "cancel"]
        all_received = asyncio.Event()

        async def on_command(msg: Msg) -> None:
            received.append(msg.subject)
            if len(received) == len(commands):
                all_received.set()
            if msg.reply:
                await msg.respond(json.dumps({"pod": "worker-user", "in_flight": 0}).encode())

        try:
            await worker.nc.subscribe(CONTROL_PREFIX + ">", cb=on_command)
            await tenant.platform.nats.subscribed(tenant.worker_user.user, CONTROL_PREFIX + ">")
            for command in commands:
                subject = CONTROL_PREFIX + command
                if command == "heartbeat":
                    reply = await producer.nc.request(subject, b"{}", timeout=5)
                    # The first answer wins: this client's, or the tenant's real worker's
                    # heartbeat event (test_fleet_status.py checks those).
                    body = json.loads(reply.data)
                    assert body.get("pod") == "worker-user" or body["type"].endswith("heartbeat")
                else:
                    await producer.nc.publish(subject, b"{}")
            await producer.nc.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_received.wait(), 5)
            assert sorted(received) == sorted(CONTROL_PREFIX + c for c in commands)
            assert worker.violations() == [] and producer.violations() == []
        finally:
            await worker.close()
            await producer.close()

    asyncio.run(scenario())
