"""A NATS client with a tenant's credentials: what a producer (or a worker's user) may do and
what the server refuses it.

nats-py reports a refused operation (`Permissions Violation for Publish to ...`) through the
connection's error callback, not as the result of the call; `Client` keeps every such error
so a test can assert on the server's own words (`refusal`), never on a timeout alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contract.nats import MSG_ID_HEADER, STATUS_STREAM
from functions.jobs_cli.nats_link import publish_job
from testbed.tenant import Credentials
from testbed.worker import cloudevent


@dataclass
class Client:
    """A connection and the errors the server sent it, lower-cased as nats-py gives them."""

    nc: NatsClient
    errors: list[str] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=10)

    async def refusal(self, fragment: str, within: float = 5) -> str:
        """The first server error containing `fragment` (case-insensitive), waiting for it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for error in self.errors:
                if fragment.lower() in error:
                    return error
            await asyncio.sleep(0.02)
        raise AssertionError(f"the server never refused with {fragment!r}; errors: {self.errors}")

    def violations(self) -> list[str]:
        return [e for e in self.errors if "violation" in e]

    async def close(self) -> None:
        await self.nc.close()


async def connect(urls: Sequence[str], credentials: Credentials | None, **options: Any) -> Client:
    """Connect as `credentials` (None: anonymously); raises the server's refusal if any."""
    client = Client(nc=NatsClient())

    async def remember(error: Exception) -> None:
        client.errors.append(str(error).lower())

    auth = (
        {"user": credentials.user, "password": credentials.password}
        if credentials is not None
        else {}
    )
    client.nc = await nats.connect(
        servers=list(urls),
        error_cb=remember,
        connect_timeout=5,
        max_reconnect_attempts=options.pop("max_reconnect_attempts", 60),
        reconnect_time_wait=0.5,
        **auth,
        **options,
    )
    return client


async def submit(client: Client, subject: str, job: dict[str, Any]) -> None:
    """Publish `job` as a structured CloudEvent the way `agentplane jobs submit` does."""
    body = json.dumps(cloudevent(job)).encode()
    await publish_job(client.js, subject, body, job["job_id"])


@dataclass(frozen=True)
class StoredResult:
    """One message of AGENT_STATUS."""

    seq: int
    subject: str
    msg_id: str
    event: dict[str, Any]

    @property
    def job_id(self) -> str:
        return str(self.event["data"]["job_id"])


async def stored_results(
    client: Client, stream: str = STATUS_STREAM, *, after: int = 0
) -> list[StoredResult]:
    """The messages the tenant's result stream holds after sequence `after`, oldest first."""
    js = client.js
    info = await js.stream_info(stream)
    found = []
    for seq in range(max(after + 1, info.state.first_seq), info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        headers = msg.headers or {}
        event = json.loads(msg.data or b"")
        subject = msg.subject or ""
        found.append(StoredResult(seq, subject, headers.get(MSG_ID_HEADER, ""), event))
    return found


async def wait_results(
    client: Client, job_ids: Iterable[str], within: float = 60
) -> dict[str, list[StoredResult]]:
    """Each job's stored results, once every one of `job_ids` has at least one."""
    wanted = set(job_ids)
    deadline = time.monotonic() + within
    read: list[StoredResult] = []
    while True:
        # A server died and the stream is electing a leader, or the client reconnects: a
        # reader asks again, as `agentplane jobs` does.
        with contextlib.suppress(NatsError):
            read += await stored_results(client, after=read[-1].seq if read else 0)
        by_job: dict[str, list[StoredResult]] = {}
        for result in read:
            by_job.setdefault(result.job_id, []).append(result)
        if wanted <= set(by_job):
            return by_job
        if time.monotonic() > deadline:
            missing = sorted(wanted - set(by_job))
            raise AssertionError(f"no result within {within} s for {len(missing)}: {missing[:10]}")
        await asyncio.sleep(0.2)
