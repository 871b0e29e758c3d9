"""Control commands and governance events against real worker processes, NATS and PostgreSQL:
set_budget (stored, applied by every worker and after a restart), flush_cache, refusals of
invalid commands, one violation event per policy, and an escalation per dead letter."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import nats
import psycopg
import pytest
from nats.errors import NoRespondersError
from prometheus_client.parser import text_string_to_metric_families

from contract.control import FLUSH_CACHE_SUBJECT, SET_BUDGET_SUBJECT
from contract.governance import ESCALATE_SUBJECT, VIOLATION_SUBJECT, VIOLATION_TYPE
from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls
from testbed.servers import NatsServer, PostgresServer, eventually
from testbed.worker import Worker, cloudevent, job, publish, wait_result

pytestmark = pytest.mark.slow

FAST_REFRESH = {"BUDGET_REFRESH_SECONDS": "0.5"}


def metric(worker: Worker, name: str, **labels: str) -> float | None:
    """One sample of the worker's /metrics, or None when it has no such series."""
    for family in text_string_to_metric_families(httpx.get(f"{worker.url}/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def request(url: str, subject: str, body: bytes, replies: int = 1) -> list[dict[str, Any]]:
    """Send a command as a request and collect `replies` answers (every worker may answer)."""
    nc = await nats.connect(url)
    try:
        inbox = nc.new_inbox()
        answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def collect(msg: Any) -> None:
            await answers.put(json.loads(msg.data))

        await nc.subscribe(inbox, cb=collect)
        await nc.publish(subject, body, reply=inbox)
        return [await asyncio.wait_for(answers.get(), 10) for _ in range(replies)]
    finally:
        await nc.close()


async def events_during(
    url: str,
    subject: str,
    action: Callable[[], Awaitable[None]],
    until: Callable[[list[dict[str, Any]]], bool],
) -> list[dict[str, Any]]:
    """The CloudEvents on `subject` while `action` runs, once `until(events)` holds."""
    nc = await nats.connect(url)
    seen: list[dict[str, Any]] = []
    try:
        await nc.subscribe(subject, cb=functools.partial(_append, seen))
        await nc.flush()
        await action()
        for _ in range(300):
            if until(seen):
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(f"no matching event on {subject} within 30 s: {seen}")
    finally:
        await nc.close()


async def _append(seen: list[dict[str, Any]], msg: Any) -> None:
    seen.append({**json.loads(msg.data), "nats_subject": msg.subject, "headers": msg.headers})


def about(job_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["data"].get("job_id") == job_id for e in events)


def violation_of_job(nats_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """Publish `body` as a job and return the violation event about it."""

    async def scenario() -> list[dict[str, Any]]:
        return await events_during(
            nats_url,
            VIOLATION_SUBJECT,
            lambda: publish(nats_url, cloudevent(body)),
            about(body["job_id"]),
        )

    events = asyncio.run(scenario())
    (event,) = [e for e in events if e["data"]["job_id"] == body["job_id"]]
    assert event["type"] == VIOLATION_TYPE and event["specversion"] == "1.0"
    assert event["subject"] == body["job_id"] and event["source"] == "agent-executor-service"
    return event


@pytest.fixture
def no_budget_override(postgres: PostgresServer) -> Iterator[None]:
    """The session's database without a set_budget override, before and after the test."""

    def clear() -> None:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("DELETE FROM agent_token_budget_override")

    clear()
    yield
    clear()


def stored_override(postgres: PostgresServer) -> int | None:
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute("SELECT tokens_per_run FROM agent_token_budget_override").fetchone()
    return row[0] if row else None


def test_set_budget_is_stored_applied_by_every_worker_and_survives_a_restart(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    postgres: PostgresServer,
    no_budget_override: None,
) -> None:
    workers = [
        start_worker(TOKEN_BUDGET_PER_RUN="100000", **FAST_REFRESH),
        start_worker(TOKEN_BUDGET_PER_RUN="100000", **FAST_REFRESH),
    ]
    assert metric(workers[0], "agent_executor_token_budget_per_run") == 100000

    body = json.dumps({"token_budget_per_run": 25, "reason": "runaway agent"}).encode()
    (reply,) = asyncio.run(request(nats.url, SET_BUDGET_SUBJECT, body))

    assert reply["ok"] is True and reply["command"] == "set_budget"
    assert reply["result"]["token_budget_per_run"] == 25
    assert reply["result"]["previous_override"] is None
    assert reply["result"]["default"] == 100000
    assert stored_override(postgres) == 25
    eventually(
        lambda: all(metric(w, "agent_executor_token_budget_per_run") == 25 for w in workers),
        10,
        "every worker applies the stored budget",
    )
    workers[0].stop()
    restarted = start_worker(TOKEN_BUDGET_PER_RUN="100000")
    assert metric(restarted, "agent_executor_token_budget_per_run") == 25

    clear = json.dumps({"token_budget_per_run": None}).encode()
    (reply,) = asyncio.run(request(nats.url, SET_BUDGET_SUBJECT, clear))
    assert reply["ok"] is True and reply["result"]["previous_override"] == 25
    assert reply["result"]["token_budget_per_run"] == 100000
    eventually(
        lambda: metric(workers[1], "agent_executor_token_budget_per_run") == 100000,
        10,
        "the cleared override gives back TOKEN_BUDGET_PER_RUN",
    )


def test_a_lowered_budget_stops_the_next_job_with_a_budget_violation(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    fake: FakeOpenAI,
    no_budget_override: None,
) -> None:
    worker = start_worker()
    (reply,) = asyncio.run(request(nats.url, SET_BUDGET_SUBJECT, b'{"token_budget_per_run": 10}'))
    assert reply["ok"] is True
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "a"}), usage=(20, 5)),
        text("never asked for"),
    )
    body = job()

    event = violation_of_job(nats.url, body)

    violation = event["data"]["violation"]
    assert (violation["type"], violation["severity"]) == ("BudgetExceeded", "medium")
    assert violation["context"] == {"scope": "per_run"}
    assert "25 of 10 tokens" in violation["description"]
    assert wait_result(nats, body["job_id"])["data"]["error"]["type"] == "BudgetExceeded"
    assert fake.request_count == 1
    assert (
        metric(
            worker,
            "agent_executor_governance_violations_total",
            type="BudgetExceeded",
            severity="medium",
        )
        == 1
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{}", "token_budget_per_run: Field required"),
        (b'{"token_budget_per_run": 0}', "greater than or equal to 1"),
        (b"not json", "Invalid JSON"),
    ],
)
def test_an_invalid_set_budget_gets_an_error_reply_and_changes_nothing(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    postgres: PostgresServer,
    no_budget_override: None,
    body: bytes,
    error: str,
) -> None:
    worker = start_worker(TOKEN_BUDGET_PER_RUN="500")
    (reply,) = asyncio.run(request(nats.url, SET_BUDGET_SUBJECT, body))

    assert reply["ok"] is False and reply["error"]["type"] == "InvalidCommand"
    assert error in reply["error"]["message"]
    assert stored_override(postgres) is None
    assert metric(worker, "agent_executor_token_budget_per_run") == 500
    assert "control command refused" in worker.logs()
    # Still listening: a valid command after an invalid one is carried out.
    (reply,) = asyncio.run(request(nats.url, SET_BUDGET_SUBJECT, b'{"token_budget_per_run": 7}'))
    assert reply["ok"] is True


def test_flush_cache_is_answered_by_every_worker_with_what_it_dropped(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    workers = [start_worker(), start_worker()]
    fake.script(text("done"))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])

    replies = asyncio.run(request(nats.url, FLUSH_CACHE_SUBJECT, b"", replies=2))

    assert all(r["ok"] and r["command"] == "flush_cache" for r in replies)
    assert len({r["worker"] for r in replies}) >= 1
    dropped = sorted(r["result"]["dropped"]["model_clients"] for r in replies)
    assert dropped == [0, 1], "the worker that ran the job had one model client, the other none"
    # The clients are rebuilt on the next call.
    fake.script(text("again"))
    again = job()
    asyncio.run(publish(nats.url, cloudevent(again)))
    assert wait_result(nats, again["job_id"])["nats_subject"] == "agent.status.completed"
    assert all("flush_cache" in w.logs() for w in workers)


def test_an_invalid_flush_cache_gets_an_error_reply_and_a_misspelt_command_no_responders(
    start_worker: Callable[..., Worker], nats: NatsServer
) -> None:
    worker = start_worker()
    (reply,) = asyncio.run(request(nats.url, FLUSH_CACHE_SUBJECT, b'{"everything": true}'))
    assert reply["ok"] is False and reply["error"]["type"] == "InvalidCommand"
    assert "everything: Extra inputs are not permitted" in reply["error"]["message"]

    async def misspelt() -> None:
        nc = await _connect(nats.url)
        try:
            await nc.request("agent.control.flush_cashe", b"{}", timeout=5)
        finally:
            await nc.close()

    with pytest.raises(NoRespondersError):
        asyncio.run(misspelt())
    assert httpx.get(f"{worker.url}/health").status_code == 200


def _looping(model_calls: int) -> tuple[Any, ...]:
    return tuple(
        tool_calls(ToolCall("write_file", {"file_path": f"/f{i}.md", "content": "x"}))
        for i in range(model_calls)
    )


@pytest.mark.parametrize(
    ("env", "script", "violation_type", "severity"),
    [
        ({"JOB_MAX_STEPS": "3"}, _looping(10), "StepLimitExceeded", "medium"),
        (
            {"JOB_TIMEOUT_SECONDS": "1"},
            (text("too slow", latency=5),),
            "TimeoutExceeded",
            "medium",
        ),
        ({"JOB_MAX_RESULT_BYTES": "1024"}, (text("x" * 4000),), "ResultTooLarge", "low"),
        ({"DAILY_TOKEN_BUDGET": "1"}, None, "BudgetExceeded", "high"),
    ],
)
def test_a_job_stopped_by_a_limit_publishes_its_violation(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    postgres: PostgresServer,
    fake: FakeOpenAI,
    env: dict[str, str],
    script: tuple[Any, ...] | None,
    violation_type: str,
    severity: str,
) -> None:
    if script is None:
        # Today's usage already over the daily budget of 1 token.
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO agent_token_usage (day, tokens) VALUES "
                "((now() AT TIME ZONE 'utc')::date, 10) "
                "ON CONFLICT (day) DO UPDATE SET tokens = agent_token_usage.tokens + 10"
            )
    else:
        fake.script(*script)
    worker = start_worker(**env)
    body = job()

    event = violation_of_job(nats.url, body)

    violation = event["data"]["violation"]
    assert (violation["type"], violation["severity"]) == (violation_type, severity)
    assert event["data"]["worker"]
    result = wait_result(nats, body["job_id"])
    assert result["data"]["error"]["type"] == violation_type
    assert (
        metric(
            worker,
            "agent_executor_governance_violations_total",
            type=violation_type,
            severity=severity,
        )
        == 1
    )


def test_a_refused_tool_script_is_a_violation_once_per_run(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(ALLOW_TOOL_SCRIPTS="false")
    body = job(tools=("lookup",))
    body["agent_definition"]["tool_definitions"] = [
        {"name": "lookup", "runtime": {"script": "print('never runs')"}}
    ]
    fake.script(
        tool_calls(ToolCall("lookup", {})),
        tool_calls(ToolCall("lookup", {})),
        text("gave up on lookup"),
    )

    event = violation_of_job(nats.url, body)

    violation = event["data"]["violation"]
    assert (violation["type"], violation["severity"]) == ("ToolScriptRefused", "high")
    assert violation["context"] == {"tool": "lookup"}
    # The job itself goes on: the model is told the tool cannot run.
    assert wait_result(nats, body["job_id"])["nats_subject"] == "agent.status.completed"
    assert (
        metric(
            worker,
            "agent_executor_governance_violations_total",
            type="ToolScriptRefused",
            severity="high",
        )
        == 1
    )


def test_a_job_id_conflict_is_a_violation_and_its_dead_letter_is_escalated(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker()
    fake.script(text("first"))
    first = job()
    asyncio.run(publish(nats.url, cloudevent(first)))
    wait_result(nats, first["job_id"])
    second = {**first, "input_payload": {"messages": [{"role": "user", "content": "other"}]}}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        escalations: list[dict[str, Any]] = []
        nc = await _connect(nats.url)
        try:
            await nc.subscribe(ESCALATE_SUBJECT, cb=functools.partial(_append, escalations))
            await nc.flush()
            violations = await events_during(
                nats.url,
                VIOLATION_SUBJECT,
                lambda: publish(nats.url, cloudevent(second)),
                about(first["job_id"]),
            )
            for _ in range(100):
                if escalations:
                    break
                await asyncio.sleep(0.1)
            return violations, escalations
        finally:
            await nc.close()

    violations, escalations = asyncio.run(scenario())
    (violation,) = [v["data"]["violation"] for v in violations]
    assert (violation["type"], violation["severity"]) == ("JobIdConflict", "high")
    (escalation,) = escalations
    assert escalation["type"] == "dev.my-platform.agent.escalate"
    assert escalation["data"]["job_id"] == first["job_id"]
    assert escalation["data"]["error_type"] == "JobIdConflict"
    assert escalation["data"]["dead_letter_subject"] == f"agent.dlq.{first['job_id']}"


async def _connect(url: str) -> Any:
    return await nats.connect(url)


def test_a_job_dead_lettered_after_its_last_delivery_is_escalated_with_its_deliveries(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    start_worker(NATS_MAX_DELIVER="2")
    fake.fail_next(10, status=503)
    body = job(f"doomed-{uuid.uuid4().hex[:8]}")

    async def scenario() -> list[dict[str, Any]]:
        return await events_during(
            nats.url,
            ESCALATE_SUBJECT,
            lambda: publish(nats.url, cloudevent(body)),
            about(body["job_id"]),
        )

    (event,) = asyncio.run(scenario())
    data = event["data"]
    assert event["subject"] == body["job_id"]
    assert (data["deliveries"], data["max_deliver"]) == (2, 2)
    assert data["error_type"] == "LLMUnavailable"
    assert data["reason"].startswith("gave up after 2 deliveries")
    assert event["headers"]["Nats-Msg-Id"] == f"{body['job_id']}.escalate"
