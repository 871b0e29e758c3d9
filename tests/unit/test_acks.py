"""The ack rules as a table: how a message was handled and its delivery → what to send."""

from __future__ import annotations

import pytest

from workers.agent_executor.acks import Action, Decision, Handled, backoff, decide, http_status
from workers.agent_executor.consumer import settle_payload

ACK_FINISHED = Decision(Action.ACK, publish_result=True)
FAIL_AND_DEAD_LETTER = Decision(Action.ACK, publish_failed=True, dead_letter=True)
DEAD_LETTER_ONLY = Decision(Action.ACK, dead_letter=True)


@pytest.mark.parametrize(
    ("handled", "delivered", "max_deliver", "job_id_known", "retry_after", "expected"),
    [
        # a result is published, then acked, on any delivery
        (Handled.FINISHED, 1, 5, True, None, ACK_FINISHED),
        (Handled.FINISHED, 5, 5, True, None, ACK_FINISHED),
        # poison is never retried: failed event when the id is known, always a dead letter
        (
            Handled.INVALID,
            1,
            5,
            True,
            None,
            Decision(Action.TERM, publish_failed=True, dead_letter=True),
        ),
        (Handled.INVALID, 1, 5, False, None, Decision(Action.TERM, dead_letter=True)),
        # a job id used for another job: copied aside, never a result
        (Handled.CONFLICT, 1, 5, True, None, Decision(Action.TERM, dead_letter=True)),
        (Handled.CONFLICT, 5, 5, True, None, Decision(Action.TERM, dead_letter=True)),
        # transient faults back off, then end on the consumer's last delivery
        (Handled.TRANSIENT, 1, 5, True, None, Decision(Action.NAK, delay=2)),
        (Handled.TRANSIENT, 2, 5, True, None, Decision(Action.NAK, delay=10)),
        (Handled.TRANSIENT, 1, 5, True, 45, Decision(Action.NAK, delay=45)),
        (Handled.TRANSIENT, 3, 3, True, None, FAIL_AND_DEAD_LETTER),
        (Handled.TRANSIENT, 4, 3, True, None, FAIL_AND_DEAD_LETTER),
        # an unexpected exception is retried the same way, and ends the same way
        (Handled.CRASHED, 1, 3, True, None, Decision(Action.NAK, delay=2)),
        (Handled.CRASHED, 3, 3, True, None, FAIL_AND_DEAD_LETTER),
        (Handled.CRASHED, 3, 3, False, None, DEAD_LETTER_ONLY),
        # unlimited deliveries (max_deliver -1 or unset) never give up
        (Handled.TRANSIENT, 50, -1, True, None, Decision(Action.NAK, delay=120)),
        (Handled.CRASHED, 50, None, True, None, Decision(Action.NAK, delay=120)),
        # a job running elsewhere is never failed by another copy
        (Handled.BUSY, 5, 5, True, 5, Decision(Action.NAK, delay=120)),
        (Handled.BUSY, 1, 5, True, 5, Decision(Action.NAK, delay=5)),
        # shutdown: straight back to the queue for another worker
        (Handled.INTERRUPTED, 5, 5, True, None, Decision(Action.NAK)),
    ],
)
def test_decide(
    handled: Handled,
    delivered: int,
    max_deliver: int | None,
    job_id_known: bool,
    retry_after: float | None,
    expected: Decision,
) -> None:
    decision = decide(
        handled,
        delivered=delivered,
        max_deliver=max_deliver,
        job_id_known=job_id_known,
        retry_after=retry_after,
    )
    assert decision == expected


@pytest.mark.parametrize("handled", list(Handled))
@pytest.mark.parametrize("job_id_known", [True, False])
def test_nothing_is_left_in_the_queue_after_the_last_delivery(
    handled: Handled, job_id_known: bool
) -> None:
    decision = decide(handled, delivered=3, max_deliver=3, job_id_known=job_id_known)
    stays = handled in (Handled.BUSY, Handled.INTERRUPTED)
    assert decision.terminal is not stays


@pytest.mark.parametrize("handled", list(Handled))
def test_a_failed_event_needs_a_job_id(handled: Handled) -> None:
    decision = decide(handled, delivered=9, max_deliver=3, job_id_known=False)
    assert not decision.publish_failed


@pytest.mark.parametrize(
    ("delivered", "delay"), [(0, 2), (1, 2), (2, 10), (3, 30), (4, 60), (5, 120), (99, 120)]
)
def test_backoff_grows_and_is_capped(delivered: int, delay: float) -> None:
    assert backoff(delivered) == delay


@pytest.mark.parametrize(
    ("handled", "status"),
    [
        (Handled.FINISHED, 200),
        (Handled.INVALID, 400),
        (Handled.CONFLICT, 409),
        (Handled.TRANSIENT, 503),
        (Handled.BUSY, 503),
        (Handled.CRASHED, 500),
        (Handled.INTERRUPTED, 503),
    ],
)
def test_http_status(handled: Handled, status: int) -> None:
    assert http_status(handled) == status


@pytest.mark.parametrize(
    ("delivered", "retry_after", "jitter", "expected"),
    [
        # the step itself at the middle, ±20 % at the ends
        (1, None, 0.5, 2.0),
        (1, None, 0.0, 1.6),
        (1, None, 1.0, 2.4),
        (5, None, 0.0, 96.0),
        (5, None, 1.0, 144.0),
        # Retry-After is a floor the spread never goes under, and is spread above it
        (1, 45, 0.0, 45.0),
        (1, 45, 1.0, 54.0),
        (5, 45, 0.0, 96.0),
    ],
)
def test_backoff_spreads_each_delay_within_twenty_percent(
    delivered: int, retry_after: float | None, jitter: float, expected: float
) -> None:
    assert backoff(delivered, retry_after, jitter) == pytest.approx(expected)


@pytest.mark.parametrize("jitter", [-0.01, 1.01])
def test_backoff_refuses_a_jitter_outside_the_unit_interval(jitter: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        backoff(1, None, jitter)


def test_a_nak_decision_carries_the_jittered_delay() -> None:
    decision = decide(Handled.TRANSIENT, delivered=2, max_deliver=5, job_id_known=True, jitter=1.0)
    assert decision.action is Action.NAK
    assert decision.delay == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("action", "delay", "payload"),
    [
        (Action.ACK, None, b"+ACK"),
        (Action.TERM, None, b"+TERM"),
        (Action.NAK, None, b"-NAK"),
        (Action.NAK, 1.5, b'-NAK {"delay": 1500000000}'),
    ],
)
def test_a_settle_is_sent_as_jetstream_reads_it(
    action: Action, delay: float | None, payload: bytes
) -> None:
    assert settle_payload(action, delay) == payload
