"""Submitting a job over HTTP: record it as queued, then publish it to JetStream.

The row comes first, so `GET /jobs/{id}` answers `queued` the moment the submitter has its
answer and a worker that picks the job up at once finds the row to move to running. The
message carries `Nats-Msg-Id: <job_id>`, so JetStream drops a second copy within its
duplicate window; outside it the resume rule makes a second delivery republish the result
instead of running again. A job id already in the ledger is never published again.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.js import JetStreamContext

from contract.events import EXECUTE_TYPE
from contract.nats import MSG_ID_HEADER
from workers.agent_executor.envelope import Envelope
from workers.agent_executor.ledger import JobRecord, Ledger
from workers.agent_executor.results import HEADERS_ROOM
from workers.agent_executor.runner import JobIdConflictError

log = structlog.get_logger()

# Where POST /jobs publishes when the executor consumes the default stream; an executor with
# its own stream (nats.manageStream, e.g. agent.execute.analytics.*) publishes into that one.
SUBMIT_SUBJECT = "agent.execute.api"
SOURCE = "agent-executor-api"
PUBLISH_TIMEOUT_SECONDS = 5.0


def submit_subject(pattern: str) -> str:
    """A subject `pattern` matches, for jobs submitted through the API (wildcards → `api`)."""
    return ".".join("api" if token in ("*", ">") else token for token in pattern.split("."))


async def queue_subject(js: JetStreamContext, stream: str, consumer: str) -> str:
    """A subject this executor's own consumer reads: its filter, else its stream's first.

    A job published anywhere else would wait in a stream (or under a filter) this
    executor never reads.
    """
    config = (await js.consumer_info(stream, consumer)).config
    patterns = [config.filter_subject] if config.filter_subject else []
    patterns = patterns or list(config.filter_subjects or [])
    patterns = patterns or list((await js.stream_info(stream)).config.subjects or [])
    return submit_subject(patterns[0]) if patterns else SUBMIT_SUBJECT


class JobTooLargeError(ValueError):
    """The job does not fit in one NATS message (the server's max payload)."""

    type = "JobTooLarge"


class SubmissionFailedError(RuntimeError):
    """JetStream did not take the job; nothing was queued, the caller may retry."""

    type = "SubmitFailed"


@dataclass(frozen=True)
class Submission:
    """The job's ledger row after submitting, and whether this submission queued it."""

    record: JobRecord
    queued: bool


def execute_event(envelope: Envelope) -> dict[str, Any]:
    """The structured CloudEvent a worker receives for `envelope`'s job.

    A submitted CloudEvent keeps its id; its trace context travels on as `traceparent`.
    """
    job = envelope.job
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": envelope.event_id or str(uuid.uuid4()),
        "source": SOURCE,
        "type": EXECUTE_TYPE,
        "subject": job.job_id,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": job.model_dump(mode="json"),
    }
    if envelope.traceparent:
        event["traceparent"] = envelope.traceparent
    return event


def conflict_message(job_id: str) -> str:
    """Why a job id used for another job is refused."""
    return (
        f"job id {job_id!r} was already used for a job with another agent_definition or "
        "input_payload; use a new job id"
    )


async def submit(
    ledger: Ledger,
    js: JetStreamContext,
    max_payload: int,
    envelope: Envelope,
    subject: str = SUBMIT_SUBJECT,
) -> Submission:
    """Queue `envelope`'s job and publish it, or return the row of the same job submitted before.

    Raises JobTooLargeError (nothing recorded), JobIdConflictError (the id is another
    job's) and SubmissionFailedError (JetStream refused; the queued row is withdrawn).
    """
    job = envelope.job
    body = json.dumps(execute_event(envelope), separators=(",", ":")).encode()
    limit = max_payload - HEADERS_ROOM
    if len(body) > limit:
        raise JobTooLargeError(
            f"the job is {len(body)} bytes as a CloudEvent, more than the {limit} bytes "
            "a NATS message may carry here"
        )
    digest = job.digest()
    record, queued = await ledger.enqueue(job.job_id, job.trace_id, digest)
    if record.conflicts_with(digest):
        raise JobIdConflictError(conflict_message(job.job_id))
    if not queued:
        return Submission(record, queued=False)
    headers = {MSG_ID_HEADER: job.job_id, "Content-Type": "application/cloudevents+json"}
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    try:
        await js.publish(subject, body, headers=headers, timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception as exc:
        # Any failure means no worker will see this job: undo the row so a retry of the
        # same submission queues it again instead of finding it "queued" for ever. Should
        # the publish have landed after all, the worker recreates the row when it starts.
        log.warning("job submission not published", job_id=job.job_id, error=str(exc))
        with contextlib.suppress(Exception):
            await ledger.withdraw(job.job_id, digest)
        raise SubmissionFailedError(f"the job queue is unavailable: {exc}") from exc
    return Submission(record, queued=True)
