"""Tenants cannot see each other: every tenant has its own NATS account, so the same subjects
and stream names in two accounts never meet; inside an account each role may do only what
contract/nats_permissions.py grants, and the server says so when a client tries more.

Tenant A is the registry's first tenant, B the second; the cheap checks run both ways."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import nats
import pytest
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError

from contract.nats import DEFAULT_CONSUMER, DEFAULT_STREAM, STATUS_COMPLETED
from testbed.fake_openai import FakeOpenAI
from testbed.producer import connect, stored_results, submit, wait_results
from testbed.tenant import Credentials
from testbed.worker import job
from tests.system.conftest import NAMESPACES, Platform, Tenant

pytestmark = pytest.mark.slow

PAIRS = [(a, b) for a in NAMESPACES for b in NAMESPACES if a != b]


@dataclass
class Crossed:
    """One job of each tenant, run while every tenant's producer listened to its results."""

    job_of: dict[str, str] = field(default_factory=dict)
    heard_by: dict[str, list[str]] = field(default_factory=dict)
    stored_in: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def crossed(dev_tenants: dict[str, Tenant], llm: FakeOpenAI) -> Crossed:
    seen = Crossed()

    async def scenario() -> None:
        producers = {}
        for namespace, tenant in dev_tenants.items():
            producers[namespace] = await connect(tenant.platform.nats.urls, tenant.producer)
            heard = seen.heard_by.setdefault(namespace, [])

            async def listen(msg: Msg, heard: list[str] = heard) -> None:
                heard.append(msg.subject + " " + msg.data.decode())

            await producers[namespace].nc.subscribe("agent.status.>", cb=listen)
            await tenant.platform.nats.subscribed(tenant.producer.user, "agent.status.>")
        try:
            for namespace, tenant in dev_tenants.items():
                body = job(f"{namespace}-{uuid.uuid4().hex[:8]}")
                seen.job_of[namespace] = body["job_id"]
                await submit(producers[namespace], tenant.subject(body["job_id"]), body)
            for namespace in dev_tenants:
                await wait_results(producers[namespace], [seen.job_of[namespace]], within=30)
            for namespace in dev_tenants:
                stored = await stored_results(producers[namespace])
                seen.stored_in[namespace] = [r.job_id for r in stored]
            # Anything B's result could still cause on A's subscription has arrived by now.
            for producer in producers.values():
                await producer.nc.flush()
        finally:
            for producer in producers.values():
                await producer.close()

    asyncio.run(scenario())
    return seen


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_a_producer_listening_to_agent_status_hears_its_own_results_and_none_of_the_other(
    crossed: Crossed, a: str, b: str
) -> None:
    heard = "\n".join(crossed.heard_by[a])
    assert crossed.job_of[a] in heard  # the subscription works: it hears its own tenant
    assert crossed.job_of[b] not in heard


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_a_tenants_result_stream_holds_none_of_the_other_tenants_results(
    crossed: Crossed, a: str, b: str
) -> None:
    assert crossed.job_of[a] in crossed.stored_in[a]
    assert crossed.job_of[b] not in crossed.stored_in[a]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_a_tenants_worker_never_receives_the_other_tenants_jobs(
    crossed: Crossed, dev_tenants: dict[str, Tenant], a: str, b: str
) -> None:
    ledger = dev_tenants[a].worker.url + "/jobs/"
    assert httpx.get(ledger + crossed.job_of[a]).json()["status"] == "completed"
    assert httpx.get(ledger + crossed.job_of[b]).status_code == 404


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("subject", ["agent.>", ">"])
def test_a_producer_may_not_subscribe_beyond_its_grants(
    dev_platform: Platform, namespace: str, subject: str
) -> None:
    async def scenario() -> None:
        producer = await connect(
            dev_platform.nats.urls, dev_platform.credentials(namespace, "producer")
        )
        try:
            await producer.nc.subscribe(subject)
            await producer.nc.flush()
            await producer.refusal(f'permissions violation for subscription to "{subject}"')
        finally:
            await producer.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_producer_cannot_take_jobs_from_the_execution_consumer(
    dev_platform: Platform, namespace: str
) -> None:
    async def scenario() -> None:
        producer = await connect(
            dev_platform.nats.urls, dev_platform.credentials(namespace, "producer")
        )
        try:
            subscription = await producer.js.pull_subscribe_bind(
                durable=DEFAULT_CONSUMER, stream=DEFAULT_STREAM
            )
            with pytest.raises(NatsTimeoutError):  # what the client sees: nothing arrives
                await subscription.fetch(1, timeout=1)
            # what the server says: the pull request itself was refused
            await producer.refusal(
                "permissions violation for publish to "
                f'"$js.api.consumer.msg.next.{DEFAULT_STREAM}.{DEFAULT_CONSUMER}"'
            )
        finally:
            await producer.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_producer_cannot_forge_a_result(dev_platform: Platform, namespace: str) -> None:
    forged = f"forged-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        producer = await connect(
            dev_platform.nats.urls, dev_platform.credentials(namespace, "producer")
        )
        try:
            await producer.nc.publish(
                STATUS_COMPLETED, f'{{"data":{{"job_id":"{forged}"}}}}'.encode()
            )
            await producer.nc.flush()
            await producer.refusal(f'permissions violation for publish to "{STATUS_COMPLETED}"')
            assert forged not in [r.job_id for r in await stored_results(producer)]
        finally:
            await producer.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_worker_cannot_read_results(dev_platform: Platform, namespace: str) -> None:
    async def scenario() -> None:
        worker = await connect(
            dev_platform.nats.urls, dev_platform.credentials(namespace, "worker")
        )
        try:
            await worker.nc.subscribe("agent.status.>")
            await worker.nc.flush()
            await worker.refusal('permissions violation for subscription to "agent.status.>"')
        finally:
            await worker.close()

    asyncio.run(scenario())


def _wrong_password(platform: Platform) -> Credentials:
    producer = platform.credentials(NAMESPACES[0], "producer")
    return Credentials(producer.user, producer.password[::-1])


def _other_tenants_password(platform: Platform) -> Credentials:
    # A's producer user with B's producer password: a credential is one user's only.
    return Credentials(
        platform.credentials(NAMESPACES[0], "producer").user,
        platform.credentials(NAMESPACES[1], "producer").password,
    )


@pytest.mark.parametrize(
    "credentials",
    [lambda _: None, _wrong_password, _other_tenants_password],
    ids=["no credentials", "wrong password", "another user's password"],
)
def test_a_client_without_valid_credentials_is_refused(
    dev_platform: Platform, credentials: Callable[[Platform], Credentials | None]
) -> None:
    given = credentials(dev_platform)

    async def scenario() -> None:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await connect(dev_platform.nats.urls, given, allow_reconnect=False)

    asyncio.run(scenario())
