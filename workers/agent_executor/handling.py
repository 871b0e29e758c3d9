"""Handle one job message, from bytes to a classified outcome; shared by NATS and HTTP.

Every exception ends here as a `Handling`: parsing faults are poison (the same
bytes never parse), runner faults are transient or busy, anything else is a
crash with its type named. What to acknowledge is then `acks.decide`'s call.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from workers.agent_executor.acks import Handled
from workers.agent_executor.envelope import InvalidEventError, body_digest, parse_message
from workers.agent_executor.governance import GOVERNANCE
from workers.agent_executor.runner import (
    BUSY,
    JobIdConflictError,
    JobResult,
    Runner,
    TransientError,
)

log = structlog.get_logger()

INTERNAL_ERROR = "InternalError"


@dataclass(frozen=True)
class Handling:
    """How one message was handled: the outcome class, the job, and the result or error."""

    handled: Handled
    job_id: str | None = None
    result: JobResult | None = None
    error: str = ""
    error_type: str = ""
    retry_after: float | None = None
    traceparent: str | None = None
    # What the job id stands for: the job's digest, or the raw body's for poison.
    digest: str = ""


async def handle(runner: Runner, body: bytes, headers: dict[str, str]) -> Handling:
    """Parse and run one job; never raises except on cancellation."""
    try:
        envelope = parse_message(body, headers)
    except InvalidEventError as exc:
        return Handling(
            Handled.INVALID,
            exc.job_id,
            error=str(exc),
            error_type=exc.type,
            digest=body_digest(body),
        )
    except Exception as exc:  # a parser fault: the same bytes would fault again
        log.exception("message could not be parsed")
        message = f"unreadable message: {type(exc).__name__}: {exc}"
        return Handling(Handled.INVALID, error=message, error_type=InvalidEventError.type)
    job = envelope.job
    try:
        result = await runner.run(job)
    except JobIdConflictError as exc:
        return conflict(job.job_id, str(exc), envelope.traceparent)
    except TransientError as exc:
        return Handling(
            Handled.BUSY if exc.type == BUSY else Handled.TRANSIENT,
            job.job_id,
            error=str(exc),
            error_type=exc.type,
            retry_after=exc.retry_after,
            traceparent=envelope.traceparent,
            digest=job.digest(),
        )
    except Exception as exc:
        log.exception("job handling failed", job_id=job.job_id)
        return Handling(
            Handled.CRASHED,
            job.job_id,
            error=f"{type(exc).__name__}: {exc}",
            error_type=INTERNAL_ERROR,
            traceparent=envelope.traceparent,
            digest=job.digest(),
        )
    return Handling(
        Handled.FINISHED,
        job.job_id,
        result=result,
        traceparent=envelope.traceparent,
        digest=job.digest(),
    )


def conflict(job_id: str, message: str, traceparent: str | None = None) -> Handling:
    """A job id used for another job: counted as a governance violation, never run."""
    log.warning("job id conflict", job_id=job_id)
    GOVERNANCE.report(job_id, "JobIdConflict", message)
    return Handling(
        Handled.CONFLICT,
        job_id,
        error=message,
        error_type=JobIdConflictError.type,
        traceparent=traceparent,
    )
