"""Clients of the worker's stores, built from Settings (DESIGN section 6, "State", "Streaming")."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from workers.agent_executor.settings import Settings


def redis_client(settings: Settings, **options: Any) -> Redis:
    """The Redis/Dragonfly client: from REDIS_URL when set, else from DRAGONFLY_* keywords.

    `options` are further client keywords (timeouts). Nothing connects until first use.
    """
    if settings.REDIS_URL is not None:
        # A URL's password must be percent-encoded by whoever wrote the URL.
        return Redis.from_url(settings.REDIS_URL.get_secret_value(), **options)
    return Redis(**settings.dragonfly_options, **options)
