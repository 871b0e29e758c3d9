"""The job routes of a real worker process with API_TOKEN set (DESIGN section 3, `api`).

Real NATS, PostgreSQL and Redis, an OpenAI-compatible fake: the token is checked in front
of the routes that run, read and cancel jobs, while the kubelet's probes and Prometheus'
scrape never need it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from testbed.fake_openai import FakeOpenAI, text
from testbed.worker import Worker, cloudevent, job

pytestmark = pytest.mark.slow

TOKEN = "4f1c0d6e9b2a-the-executor-api-token"
WRONG = "4f1c0d6e9b2a-not-the-executor-token"
UNKNOWN_JOB = "job-never-submitted"


@pytest.fixture
def worker(start_worker: Callable[..., Worker]) -> Worker:
    """A worker whose job routes ask for TOKEN."""
    return start_worker(API_TOKEN=TOKEN)


def _auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


JOB_CALLS = [("POST", "/"), ("GET", f"/jobs/{UNKNOWN_JOB}"), ("DELETE", f"/jobs/{UNKNOWN_JOB}")]
OPEN_PATHS = ["/health", "/ready", "/metrics"]


@pytest.mark.parametrize("token", [None, WRONG], ids=["no-token", "wrong-token"])
def test_job_routes_answer_401_without_the_right_token_while_probes_stay_open(
    worker: Worker, token: str | None
) -> None:
    for method, path in JOB_CALLS:
        reply = httpx.request(
            method, f"{worker.url}{path}", headers=_auth(token), json=cloudevent(job())
        )

        assert reply.status_code == 401, (method, path)
        assert reply.headers["www-authenticate"].startswith("Bearer"), (method, path)
    for path in OPEN_PATHS:
        assert httpx.get(f"{worker.url}{path}", headers=_auth(token)).status_code == 200, path

    assert TOKEN not in worker.logs()
    assert WRONG not in worker.logs()


def test_with_the_right_token_a_job_runs_is_read_and_its_cancel_answered(
    worker: Worker, fake: FakeOpenAI
) -> None:
    fake.script(text("behind the token"))
    body = job()
    headers = {
        **_auth(TOKEN),
        "ce-specversion": "1.0",
        "ce-id": "e-1",
        "ce-source": "tests",
        "ce-type": "dev.my-platform.agent.execute",
        "content-type": "application/json",
    }

    ran = httpx.post(f"{worker.url}/", content=json.dumps(body), headers=headers, timeout=60)
    read = httpx.get(f"{worker.url}/jobs/{body['job_id']}", headers=_auth(TOKEN))
    cancelled = httpx.delete(f"{worker.url}/jobs/{body['job_id']}", headers=_auth(TOKEN))
    unknown = httpx.get(f"{worker.url}/jobs/{UNKNOWN_JOB}", headers=_auth(TOKEN))

    assert ran.status_code == 200
    assert ran.json()["data"]["result"]["output"] == "behind the token"
    assert (read.status_code, read.json()["status"]) == (200, "completed")
    assert (cancelled.status_code, cancelled.json()["cancel"]) == (409, "too late")
    assert unknown.status_code == 404
    assert TOKEN not in worker.logs()


def test_without_api_token_the_job_routes_ask_for_nothing(
    start_worker: Callable[..., Worker],
) -> None:
    worker = start_worker()

    reply = httpx.get(f"{worker.url}/jobs/{UNKNOWN_JOB}")

    assert reply.status_code == 404
