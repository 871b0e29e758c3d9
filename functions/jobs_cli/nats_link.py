"""NATS for `agentplane jobs`: connecting, publishing a job to JetStream, asking for a cancel."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import MaxPayloadError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from contract.nats import CANCEL_PREFIX, MSG_ID_HEADER, subject_token
from functions.jobs_cli.cloudevent import CONTENT_TYPE
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.targets import NatsTarget

EXECUTE_PREFIX = "agent.execute."
CONNECT_TIMEOUT_SECONDS = 5
PUBLISH_TIMEOUT_SECONDS = 10
# Once connected, a NATS restart while following a job is ridden out for this long.
FOLLOW_RECONNECT_ATTEMPTS = 300
RECONNECT_WAIT_SECONDS = 1


def execute_subject(job_id: str) -> str:
    """The default subject of a job: `agent.execute.<job id as one token>`."""
    return EXECUTE_PREFIX + subject_token(job_id)


async def connect(target: NatsTarget) -> NatsClient:
    """A connection to `target`, or JobsError naming the server (never its credentials)."""
    if target.creds is not None and importlib.util.find_spec("nkeys") is None:
        raise JobsError("--creds needs the nkeys package (pip install 'nats-py[nkeys]')")
    problems: list[str] = []

    async def remember(exc: Exception) -> None:
        # nats-py reports connection failures here; keep the last for the message, print none.
        problems.append(str(exc) or type(exc).__name__)

    options: dict[str, Any] = {
        "servers": [s.strip() for s in target.url.split(",")],
        "name": "agentplane-cli",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # One try at connecting: a wrong URL or password is reported at once, not retried.
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": RECONNECT_WAIT_SECONDS,
        "error_cb": remember,
    }
    if target.user is not None:
        options["user"] = target.user
    if target.password is not None:
        options["password"] = target.password
    if target.creds is not None:
        options["user_credentials"] = str(target.creds)
    try:
        client = await nats.connect(**options)
    except (NatsError, OSError, ValueError) as exc:
        cause = problems[-1] if problems else str(exc) or type(exc).__name__
        raise JobsError(f"cannot connect to {target.describe()}: {cause}") from exc
    # nats-py has no separate setting for reconnecting after the first connection succeeded.
    client.options["max_reconnect_attempts"] = FOLLOW_RECONNECT_ATTEMPTS
    return client


async def publish_job(js: JetStreamContext, subject: str, body: bytes, job_id: str) -> PubAck:
    """Publish a structured CloudEvent with `Nats-Msg-Id: <job id>` and wait for the stream's ack.

    The message id makes a retried publish (same job id, inside the stream's duplicate window)
    one job: the ack then says `duplicate`.
    """
    headers = {MSG_ID_HEADER: job_id, "Content-Type": CONTENT_TYPE}
    try:
        return await js.publish(subject, body, timeout=PUBLISH_TIMEOUT_SECONDS, headers=headers)
    except (NoRespondersError, NoStreamResponseError) as exc:
        raise JobsError(
            f"no JetStream stream takes subject {subject}: the executor's AGENT_EXECUTION takes "
            "agent.execute.*, a tenant's own stream the subjects in its claim"
        ) from exc
    except MaxPayloadError as exc:
        raise JobsError(f"the job is {len(body)} bytes, more than NATS accepts: {exc}") from exc
    except NatsTimeoutError as exc:
        raise JobsError(
            f"JetStream did not acknowledge the job within {PUBLISH_TIMEOUT_SECONDS} s"
        ) from exc
    except APIError as exc:
        raise JobsError(f"JetStream refused the job: {exc.description or exc}") from exc


async def request_cancel(client: NatsClient, job_id: str) -> None:
    """Ask every worker to stop `job_id`: the one running it stops at its next step, and a
    queued job is cancelled when a worker picks it up."""
    body = json.dumps({"job_id": job_id}).encode()
    try:
        await client.publish(CANCEL_PREFIX + subject_token(job_id), body)
        await client.flush(timeout=PUBLISH_TIMEOUT_SECONDS)
    except NatsError as exc:
        raise JobsError(f"could not send the cancel request: {exc}") from exc
