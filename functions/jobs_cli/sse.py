"""A Server-Sent Events parser (the WHATWG event-stream format), fed line by line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SseMessage:
    """One dispatched event: `event` defaults to "message", `id` is the last one seen."""

    event: str
    data: str
    id: str | None


@dataclass
class SseParser:
    """Collects fields until a blank line dispatches them; comments (`:`) are keep-alives."""

    last_id: str | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> SseMessage | None:
        """Take one line (without its line break); return the event a blank line completes."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None  # `retry` and unknown fields are ignored, as the standard says

    def _dispatch(self) -> SseMessage | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return SseMessage(event=event, data="\n".join(data), id=self.last_id)
