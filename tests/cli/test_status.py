"""`agentplane status` against real workers: every pod from the heartbeats the stream keeps
(or, with --live, from the workers' answers), and a pod that stops beating turns stale."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import nats
import pytest

from contract.nats import HEARTBEAT_STREAM
from testbed.worker import Worker
from tests.cli.conftest import Services
from tests.support.jobs_cli import agentplane

pytestmark = pytest.mark.slow

NAMESPACE = "cli-status"
EXECUTOR = "status-executor"
PODS = ("status-executor-6b8c4-aaaaa", "status-executor-6b8c4-bbbbb")
INTERVAL = 1.0


async def _drop_heartbeats(url: str) -> None:
    # Workers of earlier modules left heartbeats (stale by now): this module's fleet is its own.
    nc = await nats.connect(url)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(HEARTBEAT_STREAM)
    finally:
        await nc.close()


def pod_env(worker_env: dict[str, str], pod: str) -> dict[str, str]:
    return {
        **worker_env,
        "POD_NAME": pod,
        "POD_NAMESPACE": NAMESPACE,
        "OTEL_SERVICE_NAME": EXECUTOR,
        "EXECUTOR_IMAGE": "ghcr.io/bizmatters/agent-executor:2.1.0",
        "HEARTBEAT_SECONDS": str(INTERVAL),
    }


@pytest.fixture(scope="module")
def fleet(services: Services, worker_env: dict[str, str]) -> Iterator[list[Worker]]:
    """Two workers (pods) of one executor, each beating every second."""
    asyncio.run(_drop_heartbeats(services.nats_url))
    workers = [Worker(pod_env(worker_env, pod)).start() for pod in PODS]
    yield workers
    for worker in workers:
        worker.stop()


def status(services: Services, *args: str) -> tuple[int, dict[str, Any]]:
    proc = agentplane("status", "--nats", services.nats_url, "--json", *args)
    assert proc.returncode != 2, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def health_of(document: dict[str, Any]) -> dict[str, str]:
    return {p["pod"]: p["health"] for p in document["pods"]}


def wait_for(services: Services, wanted: dict[str, str], within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        _, document = status(services)
        if {pod: health_of(document).get(pod) for pod in wanted} == wanted:
            return document
        assert time.monotonic() < deadline, f"wanted {wanted}, status says {health_of(document)}"
        time.sleep(0.2)


def test_status_lists_every_pod_healthy_with_its_executor_totals(
    services: Services, fleet: list[Worker]
) -> None:
    document = wait_for(services, dict.fromkeys(PODS, "healthy"), within=10)
    code, document = status(services)

    assert code == 0
    pod = next(p for p in document["pods"] if p["pod"] == PODS[0])
    assert (pod["namespace"], pod["executor"], pod["version"]) == (NAMESPACE, EXECUTOR, "2.1.0")
    assert (pod["in_flight"], pod["concurrency"], pod["state"]) == (0, 4, "running")
    assert pod["age_seconds"] <= 2 * INTERVAL
    (summary,) = document["executors"]
    assert (summary["executor"], summary["pods"], summary["healthy"]) == (EXECUTOR, 2, 2)


def test_the_table_names_each_pod_and_sums_up_the_executor(
    services: Services, fleet: list[Worker]
) -> None:
    wait_for(services, dict.fromkeys(PODS, "healthy"), within=10)
    proc = agentplane("status", "--nats", services.nats_url)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["EXECUTOR", "POD", "HEALTH"]
    assert [line.split()[1] for line in lines[1:3]] == sorted(PODS)
    assert lines[-1].startswith(f"{NAMESPACE}/{EXECUTOR}: 2/2 pods healthy, 0/8 in flight")


def test_live_asks_every_worker_now(services: Services, fleet: list[Worker]) -> None:
    # Collecting answers for longer than two intervals does not age them.
    code, document = status(services, "--live", "--wait", "3")

    assert code == 0
    assert health_of(document) == dict.fromkeys(PODS, "healthy")
    assert all(p["age_seconds"] < INTERVAL for p in document["pods"])


def test_a_killed_pod_is_stale_within_two_heartbeat_intervals(
    services: Services, fleet: list[Worker], worker_env: dict[str, str]
) -> None:
    doomed_pod = "status-executor-6b8c4-ccccc"
    doomed = Worker(pod_env(worker_env, doomed_pod)).start()
    try:
        wait_for(services, {doomed_pod: "healthy"}, within=10)
        doomed.kill()
        killed_at = time.monotonic()
        wait_for(services, {doomed_pod: "stale"}, within=2 * INTERVAL + 2)
        assert time.monotonic() - killed_at <= 2 * INTERVAL + 2
        code, document = status(services)
        assert code == 1
        assert health_of(document) == {**dict.fromkeys(PODS, "healthy"), doomed_pod: "stale"}
    finally:
        doomed.stop()
        asyncio.run(_forget(services.nats_url, doomed_pod))


async def _forget(url: str, pod: str) -> None:
    # The stale pod would fail the other tests' exit status for the stream's max age.
    nc = await nats.connect(url)
    try:
        subject = f"agent.heartbeat.{NAMESPACE}.{EXECUTOR}.{pod}"
        await nc.jetstream().purge_stream(HEARTBEAT_STREAM, subject=subject)
    finally:
        await nc.close()


def test_status_needs_to_know_where_nats_is() -> None:
    proc = agentplane("status")

    assert proc.returncode == 2
    assert "give --nats URL (or NATS_URL)" in proc.stderr
