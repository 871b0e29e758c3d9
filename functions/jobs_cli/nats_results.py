"""A job's outcome from JetStream: its result event on AGENT_STATUS, or its dead letter.

Result subjects are not per job (`agent.status.completed|failed`), so the job's result is
found by its message id, `<job_id>.<outcome>`, in a headers-only copy of the stream read from
a starting point: `NEW` when the reader is set up before the job is published (nothing older
is read at all), or a start time for a job that may have finished already. Only the one
matching message's body is fetched. Dead letters are on `agent.dlq.<job>`, one subject per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from contract.nats import (
    DEAD_LETTER_REASON_HEADER,
    DEAD_LETTER_TYPE_HEADER,
    DLQ_PREFIX,
    MSG_ID_HEADER,
    STATUS_COMPLETED,
    subject_token,
)
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.models import JobOutcome, Outcome

STATUS_SUBJECTS = "agent.status.*"
BATCH = 256
FETCH_WAIT_SECONDS = 5.0
RETRY_SECONDS = 1.0
# The server deletes the reader's consumer this long after the CLI stops asking (killed, say).
INACTIVE_SECONDS = 60.0
# A poison job's failed result is published just before its dead letter: wait that long for it.
DEAD_LETTER_GRACE_SECONDS = 3.0


@dataclass
class StreamTail:
    """Headers-only copies of the messages a stream takes on `subject`, from `start` on, in order.

    An ephemeral pull consumer, so fetching waits on the server (no polling). When the server
    lost the consumer (a restart, a long disconnection), a new one continues after the last
    message read.
    """

    js: JetStreamContext
    subject: str
    start: datetime | None  # None: only messages stored after the consumer exists
    last_seq: int = 0
    # Once a stream sequence is known to be read (or older than the reader), a replaced
    # consumer continues after it, so nothing stored in between is missed.
    _anchored: bool = False
    _sub: Any = field(default=None, repr=False)

    async def open(self) -> bool:
        """Create the consumer; False when no stream takes `subject`."""
        try:
            self._sub = await self.js.pull_subscribe(self.subject, config=self._config())
        except NotFoundError:
            return False
        if self.start is None and not self._anchored:
            # A NEW consumer starts after the stream's last message at its creation.
            self.last_seq = (await self._sub.consumer_info()).delivered.stream_seq
            self._anchored = True
        return True

    def _config(self) -> ConsumerConfig:
        # File storage (the default): the consumer outlives a NATS restart.
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            inactive_threshold=INACTIVE_SECONDS,
        )
        if self._anchored:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self.last_seq + 1
        elif self.start is None:
            config.deliver_policy = DeliverPolicy.NEW
        else:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = self.start
        return config

    async def next(self) -> list[Msg]:
        """The next messages, waiting up to FETCH_WAIT_SECONDS; [] when none came."""
        try:
            messages: list[Msg] = await self._sub.fetch(batch=BATCH, timeout=FETCH_WAIT_SECONDS)
        except NatsTimeoutError:
            await self._keep_consumer()
            return []
        except ConnectionClosedError as exc:
            raise JobsError("lost the connection to NATS") from exc
        except NatsError:
            # Reconnecting: nats-py refuses requests meanwhile; ask again shortly.
            await asyncio.sleep(RETRY_SECONDS)
            return []
        if messages and messages[-1].metadata is not None:
            self.last_seq = messages[-1].metadata.sequence.stream
            self._anchored = True
        return messages

    async def _keep_consumer(self) -> None:
        # A fetch from a consumer the server no longer has just times out: ask, and replace it.
        try:
            await self._sub.consumer_info()
        except NotFoundError:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            if not await self.open():
                raise JobsError(f"no JetStream stream takes {self.subject} any more") from None
        except NatsError:
            pass  # NATS is reconnecting; ask again after the next quiet fetch

    async def close(self) -> None:
        """Delete the consumer (the server would after INACTIVE_SECONDS anyway)."""
        if self._sub is None:
            return
        with contextlib.suppress(Exception):
            info = await self._sub.consumer_info()
            await self.js.delete_consumer(info.stream_name, info.name)
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()


async def open_tails(
    js: JetStreamContext, job_id: str, start: datetime | None
) -> tuple[StreamTail, StreamTail | None]:
    """The result tail and, when a stream keeps dead letters, the job's dead-letter tail."""
    results = StreamTail(js, STATUS_SUBJECTS, start)
    if not await results.open():
        raise JobsError(
            f"no JetStream stream takes {STATUS_SUBJECTS}: the executor's results (stream "
            "AGENT_STATUS) cannot be read"
        )
    dead = StreamTail(js, DLQ_PREFIX + subject_token(job_id), start)
    return results, (dead if await dead.open() else None)


async def result_of(js: JetStreamContext, tail: StreamTail, job_id: str) -> JobOutcome:
    """The job's result event, read whole once its headers-only copy shows up."""
    wanted: dict[str, Outcome] = {f"{job_id}.completed": "completed", f"{job_id}.failed": "failed"}
    while True:
        for msg in await tail.next():
            outcome = wanted.get((msg.headers or {}).get(MSG_ID_HEADER, ""))
            if outcome is not None and msg.metadata is not None:
                return await _read_result(js, msg, job_id)


async def _read_result(js: JetStreamContext, msg: Msg, job_id: str) -> JobOutcome:
    assert msg.metadata is not None
    stream, seq = msg.metadata.stream, msg.metadata.sequence.stream
    try:
        stored = await js.get_msg(stream, seq)
        event = json.loads(stored.data or b"")
        data = event["data"]
    except NotFoundError as exc:
        raise JobsError(
            f"the result of job {job_id} left {stream} before it could be read"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise JobsError(
            f"the result of job {job_id} ({stream} #{seq}) is not a CloudEvent"
        ) from exc
    outcome: Outcome = "completed" if msg.subject == STATUS_COMPLETED else "failed"
    return JobOutcome.from_data(outcome, data if isinstance(data, dict) else {}, job_id)


@dataclass(frozen=True)
class DeadLetter:
    """Why the executor gave up on a message without running it."""

    reason: str
    kind: str


async def dead_letter_of(tail: StreamTail, job_id: str) -> DeadLetter:
    """The job's dead letter (`Nats-Msg-Id: <job_id>.dlq`), when one arrives."""
    while True:
        for msg in await tail.next():
            headers = msg.headers or {}
            # Ids differing only in `.` and `_` share a subject: the message id tells them apart.
            if headers.get(MSG_ID_HEADER) == f"{job_id}.dlq":
                return DeadLetter(
                    reason=headers.get(DEAD_LETTER_REASON_HEADER, "no reason given"),
                    kind=headers.get(DEAD_LETTER_TYPE_HEADER, "DeadLetter"),
                )


async def outcome_of(
    js: JetStreamContext, results: StreamTail, dead: StreamTail | None, job_id: str
) -> JobOutcome:
    """The job's result; a dead letter with no result (a job id conflict) is a failed outcome."""
    result = asyncio.create_task(result_of(js, results, job_id), name="result")
    if dead is None:
        return await result
    letter = asyncio.create_task(dead_letter_of(dead, job_id), name="dead-letter")
    try:
        await asyncio.wait({result, letter}, return_when=asyncio.FIRST_COMPLETED)
        if not result.done():
            await asyncio.wait({result}, timeout=DEAD_LETTER_GRACE_SECONDS)
        if result.done():
            return result.result()
        found = letter.result()
        message = f"dead-lettered without a result: {found.reason}"
        return JobOutcome(
            job_id=job_id, outcome="failed", error={"type": found.kind, "message": message}
        )
    finally:
        for task in (result, letter):
            task.cancel()
        await asyncio.gather(result, letter, return_exceptions=True)
