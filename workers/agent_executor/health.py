"""The `agent_executor_health` gauge, kept current between readiness probes.

`/ready` sets it whenever it runs; a worker nobody probes (run by hand, or a probe that is
slow to come) would show a stale value, so the same checks also run every
`HEALTH_CHECK_SECONDS`: three cheap round trips (SELECT 1, PING, JetStream account info).
"""

from __future__ import annotations

import asyncio
import contextlib

from workers.agent_executor.api.probes import store_checks
from workers.agent_executor.services import Services

HEALTH_CHECK_SECONDS = 30.0


class HealthMonitor:
    """Runs the readiness checks now and then every `interval` seconds until stopped."""

    def __init__(self, services: Services, interval: float = HEALTH_CHECK_SECONDS) -> None:
        self.services = services
        self.interval = interval
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin checking in the background."""
        self.task = asyncio.create_task(self._loop(), name="health-monitor")

    async def _loop(self) -> None:
        while True:
            # store_checks never raises: each check reports `down` instead.
            await store_checks(self.services)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop checking."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
