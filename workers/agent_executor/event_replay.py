"""Follow one job's progress events: replay its Redis Stream, then read it live, until `end`.

The stream is the one `streaming.EventPublisher` appends to (`replay_key`, one entry per
event, field `event` = `{"event_type", "data"}` as JSON), so a follower sees exactly the
events of the pub/sub channel, each with its entry id. Resuming after an entry id loses
nothing and repeats nothing, as long as the capped stream still holds the entries after it.

Every follow ends: at the job's `end` event; at an `end` made from the ledger when the job
finished but its stream has none (expired, or Redis was down while it ran: streaming is
best effort); at the deadline; or when the process starts draining. A subscriber that ends
without `end` reconnects from its last entry id.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from contract.events import replay_key

log = structlog.get_logger()

END = "end"
BATCH = 200
# One blocking read waits at most this long, so deadlines and draining are noticed soon
# after; it stays under the followers' client's socket timeout (services: 5 s).
BLOCK_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
# A finished job's `end` reaches Redis shortly after its ledger row (the publisher writes
# in the background): only a row seen finished this long with no `end` gets one made.
FINISHED_GRACE_SECONDS = 5.0
# How often a quiet follow asks the ledger whether the job finished.
FINISHED_CHECK_SECONDS = 5.0
_MAX_SEQUENCE = 2**64 - 1
# What a client may name as the last event it saw: `<milliseconds>[-<sequence>]`, each part
# at most 19 digits so that it always fits Redis's 64-bit fields (real ids are far shorter).
ENTRY_ID_PATTERN = r"^[0-9]{1,19}(-[0-9]{1,19})?$"
_ENTRY_ID = re.compile(ENTRY_ID_PATTERN)


@dataclass(frozen=True)
class JobEvent:
    """One progress event; `id` is its Redis Stream entry id (None for a made-up `end`)."""

    event_type: str
    data: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class FollowLimits:
    """When a follow gives up waiting: a monotonic deadline, and a draining flag."""

    deadline: float
    stopping: Callable[[], bool] = lambda: False
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    block_seconds: float = BLOCK_SECONDS
    finished_grace_seconds: float = FINISHED_GRACE_SECONDS
    finished_check_seconds: float = FINISHED_CHECK_SECONDS


# The ledger's `end` data for a finished job, or None while it runs.
FinishedLookup = Callable[[], Awaitable[dict[str, Any] | None]]


def is_entry_id(value: str) -> bool:
    """True for a Redis Stream entry id, `<milliseconds>-<sequence>` (or `<milliseconds>`)."""
    return _ENTRY_ID.fullmatch(value) is not None


def _after(entry_id: str) -> str:
    """The smallest entry id greater than `entry_id`: XRANGE's start, exclusive of it.

    Computed rather than written `(id`, which older Redis-compatible servers do not accept.
    """
    millis, _, sequence = entry_id.partition("-")
    seq = int(sequence or 0)
    if seq < _MAX_SEQUENCE:
        return f"{int(millis)}-{seq + 1}"
    return f"{int(millis) + 1}-0"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(entry_id: str, fields: dict[Any, Any]) -> JobEvent | None:
    """The event of one stream entry; None for an entry this module cannot read."""
    raw = fields.get(b"event", fields.get("event"))
    try:
        payload = json.loads(raw) if raw is not None else None
    except ValueError:
        payload = None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("event_type"), str)
        or not isinstance(payload.get("data"), dict)
    ):
        log.warning("unreadable replay entry skipped", entry_id=entry_id)
        return None
    return JobEvent(payload["event_type"], payload["data"], entry_id)


def _entries(reply: Any) -> list[tuple[str, JobEvent | None]]:
    """XRANGE's reply (or one stream's entries in XREAD's) as (entry id, event) pairs."""
    return [
        (_text(entry_id), _decode(_text(entry_id), fields or {}))
        for entry_id, fields in reply or []
    ]


async def follow(
    redis: Redis,
    job_id: str,
    *,
    after: str | None,
    limits: FollowLimits,
    finished: FinishedLookup,
) -> AsyncIterator[JobEvent | None]:
    """The job's events after entry `after` (all when None), replayed then live, until `end`.

    Yields None as a heartbeat when nothing arrived for `limits.heartbeat_seconds`, so a
    caller can keep its connection alive. Redis errors propagate to the caller.
    """
    key = replay_key(job_id)
    cursor = after or "0-0"
    while True:  # the replay, in batches
        batch = _entries(await redis.xrange(key, min=_after(cursor), max="+", count=BATCH))
        for cursor, event in batch:  # noqa: B007 - the cursor is read after the loop
            if event is not None:
                yield event
                if event.event_type == END:
                    return
        if len(batch) < BATCH:
            break
    quiet_since = next_check = finished_seen = time.monotonic()
    end: dict[str, Any] | None = None
    while not limits.stopping():
        now = time.monotonic()
        if now >= limits.deadline:
            return
        block = min(limits.block_seconds, limits.deadline - now)
        reply: Any = await redis.xread({key: cursor}, count=BATCH, block=max(1, int(block * 1000)))
        batch = [pair for _stream, entries in reply or [] for pair in _entries(entries)]
        for cursor, event in batch:  # noqa: B007 - the cursor is read by the next XREAD
            if event is not None:
                yield event
                if event.event_type == END:
                    return
        now = time.monotonic()
        if batch:
            quiet_since = now
            continue
        if end is None and now >= next_check:
            next_check = now + limits.finished_check_seconds
            end = await finished()
            finished_seen = now
        # Finished a while ago and still no `end` in the stream: it will not come.
        if end is not None and now - finished_seen >= limits.finished_grace_seconds:
            yield JobEvent(END, end)
            return
        if now - quiet_since >= limits.heartbeat_seconds:
            quiet_since = now
            yield None
