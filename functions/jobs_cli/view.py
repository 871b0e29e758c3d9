"""Showing a job: a compact progress view for people, JSON lines for scripts.

Both take the same calls in the same order (submitted, events, the result), so following a job
over NATS or over HTTP looks the same. Progress and the result go to stdout; notes (waiting,
reconnecting) go to stderr, so `--json` output stays pure JSON lines.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, TextIO

from contract.events import END_EVENT
from functions.jobs_cli.models import JobOutcome, StreamEvent

ARGUMENT_CHARS = 40
LINE_CHARS = 100


class Sink(Protocol):
    """Where a followed job is shown."""

    def submitted(self, job_id: str, where: str) -> None:
        """The job was accepted by `where`."""

    def note(self, text: str) -> None:
        """Something about the following itself, not the job."""

    def event(self, event: StreamEvent) -> None:
        """One progress event, in order."""

    def result(self, outcome: JobOutcome) -> None:
        """The job's outcome, last."""


class JsonLines:
    """One JSON object per line: `kind` submitted, event or result."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    def _line(self, value: dict[str, Any]) -> None:
        self.out.write(json.dumps(value, separators=(",", ":"), default=str) + "\n")
        self.out.flush()

    def submitted(self, job_id: str, where: str) -> None:
        """`{"kind": "submitted", "job_id", "via"}`."""
        self._line({"kind": "submitted", "job_id": job_id, "via": where})

    def note(self, text: str) -> None:
        """On stderr: stdout carries only JSON."""
        self.err.write(f"agentplane: {text}\n")
        self.err.flush()

    def event(self, event: StreamEvent) -> None:
        """`{"kind": "event", "id", "event_type", "data"}`, the data as the worker sent it."""
        self._line({"kind": "event", **event.model_dump()})

    def result(self, outcome: JobOutcome) -> None:
        """`{"kind": "result", "job_id", "outcome", "result" | "error"}`."""
        self._line({"kind": "result", **outcome.model_dump(exclude_none=True)})


class ProgressView:
    """Streamed tokens as they come, one line per tool call and its answer, then the result."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.steps = 0
        self._speaker: str | None = None  # the node whose tokens the open line shows
        self._line_open = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        if text:
            self._line_open = not text.endswith("\n")

    def _end_line(self) -> None:
        if self._line_open:
            self._write("\n")

    def submitted(self, job_id: str, where: str) -> None:
        """`job <id> submitted to <where>`."""
        self._write(f"job {job_id} submitted to {where}\n")

    def note(self, text: str) -> None:
        """A line on stderr, after the open line of tokens is ended."""
        self._end_line()
        self.err.write(f"agentplane: {text}\n")
        self.err.flush()

    def event(self, event: StreamEvent) -> None:
        """Tokens inline after `node> `; `-> tool(args)` and `<- tool: answer` lines."""
        data = event.data
        if event.event_type == "on_llm_stream":
            delta = data.get("delta")
            if not isinstance(delta, str) or not delta:
                return
            node = str(data.get("node_id") or "agent")
            if node != self._speaker:
                self._end_line()
                self._write(f"{node}> ")
                self._speaker = node
            self._write(delta)
        elif event.event_type == "on_tool_start":
            self._end_line()
            self._write(f"  -> {tool_call(str(data.get('tool')), data.get('input'))}\n")
            self._speaker = None
        elif event.event_type == "on_tool_end":
            self._end_line()
            answer = one_line(str(data.get("output", "")), LINE_CHARS)
            self._write(f"  <- {data.get('tool')}: {answer}\n")
            self._speaker = None
        elif event.event_type == "on_state_update":
            # One per graph step; the next tokens begin a new line even from the same node.
            self.steps += 1
            self._speaker = None
        elif event.event_type == END_EVENT:
            self._end_line()

    def result(self, outcome: JobOutcome) -> None:
        """The outcome, output, written files, usage and warnings."""
        self._end_line()
        self._write("".join(f"{line}\n" for line in result_lines(outcome, self.steps)))


def tool_call(name: str, arguments: Any) -> str:
    """`name(key="value", ...)` with each value cut to ARGUMENT_CHARS, the whole to one line."""
    if isinstance(arguments, dict):
        shown = ", ".join(f"{k}={clip(_json(v), ARGUMENT_CHARS)}" for k, v in arguments.items())
    else:
        shown = clip(_json(arguments), ARGUMENT_CHARS) if arguments not in (None, "") else ""
    return one_line(f"{name}({shown})", LINE_CHARS)


def result_lines(outcome: JobOutcome, steps: int = 0) -> list[str]:
    """How a finished job reads: a status line, then output, files, usage and warnings."""
    if outcome.outcome == "failed":
        error = outcome.error or {}
        kind, message = error.get("type", "Error"), error.get("message", "")
        verb = "cancelled" if outcome.cancelled else f"failed ({kind})"
        return [f"{verb}: job {outcome.job_id}: {message}"]
    result = outcome.result or {}
    took = f" in {steps} step{'s' if steps != 1 else ''}" if steps else ""
    lines = [f"completed: job {outcome.job_id}{took}"]
    output = result.get("output")
    if isinstance(output, str) and output:
        lines += ["output:", *(f"  {line}" for line in output.splitlines())]
    lines += _files(result)
    lines += _usage(result.get("usage"))
    lines += [f"warning: {w}" for w in result.get("warnings") or []]
    truncated = result.get("truncated")
    if isinstance(truncated, dict):
        lines.append(
            f"note: the result event was trimmed ({truncated.get('full_bytes')} bytes); "
            f"the whole result is at GET /jobs/{outcome.job_id}"
        )
    return lines


def _files(result: dict[str, Any]) -> list[str]:
    files = result.get("files")
    omitted = (result.get("truncated") or {}).get("omitted_files") or []
    if not files and not omitted:
        return []
    lines = ["files:"]
    for path, data in sorted((files or {}).items()):
        content = data.get("content") if isinstance(data, dict) else None
        size = f" ({len(content)} lines)" if isinstance(content, list) else ""
        lines.append(f"  {path}{size}")
    lines += [f"  {path} (content not in the event)" for path in omitted]
    return lines


def _usage(usage: Any) -> list[str]:
    if not isinstance(usage, dict) or not usage:
        return []
    lines = ["usage:"]
    for model, counts in sorted(usage.items()):
        counts = counts if isinstance(counts, dict) else {}
        prompt, completion = counts.get("prompt_tokens", 0), counts.get("completion_tokens", 0)
        lines.append(f"  {model}: {prompt} prompt + {completion} completion tokens")
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, `...` marking the cut."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def one_line(text: str, limit: int) -> str:
    """The first line of `text`, cut to `limit`; `...` when anything was left out."""
    first, _, rest = text.strip().partition("\n")
    if rest and len(first) <= limit - 3:
        return first + "..."
    return clip(first, limit)
