"""The JetStream pull consumer: bounded concurrency, heartbeats, the ack rules, draining.

Ack rules (DESIGN section 6): ack only after the result is published; poison
input gets a failed event when a job id is known, then `term`; transient faults
`nak` with backoff; after the last delivery a failed event and a dead-letter
copy; on shutdown stop fetching, let in-flight runs finish within the grace
period, and `nak` what is left so another worker resumes it from its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError

from contract.nats import CANCEL_PREFIX
from workers.agent_executor.envelope import InvalidEventError, parse_message
from workers.agent_executor.metrics import REDELIVERIES
from workers.agent_executor.results import ResultPublisher
from workers.agent_executor.runner import BUSY, JobResult, Runner, TransientError
from workers.agent_executor.settings import Settings

log = structlog.get_logger()

BACKOFF_SECONDS = (2, 10, 30, 60, 120)
CANCEL_SUBJECTS = CANCEL_PREFIX + "*"


def cancel_target(msg: Msg) -> str | None:
    """The job a cancel message names: `{"job_id"}` in its body, else the subject's last token."""
    with contextlib.suppress(ValueError, AttributeError):
        body = json.loads(msg.data or b"{}")
        if isinstance(body, dict) and isinstance(body.get("job_id"), str) and body["job_id"]:
            return str(body["job_id"])
    token = msg.subject.removeprefix(CANCEL_PREFIX)
    return token or None


FETCH_WAIT_SECONDS = 1.0


def backoff(delivered: int, retry_after: float | None = None) -> float:
    """Delay before the next delivery: the server's Retry-After, else a growing step."""
    step = BACKOFF_SECONDS[min(delivered, len(BACKOFF_SECONDS)) - 1]
    return max(step, retry_after or 0)


class JobConsumer:
    """Fetches jobs from the bound durable consumer and runs at most `concurrency` at once."""

    def __init__(
        self,
        settings: Settings,
        nc: NatsClient,
        js: JetStreamContext,
        runner: Runner,
        publisher: ResultPublisher,
    ) -> None:
        self.settings = settings
        self.nc = nc
        self.js = js
        self.runner = runner
        self.publisher = publisher
        self.concurrency = settings.WORKER_CONCURRENCY
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slot_freed = asyncio.Event()
        self.stopping = asyncio.Event()
        self.loop_task: asyncio.Task[None] | None = None
        self.subscription: Any = None
        self.control: Any = None

    async def start(self) -> None:
        """Bind to the existing durable consumer (never create it) and start fetching."""
        self.subscription = await self.js.pull_subscribe_bind(
            durable=self.settings.NATS_CONSUMER_GROUP, stream=self.settings.NATS_STREAM_NAME
        )
        self.control = await self.nc.subscribe(CANCEL_SUBJECTS, cb=self._on_cancel)
        self.loop_task = asyncio.create_task(self._fetch_loop(), name="fetch-loop")

    async def _on_cancel(self, msg: Msg) -> None:
        # Every worker hears the request; the one running the job stops it at its next
        # step, and the ledger remembers it for a job that is still queued.
        job_id = cancel_target(msg)
        if job_id is None:
            return
        stopping_here = self.runner.cancel(job_id)
        log.info("cancel requested", job_id=job_id, running_here=stopping_here)
        with contextlib.suppress(Exception):
            await self.runner.ledger.request_cancel(job_id)

    async def _fetch_loop(self) -> None:
        while not self.stopping.is_set():
            free = self.concurrency - len(self.in_flight)
            if free <= 0:
                self.slot_freed.clear()
                await self.slot_freed.wait()
                continue
            try:
                messages = await self.subscription.fetch(batch=free, timeout=FETCH_WAIT_SECONDS)
            except (TimeoutError, FetchTimeoutError, NatsTimeoutError):
                continue
            except ConnectionClosedError:
                if self.stopping.is_set():
                    return
                await asyncio.sleep(1)
                continue
            except Exception as exc:
                log.warning("fetch failed", error=str(exc))
                await asyncio.sleep(1)
                continue
            for msg in messages:
                task = asyncio.create_task(self._handle(msg))
                self.in_flight.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.slot_freed.set()

    async def _heartbeat(self, msg: Msg) -> None:
        # Tells JetStream the job is alive so ackWait does not redeliver it mid-run.
        while True:
            await asyncio.sleep(self.settings.HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _handle(self, msg: Msg) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered > 1:
            REDELIVERIES.inc()
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            await self._process(msg, delivered)
        except asyncio.CancelledError:
            # Shutdown: the checkpoint keeps the progress; another worker resumes it now.
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:
            log.exception("job handling failed; redelivering", error=str(exc))
            with contextlib.suppress(Exception):
                await msg.nak(delay=backoff(delivered))
        finally:
            heartbeat.cancel()

    async def _process(self, msg: Msg, delivered: int) -> None:
        headers = dict(msg.headers or {})
        try:
            envelope = parse_message(msg.data, headers)
        except InvalidEventError as exc:
            log.warning("poison message", error=str(exc), job_id=exc.job_id)
            if exc.job_id:
                result = await self.runner.fail(exc.job_id, str(exc), exc.type)
                await self._publish(result, None)
            await msg.term()
            return
        job = envelope.job
        try:
            result = await self.runner.run(job)
        except TransientError as exc:
            # A job running on another worker is alive: wait, never dead-letter it.
            if delivered >= self.settings.NATS_MAX_DELIVER and exc.type != BUSY:
                log.error("last delivery failed; dead-lettering", job_id=job.job_id, error=str(exc))
                result = await self.runner.fail(
                    job.job_id,
                    f"gave up after {delivered} deliveries: {exc}",
                    exc.type,
                    counted_as="dead_lettered",
                )
                await self.publisher.dead_letter(job.job_id, msg.data, headers, str(exc))
                await self._publish(result, envelope.traceparent)
                await msg.ack()
                return
            delay = backoff(delivered, exc.retry_after)
            log.warning("transient fault; retrying", job_id=job.job_id, error=str(exc), delay=delay)
            await msg.nak(delay=delay)
            return
        await self._publish(result, envelope.traceparent)
        await msg.ack()

    async def _publish(self, result: JobResult, traceparent: str | None) -> None:
        await self.publisher.publish(result.job_id, result.outcome, result.data, traceparent)

    async def stop(self) -> None:
        """Stop fetching, give in-flight jobs the grace period, then nak what is left."""
        self.stopping.set()
        self.slot_freed.set()
        if self.loop_task is not None:
            self.loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop_task
        if self.in_flight:
            _, pending = await asyncio.wait(
                set(self.in_flight), timeout=self.settings.SHUTDOWN_TIMEOUT_SECONDS
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=10)
        for subscription in (self.subscription, self.control):
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
