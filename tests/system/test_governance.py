"""Control commands and governance events under the production permissions
(contract/nats_permissions.py), each tenant in its own account: a producer's set_budget and
flush_cache reach the tenant's worker and are answered; violations and escalations reach the
tenant's producer; a producer may not announce an escalation itself."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from nats.aio.msg import Msg

from contract.control import FLUSH_CACHE_SUBJECT, SET_BUDGET_SUBJECT
from contract.governance import ESCALATE_SUBJECT, VIOLATION_SUBJECT
from testbed.fake_openai import FakeOpenAI, Reply, ToolCall, text, tool_calls
from testbed.producer import Client, connect, submit, wait_results
from testbed.worker import cloudevent, job
from tests.system.conftest import NAMESPACES, Tenant

pytestmark = pytest.mark.slow


async def _command(producer: Client, subject: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = await producer.nc.request(subject, data, timeout=10)
    return dict(json.loads(reply.data))


async def _keep(seen: list[dict[str, Any]], msg: Msg) -> None:
    seen.append(json.loads(msg.data))


async def _events_of(
    tenant: Tenant, subject: str, job_id: str, action: Callable[[Client], Awaitable[None]]
) -> list[dict[str, Any]]:
    """The events on `subject` about `job_id` the tenant's producer hears while `action` runs."""
    producer = await connect(tenant.platform.nats.urls, tenant.producer)
    seen: list[dict[str, Any]] = []
    try:
        await producer.nc.subscribe(subject, cb=functools.partial(_keep, seen))
        await tenant.platform.nats.subscribed(tenant.producer.user, subject)
        await action(producer)
        for _ in range(300):
            if any(e["data"]["job_id"] == job_id for e in seen):
                break
            await asyncio.sleep(0.1)
        assert producer.violations() == []
        return [e for e in seen if e["data"]["job_id"] == job_id]
    finally:
        await producer.close()


def _unique_job(llm: FakeOpenAI, *replies: Reply, **definition: Any) -> dict[str, Any]:
    """A job on a model of its own, scripted with `replies` (the fake is shared)."""
    model = f"gov-{uuid.uuid4().hex[:8]}"
    llm.script(*(dataclasses.replace(reply, model=model) for reply in replies))
    return job(f"gov-{uuid.uuid4().hex[:10]}", model=model, **definition)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_set_budget_from_the_producer_is_answered_and_stops_a_job_with_a_violation(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    body = _unique_job(
        llm,
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "a"}), usage=(40, 9)),
        text("never asked for"),
    )

    async def lower_then_submit(producer: Client) -> None:
        reply = await _command(producer, SET_BUDGET_SUBJECT, {"token_budget_per_run": 30})
        assert reply["ok"] is True, reply
        assert reply["result"]["token_budget_per_run"] == 30
        await submit(producer, tenant.subject(body["job_id"]), body)

    async def clear() -> None:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            reply = await _command(producer, SET_BUDGET_SUBJECT, {"token_budget_per_run": None})
            assert reply["ok"] is True, reply
        finally:
            await producer.close()

    try:
        (event,) = asyncio.run(
            _events_of(tenant, VIOLATION_SUBJECT, body["job_id"], lower_then_submit)
        )
    finally:
        asyncio.run(clear())
    violation = event["data"]["violation"]
    assert (violation["type"], violation["severity"]) == ("BudgetExceeded", "medium")
    assert "permissions violation" not in tenant.worker.logs().lower()


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_flush_cache_and_an_invalid_command_from_the_producer_are_answered(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    tenant = dev_tenants[namespace]

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            flushed = await _command(producer, FLUSH_CACHE_SUBJECT, b"")
            refused = await _command(producer, SET_BUDGET_SUBJECT, {"token_budget_per_run": -1})
            assert producer.violations() == []
            return flushed, refused
        finally:
            await producer.close()

    flushed, refused = asyncio.run(scenario())
    assert flushed["ok"] is True and set(flushed["result"]["dropped"]) == {
        "model_clients",
        "glob_patterns",
    }
    assert refused["ok"] is False and refused["error"]["type"] == "InvalidCommand"
    assert "permissions violation" not in tenant.worker.logs().lower()


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_refused_tool_script_reaches_the_producer_as_a_violation(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    body = _unique_job(
        llm, tool_calls(ToolCall("lookup", {})), text("no lookup"), tools=("lookup",)
    )
    body["agent_definition"]["tool_definitions"] = [
        {"name": "lookup", "runtime": {"script": "print('never runs')"}}
    ]

    async def submit_job(producer: Client) -> None:
        await submit(producer, tenant.subject(body["job_id"]), body)

    (event,) = asyncio.run(_events_of(tenant, VIOLATION_SUBJECT, body["job_id"], submit_job))
    assert event["data"]["violation"]["type"] == "ToolScriptRefused"


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_job_id_conflict_reaches_the_producer_as_a_violation_and_an_escalation(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    first = _unique_job(llm, text("first"))
    other = {**first, "input_payload": {"messages": [{"role": "user", "content": "other"}]}}

    async def run_then_reuse(producer: Client) -> None:
        await submit(producer, tenant.subject(first["job_id"]), first)
        await wait_results(producer, [first["job_id"]], within=30)
        # Not through `submit`: its Nats-Msg-Id (the job id) would have JetStream drop the
        # second message as a duplicate before any worker saw the conflict.
        await producer.js.publish(
            tenant.subject(first["job_id"]), json.dumps(cloudevent(other)).encode()
        )

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        escalations: list[dict[str, Any]] = []
        listener = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            await listener.nc.subscribe(ESCALATE_SUBJECT, cb=functools.partial(_keep, escalations))
            await tenant.platform.nats.subscribed(tenant.producer.user, ESCALATE_SUBJECT)
            violations = await _events_of(
                tenant, VIOLATION_SUBJECT, first["job_id"], run_then_reuse
            )
            for _ in range(100):
                if escalations:
                    break
                await asyncio.sleep(0.1)
            assert listener.violations() == []
            return violations, escalations
        finally:
            await listener.close()

    violations, escalations = asyncio.run(both())
    assert [v["data"]["violation"]["type"] for v in violations] == ["JobIdConflict"]
    (escalation,) = escalations
    assert escalation["data"]["job_id"] == first["job_id"]
    assert escalation["data"]["error_type"] == "JobIdConflict"


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_producer_may_not_announce_an_escalation(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    tenant = dev_tenants[namespace]

    async def scenario() -> str:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            await producer.nc.publish(ESCALATE_SUBJECT, b"{}")
            await producer.nc.flush()
            return await producer.refusal(
                f'permissions violation for publish to "{ESCALATE_SUBJECT}"'
            )
        finally:
            await producer.close()

    assert asyncio.run(scenario())
