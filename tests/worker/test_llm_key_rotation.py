"""A rotated LLM key reaches a running worker: the Secret volume's file changes, the next job
calls the model with the new key; no restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from testbed.fake_openai import FakeOpenAI, text
from testbed.secret_volume import kubelet_writes
from testbed.servers import NatsServer
from testbed.worker import Worker, job, publish, wait_result


def test_a_running_worker_uses_a_rotated_key_for_the_next_job(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI, tmp_path: Path
) -> None:
    keys = tmp_path / "llm-keys"
    kubelet_writes(keys, "OPENAI_API_KEY", "sk-before-rotation")
    worker = start_worker(LLM_KEYS_DIR=str(keys))
    fake.script(text("first"), text("second"))

    first = job()
    asyncio.run(publish(nats.url, first))
    assert wait_result(nats, first["job_id"])["data"]["result"]["output"] == "first"
    kubelet_writes(keys, "OPENAI_API_KEY", "sk-after-rotation")
    second = job()
    asyncio.run(publish(nats.url, second))
    assert wait_result(nats, second["job_id"])["data"]["result"]["output"] == "second"

    assert [h["authorization"] for h in fake.request_headers] == [
        "Bearer sk-before-rotation",
        "Bearer sk-after-rotation",
    ]
    assert worker.proc is not None and worker.proc.poll() is None
    assert "sk-after-rotation" not in worker.logs()
