"""Governance decisions: which failures are violations and how severe, which control bodies
are valid, where a control subject goes, and what a producer may publish."""

from __future__ import annotations

import json

import pytest

from contract import control, governance
from contract.nats import subjects_overlap
from contract.nats_permissions import PRODUCER, WORKER
from workers.agent_executor.agent.ports import (
    AgentError,
    BudgetExceededError,
    InvalidAgentDefinitionError,
)
from workers.agent_executor.governance import violation_of
from workers.agent_executor.runner import (
    JobCancelledError,
    ResultTooLargeError,
    StepLimitExceededError,
    TimeoutExceededError,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (BudgetExceededError("per-run spent"), ("BudgetExceeded", "medium", {"scope": "per_run"})),
        (
            BudgetExceededError("daily spent", scope="daily"),
            ("BudgetExceeded", "high", {"scope": "daily"}),
        ),
        (StepLimitExceededError("steps"), ("StepLimitExceeded", "medium", {})),
        (TimeoutExceededError("time"), ("TimeoutExceeded", "medium", {})),
        (ResultTooLargeError("size"), ("ResultTooLarge", "low", {})),
        (JobCancelledError("cancelled"), None),
        (InvalidAgentDefinitionError("bad"), None),
        (AgentError("other"), None),
    ],
)
def test_a_job_failure_is_a_violation_only_when_a_policy_stopped_it(
    error: AgentError, expected: tuple[str, str, dict[str, str]] | None
) -> None:
    found = violation_of(error)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.type, found.severity, found.context) == expected
        assert found.description == str(error)


@pytest.mark.parametrize(
    ("violation_type", "scope", "severity"),
    [
        ("BudgetExceeded", "per_run", "medium"),
        ("BudgetExceeded", "daily", "high"),
        ("StepLimitExceeded", None, "medium"),
        ("TimeoutExceeded", None, "medium"),
        ("ResultTooLarge", None, "low"),
        ("ToolScriptRefused", None, "high"),
        ("JobIdConflict", None, "high"),
    ],
)
def test_severity_of_each_violation(violation_type: str, scope: str | None, severity: str) -> None:
    assert governance.severity(violation_type, scope) == severity


def test_every_violation_type_has_a_severity() -> None:
    assert set(governance.SEVERITY_OF) == set(governance.ViolationType.__args__)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "body", "expected"),
    [
        ("set_budget", b'{"token_budget_per_run": 5000}', 5000),
        ("set_budget", b'{"command": "set_budget", "token_budget_per_run": 1}', 1),
        ("set_budget", b'{"token_budget_per_run": null, "reason": "incident over"}', None),
        ("flush_cache", b"", None),
        ("flush_cache", b"{}", None),
        ("flush_cache", b'{"command": "flush_cache"}', None),
    ],
)
def test_valid_command_bodies(command: str, body: bytes, expected: int | None) -> None:
    parsed = control.parse_command(command, body)
    assert parsed.command == command
    if isinstance(parsed, control.SetBudget):
        assert parsed.token_budget_per_run == expected


@pytest.mark.parametrize(
    ("command", "body", "says"),
    [
        ("set_budget", b"{}", "token_budget_per_run: Field required"),
        ("set_budget", b"", "token_budget_per_run: Field required"),
        ("set_budget", b'{"token_budget_per_run": 0}', "greater than or equal to 1"),
        ("set_budget", b'{"token_budget_per_run": -5}', "greater than or equal to 1"),
        ("set_budget", b'{"token_budget_per_run": 10000000000}', "less than or equal to"),
        ("set_budget", b'{"token_budget_per_run": "5000"}', "valid integer"),
        ("set_budget", b'{"token_budget_per_run": true}', "valid integer"),
        ("set_budget", b'{"token_budget_per_run": 5000.5}', "valid integer"),
        ("set_budget", b'{"tokens": 5000}', "tokens: Extra inputs are not permitted"),
        ("set_budget", b'{"command": "flush_cache", "token_budget_per_run": 1}', "command:"),
        ("set_budget", b"not json", "Invalid JSON"),
        ("set_budget", b"[1]", "body: Input should be an object"),
        ("flush_cache", b'{"everything": true}', "everything: Extra inputs"),
        ("flush_cache", b'{"command": "set_budget"}', "command:"),
    ],
)
def test_invalid_command_bodies_are_refused_naming_the_field(
    command: str, body: bytes, says: str
) -> None:
    with pytest.raises(control.InvalidCommandError) as refused:
        control.parse_command(command, body)
    assert str(refused.value).startswith(f"invalid {command} command: ")
    assert says in str(refused.value)


def test_a_refusal_never_echoes_the_body() -> None:
    secret = "sk-do-not-echo-me"
    with pytest.raises(control.InvalidCommandError) as refused:
        control.parse_command("set_budget", json.dumps({"token_budget_per_run": secret}).encode())
    assert secret not in str(refused.value)


def _allows(grants: tuple[str, ...], subject: str) -> bool:
    return any(subjects_overlap(grant, subject) for grant in grants)


@pytest.mark.parametrize(
    ("subject", "producer_may_publish"),
    [
        ("agent.control.cancel.job-1", True),
        ("agent.control.heartbeat", True),
        ("agent.control.set_budget", True),
        ("agent.control.flush_cache", True),
        ("agent.control.escalate", False),
        ("agent.control.anything", False),
        ("agent.governance.violation", False),
    ],
)
def test_a_producer_sends_commands_but_never_announces_for_the_workers(
    subject: str, producer_may_publish: bool
) -> None:
    assert _allows(PRODUCER.publish, subject) is producer_may_publish


@pytest.mark.parametrize("subject", ["agent.governance.violation", "agent.control.escalate"])
def test_workers_announce_and_producers_hear_governance_events(subject: str) -> None:
    assert _allows(WORKER.publish, subject)
    assert _allows(PRODUCER.subscribe, subject)


@pytest.mark.parametrize("subject", ["agent.control.set_budget", "agent.control.flush_cache"])
def test_workers_hear_the_commands_and_may_answer(subject: str) -> None:
    assert _allows(WORKER.subscribe, subject) and WORKER.allow_responses
