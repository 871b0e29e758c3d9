"""Input events: structured and binary CloudEvents, bare jobs, and what counts as poison."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.agent_executor.envelope import MAX_JSON_DEPTH, InvalidEventError, parse_message
from workers.agent_executor.results import result_event

JOB = {
    "job_id": "job-1",
    "agent_definition": {"nodes": []},
    "input_payload": {"messages": [{"role": "user", "content": "hi"}]},
    "trace_id": "t-1",
}


def structured(**overrides: object) -> bytes:
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "producer",
        "type": "dev.my-platform.agent.execute",
        "datacontenttype": "application/json",
        "data": JOB,
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }
    event.update(overrides)
    return json.dumps(event).encode()


BINARY_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "e-2",
    "ce-source": "producer",
    "ce-type": "dev.my-platform.agent.execute",
    "content-type": "application/json",
}
DROP = object()  # an attribute or header to leave out


def binary_headers(**changes: object) -> dict[str, str]:
    """The binary-mode headers with `ce_id="x"` (set) or `ce_id=DROP` (left out) changes."""
    headers = dict(BINARY_HEADERS)
    for name, value in changes.items():
        header = name.replace("_", "-")
        if value is DROP:
            headers.pop(header)
        else:
            headers[header] = str(value)
    return headers


def nested(levels: int) -> dict[str, Any]:
    """`levels` objects, each the only value of the one before."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def deep_json(levels: int) -> str:
    """JSON text of `levels` nested objects, deeper than `json.dumps` could write."""
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


def test_a_structured_cloudevent_carries_the_job_and_its_traceparent() -> None:
    envelope = parse_message(structured())
    assert envelope.mode == "structured"
    assert envelope.job.job_id == "job-1"
    assert envelope.event_id == "e-1"
    assert envelope.traceparent is not None and envelope.traceparent.startswith("00-4bf9")


def test_a_bare_job_execution_event_is_accepted() -> None:
    envelope = parse_message(json.dumps(JOB).encode())
    assert (envelope.mode, envelope.job.job_id) == ("bare", "job-1")


def test_a_binary_cloudevent_is_read_from_ce_headers() -> None:
    envelope = parse_message(json.dumps(JOB).encode(), BINARY_HEADERS)
    assert (envelope.mode, envelope.event_id, envelope.job.job_id) == ("binary", "e-2", "job-1")


def test_malformed_json_is_poison_without_a_job_id() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_message(b"{not json")
    assert caught.value.job_id is None


@pytest.mark.parametrize("body", [b"5", b'"job-1"', b"null", b"[]"])
def test_a_body_that_is_not_an_object_is_poison_without_a_job_id(body: bytes) -> None:
    with pytest.raises(InvalidEventError, match="valid dictionary") as caught:
        parse_message(body)
    assert caught.value.job_id is None


def test_a_binary_cloudevents_traceparent_comes_from_its_ce_traceparent_header() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = {**BINARY_HEADERS, "ce-traceparent": traceparent}
    assert parse_message(json.dumps(JOB).encode(), headers).traceparent == traceparent


def test_a_traceparent_attribute_that_is_not_a_string_is_ignored() -> None:
    envelope = parse_message(structured(traceparent=42), {"traceparent": "00-from-header"})
    assert envelope.traceparent == "00-from-header"


def test_a_job_missing_its_agent_definition_is_poison_that_names_the_job() -> None:
    body = structured(data={"job_id": "job-9", "input_payload": {}})
    with pytest.raises(InvalidEventError, match="agent_definition") as caught:
        parse_message(body)
    assert caught.value.job_id == "job-9"


def test_a_job_id_with_spaces_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="job_id"):
        parse_message(json.dumps({**JOB, "job_id": "has space"}).encode())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ce_id": DROP}, "binary CloudEvent: ce-id header is missing"),
        ({"ce_source": DROP}, "binary CloudEvent: ce-source header is missing"),
        ({"ce_type": DROP}, "binary CloudEvent: ce-type header is missing"),
        ({"ce_id": ""}, "binary CloudEvent: ce-id header must be a non-empty string"),
        ({"ce_specversion": "0.3"}, "binary CloudEvent: ce-specversion header is '0.3', not 1.0"),
        ({"ce_specversion": "2.0"}, "binary CloudEvent: ce-specversion header is '2.0', not 1.0"),
        (
            {"ce_type": "com.example.other"},
            "binary CloudEvent: ce-type header is 'com.example.other', "
            "not dev.my-platform.agent.execute",
        ),
    ],
    ids=["no-id", "no-source", "no-type", "empty-id", "specversion-0.3", "specversion-2.0", "type"],
)
def test_bad_binary_headers_are_named_and_the_bodys_job_id_is_kept(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_message(json.dumps(JOB).encode(), binary_headers(**changes))
    assert (str(caught.value), caught.value.job_id) == (message, "job-1")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": DROP}, "structured CloudEvent: id attribute is missing"),
        ({"source": DROP}, "structured CloudEvent: source attribute is missing"),
        ({"type": DROP}, "structured CloudEvent: type attribute is missing"),
        ({"id": ""}, "structured CloudEvent: id attribute must be a non-empty string"),
        ({"id": 7}, "structured CloudEvent: id attribute must be a non-empty string"),
        ({"source": None}, "structured CloudEvent: source attribute is missing"),
        ({"specversion": "0.3"}, "structured CloudEvent: specversion attribute is '0.3', not 1.0"),
        (
            {"specversion": 1.0},
            "structured CloudEvent: specversion attribute must be a non-empty string",
        ),
        (
            {"type": "com.example.other"},
            "structured CloudEvent: type attribute is 'com.example.other', "
            "not dev.my-platform.agent.execute",
        ),
    ],
    ids=[
        "no-id",
        "no-source",
        "no-type",
        "empty-id",
        "numeric-id",
        "null-source",
        "specversion-0.3",
        "numeric-specversion",
        "type",
    ],
)
def test_bad_structured_attributes_are_named_and_the_jobs_id_is_kept(
    changes: dict[str, object], message: str
) -> None:
    event = json.loads(structured())
    for name, value in changes.items():
        if value is DROP:
            del event[name]
        else:
            event[name] = value
    with pytest.raises(InvalidEventError) as caught:
        parse_message(json.dumps(event).encode())
    assert (str(caught.value), caught.value.job_id) == (message, "job-1")


@pytest.mark.parametrize(
    "job_id",
    ["has\x00nul", "has space", "x" * 201, "", 42, None],
    ids=["nul", "space", "201-chars", "empty", "number", "null"],
)
@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_a_poison_events_job_id_is_named_only_when_it_is_a_valid_id(
    job_id: object, mode: str
) -> None:
    # No agent_definition in structured mode, a bad header in binary mode: poison either way.
    job = {"job_id": job_id, "input_payload": {}}
    body, headers = (
        (structured(data=job), None)
        if mode == "structured"
        else (json.dumps(job).encode(), binary_headers(ce_id=DROP))
    )
    with pytest.raises(InvalidEventError) as caught:
        parse_message(body, headers)
    assert caught.value.job_id is None


def test_the_longest_valid_job_id_is_named_by_a_poison_event() -> None:
    longest = "x" * 200
    with pytest.raises(InvalidEventError) as caught:
        parse_message(structured(data={"job_id": longest, "input_payload": {}}))
    assert caught.value.job_id == longest


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        f'{{"job_id": "job-1", "agent_definition": {deep_json(10_000)}}}'.encode(),
        structured(data=f'{{"job_id": "job-1", "agent_definition": {deep_json(10_000)}}}'),
    ],
    ids=["arrays", "objects", "bare-job", "structured-data-as-a-string"],
)
def test_json_too_deep_to_read_is_poison_without_a_job_id(body: bytes) -> None:
    with pytest.raises(InvalidEventError, match="JSON nested too deeply") as caught:
        parse_message(body)
    assert caught.value.job_id is None


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (json.dumps({**JOB, "agent_definition": nested(500)}).encode(), None),
        (structured(data={**JOB, "input_payload": nested(500)}), None),
        (json.dumps({**JOB, "agent_definition": nested(500)}).encode(), BINARY_HEADERS),
        (
            f'{{"job_id": "job-1", "agent_definition": {{"a": {"[" * 500 + "]" * 500}}}}}'.encode(),
            None,
        ),
    ],
    ids=["bare", "structured", "binary", "lists"],
)
def test_json_readable_but_nested_past_the_limit_is_poison_that_names_the_job(
    body: bytes, headers: dict[str, str] | None
) -> None:
    with pytest.raises(InvalidEventError, match="JSON nested too deeply") as caught:
        parse_message(body, headers)
    assert caught.value.job_id == "job-1"


def test_a_job_nested_up_to_the_limit_is_accepted() -> None:
    # The bare job is the first level; its agent_definition takes the rest.
    body = json.dumps({**JOB, "agent_definition": nested(MAX_JSON_DEPTH - 1)}).encode()
    assert parse_message(body).job.job_id == "job-1"


def test_one_level_past_the_limit_is_refused() -> None:
    body = json.dumps({**JOB, "agent_definition": nested(MAX_JSON_DEPTH)}).encode()
    with pytest.raises(InvalidEventError, match=f"more than {MAX_JSON_DEPTH} levels"):
        parse_message(body)


def test_result_events_are_structured_cloudevents_about_the_job() -> None:
    event = result_event("job-1", "completed", {"result": {"output": "x"}}, "00-aa-bb-01")
    assert event["specversion"] == "1.0"
    assert event["source"] == "agent-executor-service"
    assert event["subject"] == "job-1"
    assert event["data"] == {"job_id": "job-1", "result": {"output": "x"}}
    assert event["traceparent"] == "00-aa-bb-01"
