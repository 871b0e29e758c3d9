"""The pure decisions of tracing: when it is on, and which trace context goes where."""

from __future__ import annotations

import pytest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from workers.agent_executor.agent.graph import _tool_kind
from workers.agent_executor.agent.telemetry import chat_attributes, response_attributes
from workers.agent_executor.tracing import (
    TracingSettings,
    log_trace_id,
    outgoing_traceparent,
    parse_traceparent,
    tracing_enabled,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "yes"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_is_on_only_with_an_endpoint_and_nothing_switching_it_off(
    env: dict[str, str], enabled: bool
) -> None:
    assert tracing_enabled(TracingSettings.model_validate(env)) is enabled


def test_a_malformed_traceparent_is_no_parent() -> None:
    assert parse_traceparent(None) is None
    assert parse_traceparent("00-zz-00f067aa0ba902b7-01") is None
    assert parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    parsed = parse_traceparent(TRACEPARENT)
    assert parsed is not None and parsed.span_id == 0x00F067AA0BA902B7


def test_without_a_recording_span_the_incoming_traceparent_passes_on_unchanged() -> None:
    incoming = parse_traceparent(TRACEPARENT)
    assert incoming is not None
    assert outgoing_traceparent(NonRecordingSpan(incoming), TRACEPARENT) == TRACEPARENT
    assert outgoing_traceparent(NonRecordingSpan(SpanContext(0, 0, False)), None) is None


def test_log_lines_carry_the_w3c_trace_id_else_the_events_own() -> None:
    assert log_trace_id(TRACEPARENT, "abc") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert log_trace_id(None, "abc") == "abc"
    assert log_trace_id("garbage", None) is None


def test_llm_attributes_use_the_genai_names_and_never_the_messages() -> None:
    assert chat_attributes("anthropic", "claude-sonnet-4", 0.2, None) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4",
        "gen_ai.request.temperature": 0.2,
    }
    assert response_attributes(
        "claude-sonnet-4-20250514", {"prompt_tokens": 12, "completion_tokens": 7}, "stop"
    ) == {
        "gen_ai.response.model": "claude-sonnet-4-20250514",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.response.finish_reasons": ["stop"],
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [("write_file", "builtin"), ("task", "task"), ("lookup", "script"), ("rm", "unknown")],
)
def test_a_tool_span_says_which_kind_of_tool_ran(name: str, kind: str) -> None:
    assert _tool_kind(name, ["write_file", "task", "lookup"]) == kind


def test_trace_flags_of_the_parent_are_kept() -> None:
    unsampled = parse_traceparent(TRACEPARENT[:-2] + "00")
    assert unsampled is not None and unsampled.trace_flags == TraceFlags(0)
