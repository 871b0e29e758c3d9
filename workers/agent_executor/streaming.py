"""Progress events to Redis/Dragonfly: pub/sub for live listeners, a capped stream for replay.

Streaming is best effort by contract: a failure is counted and logged, never
raised, so a Redis outage cannot fail a job.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers.agent_executor.metrics import STREAM_PUBLISH_ERRORS

log = structlog.get_logger()


def channel(job_id: str) -> str:
    """The pub/sub channel of a job."""
    return f"langgraph:stream:{job_id}"


def replay_key(job_id: str) -> str:
    """The capped, expiring Redis Stream late subscribers replay from."""
    return f"langgraph:stream:{job_id}:replay"


class RedisEvents:
    """An EventSink for one job."""

    def __init__(self, redis: Redis, job_id: str, *, maxlen: int, ttl_seconds: int) -> None:
        self.redis = redis
        self.job_id = job_id
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Publish `{"event_type", "data"}`; never raises."""
        payload = json.dumps({"event_type": event_type, "data": data}, default=str)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.publish(channel(self.job_id), payload)
                pipe.xadd(
                    replay_key(self.job_id),
                    {"event": payload},
                    maxlen=self.maxlen,
                    approximate=True,
                )
                pipe.expire(replay_key(self.job_id), self.ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            STREAM_PUBLISH_ERRORS.inc()
            log.warning(
                "stream publish failed", job_id=self.job_id, event_type=event_type, error=str(exc)
            )

    async def end(self, error: dict[str, Any] | None = None) -> None:
        """The last event of every run, with the error on failure."""
        await self.emit("end", {"job_id": self.job_id, **({"error": error} if error else {})})
