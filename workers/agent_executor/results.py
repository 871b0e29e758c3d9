"""Publishing results, and dead letters, to JetStream."""

from __future__ import annotations

import json
from typing import Any, Literal

from nats.js import JetStreamContext

from functions.agent_executor.nats_contract import DLQ_PREFIX, STATUS_COMPLETED, STATUS_FAILED
from workers.agent_executor.events import result_event

Outcome = Literal["completed", "failed"]


def subject_token(job_id: str) -> str:
    """A job id as one subject token: dots would split it into several."""
    return job_id.replace(".", "_")


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
