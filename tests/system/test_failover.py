"""The production shape loses a NATS server mid-run and loses or repeats no job.

Three servers from `make nats-config` (production values), every tenant's generated R3
streams and consumer and every claim's rendered NACK objects applied unchanged, and two
workers (pods) of an executor given all three servers in NATS_URL. The leader of the stream
the workers consume is SIGKILLed while jobs run; every job must still end with exactly one
completed result in AGENT_STATUS and in the executors' ledger."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from nats.errors import Error as NatsError

from contract.nats import DLQ_STREAM, STATUS_COMPLETED
from testbed.deployment import Executor
from testbed.fake_openai import FakeOpenAI, text
from testbed.producer import Client, connect, stored_results, submit, wait_results
from testbed.worker import job
from tests.system.conftest import Tenant, running_tenants, started_platform
from workers.agent_executor.consumer import SETTLE_GIVEN_UP

pytestmark = pytest.mark.slow

JOBS = 48
WORKERS = 2
MODEL_SECONDS = 0.5  # each job's one model call: keeps the run going while the node dies
KILL_AFTER = JOBS // 4  # results stored before the kill
# A settle (ack, nak, term) sent while the stream has no leader is confirmed and retried
# through the election, so none waits for the consumer's ackWait (2m in the generated
# manifest): the workers' logs must show no settle given up. A delivery already on its way
# to a worker through the node that dies is lost with it, though, and JetStream sends it
# again only after ackWait: the run may take that long, and this much more.
RUN_MARGIN = 60.0
# An executor that consumes the generated AGENT_EXECUTION / agent-executor-workers.
NAMESPACE = "intelligence-deepagents"


def test_killing_the_stream_leader_mid_run_loses_and_duplicates_no_job(
    executors: list[Executor],
    stores: list[Executor],
    llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    model = f"failover-{uuid.uuid4().hex[:8]}"
    llm.script(*(text("done", model=model, latency=MODEL_SECONDS) for _ in range(JOBS)))
    with (
        started_platform(dev=False) as platform,
        running_tenants(
            platform,
            executors,
            stores=stores,
            llm=llm,
            workdir=tmp_path,
            workers=WORKERS,
            only=[NAMESPACE],
        ) as tenants,
    ):
        tenant = tenants[NAMESPACE]
        assert tenant.executor.env["NATS_URL"].split(",") == platform.nats.urls
        assert len(platform.nats.urls) == 3
        # The flags replaced the config's routes (the pods' DNS names) rather than adding to them.
        assert not [n.name for n in platform.nats.nodes if "nats-headless" in n.logs()]
        job_ids = asyncio.run(_run_and_kill_the_leader(tenant, model))

        for worker in tenant.executor.workers:
            assert "permissions violation" not in worker.logs().lower()
            assert SETTLE_GIVEN_UP not in worker.logs()
        ledger = {
            job_id: httpx.get(f"{tenant.worker.url}/jobs/{job_id}").json()["status"]
            for job_id in job_ids
        }
        assert Counter(ledger.values()) == Counter({"completed": JOBS})


async def _run_and_kill_the_leader(tenant: Tenant, model: str) -> list[str]:
    nats = tenant.platform.nats
    producer = await connect(nats.urls, tenant.producer)
    try:
        job_ids = [f"failover-{i:02d}-{uuid.uuid4().hex[:6]}" for i in range(JOBS)]
        for job_id in job_ids:
            await submit(producer, tenant.subject(job_id), job(job_id, model=model))

        deadline = time.monotonic() + 60
        done_before_kill = 0
        while done_before_kill < KILL_AFTER:
            assert time.monotonic() < deadline, "the run did not start"
            await asyncio.sleep(0.05)
            done_before_kill += len(await stored_results(producer, after=done_before_kill))
        info = await producer.js.stream_info(tenant.executor.stream)
        assert info.cluster is not None and info.cluster.leader
        leader = info.cluster.leader
        within = await _ack_wait(tenant) + RUN_MARGIN
        nats.node(leader).kill()
        assert done_before_kill < JOBS, "every job ended before the kill: nothing was tested"

        await wait_results(producer, job_ids, within=within)
        assert await _new_leader(producer, tenant.executor.stream) != leader
        await _settled(tenant, within)

        stored = await stored_results(producer)
        per_job = Counter(r.job_id for r in stored)
        assert set(per_job) == set(job_ids)  # 0 lost
        assert [j for j, n in per_job.items() if n != 1] == []  # 0 duplicated
        assert {r.subject for r in stored} == {STATUS_COMPLETED}
        assert (await producer.js.stream_info(DLQ_STREAM)).state.messages == 0
        return job_ids
    finally:
        await producer.close()


async def _ack_wait(tenant: Tenant) -> float:
    """The executor's consumer's ackWait in seconds, as the server has it (asked with the
    worker's credentials: consumer info is one of its grants)."""
    worker = await connect(tenant.platform.nats.urls, tenant.worker_user)
    try:
        info = await worker.js.consumer_info(
            tenant.executor.stream, tenant.executor.env["NATS_CONSUMER_GROUP"]
        )
        assert info.config.ack_wait is not None
        return float(info.config.ack_wait)
    finally:
        await worker.close()


async def _settled(tenant: Tenant, within: float) -> None:
    """Until the executor's consumer has nothing left to deliver or to be acknowledged."""
    worker = await connect(tenant.platform.nats.urls, tenant.worker_user)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with contextlib.suppress(NatsError):
                info = await worker.js.consumer_info(
                    tenant.executor.stream, tenant.executor.env["NATS_CONSUMER_GROUP"]
                )
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the consumer still had work {within} s after the kill")
    finally:
        await worker.close()


async def _new_leader(producer: Client, stream: str, within: float = 30) -> str:
    """The stream's leader once it has one (right after the kill it may be electing)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(NatsError):
            info = await producer.js.stream_info(stream)
            if info.cluster is not None and info.cluster.leader:
                return info.cluster.leader
        await asyncio.sleep(0.2)
    raise AssertionError(f"{stream} had no leader {within} s after the kill")
