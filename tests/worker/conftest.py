"""Real servers for the worker's integration tests, shared by the session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testbed.database import migrate
from testbed.fake_openai import FakeOpenAI, fake_openai
from testbed.servers import (
    NatsServer,
    PostgresServer,
    nats_server,
    postgres_server,
    redis_server,
)
from testbed.worker import Worker, delete_streams


@pytest.fixture(scope="session")
def nats() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        migrate(server.url)
        yield server


@pytest.fixture(scope="session")
def llm() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


@pytest.fixture
def fake(llm: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The session's fake, reset; strict: a scripted call of a tool never offered fails the test."""
    llm.reset()
    yield llm
    assert llm.violations == [], "the fake model was scripted to call tools never offered"


@pytest.fixture
def worker_env(
    nats: NatsServer, redis_url: str, postgres: PostgresServer, fake: FakeOpenAI, tmp_path: Path
) -> dict[str, str]:
    asyncio.run(delete_streams(nats.url))
    return {
        "NATS_URL": nats.url,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres.url,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test-secret-value",
        "NATS_CREATE_STREAMS": "true",
        "NATS_ACK_WAIT_SECONDS": "4",
        "NATS_MAX_DELIVER": "5",
        "HEARTBEAT_SECONDS": "1",
        "WORKER_CONCURRENCY": "4",
        "SHUTDOWN_TIMEOUT_SECONDS": "20",
        "WORKER_LOG_DIR": str(tmp_path),
    }


@pytest.fixture
def start_worker(worker_env: dict[str, str]) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(wait_for: str = "/ready", **overrides: str) -> Worker:
        worker = Worker({**worker_env, **overrides}).start(wait_for=wait_for)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
