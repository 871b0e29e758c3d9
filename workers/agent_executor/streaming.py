"""Progress events to Redis/Dragonfly: pub/sub for live listeners, a capped stream for replay.

Streaming is best effort by contract, so a run never waits on Redis: `emit` queues the event
and returns, and one background task writes the queue in order, many events (of any number
of jobs) per pipelined round trip. A failed write or an overflowing queue is counted and
logged, never raised. Only a run's `end` waits, briefly, for its events to be written, so
that a listener has them before the result event reaches NATS.

The writer bounds each round trip as a whole (WRITE_TIMEOUT_SECONDS), so it is given a
client without a per-read socket timeout (`stores.redis_client(socket_timeout=None)`): the
client would otherwise arm a timer for every reply of a batch, two or three per event, a
seventh of the writer's CPU. A client of its own also keeps it from waiting for a connection
that event-stream readers hold. And a job's replay stream gets its time to live with its
first event, then at most every EXPIRE_REFRESH_SECONDS and with its `end`, not with every
batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from contract.events import channel, replay_key
from workers.agent_executor.metrics import STREAM_PUBLISH_ERRORS

log = structlog.get_logger()

MAX_PENDING_EVENTS = 10_000
BATCH_EVENTS = 500
END_WAIT_SECONDS = 2.0
RETRY_PAUSE_SECONDS = 0.5
WRITE_TIMEOUT_SECONDS = 5.0
# A tenth of the TTL when that is shorter.
EXPIRE_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class _Event:
    job_id: str
    payload: str
    written: asyncio.Future[None] | None = None  # set for `end`, which waits for it
    last: bool = False  # the job's `end`


class EventPublisher:
    """The process's single writer of progress events to Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        maxlen: int,
        ttl_seconds: int,
        max_pending: int = MAX_PENDING_EVENTS,
    ) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds
        self.max_pending = max_pending
        self._queue: deque[_Event] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writing = False  # a batch is out of the queue and on its way to Redis
        self._dropped = 0
        self._refresh = min(EXPIRE_REFRESH_SECONDS, ttl_seconds / 10)
        # When each job's stream last got its TTL, oldest first: only jobs that wrote
        # within the last refresh interval.
        self._expires: dict[str, float] = {}

    def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-events")

    def sink(self, job_id: str) -> RedisEvents:
        """The EventSink of one job."""
        return RedisEvents(self, job_id)

    @property
    def pending(self) -> int:
        """Events queued and not yet written."""
        return len(self._queue)

    def emit(self, job_id: str, event_type: str, data: dict[str, Any]) -> None:
        """Queue `{"event_type", "data"}` for `job_id`; never blocks, never raises."""
        self._put(_Event(job_id, _payload(event_type, data)))

    async def end(self, job_id: str, error: dict[str, Any] | None = None) -> None:
        """Queue the job's last event and wait (at most END_WAIT_SECONDS) until it is written."""
        data = {"job_id": job_id, **({"error": error} if error else {})}
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put(_Event(job_id, _payload("end", data), written, last=True))
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(written), END_WAIT_SECONDS)

    async def close(self) -> None:
        """Write what is queued (within END_WAIT_SECONDS), then stop the writer."""
        if self._task is None:
            return
        deadline = asyncio.get_running_loop().time() + END_WAIT_SECONDS
        while (self._queue or self._writing) and asyncio.get_running_loop().time() < deadline:
            self._wake.set()
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._queue:
            self._drop(len(self._queue), "shutting down")

    def _put(self, event: _Event) -> None:
        if len(self._queue) >= self.max_pending:
            self._drop(1, "too many events waiting for Redis")
        self._queue.append(event)
        self._wake.set()

    def _drop(self, count: int, reason: str) -> None:
        STREAM_PUBLISH_ERRORS.inc(count)
        for _ in range(count):
            _settle(self._queue.popleft())
        # One line per thousand dropped events: an outage would otherwise log every event.
        if self._dropped // 1000 != (self._dropped + count) // 1000 or self._dropped == 0:
            log.warning(
                "stream events dropped", count=count, total=self._dropped + count, reason=reason
            )
        self._dropped += count

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH_EVENTS, len(self._queue)))]
                self._writing = True
                try:
                    written = await self._write(batch)
                finally:
                    self._writing = False
                if not written:
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _write(self, batch: list[_Event]) -> bool:
        due = self._due_expires(batch)
        try:
            async with (
                asyncio.timeout(WRITE_TIMEOUT_SECONDS),
                self.redis.pipeline(transaction=False) as pipe,
            ):
                for event in batch:
                    pipe.publish(channel(event.job_id), event.payload)
                    pipe.xadd(
                        replay_key(event.job_id),
                        {"event": event.payload},
                        maxlen=self.maxlen,
                        approximate=True,
                    )
                # The replay stream outlives the job's `end` by the TTL, and any other event
                # by at least the TTL less the refresh interval.
                for job_id in due:
                    pipe.expire(replay_key(job_id), self.ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            self._forget(due)
            STREAM_PUBLISH_ERRORS.inc(len(batch))
            log.warning("stream publish failed", events=len(batch), error=str(exc))
            return False
        except Exception:
            # Anything else must not stop the writer either: later events would only pile up.
            self._forget(due)
            STREAM_PUBLISH_ERRORS.inc(len(batch))
            log.exception("stream publish failed unexpectedly", events=len(batch))
            return False
        finally:
            for event in batch:
                _settle(event)
        return True

    def _due_expires(self, batch: list[_Event]) -> list[str]:
        """The jobs of `batch` whose stream gets its TTL now: those not given it within the
        refresh interval, and those that end here."""
        now = asyncio.get_running_loop().time()
        expires = self._expires
        while expires:  # jobs given their TTL an interval ago are due again
            oldest = next(iter(expires))
            if now - expires[oldest] < self._refresh:
                break
            del expires[oldest]
        due: dict[str, None] = {}
        for event in batch:
            if event.last:
                due[event.job_id] = None
                expires.pop(event.job_id, None)
            elif event.job_id not in expires:
                due[event.job_id] = None
                expires[event.job_id] = now
        return list(due)

    def _forget(self, job_ids: list[str]) -> None:
        """A failed write set no TTL: the jobs' next events set it."""
        for job_id in job_ids:
            self._expires.pop(job_id, None)


class RedisEvents:
    """An EventSink for one job, writing through the process's EventPublisher."""

    def __init__(self, publisher: EventPublisher, job_id: str) -> None:
        self.publisher = publisher
        self.job_id = job_id

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue an event; returns at once (the EventSink protocol is async)."""
        self.publisher.emit(self.job_id, event_type, data)

    async def end(self, error: dict[str, Any] | None = None) -> None:
        """The last event of every run, with the error on failure."""
        await self.publisher.end(self.job_id, error)


def _payload(event_type: str, data: dict[str, Any]) -> str:
    # Serialized now: the caller may change `data` after emitting it.
    return json.dumps({"event_type": event_type, "data": data}, default=str)


def _settle(event: _Event) -> None:
    if event.written is not None and not event.written.done():
        event.written.set_result(None)
