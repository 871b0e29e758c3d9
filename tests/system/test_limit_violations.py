"""The per-job limits of a claim (`spec.limits`) under the production permissions: a job that
takes more steps, more time or a larger result than its executor's claim allows fails with
that limit's error type, and the tenant's producer hears the violation on
`agent.governance.violation` (docs/worker.md "Governance events").

The example claims' limits are the defaults (200 steps, 30 minutes, 3 MiB): minutes of
scripted model turns. So the tenant changes its claim: each limit in turn is tightened to
its minimum (or near it) and the claim is rendered again by the function; a pod of the
Deployment rendered after that change runs with the environment the other system tests
resolve (the platform's Secrets, the tenant's database and cache). Each changed claim also
names a stream, consumer and subjects of its own (`nats.manageStream`, as the tenant's claim
already does), applied as NACK would, so a test's job reaches only the pod with the tight
limit, never the tenant's original worker (which competes on the original consumer).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from nats.aio.msg import Msg

from contract import env as env_contract
from contract import limits
from contract.events import FAILED_TYPE, RESULT_SOURCE
from contract.governance import SEVERITY_OF, VIOLATION_SUBJECT, VIOLATION_TYPE
from functions.render.yaml_io import dump
from testbed.deployment import Executor, render_claims
from testbed.fake_openai import FakeOpenAI, Reply, ToolCall, text, tool_calls
from testbed.producer import StoredResult, connect, submit, wait_results
from testbed.tenant import (
    TenantExecutor,
    execute_subject,
    generated_documents,
    prepare_executor,
)
from testbed.worker import job
from tests.system.conftest import Tenant, apply_nack

pytestmark = pytest.mark.slow

# Its claim already manages a stream of its own, so a changed claim naming another is the
# same kind of claim.
NAMESPACE = "intelligence-analytics"

# Each violation type: the claim's `spec.limits` that makes it cheap to reach, the variable
# the function renders it into, and what the description must then say (the claim's value,
# not the default, stopped the job).
LIMITS: dict[str, tuple[dict[str, int], str, str]] = {
    limits.STEP_LIMIT_EXCEEDED: (
        {"maxSteps": 3},
        env_contract.JOB_MAX_STEPS,
        "did not finish within 3 steps",
    ),
    limits.TIMEOUT_EXCEEDED: (
        {"timeoutSeconds": 1},
        env_contract.JOB_TIMEOUT_SECONDS,
        "longer than its limit of 1 s",
    ),
    limits.RESULT_TOO_LARGE: (
        {"maxResultBytes": 1024},
        env_contract.JOB_MAX_RESULT_BYTES,
        "more than the limit of 1024 bytes",
    ),
}


def _stream(violation_type: str) -> str:
    return f"LIMITS_{violation_type.upper()}"


def _changed_claim(claim: dict[str, Any], violation_type: str) -> dict[str, Any]:
    """The tenant's claim with one limit tightened and a stream, consumer and subjects of its
    own (names from the violation type)."""
    token = violation_type.lower()
    changed = copy.deepcopy(claim)
    spec = changed["spec"]
    spec["limits"] = dict(LIMITS[violation_type][0])
    spec["nats"] = {
        **spec["nats"],
        "stream": _stream(violation_type),
        "consumer": f"limits-{token}",
        "subjects": [f"agent.execute.limits-{token}.*"],
        "manageStream": True,
    }
    return changed


@dataclasses.dataclass
class LimitedPod:
    """A pod of the changed claim's Deployment, and the tenant whose producer submits to it."""

    tenant: Tenant
    running: TenantExecutor

    def subject(self, job_id: str) -> str:
        return execute_subject(self.running.executor.nack_objects, self.running.stream, job_id)


@pytest.fixture(scope="module")
def limited_pods(
    dev_tenants: dict[str, Tenant],
    llm: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, LimitedPod]]:
    """Violation type → a pod of the tenant's executor after its claim's change."""
    tenant = dev_tenants[NAMESPACE]
    platform = tenant.platform
    directory = tmp_path_factory.mktemp("limited-claims")
    paths = []
    for violation_type in LIMITS:
        path = directory / f"{violation_type}.yaml"
        path.write_text(dump(_changed_claim(tenant.executor.executor.claim, violation_type)))
        paths.append(path)
    rendered: list[Executor] = render_claims(paths)
    accounts = [d for d in generated_documents(NAMESPACE) if d["kind"] == "Account"]
    pods: dict[str, LimitedPod] = {}
    try:
        for executor in rendered:
            (violation_type,) = [
                t for t in LIMITS if _stream(t) == executor.claim["spec"]["nats"]["stream"]
            ]
            apply_nack(platform.nats, platform.secrets, [*accounts, *executor.nack_objects])
            running = prepare_executor(
                executor,
                platform.secrets,
                platform.nats.parameters,
                nats_urls=platform.nats.urls,
                openai_base_url=llm.base_url,
                home=directory / violation_type,
            )
            pods[violation_type] = LimitedPod(tenant, running)
        with ThreadPoolExecutor(len(pods)) as pool:
            list(pool.map(lambda p: p.running.start(1, log_dir=directory), pods.values()))
        yield pods
    finally:
        for pod in pods.values():
            pod.running.stop()


def _looping(model_calls: int) -> tuple[Reply, ...]:
    """A model that keeps calling a tool."""
    return tuple(
        tool_calls(ToolCall("write_file", {"file_path": f"/f{i}.md", "content": "x"}))
        for i in range(model_calls)
    )


# What the model answers in each case: a loop of tool calls (3 steps cover one and a half
# rounds), an answer slower than 1 s, an answer of 4000 bytes.
REPLIES: dict[str, tuple[Reply, ...]] = {
    limits.STEP_LIMIT_EXCEEDED: _looping(5),
    limits.TIMEOUT_EXCEEDED: (text("too slow", latency=5),),
    limits.RESULT_TOO_LARGE: (text("x" * 4000),),
}


async def _keep(seen: list[dict[str, Any]], msg: Msg) -> None:
    seen.append(json.loads(msg.data))


async def _violations_and_result(
    pod: LimitedPod, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], StoredResult]:
    """Submit `body` as the tenant's producer; the violations about it the producer hears,
    and its result."""
    tenant = pod.tenant
    producer = await connect(tenant.platform.nats.urls, tenant.producer)
    seen: list[dict[str, Any]] = []
    try:
        await producer.nc.subscribe(VIOLATION_SUBJECT, cb=functools.partial(_keep, seen))
        await tenant.platform.nats.subscribed(tenant.producer.user, VIOLATION_SUBJECT)
        await submit(producer, pod.subject(body["job_id"]), body)
        results = await wait_results(producer, [body["job_id"]], within=30)
        # Published from a background task, so it may follow the result by a moment.
        for _ in range(100):
            if any(e["data"]["job_id"] == body["job_id"] for e in seen):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # a second violation about the job would be here by now
        assert producer.violations() == []
        about = [e for e in seen if e["data"]["job_id"] == body["job_id"]]
        return about, results[body["job_id"]][0]
    finally:
        await producer.close()


@pytest.mark.parametrize("violation_type", list(LIMITS))
def test_a_job_over_its_claims_limit_fails_and_the_producer_hears_the_violation(
    limited_pods: dict[str, LimitedPod], llm: FakeOpenAI, violation_type: str
) -> None:
    pod = limited_pods[violation_type]
    claimed, variable, described = LIMITS[violation_type]
    # The claim's value reached the pod through the function's rendering.
    assert pod.running.env[variable] == str(next(iter(claimed.values())))
    model = f"lim-{uuid.uuid4().hex[:8]}"
    llm.script(*(dataclasses.replace(r, model=model) for r in REPLIES[violation_type]))
    body = job(f"lim-{uuid.uuid4().hex[:10]}", model=model)

    (event,), result = asyncio.run(_violations_and_result(pod, body))

    assert (event["type"], event["source"], event["subject"]) == (
        VIOLATION_TYPE,
        RESULT_SOURCE,
        body["job_id"],
    )
    data = event["data"]
    violation = data["violation"]
    assert (violation["type"], violation["severity"]) == (
        violation_type,
        SEVERITY_OF[violation_type],
    )
    assert described in violation["description"]
    # The pod that ran it (POD_NAME), not the tenant's other worker.
    (worker,) = pod.running.workers
    assert (data["job_id"], data["worker"]) == (body["job_id"], worker.env["POD_NAME"])
    assert result.event["type"] == FAILED_TYPE, result.event
    assert result.event["data"]["error"]["type"] == violation_type
    assert "permissions violation" not in worker.logs().lower()
    # Only the changed claim's pod took the job: the tenant's original worker never saw it.
    assert body["job_id"] not in pod.tenant.worker.logs()
