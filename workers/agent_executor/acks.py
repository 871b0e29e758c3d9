"""What to do with a message once it is handled: the ack rules as one pure decision.

DESIGN section 6: ack only after the result is published; poison input gets a
failed event when a job id is known and a dead-letter copy, then `term`; faults
are retried with `nak` and a growing delay; on the last delivery every fault,
transient or not, ends in a failed event (when a job id is known) and a
dead-letter copy, then `ack`, so nothing stays in the work queue for ever. A job
id already used for another job gets a dead-letter copy and no result. The
consumer and the HTTP path both ask this module; neither decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BACKOFF_SECONDS = (2, 10, 30, 60, 120)
# Each delay is spread ±20 % (seed 001: "retry with jitter"): jobs that failed together, e.g.
# on one LLM outage, come back spread out instead of all at once.
JITTER_FRACTION = 0.2


class Handled(StrEnum):
    """How handling one message ended."""

    FINISHED = "finished"  # a completed or failed result is ready to publish
    INVALID = "invalid"  # poison: it can never run, whatever the delivery
    CONFLICT = "conflict"  # the job id belongs to another job: never a second result
    TRANSIENT = "transient"  # a fault worth retrying (LLM 429/5xx, database, network)
    BUSY = "busy"  # the job runs on another worker right now
    CRASHED = "crashed"  # an unexpected exception: retried, then dead-lettered
    INTERRUPTED = "interrupted"  # this worker is shutting down mid-run


class Action(StrEnum):
    """The JetStream acknowledgement to send."""

    ACK = "ack"
    NAK = "nak"
    TERM = "term"


@dataclass(frozen=True)
class Decision:
    """The acknowledgement, its delay, and what to publish before it."""

    action: Action
    delay: float | None = None
    publish_result: bool = False
    publish_failed: bool = False
    dead_letter: bool = False

    @property
    def terminal(self) -> bool:
        """True when the message leaves the work queue with this decision."""
        return self.action is not Action.NAK


def _spread(seconds: float, jitter: float) -> float:
    return seconds * (1 + JITTER_FRACTION * (2 * jitter - 1))


def backoff(delivered: int, retry_after: float | None = None, jitter: float = 0.5) -> float:
    """Delay before the next delivery: a growing step, or the server's Retry-After when longer,
    spread by `jitter` (uniform in [0, 1]: 0.5 is the exact step) by ±JITTER_FRACTION; never
    shorter than Retry-After."""
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter {jitter} is outside [0, 1]")
    step = BACKOFF_SECONDS[min(max(delivered, 1), len(BACKOFF_SECONDS)) - 1]
    floor = retry_after or 0.0
    return float(max(_spread(step, jitter), _spread(floor, jitter), floor))


def is_last_delivery(delivered: int, max_deliver: int | None) -> bool:
    """True when JetStream will not deliver this message again (`max_deliver` ≤ 0: unlimited)."""
    return max_deliver is not None and max_deliver > 0 and delivered >= max_deliver


def decide(
    handled: Handled,
    *,
    delivered: int,
    max_deliver: int | None,
    job_id_known: bool,
    retry_after: float | None = None,
    jitter: float = 0.5,
) -> Decision:
    """The decision for a message handled as `handled` on its `delivered`-th delivery."""
    if handled is Handled.FINISHED:
        return Decision(Action.ACK, publish_result=True)
    if handled is Handled.INVALID:
        return Decision(Action.TERM, publish_failed=job_id_known, dead_letter=True)
    if handled is Handled.CONFLICT:
        return Decision(Action.TERM, dead_letter=True)
    if handled is Handled.INTERRUPTED:
        # Another worker resumes it from its checkpoint straight away.
        return Decision(Action.NAK)
    if handled is Handled.BUSY:
        # The holder publishes the result and acks; another copy must never be failed.
        return Decision(Action.NAK, delay=backoff(delivered, retry_after, jitter))
    if is_last_delivery(delivered, max_deliver):
        return Decision(Action.ACK, publish_failed=job_id_known, dead_letter=True)
    return Decision(Action.NAK, delay=backoff(delivered, retry_after, jitter))


# HTTP has no redelivery: the caller retries. Status codes per outcome of `POST /`.
HTTP_STATUS = {
    Handled.FINISHED: 200,
    Handled.INVALID: 400,
    Handled.CONFLICT: 409,
    Handled.TRANSIENT: 503,
    Handled.BUSY: 503,
    Handled.CRASHED: 500,
    Handled.INTERRUPTED: 503,
}


def http_status(handled: Handled) -> int:
    """The status code `POST /` answers for a request handled as `handled`."""
    return HTTP_STATUS[handled]
