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
