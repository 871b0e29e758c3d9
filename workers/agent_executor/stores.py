"""Clients of the worker's stores, built from Settings (DESIGN section 6, "State", "Streaming")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from workers.agent_executor.settings import Settings

# Every command the worker sends to Redis/Dragonfly, with what it is for. Dragonfly serves
# each (tests/worker/test_redis_commands.py checks this list against Dragonfly's documented
# compatibility table, and a real server watching a worker against this list).
REDIS_COMMANDS: Mapping[str, str] = {
    "AUTH": "DRAGONFLY_PASSWORD on each new connection (a password, never a user name)",
    "PING": "/ready",
    "PUBLISH": "live progress events on langgraph:stream:{job_id}",
    "XADD": "the capped replay stream of each job's events",
    "EXPIRE": "the replay stream's time to live",
    "XRANGE": "GET /jobs/{id}/events: the events so far",
    "XREAD": "GET /jobs/{id}/events: following new events",
    "DEL": "DELETE /deepagents-runtime/cleanup/{thread_id}: the replay stream",
}


def redis_client(settings: Settings, **options: Any) -> Redis:
    """The Redis/Dragonfly client: from REDIS_URL when set, else from DRAGONFLY_* keywords.

    `options` are further client keywords (timeouts). Nothing connects until first use.
    RESP2: redis-py would open every connection with `HELLO 3 AUTH default <password>`,
    which Dragonfly documents as served only in part (no protocol change, no user name on
    AUTH); RESP2 connects with a plain `AUTH <password>` (see REDIS_COMMANDS).
    """
    options = {"protocol": 2, **options}
    if settings.REDIS_URL is not None:
        # A URL's password must be percent-encoded by whoever wrote the URL.
        return Redis.from_url(settings.REDIS_URL.get_secret_value(), **options)
    return Redis(**settings.dragonfly_options, **options)
