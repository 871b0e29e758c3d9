"""Job control: cancel across worker processes, and retention pruning."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable

import httpx
import psycopg
import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer, PostgresServer, eventually
from testbed.worker import Worker, cloudevent, jetstream, job, publish, wait_result
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_a_cancel_request_stops_the_run_on_whichever_worker_holds_it(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    workers = [start_worker(), start_worker()]
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "a"}), latency=3),
        text("never asked for"),
    )
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    eventually(lambda: fake.request_count == 1, 30, "the first LLM call")
    # Ask the worker that may well not hold the job: the request reaches the one that does.
    reply = httpx.delete(f"{workers[1].url}/jobs/{body['job_id']}")
    assert reply.status_code == 202
    event = wait_result(nats, body["job_id"], timeout=30)

    assert event["nats_subject"] == "agent.status.failed"
    assert event["data"]["error"]["type"] == "Cancelled"
    assert fake.request_count == 1  # stopped at the step after the call in flight
    ledger = httpx.get(f"{workers[0].url}/jobs/{body['job_id']}").json()
    assert ledger["status"] == "cancelled" and ledger["cancel_requested_at"]


def test_a_cancel_message_on_nats_stops_a_queued_job_before_it_runs(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = job()

    async def cancel_then_publish() -> None:
        nc, _ = await jetstream(nats.url)
        try:
            subject = f"agent.control.cancel.{body['job_id']}"
            await nc.publish(subject, json.dumps({"job_id": body["job_id"]}).encode())
            await nc.flush()
        finally:
            await nc.close()

    asyncio.run(cancel_then_publish())
    eventually(
        lambda: httpx.get(f"{worker.url}/jobs/{body['job_id']}").status_code == 200, 10, "recorded"
    )
    asyncio.run(publish(nats.url, cloudevent(body)))
    event = wait_result(nats, body["job_id"])
    assert event["data"]["error"]["type"] == "Cancelled"
    assert fake.request_count == 0


def test_cancelling_a_finished_job_is_refused(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    reply = httpx.delete(f"{worker.url}/jobs/{body['job_id']}")
    assert reply.status_code == 409
    assert reply.json()["status"] == "completed"


def _seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM agent_jobs WHERE job_id LIKE 'prune-%'")
        conn.execute(
            """
            INSERT INTO agent_jobs (job_id, status, attempts, outcome, finished_at, created_at)
            SELECT 'prune-old-' || i, 'completed', 1, 'completed',
                   now() - interval '10 days', now() - interval '10 days'
              FROM generate_series(1, 25) AS i
            """
        )
        conn.execute(
            """
            INSERT INTO agent_jobs (job_id, status, attempts, outcome, finished_at)
            VALUES ('prune-recent', 'completed', 1, 'completed', now() - interval '1 day')
            """
        )
        conn.execute(
            """
            INSERT INTO agent_jobs (job_id, status, attempts, created_at)
            VALUES ('prune-running', 'running', 1, now() - interval '30 days')
            """
        )
        conn.execute(
            """
            INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata)
            VALUES ('prune-old-1', '', 'c1', '{}', '{}'), ('prune-running', '', 'c1', '{}', '{}')
            """
        )


def _remaining(url: str) -> tuple[set[str], set[str]]:
    with psycopg.connect(url) as conn:
        jobs = {
            r[0] for r in conn.execute("SELECT job_id FROM agent_jobs WHERE job_id LIKE 'prune-%'")
        }
        threads = {
            r[0]
            for r in conn.execute(
                "SELECT thread_id FROM checkpoints WHERE thread_id LIKE 'prune-%'"
            )
        }
    return jobs, threads


def test_prune_deletes_finished_jobs_older_than_the_cutoff_in_batches(
    postgres: PostgresServer,
) -> None:
    # The checkpoint tables come from run-migrations.sh (the session fixture), not a worker.
    _seed(postgres.url)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "workers.agent_executor",
            "prune",
            "--older-than",
            "7d",
            "--batch-size",
            "10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": "redis://unused:6379/0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "deleted 25 finished job(s) older than 7d" in proc.stdout
    jobs, threads = _remaining(postgres.url)
    assert jobs == {"prune-recent", "prune-running"}
    assert threads == {"prune-running"}


def test_prune_refuses_a_malformed_age(postgres: PostgresServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "workers.agent_executor", "prune", "--older-than", "a week"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": "redis://unused:6379/0"},
    )
    assert proc.returncode == 2
    assert "--older-than: 'a week' is not a positive duration" in proc.stderr
