"""Progress events through the background publisher, against a real Redis server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from contract.events import channel, replay_key
from testbed.servers import free_port
from workers.agent_executor.streaming import END_WAIT_SECONDS, EventPublisher


def _run(url: str, body: Callable[[Redis, EventPublisher], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        publisher = EventPublisher(redis, maxlen=100, ttl_seconds=600, **kw)
        try:
            await body(redis, publisher)
        finally:
            await publisher.close()
            await redis.aclose()

    asyncio.run(main())


async def _replayed(redis: Redis, job_id: str) -> list[dict[str, Any]]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(  # type: ignore[assignment]
        replay_key(job_id)
    )
    return [json.loads(fields[b"event"]) for _, fields in entries]


def _errors() -> float:
    value = REGISTRY.get_sample_value("agent_executor_stream_publish_errors_total")
    return value or 0.0


def test_each_jobs_events_are_published_and_replayable_in_order(redis_url: str) -> None:
    async def body(redis: Redis, publisher: EventPublisher) -> None:
        pubsub = redis.pubsub()
        await pubsub.subscribe(channel("stream-a"))
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        publisher.start()
        a, b = publisher.sink("stream-a"), publisher.sink("stream-b")
        for i in range(5):
            await a.emit("on_llm_stream", {"delta": f"a{i}"})
            await b.emit("on_llm_stream", {"delta": f"b{i}"})
        await a.end()
        await b.end({"message": "boom", "type": "InternalError"})

        live: list[dict[str, Any]] = []
        while len(live) < 6:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
            assert message is not None, f"only {len(live)} live events arrived"
            live.append(json.loads(message["data"]))
        await pubsub.unsubscribe()
        deltas = [e["data"]["delta"] for e in live[:5]]
        assert deltas == ["a0", "a1", "a2", "a3", "a4"]
        assert live[5] == {"event_type": "end", "data": {"job_id": "stream-a"}}

        replay = await _replayed(redis, "stream-b")
        assert [e["data"].get("delta") for e in replay[:5]] == ["b0", "b1", "b2", "b3", "b4"]
        assert replay[5]["data"]["error"]["type"] == "InternalError"
        assert 0 < await redis.ttl(replay_key("stream-b")) <= 600

    _run(redis_url, body)


def test_end_returns_once_the_jobs_events_are_written(redis_url: str) -> None:
    async def body(redis: Redis, publisher: EventPublisher) -> None:
        publisher.start()
        sink = publisher.sink("stream-end")
        for i in range(200):
            await sink.emit("on_state_update", {"step": i})
        await sink.end()
        replay = await _replayed(redis, "stream-end")
        assert replay[-1]["event_type"] == "end"
        # Capped near maxlen (approximate trimming keeps whole nodes): the newest, in order.
        steps = [e["data"]["step"] for e in replay[:-1]]
        assert 100 <= len(steps) < 200
        assert steps == list(range(200 - len(steps), 200))

    _run(redis_url, body)


def test_emit_never_waits_for_redis_and_an_outage_is_counted(redis_url: str) -> None:
    del redis_url
    dead = f"redis://127.0.0.1:{free_port()}/0"
    before = _errors()

    async def body(redis: Redis, publisher: EventPublisher) -> None:
        del redis
        publisher.start()
        sink = publisher.sink("stream-down")
        began = time.monotonic()
        for i in range(50):
            await sink.emit("on_llm_stream", {"delta": str(i)})
        emitted = time.monotonic() - began
        await sink.end()
        assert emitted < 0.1
        assert time.monotonic() - began < END_WAIT_SECONDS + 1

    _run(dead, body)
    assert _errors() - before == 51


def test_an_overflowing_queue_drops_the_oldest_events_and_counts_them(redis_url: str) -> None:
    before = _errors()

    async def body(redis: Redis, publisher: EventPublisher) -> None:
        sink = publisher.sink("stream-full")
        for i in range(8):  # not started yet: nothing is written
            await sink.emit("on_llm_stream", {"delta": str(i)})
        assert publisher.pending == 5
        publisher.start()
        await sink.end()
        replay = await _replayed(redis, "stream-full")
        assert [e["data"].get("delta") for e in replay] == ["4", "5", "6", "7", None]

    _run(redis_url, body, max_pending=5)
    assert _errors() - before == 4  # three deltas, then the oldest again to make room for end


def test_closing_writes_what_is_queued(redis_url: str) -> None:
    async def main() -> None:
        redis = Redis.from_url(redis_url)
        publisher = EventPublisher(redis, maxlen=100, ttl_seconds=600)
        publisher.start()
        for i in range(20):
            publisher.emit("stream-close", "on_tool_start", {"i": i})
        await publisher.close()
        assert len(await _replayed(redis, "stream-close")) == 20
        await redis.aclose()

    asyncio.run(main())


def test_a_jobs_stream_gets_its_ttl_with_its_first_event_and_its_end(redis_url: str) -> None:
    # Not with every batch: in between, at most every refresh interval. A job killed mid-run
    # still leaves a stream that expires.
    async def body(redis: Redis, publisher: EventPublisher) -> None:
        publisher.start()
        sink = publisher.sink("stream-ttl")
        await sink.emit("on_llm_stream", {"delta": "first"})
        await asyncio.sleep(0.2)  # the writer sends it at once
        assert 0 < await redis.ttl(replay_key("stream-ttl")) <= 600
        await redis.persist(replay_key("stream-ttl"))
        await sink.emit("on_llm_stream", {"delta": "second"})
        await asyncio.sleep(0.2)
        assert await redis.ttl(replay_key("stream-ttl")) == -1, "no TTL with every event"
        await sink.end()
        assert 0 < await redis.ttl(replay_key("stream-ttl")) <= 600

    _run(redis_url, body)


def test_a_write_that_hangs_gives_up_and_the_writer_goes_on(redis_url: str) -> None:
    # The writer's client has no per-read timeout: the writer bounds each round trip itself.
    async def body(redis: Redis, publisher: EventPublisher) -> None:
        stalled = asyncio.Event()

        async def hang(*args: Any, **kwargs: Any) -> None:
            stalled.set()
            await asyncio.sleep(60)

        publisher.start()
        sink = publisher.sink("stream-hang")
        original = publisher.redis.pipeline

        def hanging_pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = original(*args, **kwargs)
            pipe.execute = hang  # type: ignore[method-assign,assignment]
            return pipe

        publisher.redis.pipeline = hanging_pipeline  # type: ignore[method-assign]
        await sink.emit("on_llm_stream", {"delta": "lost"})
        await asyncio.wait_for(stalled.wait(), 2)
        publisher.redis.pipeline = original  # type: ignore[method-assign]
        await sink.end()
        replay = await _replayed(redis, "stream-hang")
        assert [e["event_type"] for e in replay] == ["end"]

    before = _errors()
    with mock.patch("workers.agent_executor.streaming.WRITE_TIMEOUT_SECONDS", 0.3):
        _run(redis_url, body)
    assert _errors() - before == 1
