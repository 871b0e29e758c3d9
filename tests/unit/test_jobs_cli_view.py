"""How a followed job reads: the progress view for people, JSON lines for scripts."""

from __future__ import annotations

import io
import json
from typing import Any

from functions.jobs_cli.models import JobOutcome, StreamEvent
from functions.jobs_cli.view import JsonLines, ProgressView, result_lines, tool_call

COMPLETED = JobOutcome(
    job_id="j1",
    outcome="completed",
    result={
        "output": "Wrote the report.\nSee /report.md.",
        "files": {"/report.md": {"content": ["# Report", "", "Done."]}},
        "usage": {"gpt-4o-mini": {"prompt_tokens": 120, "completion_tokens": 30}},
        "warnings": ["node 'x' names unknown tool 'y'; skipped"],
    },
)


def event(event_type: str, **data: Any) -> StreamEvent:
    return StreamEvent(id="1-0", event_type=event_type, data=data)


def shown(*events: StreamEvent, outcome: JobOutcome = COMPLETED) -> str:
    out, err = io.StringIO(), io.StringIO()
    view = ProgressView(out, err)
    view.submitted("j1", "NATS agent.execute.j1")
    for each in events:
        view.event(each)
    view.result(outcome)
    return out.getvalue()


def test_tokens_stream_inline_and_tool_calls_get_a_line_each() -> None:
    text = shown(
        event("on_llm_stream", delta="I'll write ", node_id="orchestrator"),
        event("on_llm_stream", delta="it.", node_id="orchestrator"),
        event("on_state_update", messages=[]),
        event(
            "on_tool_start",
            tool="write_file",
            input={"file_path": "/report.md", "content": "# Report\n\n" + "x" * 80},
        ),
        event("on_tool_end", tool="write_file", output="Updated file /report.md\nmore"),
        event("on_state_update", messages=[]),
        event("on_llm_stream", delta="Wrote the report.", node_id="orchestrator"),
        event("on_state_update", messages=[]),
        event("end", job_id="j1"),
    )
    assert text.splitlines()[:5] == [
        "job j1 submitted to NATS agent.execute.j1",
        "orchestrator> I'll write it.",
        # each value is cut to 40 characters
        '  -> write_file(file_path="/report.md", content="# Report\\n\\n' + "x" * 24 + '...)',
        "  <- write_file: Updated file /report.md...",
        "orchestrator> Wrote the report.",
    ]  # fmt: skip


def test_the_result_shows_output_files_usage_and_warnings() -> None:
    assert result_lines(COMPLETED, steps=3) == [
        "completed: job j1 in 3 steps",
        "output:",
        "  Wrote the report.",
        "  See /report.md.",
        "files:",
        "  /report.md (3 lines)",
        "usage:",
        "  gpt-4o-mini: 120 prompt + 30 completion tokens",
        "warning: node 'x' names unknown tool 'y'; skipped",
    ]


def test_a_trimmed_result_says_where_the_whole_one_is() -> None:
    trimmed = JobOutcome(
        job_id="big",
        outcome="completed",
        result={
            "output": "…",
            "files": {},
            "truncated": {"full_bytes": 9000000, "omitted_files": ["/a.csv"]},
        },
    )
    assert result_lines(trimmed)[-3:] == [
        "files:",
        "  /a.csv (content not in the event)",
        "note: the result event was trimmed (9000000 bytes); the whole result is at GET /jobs/big",
    ]


def test_failed_and_cancelled_jobs_say_so_with_the_error() -> None:
    failed = JobOutcome(
        job_id="j2", outcome="failed", error={"type": "LLMError", "message": "HTTP 400"}
    )
    cancelled = JobOutcome(
        job_id="j3",
        outcome="failed",
        error={"type": "Cancelled", "message": "job j3 was cancelled"},
    )
    assert result_lines(failed) == ["failed (LLMError): job j2: HTTP 400"]
    assert result_lines(cancelled) == ["cancelled: job j3: job j3 was cancelled"]
    assert (failed.exit_code, cancelled.exit_code, COMPLETED.exit_code) == (1, 1, 0)


def test_tool_arguments_are_cut_to_one_short_line() -> None:
    assert tool_call("ls", {}) == "ls()"
    assert tool_call("task", "not json {") == 'task("not json {")'
    assert len(tool_call("write_file", {"content": "y" * 500, "file_path": "/" * 90})) == 100


def test_json_lines_are_one_object_each_events_then_the_result() -> None:
    out, err = io.StringIO(), io.StringIO()
    sink = JsonLines(out, err)
    sink.submitted("j1", "NATS agent.execute.j1")
    sink.note("waiting")
    sink.event(event("on_llm_stream", delta="hé", node_id="o"))
    sink.result(COMPLETED)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == ["submitted", "event", "result"]
    assert lines[1] == {
        "kind": "event",
        "id": "1-0",
        "event_type": "on_llm_stream",
        "data": {"delta": "hé", "node_id": "o"},
    }
    assert lines[2]["result"]["files"]["/report.md"]["content"][0] == "# Report"
    assert err.getvalue() == "agentplane: waiting\n"  # notes never mix with the JSON
