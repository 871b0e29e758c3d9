"""A real executor for `agentplane jobs`: NATS, Redis, PostgreSQL, the fake LLM and one worker.

The servers live for the session and the worker for a test module; each test gets the fake LLM
with an empty script.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from testbed.database import migrate
from testbed.fake_openai import FakeOpenAI, fake_openai
from testbed.servers import nats_server, postgres_server, redis_server
from testbed.worker import Worker


@dataclass(frozen=True)
class Services:
    """Where the session's servers listen."""

    nats_url: str
    redis_url: str
    database_url: str
    llm: FakeOpenAI


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    with nats_server() as nats, redis_server() as redis, postgres_server() as postgres:
        migrate(postgres.url)
        with fake_openai() as llm:
            yield Services(nats.url, redis, postgres.url, llm)


@pytest.fixture(scope="module")
def worker_env(services: Services, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A worker's settings for the session's servers."""
    return {
        "NATS_URL": services.nats_url,
        "REDIS_URL": services.redis_url,
        "DATABASE_URL": services.database_url,
        "OPENAI_BASE_URL": services.llm.base_url,
        "OPENAI_API_KEY": "sk-test-secret-value",
        "NATS_CREATE_STREAMS": "true",
        "WORKER_CONCURRENCY": "4",
        "WORKER_LOG_DIR": str(tmp_path_factory.mktemp("worker-logs")),
    }


@pytest.fixture(scope="module")
def worker(worker_env: dict[str, str]) -> Iterator[Worker]:
    """One worker for the test module."""
    started = Worker(worker_env).start()
    yield started
    started.stop()


@pytest.fixture
def fake(services: Services) -> Iterator[FakeOpenAI]:
    """The session's fake LLM with an empty script (it answers "done" when none is left);
    strict: a scripted call of a tool the agent was never offered fails the test."""
    services.llm.reset()
    yield services.llm
    assert services.llm.violations == [], "the fake model was scripted to call tools never offered"
