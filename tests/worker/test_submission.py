"""Submitting a job (submission.submit) against a real PostgreSQL server.

JetStream is a stand-in here: these tests are about what the ledger keeps when publishing
succeeds or fails, which a real server cannot be made to fail on cue.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import nats.errors
import pytest
from nats.js import JetStreamContext

from testbed.servers import PostgresServer
from testbed.worker import job
from workers.agent_executor.db_pool import connection_pool
from workers.agent_executor.envelope import Envelope, JobExecutionEvent
from workers.agent_executor.ledger import JobRecord, Ledger
from workers.agent_executor.submission import (
    SUBMIT_SUBJECT,
    JobTooLargeError,
    SubmissionFailedError,
    submit,
)

MAX_PAYLOAD = 1024 * 1024


class _JetStream:
    """Records publishes, or refuses them like a JetStream without the stream."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(
        self, subject: str, payload: bytes, *, headers: dict[str, str], **_: float
    ) -> None:
        if self.refuse:
            raise nats.errors.NoRespondersError
        self.published.append((subject, payload, headers))


def _envelope(**changes: Any) -> Envelope:
    body = {**job(f"submit-{uuid.uuid4().hex[:12]}"), **changes}
    return Envelope(job=JobExecutionEvent.model_validate(body))


def _submit(
    url: str, js: _JetStream, envelope: Envelope, max_payload: int = MAX_PAYLOAD
) -> JobRecord:
    async def main() -> JobRecord:
        async with connection_pool(url, 2) as pool:
            submission = await submit(
                Ledger(pool), cast(JetStreamContext, js), max_payload, envelope
            )
            return submission.record

    return asyncio.run(main())


def _row(url: str, job_id: str) -> JobRecord | None:
    async def main() -> JobRecord | None:
        async with connection_pool(url, 1) as pool:
            return await Ledger(pool).get(job_id)

    return asyncio.run(main())


def test_a_submitted_job_is_published_once_with_its_id_as_the_message_id(
    postgres: PostgresServer,
) -> None:
    js, envelope = _JetStream(), _envelope()
    _submit(postgres.url, js, envelope)
    record = _submit(postgres.url, js, envelope)

    assert record.status == "queued"
    assert len(js.published) == 1
    subject, _, headers = js.published[0]
    assert (subject, headers["Nats-Msg-Id"]) == (SUBMIT_SUBJECT, envelope.job.job_id)


def test_a_job_jetstream_refuses_leaves_no_row_behind(postgres: PostgresServer) -> None:
    envelope = _envelope()
    with pytest.raises(SubmissionFailedError):
        _submit(postgres.url, _JetStream(refuse=True), envelope)
    assert _row(postgres.url, envelope.job.job_id) is None
    js = _JetStream()
    assert _submit(postgres.url, js, envelope).status == "queued"  # a retry queues it
    assert len(js.published) == 1


def test_a_job_too_large_for_one_message_is_refused_before_any_row(
    postgres: PostgresServer,
) -> None:
    envelope = _envelope()
    with pytest.raises(JobTooLargeError):
        _submit(postgres.url, _JetStream(), envelope, max_payload=1100)
    assert _row(postgres.url, envelope.job.job_id) is None
