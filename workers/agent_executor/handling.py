"""Handle one job message, from bytes to a classified outcome; shared by NATS and HTTP.

Every exception ends here as a `Handling`: parsing faults are poison (the same
bytes never parse), runner faults are transient or busy, anything else is a
crash with its type named. What to acknowledge is then `acks.decide`'s call.

Each run of a job is one `invoke_agent` span (`tracing.job_trace`), parented on the
event's `traceparent`; its log lines carry `job_id` and `trace_id` (`logs.job_context`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import structlog

from workers.agent_executor.acks import Handled
from workers.agent_executor.envelope import (
    Envelope,
    InvalidEventError,
    body_digest,
    parse_message,
)
from workers.agent_executor.governance import GOVERNANCE
from workers.agent_executor.logs import job_context
from workers.agent_executor.runner import (
    BUSY,
    JobIdConflictError,
    JobResult,
    Runner,
    TransientError,
)
from workers.agent_executor.tracing import job_trace

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
    # The trace id of the job's log lines (`tracing.log_trace_id`).
    trace_id: str | None = None


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
    with (
        job_trace(job.job_id, envelope.traceparent, job.trace_id) as traced,
        job_context(job.job_id, traced.trace_id),
    ):
        began = time.monotonic()
        log.info("job started", mode=envelope.mode)
        handling = await _run(runner, envelope, traced.traceparent)
        outcome = handling.result.outcome if handling.result is not None else None
        republished = handling.result is not None and handling.result.republished
        error_type = handling.error_type or _result_error_type(handling)
        traced.finish(handling.handled, outcome, error_type, republished)
        log.info(
            "job finished",
            handled=handling.handled.value,
            outcome=outcome,
            error_type=error_type or None,
            republished=republished,
            duration_seconds=round(time.monotonic() - began, 3),
        )
    return replace(handling, trace_id=traced.trace_id)


def _result_error_type(handling: Handling) -> str:
    """The error type of a failed result ('' for a completed one or none)."""
    if handling.result is None or handling.result.outcome != "failed":
        return ""
    error = handling.result.data.get("error") or {}
    return str(error.get("type") or "")


async def _run(runner: Runner, envelope: Envelope, traceparent: str | None) -> Handling:
    """Run the job; every outcome a Handling that carries `traceparent` on."""
    job = envelope.job
    try:
        result = await runner.run(job)
    except JobIdConflictError as exc:
        return conflict(job.job_id, str(exc), traceparent)
    except TransientError as exc:
        return Handling(
            Handled.BUSY if exc.type == BUSY else Handled.TRANSIENT,
            job.job_id,
            error=str(exc),
            error_type=exc.type,
            retry_after=exc.retry_after,
            traceparent=traceparent,
            digest=job.digest(),
        )
    except Exception as exc:
        log.exception("job handling failed", job_id=job.job_id)
        return Handling(
            Handled.CRASHED,
            job.job_id,
            error=f"{type(exc).__name__}: {exc}",
            error_type=INTERNAL_ERROR,
            traceparent=traceparent,
            digest=job.digest(),
        )
    return Handling(
        Handled.FINISHED,
        job.job_id,
        result=result,
        traceparent=traceparent,
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
