"""Every operation of the worker's OpenAPI document, fuzzed by schemathesis against a real
worker (real NATS JetStream, PostgreSQL and Redis, the OpenAI-compatible fake): no answer
is a 5xx, and every answer is one the document lists, with the body it describes.

The document is built in-process (the app is only constructed, never started) because
schemathesis generates the tests at collection time; the first test checks that the
worker serves exactly that document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from testbed.fake_openai import FakeOpenAI
from testbed.servers import NatsServer, PostgresServer
from testbed.worker import Worker, delete_streams
from workers.agent_executor.app import create_app
from workers.agent_executor.settings import Settings

pytestmark = pytest.mark.slow

API_TOKEN = "fuzz-token-0123456789abcdef"

DOCUMENT = create_app(
    Settings(DATABASE_URL="postgresql://unused", REDIS_URL="redis://unused")
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def worker(
    nats: NatsServer,
    redis_url: str,
    postgres: PostgresServer,
    llm: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    asyncio.run(delete_streams(nats.url))
    llm.reset()
    env = {
        "NATS_URL": nats.url,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres.url,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "sk-test-secret-value",
        "NATS_CREATE_STREAMS": "true",
        "WORKER_CONCURRENCY": "4",
        "WORKER_LOG_DIR": str(tmp_path_factory.mktemp("fuzz")),
        # The document declares the bearer scheme: fuzz the worker as production runs it,
        # so schemathesis also checks that a call without the token is refused.
        "API_TOKEN": API_TOKEN,
    }
    started = Worker(env).start()
    yield started
    started.stop()


def test_the_worker_serves_the_fuzzed_document(worker: Worker) -> None:
    assert httpx.get(f"{worker.url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_outside_its_documentation(case: Any, worker: Worker) -> None:
    case.call_and_validate(
        base_url=worker.url, timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"}
    )


def test_the_worker_logged_no_error_while_fuzzed(worker: Worker) -> None:
    # A fault after a response started (an event stream) reaches no status code: uvicorn
    # and the routes log it at error level instead.
    errors = [line for line in worker.logs().splitlines() if '"level": "error"' in line]
    assert errors == []
