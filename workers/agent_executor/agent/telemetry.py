"""OpenTelemetry spans of the agent's model and tool calls (GenAI semantic conventions).

The agent calls only the OpenTelemetry API: without a configured SDK (the worker installs
one when an OTLP endpoint is set, `workers.agent_executor.tracing`) every span here is the
API's non-recording span, so tracing that is off costs a function call and no allocation of
attributes (they are built only for a recording span).

Names and attributes follow the GenAI conventions: a model call is `chat <model>` with
`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`,
`gen_ai.response.model` and `gen_ai.usage.input_tokens`/`output_tokens`; its latency is the
span's duration. A tool call is `execute_tool <name>`. Message contents are never recorded:
prompts and tool arguments may hold a tenant's data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

TRACER_NAME = "workers.agent_executor"

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
FINISH_REASONS = "gen_ai.response.finish_reasons"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
ERROR_TYPE = "error.type"
# Which of ours a tool is (builtin, script, task, unknown): not a GenAI convention.
TOOL_KIND = "agent_executor.tool.kind"


def _tracer() -> trace.Tracer:
    # Looked up per span, not at import: the provider is installed after modules load.
    return trace.get_tracer(TRACER_NAME)


def chat_attributes(
    provider: str, model: str, temperature: float | None, max_tokens: int | None
) -> dict[str, Any]:
    """The request attributes of a `chat` span."""
    attributes: dict[str, Any] = {
        OPERATION: "chat",
        PROVIDER: provider,
        REQUEST_MODEL: model,
    }
    if temperature is not None:
        attributes["gen_ai.request.temperature"] = temperature
    if max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = max_tokens
    return attributes


def response_attributes(
    served_model: str, usage: Mapping[str, int], finish_reason: str | None
) -> dict[str, Any]:
    """The response attributes of a finished `chat` span (OpenAI usage names mapped)."""
    attributes: dict[str, Any] = {
        RESPONSE_MODEL: served_model,
        INPUT_TOKENS: int(usage.get("prompt_tokens", 0)),
        OUTPUT_TOKENS: int(usage.get("completion_tokens", 0)),
    }
    if finish_reason:
        attributes[FINISH_REASONS] = [finish_reason]
    return attributes


def mark_error(span: Span, error_type: str, description: str = "") -> None:
    """Set the span's status to ERROR with `error.type` (a class or error-type name)."""
    span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, description or error_type))


@contextmanager
def chat_span(
    provider: str, model: str, temperature: float | None = None, max_tokens: int | None = None
) -> Iterator[Span]:
    """A CLIENT span `chat <model>` around one model request; an exception marks it failed."""
    tracer = _tracer()
    with tracer.start_as_current_span(
        f"chat {model}", kind=SpanKind.CLIENT, record_exception=False, set_status_on_exception=False
    ) as span:
        if span.is_recording():
            span.set_attributes(chat_attributes(provider, model, temperature, max_tokens))
        try:
            yield span
        except BaseException as exc:
            # The class only: an SDK error's text may quote the request.
            mark_error(span, type(exc).__name__)
            raise


@contextmanager
def tool_span(name: str, call_id: str, kind: str) -> Iterator[Span]:
    """An INTERNAL span `execute_tool <name>` around one tool call."""
    tracer = _tracer()
    with tracer.start_as_current_span(
        f"execute_tool {name}",
        kind=SpanKind.INTERNAL,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if span.is_recording():
            span.set_attributes(
                {
                    OPERATION: "execute_tool",
                    TOOL_NAME: name,
                    TOOL_CALL_ID: call_id,
                    TOOL_TYPE: "function",
                    TOOL_KIND: kind,
                }
            )
        try:
            yield span
        except BaseException as exc:
            mark_error(span, type(exc).__name__)
            raise
