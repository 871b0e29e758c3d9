"""The asynchronous jobs API (POST /jobs, GET /jobs/{id}, its events as SSE, DELETE), end to end:
a real worker with real NATS JetStream, PostgreSQL and Redis, and the OpenAI-compatible fake."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer, eventually
from testbed.sse import SseEvent, sse_events
from testbed.worker import (
    Worker,
    cloudevent,
    job,
    redis_event_ids,
    redis_events,
    results,
    wait_result,
)

pytestmark = pytest.mark.slow

# A job whose first LLM call streams tokens and writes a file, and whose second call is
# slow: the job is visibly running for SLOW seconds after its first token event.
SLOW = 3.0


def _slow_job(fake: FakeOpenAI, latency: float = SLOW) -> dict[str, Any]:
    fake.script(
        tool_calls(
            ToolCall("write_file", {"file_path": "/draft.md", "content": "first draft"}),
            content="Writing the draft now.",
        ),
        text("The draft is in /draft.md.", latency=latency),
    )
    return job()


def _status(worker: Worker, job_id: str) -> str:
    return str(httpx.get(f"{worker.url}/jobs/{job_id}").json()["status"])


def _wait_status(worker: Worker, job_id: str, status: str, timeout: float = 30) -> None:
    eventually(lambda: _status(worker, job_id) == status, timeout, f"{job_id} {status}")


def _events(
    worker: Worker, job_id: str, last_event_id: str | None = None, timeout: float = 60
) -> Iterator[SseEvent]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with httpx.stream(
        "GET", f"{worker.url}/jobs/{job_id}/events", headers=headers, timeout=timeout
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield from sse_events(response.iter_lines())


# --- submitting -------------------------------------------------------------------------------


def test_a_submitted_job_is_answered_202_with_its_links_before_it_runs(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = _slow_job(fake)
    began = time.monotonic()
    answer = httpx.post(f"{worker.url}/jobs", json=body)
    answered_in = time.monotonic() - began

    assert answer.status_code == 202
    assert answer.json() == {
        "job_id": body["job_id"],
        "status": "queued",
        "links": {"self": f"/jobs/{body['job_id']}", "events": f"/jobs/{body['job_id']}/events"},
    }
    assert answer.headers["location"] == f"/jobs/{body['job_id']}"
    assert answered_in < 1.0  # the job itself takes more than SLOW seconds
    _wait_status(worker, body["job_id"], "running")
    assert wait_result(nats, body["job_id"])["nats_subject"] == "agent.status.completed"
    _wait_status(worker, body["job_id"], "completed")


def test_a_job_waiting_for_a_free_worker_reads_queued_then_running_then_completed(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(WORKER_CONCURRENCY="1")
    first = _slow_job(fake)
    assert httpx.post(f"{worker.url}/jobs", json=first).status_code == 202
    _wait_status(worker, first["job_id"], "running")
    second = job()
    assert httpx.post(f"{worker.url}/jobs", json=second).status_code == 202

    seen = [_status(worker, second["job_id"])]
    _wait_status(worker, first["job_id"], "completed")
    _wait_status(worker, second["job_id"], "completed")
    record = httpx.get(f"{worker.url}/jobs/{second['job_id']}").json()

    assert seen == ["queued"]
    assert (record["attempts"], record["outcome"]) == (1, "completed")
    assert record["result"]["result"]["output"] == "done"


@pytest.mark.parametrize("form", ["bare", "structured", "binary"])
def test_a_job_is_submitted_bare_or_as_a_cloudevent(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI, form: str
) -> None:
    worker = start_worker()
    body = job()
    if form == "bare":
        answer = httpx.post(f"{worker.url}/jobs", json=body)
    elif form == "structured":
        answer = httpx.post(f"{worker.url}/jobs", json=cloudevent(body))
    else:
        headers = {
            "ce-specversion": "1.0",
            "ce-id": "binary-1",
            "ce-source": "tests",
            "ce-type": "dev.my-platform.agent.execute",
            "content-type": "application/json",
        }
        answer = httpx.post(f"{worker.url}/jobs", content=json.dumps(body), headers=headers)
    assert answer.status_code == 202
    assert wait_result(nats, body["job_id"])["nats_subject"] == "agent.status.completed"


def test_the_same_job_submitted_twice_runs_once_and_the_second_answer_is_its_status(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = _slow_job(fake)
    assert httpx.post(f"{worker.url}/jobs", json=body).status_code == 202
    _wait_status(worker, body["job_id"], "running")
    again = httpx.post(f"{worker.url}/jobs", json=body)
    wait_result(nats, body["job_id"])
    time.sleep(2)  # a second copy of the job would be picked up by now

    assert (again.status_code, again.json()["status"]) == (200, "running")
    assert len(asyncio.run(results(nats.url, body["job_id"]))) == 1
    assert fake.request_count == 2  # the two calls of one run
    assert httpx.get(f"{worker.url}/jobs/{body['job_id']}").json()["attempts"] == 1


def test_another_job_under_a_used_id_is_refused_409(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = job()
    assert httpx.post(f"{worker.url}/jobs", json=body).status_code == 202
    other = {**body, "input_payload": {"messages": [{"role": "user", "content": "Other."}]}}
    answer = httpx.post(f"{worker.url}/jobs", json=other)
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "JobIdConflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"job_id": "no-definition"}, "agent_definition"),
        ({"job_id": "bad id!", "agent_definition": {}}, "job_id"),
        ({"job_id": "x", "agent_definition": [1]}, "agent_definition"),
    ],
)
def test_an_invalid_submission_is_a_400_that_names_the_field(
    start_worker: Callable[..., Worker], body: dict[str, Any], field: str
) -> None:
    worker = start_worker()
    answer = httpx.post(f"{worker.url}/jobs", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "InvalidInput"
    assert field in answer.json()["error"]["message"]


def test_a_job_larger_than_a_nats_message_is_refused_413_and_not_recorded(
    start_worker: Callable[..., Worker],
) -> None:
    worker = start_worker()
    body = {**job(), "input_payload": {"messages": [{"role": "user", "content": "x" * 2**20}]}}
    answer = httpx.post(f"{worker.url}/jobs", json=body)
    assert answer.status_code == 413
    assert httpx.get(f"{worker.url}/jobs/{body['job_id']}").status_code == 404


# --- reading ----------------------------------------------------------------------------------


def test_an_unknown_job_is_404_and_an_invalid_id_400(start_worker: Callable[..., Worker]) -> None:
    worker = start_worker()
    assert httpx.get(f"{worker.url}/jobs/never-submitted-{uuid.uuid4().hex}").status_code == 404
    assert httpx.get(f"{worker.url}/jobs/{'j' * 201}").status_code == 400


def test_a_cancelled_queued_job_reads_cancelled(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(WORKER_CONCURRENCY="1")
    first = _slow_job(fake)
    httpx.post(f"{worker.url}/jobs", json=first)
    _wait_status(worker, first["job_id"], "running")
    second = job()
    httpx.post(f"{worker.url}/jobs", json=second)
    assert httpx.delete(f"{worker.url}/jobs/{second['job_id']}").status_code == 202

    _wait_status(worker, second["job_id"], "cancelled")
    assert fake.request_count == 2  # the first job's two calls; the second never ran


# --- events -----------------------------------------------------------------------------------


def test_token_events_arrive_live_while_the_job_still_runs(
    start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = _slow_job(fake)
    httpx.post(f"{worker.url}/jobs", json=body)
    arrivals: dict[str, float] = {}
    status_at_first_token = ""
    for event in _events(worker, body["job_id"]):
        arrivals.setdefault(event.event, time.monotonic())
        if event.event == "on_llm_stream" and not status_at_first_token:
            status_at_first_token = _status(worker, body["job_id"])

    assert status_at_first_token == "running"
    # The token events of the first call came a whole slow call before the end.
    assert arrivals["end"] - arrivals["on_llm_stream"] > SLOW - 0.5


def test_more_followers_than_a_redis_pool_holds_each_get_every_event_and_the_worker_stays_ready(
    start_worker: Callable[..., Worker], fake: FakeOpenAI
) -> None:
    # redis-py's default pool holds 100 connections; each follower holds one while it waits,
    # and once they shared the probes' client the 101st was refused and /ready failed.
    followers = 120
    worker = start_worker()
    body = _slow_job(fake)
    httpx.post(f"{worker.url}/jobs", json=body)

    async def follow(client: httpx.AsyncClient) -> list[SseEvent]:
        async with client.stream("GET", f"/jobs/{body['job_id']}/events") as response:
            assert response.status_code == 200
            return list(sse_events([line async for line in response.aiter_lines()]))

    async def run() -> tuple[list[list[SseEvent]], int]:
        limits = httpx.Limits(max_connections=followers + 1)
        async with httpx.AsyncClient(base_url=worker.url, timeout=60, limits=limits) as client:
            streams = [asyncio.create_task(follow(client)) for _ in range(followers)]
            await asyncio.sleep(SLOW / 2)  # every follower is waiting on the slow LLM call
            ready = (await client.get("/ready")).status_code
            return list(await asyncio.gather(*streams)), ready

    streams, ready = asyncio.run(run())

    assert ready == 200
    expected = [(e.id, e.event) for e in streams[0]]
    assert expected[-1][1] == "end" and "error" not in streams[0][-1].data
    assert all([(e.id, e.event) for e in stream] == expected for stream in streams)


def test_a_late_subscriber_gets_every_event_replayed_then_the_stream_closes(
    start_worker: Callable[..., Worker], nats: NatsServer, redis_url: str, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = job()
    fake.script(text("Finished before anyone listened."))
    httpx.post(f"{worker.url}/jobs", json=body)
    wait_result(nats, body["job_id"])

    events = list(_events(worker, body["job_id"]))

    recorded = redis_events(redis_url, body["job_id"])
    assert [(e.event, e.data) for e in events] == [(r["event_type"], r["data"]) for r in recorded]
    assert [e.id for e in events] == redis_event_ids(redis_url, body["job_id"])
    assert events[-1].event == "end"


def test_a_reconnect_with_last_event_id_loses_nothing_and_repeats_nothing(
    start_worker: Callable[..., Worker], redis_url: str, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    body = _slow_job(fake)
    httpx.post(f"{worker.url}/jobs", json=body)
    before: list[SseEvent] = []
    for event in _events(worker, body["job_id"]):
        before.append(event)
        if event.event == "on_llm_stream":
            break  # the client goes away mid-job
    assert before[-1].id is not None
    after = list(_events(worker, body["job_id"], last_event_id=before[-1].id))

    ids = [e.id for e in before + after]
    assert ids == redis_event_ids(redis_url, body["job_id"])
    assert after[-1].event == "end"
    assert _status(worker, body["job_id"]) == "completed"


def test_events_of_an_unknown_job_are_404_and_a_bad_last_event_id_400(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker()
    unknown = httpx.get(f"{worker.url}/jobs/nobody-{uuid.uuid4().hex}/events")
    body = job()
    httpx.post(f"{worker.url}/jobs", json=body)
    wait_result(nats, body["job_id"])
    bad = httpx.get(
        f"{worker.url}/jobs/{body['job_id']}/events", headers={"Last-Event-ID": "yesterday"}
    )
    assert unknown.status_code == 404
    assert (bad.status_code, bad.json()["error"]["type"]) == (400, "InvalidInput")


def test_an_open_event_stream_does_not_hold_up_a_sigterm_drain(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(WORKER_CONCURRENCY="1")
    # The only slot stays taken for 8 s, so the second job cannot end (and end its
    # stream) before then: the stream must end because the worker is stopping.
    running = _slow_job(fake, latency=8.0)
    httpx.post(f"{worker.url}/jobs", json=running)
    _wait_status(worker, running["job_id"], "running")
    waiting = job()
    httpx.post(f"{worker.url}/jobs", json=waiting)
    closed_after: list[float] = []

    async def follow_then_terminate() -> None:
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("GET", f"{worker.url}/jobs/{waiting['job_id']}/events") as response,
        ):
            assert response.status_code == 200
            await asyncio.sleep(0.5)
            assert worker.proc is not None
            worker.proc.terminate()
            began = time.monotonic()
            async for _ in response.aiter_lines():
                pass
            closed_after.append(time.monotonic() - began)

    asyncio.run(follow_then_terminate())
    assert worker.proc is not None
    assert worker.proc.wait(timeout=30) == -15  # uvicorn re-raises SIGTERM once drained
    # Ended by the draining flag within a blocking read or two, not when the job ended
    # (uvicorn waits for open responses before the consumer even stops fetching).
    assert closed_after[0] < 5
    assert asyncio.run(results(nats.url, waiting["job_id"])) == []  # it never ran here
