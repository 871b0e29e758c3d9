"""The workers' heartbeats over NATS, with the tenant's producer credentials.

Stored: each pod's newest heartbeat in AGENT_HEARTBEATS, read through an ephemeral consumer
that delivers the last message of every subject (one subject per pod) and is deleted after.
Live: a request on `agent.control.heartbeat`, every worker answering with its status now.
A message that is not a heartbeat is skipped, never fatal.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contract.heartbeats import HEARTBEAT_CONTROL_SUBJECT, HeartbeatEvent, WorkerStatus
from contract.nats import HEARTBEAT_STREAM, HEARTBEAT_SUBJECTS
from functions.jobs_cli.errors import JobsError

BATCH = 256
FETCH_WAIT_SECONDS = 2.0
# The server deletes the reader's consumer this long after the CLI stops asking (killed, say).
INACTIVE_SECONDS = 30.0

Seen = tuple[WorkerStatus, datetime]


def parse(data: bytes) -> WorkerStatus | None:
    """The status in a heartbeat event; None for anything else."""
    try:
        return HeartbeatEvent.model_validate_json(data).data
    except (ValidationError, ValueError):
        return None


async def stored(js: JetStreamContext) -> list[Seen]:
    """Each pod's newest stored heartbeat, with when the stream stored it."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=INACTIVE_SECONDS,
        mem_storage=True,
    )
    try:
        sub = await js.pull_subscribe(HEARTBEAT_SUBJECTS[0], stream=HEARTBEAT_STREAM, config=config)
    except NotFoundError as exc:
        raise JobsError(
            f"no stream {HEARTBEAT_STREAM} in this account: its workers' heartbeats are not kept "
            "(`make tenants` generates it; `agentplane status --live` asks the workers instead)"
        ) from exc
    found: list[Seen] = []
    try:
        pending = (await sub.consumer_info()).num_pending or 0
        while pending > 0:
            try:
                messages: list[Msg] = await sub.fetch(batch=BATCH, timeout=FETCH_WAIT_SECONDS)
            except NatsTimeoutError:
                break
            for msg in messages:
                status = parse(msg.data)
                if status is not None and msg.metadata is not None:
                    found.append((status, msg.metadata.timestamp))
            last = messages[-1].metadata if messages else None
            pending = last.num_pending if last is not None else 0
    finally:
        with contextlib.suppress(Exception):
            info = await sub.consumer_info()
            await js.delete_consumer(info.stream_name, info.name)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return found


async def live(nc: NatsClient, wait: float) -> list[Seen]:
    """Every worker's answer to a heartbeat request within `wait` seconds."""
    inbox = nc.new_inbox()
    replies = await nc.subscribe(inbox)
    found: list[Seen] = []
    try:
        await nc.publish(HEARTBEAT_CONTROL_SUBJECT, b"{}", reply=inbox)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await replies.next_msg(timeout=left)
            except (TimeoutError, NatsTimeoutError):
                break
            status = parse(msg.data)
            if status is not None:
                found.append((status, datetime.now(UTC)))
    except NatsError as exc:
        raise JobsError(f"could not ask the workers: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):
            await replies.unsubscribe()
    return found
