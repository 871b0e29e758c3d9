"""Server-Sent Events framing (the WHATWG HTML "event stream" format) of job events."""

from __future__ import annotations

import json

from workers.agent_executor.event_replay import JobEvent

MEDIA_TYPE = "text/event-stream"
# A comment line: ignored by every client, it keeps proxies from closing a quiet stream.
HEARTBEAT = b": keep-alive\n\n"
# Tells an EventSource how long to wait before reconnecting (milliseconds).
RETRY = b"retry: 2000\n\n"


def frame(event: JobEvent) -> bytes:
    """`id:` (the stream entry id, when it has one), `event:` and one `data:` line of JSON."""
    lines = []
    if event.id is not None:
        lines.append(f"id: {event.id}")
    # A line break inside a field would end it early; event types never have one.
    lines.append(f"event: {' '.join(event.event_type.split())}")
    # json.dumps escapes line breaks inside strings, so the data is always one line.
    lines.append(f"data: {json.dumps(event.data, separators=(',', ':'), default=str)}")
    return ("\n".join(lines) + "\n\n").encode()


# One event of the stream, in the form OpenAPI gives a text/event-stream schema (each event
# an object of its fields; `itemSchema` from OpenAPI 3.2).
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The event's Redis Stream entry id."},
        "event": {
            "type": "string",
            "description": "The event_type: on_state_update, on_llm_stream, on_tool_start, "
            "on_tool_end or end (always the last).",
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The event's data, as published on langgraph:stream:{job_id}.",
        },
        "retry": {"type": "integer", "description": "Reconnection delay (milliseconds)."},
    },
}
