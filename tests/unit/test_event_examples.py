"""The examples in docs/event_examples are what the contract says and what the worker does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from contract.control import FlushCache, SetBudget
from contract.event_models import (
    CancelRequest,
    CompletedEvent,
    DeadLetterHeaders,
    EscalationEvent,
    ExecuteEvent,
    FailedEvent,
    JobExecution,
    ViolationEvent,
)
from contract.events import COMPLETED_TYPE, EXECUTE_TYPE, FAILED_TYPE, RESULT_SOURCE
from contract.heartbeats import HeartbeatEvent
from contract.nats import CANCEL_PREFIX, DLQ_PREFIX, MSG_ID_HEADER, subject_token
from workers.agent_executor.envelope import parse_message
from workers.agent_executor.results import result_event
from workers.agent_executor.runner import failure

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "event_examples"

# The model of each example's body, by the file name's first part: `<what>.<variant>.json`.
EXAMPLE_MODELS: dict[str, dict[str, type[BaseModel]]] = {
    "execute": {"structured": ExecuteEvent, "bare": JobExecution},
    "status": {"completed": CompletedEvent, "failed": FailedEvent},
    "dlq": {"copy": JobExecution},
    "control": {
        "cancel": CancelRequest,
        "set_budget": SetBudget,
        "flush_cache": FlushCache,
        "escalate": EscalationEvent,
    },
    "governance": {"violation": ViolationEvent},
    "heartbeat": {"worker": HeartbeatEvent},
}


def load(name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    assert set(example) == {"subject", "headers", "body"}, name
    return example


def example_files() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("name", example_files())
def test_every_example_body_is_valid_under_its_model(name: str) -> None:
    what, variant, _ = name.split(".")
    model = EXAMPLE_MODELS[what][variant]
    model.model_validate(load(name)["body"])


def test_every_kind_of_message_the_worker_handles_has_an_example() -> None:
    have = {tuple(name.split(".")[:2]) for name in example_files()}
    wanted = {(what, variant) for what, variants in EXAMPLE_MODELS.items() for variant in variants}
    assert wanted <= have


@pytest.mark.parametrize("name", ["execute.structured.json", "execute.bare.json"])
def test_the_worker_accepts_the_execute_examples_with_their_trace_context(name: str) -> None:
    example = load(name)
    envelope = parse_message(json.dumps(example["body"]).encode(), example["headers"])
    assert envelope.mode == name.split(".")[1]
    assert envelope.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert example["subject"].startswith("agent.execute.")


@pytest.mark.parametrize(
    ("name", "outcome"),
    [("status.completed.json", "completed"), ("status.failed.json", "failed")],
)
def test_result_examples_have_exactly_the_attributes_and_headers_the_worker_sends(
    name: str, outcome: str
) -> None:
    example = load(name)
    body = example["body"]
    job_id = body["data"]["job_id"]
    data = (
        {"result": body["data"]["result"]}
        if outcome == "completed"
        else failure("any", "InternalError")
    )
    made = result_event(job_id, outcome, data, body["traceparent"])  # type: ignore[arg-type]
    assert set(made) == set(body)
    # What the worker makes validates too: the model is the producer's shape, not a wish.
    {"completed": CompletedEvent, "failed": FailedEvent}[outcome].model_validate(made)
    assert example["subject"] == f"agent.status.{outcome}"
    assert example["headers"][MSG_ID_HEADER] == f"{job_id}.{outcome}"
    assert example["headers"]["traceparent"] == body["traceparent"]
    assert body["subject"] == job_id


def test_the_dead_letter_example_is_the_original_message_with_the_reason_headers() -> None:
    example = load("dlq.copy.json")
    headers = DeadLetterHeaders.model_validate(example["headers"])
    job_id = example["body"]["job_id"]
    assert example["subject"] == DLQ_PREFIX + subject_token(job_id)
    assert headers.msg_id == f"{job_id}.dlq"


def test_the_cancel_example_names_its_job_in_subject_and_body() -> None:
    example = load("control.cancel.json")
    assert example["subject"] == CANCEL_PREFIX + example["body"]["job_id"]


def test_a_wrong_example_is_refused() -> None:
    body = load("status.failed.json")["body"]
    with pytest.raises(ValueError, match="type"):
        FailedEvent.model_validate({**body, "data": {"job_id": "x", "error": {"message": "m"}}})
    with pytest.raises(ValueError, match="extra"):
        FailedEvent.model_validate({**body, "severity": "high"})


def test_the_models_literals_are_the_contracts_constants() -> None:
    def literal(model: type[BaseModel], field: str) -> tuple[object, ...]:
        return get_args(model.model_fields[field].annotation)

    assert literal(ExecuteEvent, "type") == (EXECUTE_TYPE,)
    assert literal(CompletedEvent, "type") == (COMPLETED_TYPE,)
    assert literal(FailedEvent, "type") == (FAILED_TYPE,)
    assert literal(CompletedEvent, "source") == literal(FailedEvent, "source") == (RESULT_SOURCE,)


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("control.set_budget.json", "agent.control.set_budget"),
        ("control.flush_cache.json", "agent.control.flush_cache"),
        ("control.escalate.json", "agent.control.escalate"),
        ("governance.violation.json", "agent.governance.violation"),
    ],
)
def test_control_and_governance_examples_are_on_the_contracts_subjects(
    name: str, subject: str
) -> None:
    from contract.governance import ESCALATE_SUBJECT, VIOLATION_SUBJECT
    from contract.nats import CONTROL_PREFIX

    assert load(name)["subject"] == subject
    assert subject in {ESCALATE_SUBJECT, VIOLATION_SUBJECT} or subject.startswith(CONTROL_PREFIX)


def test_the_heartbeat_example_is_on_its_pods_subject() -> None:
    from contract.heartbeats import heartbeat_subject

    example = load("heartbeat.worker.json")
    status = HeartbeatEvent.model_validate(example["body"]).data
    assert example["subject"] == heartbeat_subject(status.namespace, status.executor, status.pod)
