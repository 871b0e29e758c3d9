"""`agentplane jobs` over NATS: submit, watch and cancel, with progress events from Redis."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from functions.jobs_cli.cloudevent import encode
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.follow import follow
from functions.jobs_cli.job_input import Submission
from functions.jobs_cli.models import CancelReply
from functions.jobs_cli.nats_link import connect, execute_subject, publish_job, request_cancel
from functions.jobs_cli.nats_results import StreamTail, open_tails, outcome_of
from functions.jobs_cli.replay import ReplayReader
from functions.jobs_cli.targets import NatsTarget
from functions.jobs_cli.view import Sink

# Redis and NATS clocks may differ from each other: results are read from this much earlier.
CLOCK_MARGIN = timedelta(seconds=60)
# How far back `watch` looks for a result when no event tells when the job started: as long as
# the worker keeps a job's events (STREAM_REPLAY_TTL_SECONDS' default).
LOOKBACK = timedelta(hours=1)


async def _open(stack: AsyncExitStack, target: NatsTarget) -> NatsClient:
    client = await connect(target)
    stack.push_async_callback(client.close)
    return client


async def _events(
    stack: AsyncExitStack, target: NatsTarget, job_id: str, sink: Sink
) -> ReplayReader | None:
    if target.redis_url is None:
        sink.note("no --redis (or REDIS_URL): showing the result without progress events")
        return None
    reader = await ReplayReader.connect(target.redis_url, target.redis_password, job_id)
    stack.push_async_callback(reader.close)
    return reader


async def _tails(
    stack: AsyncExitStack, js: JetStreamContext, job_id: str, start: datetime | None
) -> tuple[StreamTail, StreamTail | None]:
    results, dead = await open_tails(js, job_id, start)
    for tail in (results, dead):
        if tail is not None:
            stack.push_async_callback(tail.close)
    return results, dead


async def submit(
    target: NatsTarget,
    submission: Submission,
    sink: Sink,
    *,
    follow_job: bool,
    subject: str | None = None,
) -> int:
    """Publish the job; when following, show it to its outcome (exit code 0 or 1)."""
    job_id = submission.job_id
    subject = subject or execute_subject(job_id)
    async with AsyncExitStack() as stack:
        client = await _open(stack, target)
        js = client.jetstream()
        reader = await _events(stack, target, job_id, sink) if follow_job else None
        if reader is not None and await reader.first_entry_time() is not None:
            # Its result could be an older job's (another definition under the same id).
            raise JobsError(
                f"job id {job_id} was used before (its events are still in Redis): "
                f"`agentplane jobs watch {job_id}` follows that job; give another --job-id "
                "to run a new one"
            )
        # Set up before publishing, so the result cannot come before anyone reads it.
        tails = await _tails(stack, js, job_id, start=None) if follow_job else None
        ack = await publish_job(js, subject, encode(submission.cloudevent()), job_id)
        sink.submitted(job_id, f"NATS {subject}")
        if ack.duplicate:
            sink.note(
                f"JetStream already had job {job_id} (published within its duplicate window); "
                "this copy was dropped"
            )
        if tails is None:
            return 0
        if ack.duplicate:
            # The first copy was published within the window: its result came after that.
            info = await js.stream_info(ack.stream)
            window = timedelta(seconds=info.config.duplicate_window or 0)
            tails = await _tails(stack, js, job_id, start=_now() - window - CLOCK_MARGIN)
        results, dead = tails
        outcome = await follow(reader, outcome_of(js, results, dead, job_id), sink)
        return outcome.exit_code


async def watch(target: NatsTarget, job_id: str, sink: Sink) -> int:
    """Show a job already submitted, from its first kept event to its outcome."""
    async with AsyncExitStack() as stack:
        client = await _open(stack, target)
        js = client.jetstream()
        reader = await _events(stack, target, job_id, sink)
        started = await reader.first_entry_time() if reader is not None else None
        if started is None:
            sink.note(
                f"no events of job {job_id} yet: waiting for it (a job that finished over "
                "an hour ago: `agentplane jobs get --api`)"
            )
        start = started - CLOCK_MARGIN if started is not None else _now() - LOOKBACK
        results, dead = await _tails(stack, js, job_id, start)
        outcome = await follow(reader, outcome_of(js, results, dead, job_id), sink)
        return outcome.exit_code


async def cancel(target: NatsTarget, job_id: str) -> CancelReply:
    """Publish the cancel request; requested once NATS has it (workers do not answer it)."""
    async with AsyncExitStack() as stack:
        client = await _open(stack, target)
        await request_cancel(client, job_id)
    return CancelReply(job_id=job_id, cancel="requested")


def _now() -> datetime:
    return datetime.now(UTC)
