"""Server-Sent Events as the WHATWG standard reads them, and as progress events."""

from __future__ import annotations

from functions.jobs_cli.http_api import stream_event
from functions.jobs_cli.sse import SseMessage, SseParser


def messages(text: str, parser: SseParser | None = None) -> list[SseMessage]:
    parser = parser or SseParser()
    found = [parser.feed(line) for line in text.split("\n")]
    return [m for m in found if m is not None]


def test_fields_up_to_a_blank_line_make_one_event() -> None:
    assert messages('id: 5-0\nevent: on_tool_start\ndata: {"tool": "ls"}\n\n') == [
        SseMessage(event="on_tool_start", data='{"tool": "ls"}', id="5-0")
    ]


def test_data_lines_join_comments_are_skipped_and_the_id_carries_over() -> None:
    parser = SseParser()
    found = messages(": keep-alive\nid: 7-1\ndata: a\ndata:b\n\ndata: c\n\n", parser)
    assert found == [
        SseMessage(event="message", data="a\nb", id="7-1"),
        SseMessage(event="message", data="c", id="7-1"),
    ]
    assert parser.last_id == "7-1"


def test_an_event_without_data_is_not_dispatched() -> None:
    assert messages("event: ping\n\n") == []


def test_sse_data_becomes_the_event_data() -> None:
    event = stream_event(SseMessage(event="end", data='{"job_id": "j1"}', id="9-0"))
    assert (event.id, event.event_type, event.data) == ("9-0", "end", {"job_id": "j1"})
    assert stream_event(SseMessage(event="x", data="plain", id=None)).data == {"text": "plain"}
