"""The worker's heartbeat: published every HEARTBEAT_SECONDS, and the answer to the
`heartbeat` control command (DESIGN section 6, "Control and governance").

Each heartbeat is a CloudEvent on `agent.heartbeat.<namespace>.<executor>.<pod>`, stored by
the tenant's AGENT_HEARTBEATS stream (one message per subject: each pod's newest). A request
on `agent.control.heartbeat` is answered by every worker with the same event, taken now.
A heartbeat that cannot be published never stops the worker: it is counted, and logged when
publishing starts failing and when it recovers (not every interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contract.heartbeats import (
    HEARTBEAT_CONTROL_SUBJECT,
    HeartbeatEvent,
    State,
    WorkerStatus,
    heartbeat_subject,
)
from workers.agent_executor.metrics import (
    HEARTBEAT_FAILURES,
    HEARTBEAT_INTERVAL,
    HEARTBEAT_PUBLISHED,
)
from workers.agent_executor.settings import Settings
from workers.agent_executor.worker_status import (
    Identity,
    StatusTracker,
    read_counts,
    utc_now,
)

log = structlog.get_logger()

# A publish waits at most this long for the stream's ack (less when the interval is shorter).
PUBLISH_TIMEOUT_SECONDS = 5.0


def heartbeat_event(status: WorkerStatus) -> HeartbeatEvent:
    """The CloudEvent that carries `status`."""
    return HeartbeatEvent(
        id=str(uuid.uuid4()),
        subject=f"{status.namespace}/{status.executor}/{status.pod}",
        time=status.sent_at,
        data=status,
    )


class Heartbeats:
    """Publishes this worker's heartbeat and answers heartbeat requests."""

    def __init__(self, settings: Settings, nc: NatsClient, js: JetStreamContext) -> None:
        self.nc = nc
        self.js = js
        self.interval = settings.HEARTBEAT_SECONDS
        identity = Identity.of(settings)
        self.subject = heartbeat_subject(identity.namespace, identity.executor, identity.pod)
        self.tracker = StatusTracker(
            identity=identity,
            heartbeat_seconds=self.interval,
            concurrency=settings.WORKER_CONCURRENCY,
            started_at=utc_now(),
            started_monotonic=time.monotonic(),
        )
        self.state: State = "running"
        self.publishing_ok: bool | None = None
        self._loop: asyncio.Task[None] | None = None
        self._requests: Any = None

    def status(self) -> WorkerStatus:
        """This worker's status now."""
        return self.tracker.snapshot(read_counts(), self.state, utc_now(), time.monotonic())

    async def start(self) -> None:
        """Answer heartbeat requests and publish the first heartbeat now, then every interval."""
        HEARTBEAT_INTERVAL.set(self.interval)
        self._requests = await self.nc.subscribe(HEARTBEAT_CONTROL_SUBJECT, cb=self._answer)
        self._loop = asyncio.create_task(self._publish_every_interval(), name="heartbeats")

    def draining(self) -> None:
        """SIGTERM: the heartbeats say so while in-flight jobs finish."""
        self.state = "draining"

    async def stop(self) -> None:
        """Stop publishing; a last heartbeat says the pod stopped (not crashed)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._requests is not None:
            with contextlib.suppress(Exception):
                await self._requests.unsubscribe()
        self.state = "stopped"
        await self.publish()

    async def publish(self) -> bool:
        """Publish one heartbeat; False (counted, logged on a change) when it was not stored."""
        body = heartbeat_event(self.status()).model_dump_json().encode()
        try:
            await self.js.publish(
                self.subject, body, timeout=min(PUBLISH_TIMEOUT_SECONDS, self.interval)
            )
        except Exception as exc:
            HEARTBEAT_FAILURES.inc()
            if self.publishing_ok is not False:
                log.warning(
                    "heartbeat not published; retrying every interval",
                    subject=self.subject,
                    error=str(exc) or type(exc).__name__,
                )
            self.publishing_ok = False
            return False
        HEARTBEAT_PUBLISHED.set(time.time())
        if self.publishing_ok is False:
            log.info("heartbeats published again", subject=self.subject)
        self.publishing_ok = True
        return True

    async def _publish_every_interval(self) -> None:
        while True:
            await self.publish()
            await asyncio.sleep(self.interval)

    async def _answer(self, msg: Msg) -> None:
        # A plain publish on the subject (no reply inbox) asks nothing: nothing to answer.
        if not msg.reply:
            return
        try:
            await msg.respond(heartbeat_event(self.status()).model_dump_json().encode())
        except Exception as exc:
            log.warning("heartbeat request not answered", error=str(exc) or type(exc).__name__)
