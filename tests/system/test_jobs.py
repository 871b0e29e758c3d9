"""Jobs complete under the production configuration: each tenant's producer submits with the
producer tooling (`agentplane jobs submit --follow`) and its credentials, the tenant's executor
runs the job with the environment the function rendered, and the result comes back to that
producer through the tenant's own AGENT_STATUS."""

from __future__ import annotations

import uuid

import pytest

from testbed.fake_openai import FakeOpenAI, text
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
