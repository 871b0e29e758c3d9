"""OpenTelemetry traces of the worker: set up from the standard `OTEL_*` env; the job span.

Tracing is on only when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and not switched off (`OTEL_SDK_DISABLED=true`,
`OTEL_TRACES_EXPORTER=none`). Then spans go by OTLP/HTTP (protobuf), batched; the exporter
reads the rest of the standard variables itself (headers, timeout, certificates, the batch
settings `OTEL_BSP_*`). Off, nothing is installed: the OpenTelemetry API's default provider
hands out non-recording spans, and no exporter thread runs.

One span per job attempt (`invoke_agent`, kind CONSUMER) is the child of the incoming
event's W3C `traceparent`, and the parent of the attempt's `chat <model>` and
`execute_tool <name>` spans (`agent/telemetry.py`). Its own context is what the result event
carries on as `traceparent`: same trace id as the request, parent the job's span.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.agent_executor.agent.telemetry import ERROR_TYPE, OPERATION, TRACER_NAME

JOB_SPAN = "invoke_agent"
JOB_ID = "agent_executor.job_id"
CONVERSATION_ID = "gen_ai.conversation.id"
HANDLED = "agent_executor.handled"
OUTCOME = "agent_executor.outcome"
REPUBLISHED = "agent_executor.republished"

_PROPAGATOR = TraceContextTextMapPropagator()


class TracingSettings(BaseSettings):
    """The standard OpenTelemetry variables that decide whether traces are exported."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    # Strings, not bools: the OpenTelemetry spec reads only "true" (any case) as true and
    # anything else as false; a typo must not stop the worker.
    OTEL_SDK_DISABLED: str = ""
    OTEL_TRACES_EXPORTER: str = "otlp"
    OTEL_EXPORTER_OTLP_ENDPOINT: str = ""
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: str = ""
    OTEL_SERVICE_NAME: str = "agent-executor"


def tracing_enabled(settings: TracingSettings) -> bool:
    """True when spans are to be exported: an OTLP endpoint is set and nothing turns it off."""
    if settings.OTEL_SDK_DISABLED.strip().lower() == "true":
        return False
    if settings.OTEL_TRACES_EXPORTER.strip().lower() == "none":
        return False
    endpoint = settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or settings.OTEL_EXPORTER_OTLP_ENDPOINT
    return bool(endpoint.strip())


def start_tracing(settings: TracingSettings | None = None) -> TracerProvider | None:
    """Install the exporting provider when tracing is on; the provider, to shut down at exit."""
    settings = settings or TracingSettings()
    if not tracing_enabled(settings):
        return None
    # Imported only when used: the exporter pulls in protobuf and requests.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.OTEL_SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def stop_tracing(provider: TracerProvider | None) -> None:
    """Export what is still batched, then stop the exporter (at the worker's exit)."""
    if provider is not None:
        provider.shutdown()


def parse_traceparent(traceparent: str | None) -> trace.SpanContext | None:
    """The span context a W3C `traceparent` names, or None when absent or malformed."""
    if not traceparent:
        return None
    context = _PROPAGATOR.extract({"traceparent": traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return span_context if span_context.is_valid else None


def format_traceparent(span_context: trace.SpanContext) -> str:
    """`span_context` as a W3C `traceparent` header value."""
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def outgoing_traceparent(span: Span, incoming: str | None) -> str | None:
    """What the result event carries: the job span's context when it records, else the input's.

    Either way the trace id is the request's; only a recorded span may become a parent, so
    with tracing off the incoming value passes on unchanged.
    """
    span_context = span.get_span_context()
    if span.is_recording() and span_context.is_valid:
        return format_traceparent(span_context)
    return incoming


def log_trace_id(traceparent: str | None, event_trace_id: str | None) -> str | None:
    """The `trace_id` of a job's log lines: the W3C trace id, else the event's `trace_id`."""
    span_context = parse_traceparent(traceparent)
    if span_context is not None:
        return f"{span_context.trace_id:032x}"
    return event_trace_id


@dataclass
class JobTrace:
    """The job attempt's span, and the trace context that leaves with its result."""

    span: Span
    traceparent: str | None
    trace_id: str | None = field(default=None)

    def finish(self, handled: str, outcome: str | None, error_type: str, republished: bool) -> None:
        """Record how the attempt ended; anything but a completed run is an ERROR status."""
        if not self.span.is_recording():
            return
        self.span.set_attribute(HANDLED, handled)
        if outcome is not None:
            self.span.set_attribute(OUTCOME, outcome)
        if republished:
            self.span.set_attribute(REPUBLISHED, True)
        if error_type:
            self.span.set_attribute(ERROR_TYPE, error_type)
            self.span.set_status(Status(StatusCode.ERROR, error_type))


@contextmanager
def job_trace(job_id: str, incoming: str | None, event_trace_id: str | None) -> Iterator[JobTrace]:
    """The span of one job attempt, current inside the block, parented on `incoming`."""
    parent = parse_traceparent(incoming)
    context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        JOB_SPAN,
        context=context,
        kind=SpanKind.CONSUMER,
        attributes={OPERATION: "invoke_agent", JOB_ID: job_id, CONVERSATION_ID: job_id},
    ) as span:
        traceparent = outgoing_traceparent(span, incoming)
        yield JobTrace(span, traceparent, log_trace_id(traceparent, event_trace_id))
