"""Jobs complete under the production configuration: each tenant's producer submits with the
producer tooling (`agentplane jobs submit --follow`) and its credentials, the tenant's executor
runs the job with the environment the function rendered, and the result comes back to that
producer through the tenant's own AGENT_STATUS; a job that can never run ends as a failed
result and a dead letter the producer reads from the tenant's AGENT_DLQ."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from nats.js.errors import NotFoundError

from contract.nats import DLQ_PREFIX, DLQ_STREAM, MSG_ID_HEADER, STATUS_FAILED, subject_token
from testbed.fake_openai import FakeOpenAI, text
from testbed.producer import connect, submit, wait_results
from testbed.worker import job
from tests.support.jobs_cli import agentplane, cli_env, json_lines
from tests.system.conftest import NAMESPACES, Tenant

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_job_of_the_tenants_producer_completes_and_its_result_reaches_that_producer(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    job_id = f"done-{uuid.uuid4().hex[:10]}"
    model = f"model-{job_id}"
    llm.script(text(f"Report for {namespace}.", model=model))

    done = agentplane(
        "jobs", "submit", "--prompt", "Write the report.", "--job-id", job_id,
        "--model", model, "--subject", tenant.subject(job_id),
        "--nats", tenant.platform.nats.url, "--follow", "--json",
        env=cli_env(NATS_USER=tenant.producer.user, NATS_PASSWORD=tenant.producer.password),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    result = json_lines(done.stdout)[-1]
    assert (result["kind"], result["job_id"], result["outcome"]) == ("result", job_id, "completed")
    assert result["result"]["output"] == f"Report for {namespace}."
    # The model was called with this tenant's own key, from its llm-keys ExternalSecret.
    calls = [
        h for h, b in zip(llm.request_headers, llm.requests, strict=True) if b["model"] == model
    ]
    assert calls
    assert {h["authorization"] for h in calls} == {f"Bearer {tenant.llm_key}"}
    assert "permissions violation" not in tenant.worker.logs().lower()


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_job_that_can_never_run_is_failed_and_dead_lettered_where_its_producer_reads_both(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    # The worker's grants cover dead letters (agent.dlq.<job> into AGENT_DLQ) and the
    # producer's cover reading them back, as `agentplane jobs submit --follow` does.
    tenant = dev_tenants[namespace]
    body = job(f"poison-{uuid.uuid4().hex[:10]}")
    del body["agent_definition"]  # not a JobExecutionEvent: poison, whatever the delivery

    async def scenario() -> None:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            await submit(producer, tenant.subject(body["job_id"]), body)
            (result,) = (await wait_results(producer, [body["job_id"]], within=30))[body["job_id"]]
            assert result.subject == STATUS_FAILED
            subject = DLQ_PREFIX + subject_token(body["job_id"])
            deadline = time.monotonic() + 10
            while True:
                try:
                    dead = await producer.js.get_last_msg(DLQ_STREAM, subject)
                    break
                except NotFoundError:
                    assert time.monotonic() < deadline, "no dead letter"
                    await asyncio.sleep(0.1)
            assert (dead.headers or {})[MSG_ID_HEADER] == f"{body['job_id']}.dlq"
            assert producer.violations() == []
        finally:
            await producer.close()

    asyncio.run(scenario())
    assert "permissions violation" not in tenant.worker.logs().lower()


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_job_submitted_to_the_executors_api_runs_on_its_own_stream(
    dev_tenants: dict[str, Tenant], llm: FakeOpenAI, namespace: str
) -> None:
    # POST /jobs publishes where this executor's consumer reads: the analytics executor
    # consumes its own stream (agent.execute.analytics.*), not AGENT_EXECUTION.
    tenant = dev_tenants[namespace]
    body = job(f"api-{uuid.uuid4().hex[:10]}", model=f"api-{uuid.uuid4().hex[:8]}")
    model = body["agent_definition"]["nodes"][0]["config"]["model"]["model"]
    llm.script(text("Submitted over HTTP.", model=model))

    async def submitted_and_read() -> str:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            async with httpx.AsyncClient() as http:
                reply = await http.post(f"{tenant.worker.url}/jobs", json=body)
            assert reply.status_code == 202, reply.text
            results = await wait_results(producer, [body["job_id"]], within=30)
            (result,) = results[body["job_id"]]
            return result.subject
        finally:
            await producer.close()

    assert asyncio.run(submitted_and_read()) == "agent.status.completed"
