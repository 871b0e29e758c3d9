"""A job's progress events from the Redis Stream the worker keeps for late listeners.

The worker appends `{"event": "{\"event_type\", \"data\"}"}` entries to
`langgraph:stream:{job_id}:replay` (capped, expiring an hour after the last one). Reading it
from the start with XREAD BLOCK gives every event still kept, then each new one as it is
written, without polling and without the gap a pub/sub subscriber has before it subscribes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from contract.events import replay_key
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.models import StreamEvent
from functions.jobs_cli.targets import redact

BLOCK_MS = 5000
BATCH = 500


class ReplayReader:
    """Reads one job's replay stream forward from where it last stopped."""

    def __init__(self, client: Redis, job_id: str) -> None:
        self.client = client
        self.key = replay_key(job_id)
        self.last_id = "0-0"

    @classmethod
    async def connect(cls, url: str, password: str | None, job_id: str) -> ReplayReader:
        """A reader on a Redis that answered PING; JobsError naming the Redis otherwise."""
        try:
            client = Redis.from_url(
                url,
                password=password,
                decode_responses=True,
                socket_connect_timeout=5,
                # Longer than a blocking read, which keeps the socket silent for BLOCK_MS.
                socket_timeout=BLOCK_MS / 1000 + 10,
            )
        except ValueError as exc:
            raise JobsError(f"--redis {redact(url)}: {exc}") from exc
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise JobsError(f"cannot reach Redis at {redact(url)}: {exc}") from exc
        return cls(client, job_id)

    async def first_entry_time(self) -> datetime | None:
        """When the job's first kept event was written (entry ids are Redis-clock ms), if any."""
        entries = await self.client.xrange(self.key, count=1)
        if not entries:
            return None
        millis = int(str(entries[0][0]).partition("-")[0])
        return datetime.fromtimestamp(millis / 1000, UTC)

    async def read(self, block_ms: int | None = BLOCK_MS) -> list[StreamEvent]:
        """The events after the last one read: waiting up to `block_ms` for one, or not at all."""
        reply: Any = await self.client.xread({self.key: self.last_id}, count=BATCH, block=block_ms)
        events: list[StreamEvent] = []
        for _key, entries in reply or []:
            for entry_id, fields in entries:
                self.last_id = entry_id
                event = parse_entry(entry_id, fields)
                if event is not None:
                    events.append(event)
        return events

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


def parse_entry(entry_id: str, fields: dict[str, str]) -> StreamEvent | None:
    """The event of one stream entry; None for an entry that is not one (never fatal)."""
    try:
        payload = json.loads(fields.get("event", ""))
        return StreamEvent.model_validate({**payload, "id": entry_id})
    except (ValueError, TypeError, RecursionError, ValidationError):
        return None
