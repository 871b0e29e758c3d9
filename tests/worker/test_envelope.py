"""Input events: structured and binary CloudEvents, bare jobs, and what counts as poison."""

from __future__ import annotations

import json

import pytest

from workers.agent_executor.envelope import InvalidEventError, parse_message
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
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "e-2",
        "ce-source": "producer",
        "ce-type": "dev.my-platform.agent.execute",
        "content-type": "application/json",
    }
    envelope = parse_message(json.dumps(JOB).encode(), headers)
    assert (envelope.mode, envelope.event_id, envelope.job.job_id) == ("binary", "e-2", "job-1")


def test_malformed_json_is_poison_without_a_job_id() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_message(b"{not json")
    assert caught.value.job_id is None


def test_a_job_missing_its_agent_definition_is_poison_that_names_the_job() -> None:
    body = structured(data={"job_id": "job-9", "input_payload": {}})
    with pytest.raises(InvalidEventError, match="agent_definition") as caught:
        parse_message(body)
    assert caught.value.job_id == "job-9"


def test_a_cloudevent_of_another_type_is_poison() -> None:
    with pytest.raises(InvalidEventError, match="type"):
        parse_message(structured(type="com.example.other"))


def test_a_job_id_with_spaces_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="job_id"):
        parse_message(json.dumps({**JOB, "job_id": "has space"}).encode())


def test_result_events_are_structured_cloudevents_about_the_job() -> None:
    event = result_event("job-1", "completed", {"result": {"output": "x"}}, "00-aa-bb-01")
    assert event["specversion"] == "1.0"
    assert event["source"] == "agent-executor-service"
    assert event["subject"] == "job-1"
    assert event["data"] == {"job_id": "job-1", "result": {"output": "x"}}
    assert event["traceparent"] == "00-aa-bb-01"
