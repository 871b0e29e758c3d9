"""The JetStream pull consumer: bounded concurrency, heartbeats, the ack rules, draining.

What to acknowledge is decided by `acks.decide` from how a message was handled
and its delivery count against the consumer's own `max_deliver`, read from the
server when binding (and refreshed), never assumed. On shutdown: stop fetching,
let in-flight runs finish within the grace period, and `nak` what is left so
another worker resumes it from its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError

from contract.jobs import is_valid_job_id
from contract.nats import CANCEL_PREFIX
from workers.agent_executor.acks import Action, Decision, Handled, decide
from workers.agent_executor.governance import GOVERNANCE
from workers.agent_executor.handling import Handling, conflict, handle
from workers.agent_executor.logs import job_context
from workers.agent_executor.metrics import DEAD_LETTERS, JOBS, NATS_MESSAGES, REDELIVERIES
from workers.agent_executor.results import ResultPublisher
from workers.agent_executor.runner import JobIdConflictError, JobResult, Runner, failure
from workers.agent_executor.settings import Settings

log = structlog.get_logger()

CANCEL_SUBJECTS = CANCEL_PREFIX + "*"
FETCH_WAIT_SECONDS = 1.0
# The consumer's delivery settings are re-read this often: an operator may change them.
DELIVERY_REFRESH_SECONDS = 60.0
# Publishing a terminal outcome (failed event, dead letter) is retried this many times.
# A confirmed settle (ack, nak, term) is retried for about 15 s: longer than a stream
# leader election.
SETTLE_ATTEMPTS = 5
SETTLE_CONFIRM_SECONDS = 2.0
# Logged when every attempt failed: the message comes back only after the consumer's ack_wait.
SETTLE_GIVEN_UP = "settle not confirmed after every attempt; JetStream redelivers after ack_wait"
TERMINAL_PUBLISH_ATTEMPTS = 5
_CONFLICT_REASON = "job id already used for another job; this message was not run"


def cancel_target(msg: Msg) -> str | None:
    """The job a cancel message names: `{"job_id"}` in its body, else the subject's last token.

    Only a valid job id is returned; anything else names no job.
    """
    with contextlib.suppress(ValueError, AttributeError, RecursionError):
        body = json.loads(msg.data or b"{}")
        if isinstance(body, dict) and is_valid_job_id(body.get("job_id")):
            return str(body["job_id"])
    token = msg.subject.removeprefix(CANCEL_PREFIX)
    return token if is_valid_job_id(token) else None


def heartbeat_interval(configured: float, ack_wait: float | None) -> float:
    """The in-progress interval: the configured one, or a third of ack_wait when that is less."""
    if not ack_wait or ack_wait <= 0:
        return configured
    return min(configured, ack_wait / 3)


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
        self.max_deliver: int | None = None
        self.ack_wait: float | None = None
        self.heartbeat_seconds = settings.HEARTBEAT_SECONDS
        self._delivery_read_at = 0.0

    async def start(self) -> None:
        """Bind to the existing durable consumer (never create it) and start fetching."""
        self.subscription = await self.js.pull_subscribe_bind(
            durable=self.settings.NATS_CONSUMER_GROUP, stream=self.settings.NATS_STREAM_NAME
        )
        await self.read_delivery_settings()
        self.control = await self.nc.subscribe(CANCEL_SUBJECTS, cb=self._on_cancel)
        self.loop_task = asyncio.create_task(self._fetch_loop(), name="fetch-loop")

    async def read_delivery_settings(self) -> None:
        """Take max_deliver and ack_wait from the bound consumer: the server is the truth."""
        info = await self.js.consumer_info(
            self.settings.NATS_STREAM_NAME, self.settings.NATS_CONSUMER_GROUP
        )
        changed = (info.config.max_deliver, info.config.ack_wait) != (
            self.max_deliver,
            self.ack_wait,
        )
        self.max_deliver = info.config.max_deliver
        self.ack_wait = info.config.ack_wait
        self.heartbeat_seconds = heartbeat_interval(self.settings.HEARTBEAT_SECONDS, self.ack_wait)
        self._delivery_read_at = time.monotonic()
        if not changed:
            return
        log.info(
            "consumer delivery settings",
            consumer=self.settings.NATS_CONSUMER_GROUP,
            max_deliver=self.max_deliver,
            ack_wait_seconds=self.ack_wait,
            heartbeat_seconds=self.heartbeat_seconds,
        )
        if self.heartbeat_seconds < self.settings.HEARTBEAT_SECONDS:
            log.warning(
                "HEARTBEAT_SECONDS is not well inside the consumer's ack_wait; "
                "sending in-progress heartbeats more often",
                heartbeat_seconds_configured=self.settings.HEARTBEAT_SECONDS,
                ack_wait_seconds=self.ack_wait,
                heartbeat_seconds=self.heartbeat_seconds,
            )

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
            if time.monotonic() - self._delivery_read_at > DELIVERY_REFRESH_SECONDS:
                with contextlib.suppress(Exception):
                    await self.read_delivery_settings()
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
            NATS_MESSAGES.labels(action="fetched").inc(len(messages))
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
            await asyncio.sleep(self.heartbeat_seconds)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _handle(self, msg: Msg) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered > 1:
            REDELIVERIES.inc()
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            handling = await handle(self.runner, msg.data, dict(msg.headers or {}))
            with job_context(handling.job_id, handling.trace_id):
                await self._settle(msg, handling, delivered)
        except asyncio.CancelledError:
            # Shutdown: the checkpoint keeps the progress; another worker resumes it now.
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
                NATS_MESSAGES.labels(action="nacked").inc()
            raise
        except Exception:
            # Only acknowledging itself can fail here (NATS gone): JetStream redelivers.
            log.exception("could not acknowledge a message; JetStream will redeliver it")
        finally:
            heartbeat.cancel()

    def _decide(self, handling: Handling, delivered: int) -> Decision:
        return decide(
            handling.handled,
            delivered=delivered,
            max_deliver=self.max_deliver,
            job_id_known=handling.job_id is not None,
            retry_after=handling.retry_after,
            jitter=random.random(),  # noqa: S311 - spreads retries, not a secret
        )

    async def _settle(self, msg: Msg, handling: Handling, delivered: int) -> None:
        """Publish what the decision asks for, then acknowledge."""
        decision = self._decide(handling, delivered)
        if decision.publish_result and handling.result is not None:
            try:
                await self._publish(handling.result, handling.traceparent)
            except Exception as exc:
                log.warning("result publish failed", job_id=handling.job_id, error=str(exc))
                handling = Handling(
                    Handled.TRANSIENT,
                    handling.job_id,
                    error=f"result publish failed: {exc}",
                    error_type="PublishFailed",
                    traceparent=handling.traceparent,
                    digest=handling.digest,
                )
                decision = self._decide(handling, delivered)
        wants_terminal_publish = decision.publish_failed or decision.dead_letter
        if wants_terminal_publish and not await self._finish_terminally(
            msg, handling, decision, delivered
        ):
            # NATS refuses publishes: leave the message to be redelivered rather than lose it.
            if await _confirmed(self.nc, msg, settle_payload(Action.NAK, self.heartbeat_seconds)):
                NATS_MESSAGES.labels(action="nacked").inc()
            return
        if decision.action is Action.ACK:
            if await _confirmed(self.nc, msg, settle_payload(Action.ACK)):
                NATS_MESSAGES.labels(action="acked").inc()
        elif decision.action is Action.TERM:
            if await _confirmed(self.nc, msg, settle_payload(Action.TERM)):
                NATS_MESSAGES.labels(action="terminated").inc()
        else:
            if handling.handled is not Handled.INTERRUPTED:
                log.warning(
                    "retrying later",
                    job_id=handling.job_id,
                    error=handling.error,
                    error_type=handling.error_type,
                    delivered=delivered,
                    max_deliver=self.max_deliver,
                    delay=decision.delay,
                )
            if await _confirmed(self.nc, msg, settle_payload(Action.NAK, decision.delay)):
                NATS_MESSAGES.labels(action="nacked").inc()

    async def _finish_terminally(
        self, msg: Msg, handling: Handling, decision: Decision, delivered: int
    ) -> bool:
        """The failed event and the dead-letter copy; False when they could not be published."""
        last = handling.handled is not Handled.INVALID
        reason = (
            f"gave up after {delivered} deliveries: {handling.error}" if last else handling.error
        )
        if last:
            log.error("last delivery failed; dead-lettering", job_id=handling.job_id, error=reason)
        else:
            log.warning("poison message", job_id=handling.job_id, error=reason)
        if decision.publish_failed and handling.job_id is not None:
            result = await self._record_failure(
                handling,
                reason,
                counted_as="dead_lettered" if last else "failed",
            )
            if result is None:
                # The id is another job's: its result stands, this message is only copied.
                handling = conflict(handling.job_id, _CONFLICT_REASON, handling.traceparent)
                reason = handling.error
            elif not await _retrying(lambda: self._publish(result, handling.traceparent)):
                return False
        if decision.dead_letter:
            key = handling.job_id or _sequence_key(msg)
            copied = await _retrying(
                lambda: self.publisher.dead_letter(
                    key, msg.data, dict(msg.headers or {}), reason, handling.error_type
                )
            )
            if copied:  # counted once the copy is in the stream, not when it was attempted
                DEAD_LETTERS.labels(reason=handling.error_type or "Unknown").inc()
                NATS_MESSAGES.labels(action="dead_lettered").inc()
                # After the copy exists, so whoever is alerted finds it on agent.dlq.<key>.
                GOVERNANCE.escalate(
                    key, handling.job_id, reason, handling.error_type, delivered, self.max_deliver
                )
            return copied
        return True

    async def _record_failure(
        self, handling: Handling, message: str, counted_as: str
    ) -> JobResult | None:
        """The ledger's failure for the job (its first result if it had one), else a fresh one;
        None when the job id belongs to another job."""
        assert handling.job_id is not None
        job_id, kind = handling.job_id, handling.error_type
        try:
            return await self.runner.fail(
                job_id, message, kind, handling.digest, counted_as=counted_as
            )
        except JobIdConflictError:
            return None
        except Exception as exc:
            # The database is down: the failed event and the dead letter still go out.
            log.error("could not record the failure in the ledger", job_id=job_id, error=str(exc))
            JOBS.labels(outcome=counted_as).inc()
            return JobResult(job_id, "failed", failure(message, kind))

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


def _sequence_key(msg: Msg) -> str:
    """A dead-letter key for a message without a usable job id: its stream sequence."""
    sequence = msg.metadata.sequence.stream if msg.metadata else int(time.time() * 1000)
    return f"unknown-seq-{sequence}"


def settle_payload(action: Action, delay: float | None = None) -> bytes:
    """The body JetStream reads on a message's reply subject for `action` (+ACK, +TERM, or
    -NAK with its delay in nanoseconds), as the client library writes it."""
    if action is Action.ACK:
        return b"+ACK"
    if action is Action.TERM:
        return b"+TERM"
    if delay:
        return b"-NAK " + json.dumps({"delay": int(delay * 10**9)}).encode()
    return b"-NAK"


async def _confirmed(nc: NatsClient, msg: Msg, payload: bytes) -> bool:
    """Settle `msg` and wait until the server has it, retrying a few times; True when it did.

    A plain ack, nak or term is fire-and-forget: one sent while the stream elects a new leader
    (a NATS node restarting) is lost, and the message comes back only after `ack_wait` (2 min
    in the generated consumers). JetStream answers a settle sent as a request once it is
    applied, so retried through the election it holds in seconds. When every try fails the
    message is left to that redelivery, which is still correct.
    """
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            await nc.request(msg.reply, payload, timeout=SETTLE_CONFIRM_SECONDS)
        except (NatsTimeoutError, NoRespondersError, ConnectionClosedError) as exc:
            log.warning("settle not confirmed", attempt=attempt + 1, error=type(exc).__name__)
            await asyncio.sleep(min(0.5 * 2**attempt, 4))
        else:
            return True
    log.error(SETTLE_GIVEN_UP, attempts=SETTLE_ATTEMPTS)
    return False


async def _retrying(publish: Callable[[], Awaitable[Any]]) -> bool:
    """Run `publish` until it succeeds, a bounded number of times; True when it did."""
    for attempt in range(TERMINAL_PUBLISH_ATTEMPTS):
        try:
            await publish()
        except Exception as exc:
            log.warning("terminal publish failed", attempt=attempt + 1, error=str(exc))
            await asyncio.sleep(min(2**attempt, 10))
        else:
            return True
    return False
