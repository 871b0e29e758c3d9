"""A Server-Sent Events reader for tests and tools: what an EventSource would dispatch."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: its `id:` (None when it had none), `event:` and JSON `data:`."""

    id: str | None
    event: str
    data: Any


def sse_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    """The events in a stream's lines (comments and `retry:` skipped, data lines joined)."""
    ident: str | None = None
    event = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(ident, event, json.loads("\n".join(data)))
            ident, event, data = None, "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            ident = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)
