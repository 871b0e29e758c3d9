"""Driving a real worker process: start, kill, restart; publish jobs; read results and events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext
from redis import Redis

from testbed.servers import NatsServer, eventually, free_port

ROOT = Path(__file__).resolve().parent.parent

STREAMS = ("AGENT_EXECUTION", "AGENT_STATUS", "AGENT_DLQ", "AGENT_HEARTBEATS")


def agent_definition(
    specialist: bool = False,
    model: str = "gpt-test",
    *,
    tools: tuple[str, ...] = ("write_file", "read_file", "ls", "write_todos"),
    orchestrator_prompt: str = "You are the orchestrator.",
    specialist_prompt: str = "You research.",
) -> dict[str, Any]:
    """An orchestrator with `tools` and, optionally, one specialist it may delegate to."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "orchestrator",
            "type": "Orchestrator",
            "config": {
                "name": "orchestrator",
                "description": "plans and answers",
                "system_prompt": orchestrator_prompt,
                "model": {"provider": "openai", "model": model},
                "tools": [*tools, *(["task"] if specialist else [])],
            },
        }
    ]
    if specialist:
        nodes.append(
            {
                "id": "researcher",
                "type": "Specialist",
                "config": {
                    "name": "researcher",
                    "description": "finds facts",
                    "system_prompt": specialist_prompt,
                    "model": {"provider": "openai", "model": model},
                    "tools": ["write_file"],
                },
            }
        )
    return {"nodes": nodes}


def job(job_id: str | None = None, **definition: Any) -> dict[str, Any]:
    """A JobExecutionEvent."""
    return {
        "job_id": job_id or f"job-{uuid.uuid4().hex[:12]}",
        "agent_definition": agent_definition(**definition),
        "input_payload": {"messages": [{"role": "user", "content": "Write a report."}]},
        "trace_id": "trace-1",
    }


def cloudevent(body: dict[str, Any]) -> dict[str, Any]:
    """A structured CloudEvent carrying `body`."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "tests",
        "type": "dev.my-platform.agent.execute",
        "datacontenttype": "application/json",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": body,
    }


@dataclass
class Worker:
    """One `python -m workers.agent_executor` process."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # False: the process gets `env` (and PORT) only, nothing of the test process's own
    # environment, as a container gets exactly its Deployment's (tests/system).
    inherit_environment: bool = True
    log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, wait_for: str = "/ready") -> Worker:
        self.port = free_port()
        # HOST pinned to the address `url` uses: a HOST inherited from a shell (tcsh exports
        # one) would otherwise move the server away from where the tests look for it.
        inherited = os.environ if self.inherit_environment else {}
        env = {**inherited, "HOST": "127.0.0.1", **self.env, "PORT": str(self.port)}
        log_dir = self.log_dir or Path(env.get("WORKER_LOG_DIR", tempfile.gettempdir()))
        log_path = log_dir / f"worker-{self.port}.log"
        # Opened before it is published: another thread may read logs() while this starts.
        log = log_path.open("wb")
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.agent_executor"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}: {self.logs()[-3000:]}")
            try:
                if httpx.get(f"{self.url}{wait_for}", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready: {self.logs()[-3000:]}")

    def logs(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no drain, no nak, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait for the drain to finish."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


async def jetstream(url: str) -> tuple[Any, JetStreamContext]:
    nc = await nats.connect(url)
    return nc, nc.jetstream()


async def delete_streams(url: str) -> None:
    nc, js = await jetstream(url)
    try:
        for name in STREAMS:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


async def publish(
    url: str,
    body: dict[str, Any],
    subject: str = "agent.execute.tests",
    headers: dict[str, str] | None = None,
) -> None:
    """Publish `body` as JSON; `headers` (e.g. a binary CloudEvent's ce-*) go with it."""
    nc, js = await jetstream(url)
    try:
        await js.publish(subject, json.dumps(body).encode(), headers=headers)
    finally:
        await nc.close()


async def results(url: str, job_id: str | None = None) -> list[dict[str, Any]]:
    """Every result event in AGENT_STATUS (for `job_id` when given), oldest first."""
    nc, js = await jetstream(url)
    try:
        info = await js.stream_info("AGENT_STATUS")
        found: list[dict[str, Any]] = []
        if not info.state.messages:
            return found
        for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
            try:
                msg = await js.get_msg("AGENT_STATUS", seq)
            except nats.js.errors.NotFoundError:
                continue
            event = json.loads(msg.data or b"{}")
            if job_id is None or event["data"]["job_id"] == job_id:
                found.append({**event, "nats_subject": msg.subject})
        return found
    except nats.js.errors.NotFoundError:
        return []
    finally:
        await nc.close()


def redis_events(redis_url: str, job_id: str) -> list[dict[str, Any]]:
    """The replay stream of a job: every progress event, in order."""
    client = Redis.from_url(redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
            f"langgraph:stream:{job_id}:replay"
        )
        return [json.loads(fields[b"event"]) for _, fields in entries]
    finally:
        client.close()


def redis_event_ids(redis_url: str, job_id: str) -> list[str]:
    """The entry ids of a job's replay stream, in order (the SSE `id:` of each event)."""
    client = Redis.from_url(redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
            f"langgraph:stream:{job_id}:replay"
        )
        return [entry_id.decode() for entry_id, _ in entries]
    finally:
        client.close()


def wait_result(nats: NatsServer, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """The first result event of `job_id` in AGENT_STATUS, waiting up to `timeout` seconds."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found[:] = asyncio.run(results(nats.url, job_id))
        return bool(found)

    eventually(arrived, timeout, f"a result for {job_id}")
    return found[0]
