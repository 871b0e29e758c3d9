"""`agentplane jobs` over the worker's HTTP API: submit, watch, get and cancel.

Following reads the job's Server-Sent Events (replayed, then live) until `end`, resuming with
`Last-Event-ID` when the stream breaks, then takes the outcome from the ledger. Events are best
effort, so a stream silent for a while, or closed without `end`, is checked against the
ledger before it is read again: a lost `end` never leaves the CLI waiting.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from contract.events import END_EVENT
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.http_api import ApiClient, UnreachableError
from functions.jobs_cli.job_input import Submission
from functions.jobs_cli.models import CancelReply, JobOutcome, LedgerRow
from functions.jobs_cli.targets import ApiTarget
from functions.jobs_cli.view import Sink

RECONNECT_SECONDS = 1.0
# The ledger records the outcome before the worker writes `end`; a little slack all the same.
LEDGER_ATTEMPTS = 20
LEDGER_PAUSE_SECONDS = 0.25


async def _client(stack: AsyncExitStack, target: ApiTarget) -> ApiClient:
    api = ApiClient(target)
    stack.push_async_callback(api.close)
    return api


async def submit(target: ApiTarget, submission: Submission, sink: Sink, *, follow_job: bool) -> int:
    """`POST /jobs`; when following, show the job to its outcome (exit code 0 or 1)."""
    async with AsyncExitStack() as stack:
        api = await _client(stack, target)
        accepted = await api.submit(submission.cloudevent())
        sink.submitted(accepted.job_id, target.describe())
        if not follow_job:
            return 0
        return (await follow(api, accepted.job_id, sink)).exit_code


async def watch(target: ApiTarget, job_id: str, sink: Sink) -> int:
    """Show a job already submitted, from its first kept event to its outcome."""
    async with AsyncExitStack() as stack:
        api = await _client(stack, target)
        await api.get(job_id)  # a wrong URL or token is an error now, not a retry later
        return (await follow(api, job_id, sink)).exit_code


async def get(target: ApiTarget, job_id: str) -> LedgerRow:
    """The job's ledger row; JobsError when the worker has none."""
    async with AsyncExitStack() as stack:
        api = await _client(stack, target)
        row = await api.get(job_id)
    if row is None:
        raise JobsError(f"{target.describe()} has no job {job_id}")
    return row


async def cancel(target: ApiTarget, job_id: str) -> CancelReply:
    """`DELETE /jobs/{id}`."""
    async with AsyncExitStack() as stack:
        api = await _client(stack, target)
        return await api.cancel(job_id)


async def follow(api: ApiClient, job_id: str, sink: Sink) -> JobOutcome:
    """Show the job's events until `end`, then its outcome from the ledger.

    A worker restarting behind the API (or the API itself) only pauses the following: the
    stream is read again from the last event shown once it answers.
    """
    cursor = _Cursor()
    unreachable = False
    while True:
        try:
            ended = await _show(api, job_id, cursor, sink)
            finished = await (_recorded(api, job_id) if ended else _finished(api, job_id))
            unreachable = False
        except (httpx.TransportError, UnreachableError) as exc:
            if not unreachable:
                sink.note(f"lost the event stream ({exc}); resuming when the API answers")
            unreachable, finished = True, None
        if finished is not None:
            sink.result(finished)
            return finished
        # Read on from the last event, after a pause: a server that keeps closing the stream
        # is not hammered.
        await asyncio.sleep(RECONNECT_SECONDS)


@dataclass
class _Cursor:
    """The id of the last event shown: where a resumed stream starts (`Last-Event-ID`)."""

    last_id: str | None = None


async def _show(api: ApiClient, job_id: str, cursor: _Cursor, sink: Sink) -> bool:
    """Show events after the cursor: True at `end`, False when the stream closed without it
    or stayed quiet for IDLE_SECONDS (a job still thinking, or an `end` never written)."""
    try:
        async for event in api.events(job_id, cursor.last_id):
            cursor.last_id = event.id or cursor.last_id
            sink.event(event)
            if event.event_type == END_EVENT:
                return True
    except httpx.ReadTimeout:
        pass
    return False


async def _finished(api: ApiClient, job_id: str) -> JobOutcome | None:
    row = await api.get(job_id)
    return row.finished() if row is not None else None


async def _recorded(api: ApiClient, job_id: str) -> JobOutcome:
    for _ in range(LEDGER_ATTEMPTS):
        finished = await _finished(api, job_id)
        if finished is not None:
            return finished
        await asyncio.sleep(LEDGER_PAUSE_SECONDS)
    raise JobsError(f"job {job_id} ended, but the ledger has no outcome for it")
