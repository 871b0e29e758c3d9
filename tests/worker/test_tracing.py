"""Traces of real job runs: the span tree under the event's traceparent, and OTLP export.

The in-process tests run the whole app (its lifespan connects the real NATS, PostgreSQL and
Redis and starts the consumer) with an in-memory exporter on the global provider; the export
test runs the worker process against a local HTTP server that receives OTLP/HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from testbed.fake_openai import FakeOpenAI, ToolCall, error, text, tool_calls
from testbed.servers import NatsServer, eventually
from testbed.worker import Worker, cloudevent, job, publish, wait_result
from workers.agent_executor.app import create_app
from workers.agent_executor.logs import configure
from workers.agent_executor.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    """Every span this process ends, kept in memory (the global provider is set only once)."""
    # As the worker process logs: structlog's development renderer formats a traceback with
    # every frame's locals, slowly enough to miss in-progress heartbeats.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure("INFO")
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@dataclass
class Trace:
    """A fresh incoming trace context, as a producer would send it."""

    trace_id: str = field(default_factory=lambda: secrets.token_hex(16))
    parent_span_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.parent_span_id}-01"

    def spans(self, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
        wanted = int(self.trace_id, 16)
        return [
            s
            for s in exporter.get_finished_spans()
            if s.context is not None and s.context.trace_id == wanted
        ]


def run_in_process(
    worker_env: dict[str, str], nats: NatsServer, body: dict[str, Any], tp: str
) -> dict[str, Any]:
    """Run one job through the app's own consumer; its result event."""
    event = {**cloudevent(body), "traceparent": tp}
    with TestClient(create_app(Settings(**worker_env))):  # type: ignore[arg-type]
        asyncio.run(publish(nats.url, event))
        return wait_result(nats, body["job_id"])


def by_name(spans: list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def test_a_job_is_one_span_under_the_events_traceparent_with_its_llm_and_tool_calls_below(
    worker_env: dict[str, str],
    nats: NatsServer,
    fake: FakeOpenAI,
    exported: InMemorySpanExporter,
) -> None:
    incoming = Trace()
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/r.md", "content": "r"}), usage=(21, 4)),
        text("written", usage=(30, 2)),
    )
    body = job()
    result = run_in_process(worker_env, nats, body, incoming.traceparent)
    assert result["nats_subject"] == "agent.status.completed"

    spans = by_name(incoming.spans(exported))
    assert sorted(spans) == ["chat gpt-test", "execute_tool write_file", "invoke_agent"]
    (job_span,) = spans["invoke_agent"]
    assert job_span.parent is not None and job_span.parent.is_remote
    assert f"{job_span.parent.span_id:016x}" == incoming.parent_span_id
    assert job_span.kind is SpanKind.CONSUMER
    assert job_span.attributes is not None
    assert job_span.attributes["agent_executor.job_id"] == body["job_id"]
    assert job_span.attributes["agent_executor.outcome"] == "completed"
    assert job_span.status.status_code is StatusCode.UNSET

    chats = sorted(spans["chat gpt-test"], key=lambda s: s.start_time or 0)
    assert len(chats) == 2
    for chat in chats:
        assert chat.parent is not None and job_span.context is not None
        assert chat.parent.span_id == job_span.context.span_id
        assert chat.kind is SpanKind.CLIENT
        assert chat.end_time is not None and chat.start_time is not None
        assert chat.end_time > chat.start_time  # the latency is the span's duration
    first = dict(chats[0].attributes or {})
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.provider.name"] == "openai"
    assert first["gen_ai.request.model"] == "gpt-test"
    assert (first["gen_ai.usage.input_tokens"], first["gen_ai.usage.output_tokens"]) == (21, 4)
    second = dict(chats[1].attributes or {})
    assert (second["gen_ai.usage.input_tokens"], second["gen_ai.usage.output_tokens"]) == (30, 2)

    (tool,) = spans["execute_tool write_file"]
    assert tool.parent is not None and job_span.context is not None
    assert tool.parent.span_id == job_span.context.span_id
    assert dict(tool.attributes or {}) | {"gen_ai.tool.call.id": "-"} == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "write_file",
        "gen_ai.tool.call.id": "-",
        "gen_ai.tool.type": "function",
        "agent_executor.tool.kind": "builtin",
    }
    # Prompts and file contents never become attributes.
    values = [v for s in incoming.spans(exported) for v in (s.attributes or {}).values()]
    assert all("r.md" not in str(v) for v in values)

    # The result continues the request's trace, from the job's span.
    assert result["traceparent"] == f"00-{incoming.trace_id}-{job_span.context.span_id:016x}-01"


def test_a_failed_job_and_its_failed_llm_call_are_error_spans(
    worker_env: dict[str, str],
    nats: NatsServer,
    fake: FakeOpenAI,
    exported: InMemorySpanExporter,
) -> None:
    incoming = Trace()
    fake.script(error(400))  # a request the provider refuses: not retried, the job fails
    body = job()
    result = run_in_process(worker_env, nats, body, incoming.traceparent)
    assert result["data"]["error"]["type"] == "InternalError"

    spans = by_name(incoming.spans(exported))
    (job_span,) = spans["invoke_agent"]
    assert job_span.status.status_code is StatusCode.ERROR
    assert job_span.attributes is not None
    assert job_span.attributes["error.type"] == "InternalError"
    assert job_span.attributes["agent_executor.outcome"] == "failed"
    (chat,) = spans["chat gpt-test"]
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes is not None
    assert chat.attributes["error.type"] == "BadRequestError"


def test_a_retried_attempt_is_its_own_error_span_beside_the_one_that_completes(
    worker_env: dict[str, str],
    nats: NatsServer,
    fake: FakeOpenAI,
    exported: InMemorySpanExporter,
) -> None:
    incoming = Trace()
    fake.fail_next(1, status=503, retry_after=None)
    fake.script(text("second time lucky"))
    body = job()
    run_in_process(worker_env, nats, body, incoming.traceparent)

    attempts = sorted(
        by_name(incoming.spans(exported))["invoke_agent"], key=lambda s: s.start_time or 0
    )
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.UNSET]
    assert attempts[0].attributes is not None
    assert attempts[0].attributes["error.type"] == "LLMUnavailable"
    # Both attempts hang under the producer's span: siblings, not a chain.
    assert {f"{s.parent.span_id:016x}" for s in attempts if s.parent} == {incoming.parent_span_id}


class OtlpReceiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint: keeps each POST's path, content type and body; answers 200."""

    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.received.append(
            (self.path, self.headers.get("Content-Type") or "", self.rfile.read(size))
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def otlp_endpoint() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Receiver", (OtlpReceiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def exported_spans(received: list[tuple[str, str, bytes]]) -> list[tuple[dict[str, Any], Any]]:
    """(resource attributes, span) of every span the endpoint received."""
    spans = []
    for _, _, body in received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                spans += [(resource, span) for span in scope.spans]
    return spans


def test_with_an_otlp_endpoint_set_the_worker_posts_its_spans_there(
    start_worker: Callable[..., Worker],
    nats: NatsServer,
    fake: FakeOpenAI,
    otlp_endpoint: tuple[str, list[tuple[str, str, bytes]]],
) -> None:
    url, received = otlp_endpoint
    start_worker(
        OTEL_EXPORTER_OTLP_ENDPOINT=url,
        OTEL_SERVICE_NAME="executor-under-test",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    incoming = Trace()
    fake.script(text("traced"))
    body = job()
    asyncio.run(publish(nats.url, {**cloudevent(body), "traceparent": incoming.traceparent}))
    wait_result(nats, body["job_id"])

    def job_span_arrived() -> bool:
        return any(span.name == "invoke_agent" for _, span in exported_spans(received))

    eventually(job_span_arrived, 20, "the job's span at the OTLP endpoint")
    assert {(path, kind) for path, kind, _ in received} == {
        ("/v1/traces", "application/x-protobuf")
    }
    ours = [
        (resource, span)
        for resource, span in exported_spans(received)
        if span.trace_id.hex() == incoming.trace_id
    ]
    assert {span.name for _, span in ours} == {"invoke_agent", "chat gpt-test"}
    assert {resource["service.name"] for resource, _ in ours} == {"executor-under-test"}
