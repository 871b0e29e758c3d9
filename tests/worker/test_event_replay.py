"""Following a job's replay stream (event_replay.follow), against a real Redis server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis

from contract.events import replay_key
from workers.agent_executor.event_replay import FollowLimits, JobEvent, follow, is_entry_id

T = TypeVar("T")


def _run(url: str, body: Callable[[Redis], Awaitable[T]]) -> T:
    async def main() -> T:
        redis = Redis.from_url(url, socket_timeout=5)
        try:
            return await body(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


async def _append(redis: Redis, job_id: str, event_type: str, data: dict[str, Any]) -> str:
    payload = json.dumps({"event_type": event_type, "data": data})
    entry_id = await redis.xadd(replay_key(job_id), {"event": payload})
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def _running() -> dict[str, Any] | None:
    return None


def _limits(seconds: float = 10, **overrides: Any) -> FollowLimits:
    return FollowLimits(deadline=time.monotonic() + seconds, block_seconds=0.1, **overrides)


async def _collect(
    redis: Redis, job_id: str, *, after: str | None = None, limits: FollowLimits | None = None
) -> list[JobEvent | None]:
    return [
        e
        async for e in follow(
            redis, job_id, after=after, limits=limits or _limits(), finished=_running
        )
    ]


def _job() -> str:
    return f"follow-{uuid.uuid4().hex[:12]}"


def test_a_finished_stream_is_replayed_in_order_with_entry_ids_and_ends_at_end(
    redis_url: str,
) -> None:
    job_id = _job()

    async def body(redis: Redis) -> tuple[list[str], list[JobEvent | None]]:
        ids = [await _append(redis, job_id, "on_llm_stream", {"delta": str(i)}) for i in range(3)]
        ids.append(await _append(redis, job_id, "end", {"job_id": job_id}))
        await _append(redis, job_id, "on_llm_stream", {"delta": "after the end"})
        return ids, await _collect(redis, job_id)

    ids, events = _run(redis_url, body)
    assert [e.id for e in events if e] == ids
    assert [e.event_type for e in events if e] == ["on_llm_stream"] * 3 + ["end"]


def test_following_after_an_entry_id_starts_at_the_next_entry(redis_url: str) -> None:
    job_id = _job()

    async def body(redis: Redis) -> tuple[list[str], list[JobEvent | None]]:
        ids = [await _append(redis, job_id, "on_state_update", {"i": i}) for i in range(4)]
        ids.append(await _append(redis, job_id, "end", {}))
        return ids, await _collect(redis, job_id, after=ids[1])

    ids, events = _run(redis_url, body)
    assert [e.id for e in events if e] == ids[2:]


def test_events_written_while_following_arrive_live(redis_url: str) -> None:
    job_id = _job()

    async def body(redis: Redis) -> list[tuple[str, float]]:
        arrivals: list[tuple[str, float]] = []

        async def consume() -> None:
            async for event in follow(
                redis, job_id, after=None, limits=_limits(), finished=_running
            ):
                assert event is not None
                arrivals.append((event.event_type, time.monotonic()))

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        written = time.monotonic()
        await _append(redis, job_id, "on_tool_start", {"tool": "ls"})
        await asyncio.sleep(0.3)
        await _append(redis, job_id, "end", {})
        await asyncio.wait_for(task, 5)
        return [(kind, at - written) for kind, at in arrivals]

    arrivals = _run(redis_url, body)
    assert [kind for kind, _ in arrivals] == ["on_tool_start", "end"]
    assert arrivals[0][1] < 0.25  # within one blocking read, not at the end


def test_a_quiet_stream_yields_heartbeats(redis_url: str) -> None:
    limits = _limits(seconds=1.0, heartbeat_seconds=0.25)
    events = _run(redis_url, lambda redis: _collect(redis, _job(), limits=limits))
    assert len(events) >= 2
    assert set(events) == {None}


def test_a_follow_ends_at_its_deadline(redis_url: str) -> None:
    began = time.monotonic()
    _run(redis_url, lambda redis: _collect(redis, _job(), limits=_limits(seconds=0.5)))
    assert 0.4 < time.monotonic() - began < 2


def test_a_follow_ends_soon_after_the_process_starts_draining(redis_url: str) -> None:
    stop_at = time.monotonic() + 0.3
    limits = _limits(seconds=30, stopping=lambda: time.monotonic() > stop_at)
    began = time.monotonic()
    _run(redis_url, lambda redis: _collect(redis, _job(), limits=limits))
    assert time.monotonic() - began < 1


def test_a_finished_job_without_end_in_its_stream_gets_one_from_the_ledger(
    redis_url: str,
) -> None:
    job_id = _job()
    ended = {"job_id": job_id, "error": {"message": "boom", "type": "InternalError"}}

    async def finished() -> dict[str, Any] | None:
        return ended

    async def body(redis: Redis) -> list[JobEvent | None]:
        await _append(redis, job_id, "on_llm_stream", {"delta": "partial"})
        limits = _limits(finished_grace_seconds=0.3)
        return [
            e async for e in follow(redis, job_id, after=None, limits=limits, finished=finished)
        ]

    events = _run(redis_url, body)
    assert [e.event_type for e in events if e] == ["on_llm_stream", "end"]
    last = events[-1]
    assert last is not None and (last.id, last.data) == (None, ended)


def test_an_unreadable_entry_is_skipped(redis_url: str) -> None:
    job_id = _job()

    async def body(redis: Redis) -> list[JobEvent | None]:
        await redis.xadd(replay_key(job_id), {"event": "not json"})
        await redis.xadd(replay_key(job_id), {"other": "field"})
        await _append(redis, job_id, "end", {})
        return await _collect(redis, job_id)

    events = _run(redis_url, body)
    assert [e.event_type for e in events if e] == ["end"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("1700000000000-0", True),
        ("1700000000000", True),
        ("9999999999999999999-9999999999999999999", True),
        ("10000000000000000000-0", False),  # 20 digits: may not fit in 64 bits
        ("1-", False),
        ("-1", False),
        ("abc", False),
        ("1-2-3", False),
        ("", False),
        ("\u0661\u0662-\u0660", False),  # digits, but not ASCII ones
    ],
)
def test_only_redis_stream_entry_ids_are_event_ids(value: str, valid: bool) -> None:
    assert is_entry_id(value) is valid
