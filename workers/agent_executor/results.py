"""Publishing results, and dead letters, to JetStream.

A result event must fit the server's max payload. One that does not is never
retried for ever: the ledger keeps the whole result (`GET /jobs/{id}`) and the
event carries a trimmed copy that says so (`result.truncated`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from nats.js import JetStreamContext

from contract.events import COMPLETED_TYPE, FAILED_TYPE, RESULT_SOURCE
from contract.nats import (
    DEAD_LETTER_REASON_HEADER,
    DEAD_LETTER_TYPE_HEADER,
    DLQ_PREFIX,
    MSG_ID_HEADER,
    STATUS_COMPLETED,
    STATUS_FAILED,
    subject_token,
)

Outcome = Literal["completed", "failed"]


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
        "source": RESULT_SOURCE,
        "type": COMPLETED_TYPE if outcome == "completed" else FAILED_TYPE,
        "subject": job_id,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": {"job_id": job_id, **data},
    }
    if traceparent:
        event["traceparent"] = traceparent
    return event


# Room left in the max payload for the headers (Nats-Msg-Id, traceparent, content type).
HEADERS_ROOM = 1024
REASON_MAX = 1000


def encode(event: dict[str, Any]) -> bytes:
    """The wire form of an event."""
    return json.dumps(event, separators=(",", ":")).encode()


def _clip(text: str, max_bytes: int) -> str:
    return text.encode()[: max(max_bytes, 0)].decode(errors="ignore")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _trimmed(data: dict[str, Any], full_bytes: int, keep: int) -> dict[str, Any]:
    """`data` with at most `keep` bytes of output or error message, and no file contents."""
    note = {"full_bytes": full_bytes, "whole_result": "GET /jobs/{job_id}"}
    if "result" in data and isinstance(data["result"], dict):
        result = dict(data["result"])
        files = _mapping(result.get("files"))
        output = result.get("output")
        result["output"] = _clip(output, keep) if isinstance(output, str) else None
        result["files"] = {}
        result["truncated"] = {**note, "omitted_files": sorted(files)[:1000]}
        return {**data, "result": result}
    error = _mapping(data.get("error"))
    message = str(error.get("message", ""))
    return {**data, "error": {**error, "message": _clip(message, keep), "truncated": note}}


def fit(event: dict[str, Any], limit: int) -> tuple[bytes, bool]:
    """`event` encoded within `limit` bytes, trimming its data when it must; True if trimmed."""
    body = encode(event)
    if len(body) <= limit:
        return body, False
    data = {k: v for k, v in event["data"].items() if k != "job_id"}
    keep = limit
    while keep > 0:
        trimmed = {
            **event,
            "data": {"job_id": event["data"]["job_id"], **_trimmed(data, len(body), keep)},
        }
        candidate = encode(trimmed)
        if len(candidate) <= limit:
            return candidate, True
        keep -= max(len(candidate) - limit, keep // 2, 1)
    trimmed = {**event, "data": {"job_id": event["data"]["job_id"], **_trimmed(data, len(body), 0)}}
    return encode(trimmed), True


def _header_value(text: str) -> str:
    """One line of printable ASCII: a header value NATS carries unchanged."""
    line = " ".join(text.split())
    return _clip(line.encode("ascii", "replace").decode(), REASON_MAX)


class ResultPublisher:
    """Publishes result CloudEvents with a Nats-Msg-Id, so a republish is de-duplicated."""

    def __init__(
        self, js: JetStreamContext, max_payload: Callable[[], int], timeout: float = 10
    ) -> None:
        self.js = js
        self.max_payload = max_payload
        self.timeout = timeout

    async def publish(
        self, job_id: str, outcome: Outcome, data: dict[str, Any], traceparent: str | None
    ) -> dict[str, Any]:
        """Publish to agent.status.<outcome> and wait for the stream's ack; return the event."""
        event = result_event(job_id, outcome, data, traceparent)
        body, trimmed = fit(event, self.max_payload() - HEADERS_ROOM)
        headers = {
            MSG_ID_HEADER: f"{job_id}.{outcome}",
            "Content-Type": "application/cloudevents+json; charset=utf-8",
        }
        if traceparent:
            headers["traceparent"] = traceparent
        subject = STATUS_COMPLETED if outcome == "completed" else STATUS_FAILED
        await self.js.publish(subject, body, headers=headers, timeout=self.timeout)
        return json.loads(body) if trimmed else event

    async def dead_letter(
        self, key: str, body: bytes, headers: dict[str, str] | None, reason: str, kind: str
    ) -> None:
        """Copy the original message to agent.dlq.<key> with the reason and its type.

        `key` is the job id, or a name made from the stream sequence when no job id
        could be read; the copy is de-duplicated by it.
        """
        copy = dict(headers or {})
        copy.update(
            {
                MSG_ID_HEADER: f"{key}.dlq",
                DEAD_LETTER_REASON_HEADER: _header_value(reason),
                DEAD_LETTER_TYPE_HEADER: kind,
            }
        )
        await self.js.publish(
            DLQ_PREFIX + subject_token(key), body, headers=copy, timeout=self.timeout
        )
