"""Publishing results, and dead letters, to JetStream."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from nats.js import JetStreamContext

from contract.nats import DLQ_PREFIX, STATUS_COMPLETED, STATUS_FAILED, subject_token

Outcome = Literal["completed", "failed"]
COMPLETED_TYPE = "dev.my-platform.agent.completed"
FAILED_TYPE = "dev.my-platform.agent.failed"
SOURCE = "agent-executor-service"


def result_event(
    job_id: str,
    outcome: Outcome,
    data: dict[str, Any],
    traceparent: str | None,
) -> dict[str, Any]:
    """A structured CloudEvent for `agent.status.<outcome>`."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": COMPLETED_TYPE if outcome == "completed" else FAILED_TYPE,
        "subject": job_id,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": {"job_id": job_id, **data},
    }
    if traceparent:
        event["traceparent"] = traceparent
    return event




class ResultPublisher:
    """Publishes result CloudEvents with a Nats-Msg-Id, so a republish is de-duplicated."""

    def __init__(self, js: JetStreamContext, timeout: float = 10) -> None:
        self.js = js
        self.timeout = timeout

    async def publish(
        self, job_id: str, outcome: Outcome, data: dict[str, Any], traceparent: str | None
    ) -> dict[str, Any]:
        """Publish to agent.status.<outcome> and wait for the stream's ack; return the event."""
        event = result_event(job_id, outcome, data, traceparent)
        headers = {
            "Nats-Msg-Id": f"{job_id}.{outcome}",
            "Content-Type": "application/cloudevents+json; charset=utf-8",
        }
        if traceparent:
            headers["traceparent"] = traceparent
        subject = STATUS_COMPLETED if outcome == "completed" else STATUS_FAILED
        await self.js.publish(
            subject, json.dumps(event).encode(), headers=headers, timeout=self.timeout
        )
        return event

    async def dead_letter(
        self, job_id: str, body: bytes, headers: dict[str, str] | None, reason: str
    ) -> None:
        """Copy the original message to agent.dlq.<job_id> with the reason in a header."""
        copy = dict(headers or {})
        copy.update({"Nats-Msg-Id": f"{job_id}.dlq", "Agent-Dead-Letter-Reason": reason[:1000]})
        await self.js.publish(
            DLQ_PREFIX + subject_token(job_id), body, headers=copy, timeout=self.timeout
        )
