"""One submission from an HTTP request, shared by `POST /jobs` and the deepagents-runtime
`POST /invoke`: each route words the outcome in its own client's terms."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from workers.agent_executor.api.errors import RETRY_AFTER_SECONDS, UNAVAILABLE
from workers.agent_executor.api.request_body import BodyTooLargeError, read_body
from workers.agent_executor.envelope import InvalidEventError, parse_message
from workers.agent_executor.handling import conflict
from workers.agent_executor.runner import JobIdConflictError
from workers.agent_executor.services import services_of
from workers.agent_executor.submission import (
    JobTooLargeError,
    Submission,
    SubmissionFailedError,
    submit,
)


@dataclass(frozen=True)
class Refusal:
    """Why a submission was not taken: the status code, the message and the error type."""

    status: int
    message: str
    type: str
    retry_after: int | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        """Retry-After for a refusal worth retrying."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None


async def submit_request(request: Request) -> Submission | Refusal:
    """Read, validate and submit the job in `request`'s body (bare, or a CloudEvent)."""
    services = services_of(request)
    # Nothing larger can be published, so nothing larger is read.
    max_payload = services.nc.max_payload
    try:
        envelope = parse_message(await read_body(request, max_payload), dict(request.headers))
    except BodyTooLargeError as exc:
        return Refusal(413, str(exc), exc.type)
    except InvalidEventError as exc:
        return Refusal(400, str(exc), exc.type)
    try:
        subject = await services.submission_subject()
    except Exception as exc:
        # NATS unreachable or the consumer missing: nothing was queued, a retry may succeed.
        return Refusal(
            503, f"the job queue is unavailable: {exc}", UNAVAILABLE, RETRY_AFTER_SECONDS
        )
    try:
        return await submit(services.runner.ledger, services.js, max_payload, envelope, subject)
    except JobTooLargeError as exc:
        return Refusal(413, str(exc), exc.type)
    except JobIdConflictError as exc:
        # Counted and logged as the governance violation it is over NATS too.
        refused = conflict(envelope.job.job_id, str(exc), envelope.traceparent)
        return Refusal(409, refused.error, refused.error_type)
    except SubmissionFailedError as exc:
        return Refusal(503, str(exc), UNAVAILABLE, RETRY_AFTER_SECONDS)
