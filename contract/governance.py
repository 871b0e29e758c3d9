"""Governance events: policy violations and escalations (DESIGN section 6, "Control and
governance").

A policy violation is published as a structured CloudEvent on `agent.governance.violation`
and counted in `agent_executor_governance_violations_total{type, severity}`; a dead-lettered
job is escalated on `agent.control.escalate` (seed 001: "escalate - emitted by router after
3 failed deliver attempts"). The shape of `data.violation` follows the violation report of
seed 003 (`type`, `severity`, `description`, `context`), with the job id in place of an
agent id. Producers subscribe to both subjects (contract/nats_permissions.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract import limits
from contract.events import RESULT_SOURCE
from contract.nats import CONTROL_PREFIX, GOVERNANCE_PREFIX

VIOLATION_SUBJECT = GOVERNANCE_PREFIX + "violation"
ESCALATE_SUBJECT = CONTROL_PREFIX + "escalate"
VIOLATION_TYPE = "dev.my-platform.agent.governance.violation"
ESCALATE_TYPE = "dev.my-platform.agent.escalate"

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

# Violation types: the error type a job fails with where there is one, so a failed result
# and its violation name the same thing.
BUDGET_EXCEEDED = "BudgetExceeded"
TOOL_SCRIPT_REFUSED = "ToolScriptRefused"
JOB_ID_CONFLICT = "JobIdConflict"
ViolationType = Literal[
    "BudgetExceeded",
    "StepLimitExceeded",
    "TimeoutExceeded",
    "ResultTooLarge",
    "ToolScriptRefused",
    "JobIdConflict",
]

# How bad each violation is. A per-run limit stops one job (medium); a result too large
# loses nothing (the ledger keeps it whole: low); the daily budget stops every job of the
# tenant, a tool script on a worker that forbids them may be an injection attempt, and a
# job id reused for another job may be an attempt to overwrite another's result (high).
# `critical` is reserved for violations that need a human now; none is that yet.
SEVERITY_OF: dict[str, Severity] = {
    BUDGET_EXCEEDED: "medium",
    limits.STEP_LIMIT_EXCEEDED: "medium",
    limits.TIMEOUT_EXCEEDED: "medium",
    limits.RESULT_TOO_LARGE: "low",
    TOOL_SCRIPT_REFUSED: "high",
    JOB_ID_CONFLICT: "high",
}
DAILY_BUDGET_SEVERITY: Severity = "high"


def severity(violation_type: str, scope: str | None = None) -> Severity:
    """The severity of a violation of `violation_type` (a budget's `scope`: per_run, daily)."""
    if violation_type == BUDGET_EXCEEDED and scope == "daily":
        return DAILY_BUDGET_SEVERITY
    return SEVERITY_OF[violation_type]


class Violation(BaseModel):
    """What was violated, how badly, and the limit or value involved (never a secret)."""

    model_config = ConfigDict(extra="forbid")

    type: ViolationType
    severity: Severity
    description: str = Field(max_length=2000)
    context: dict[str, Any] = Field(default_factory=dict)


class ViolationData(BaseModel):
    """`data` of a violation event."""

    model_config = ConfigDict(extra="forbid")

    job_id: str | None
    worker: str
    violation: Violation


class EscalationData(BaseModel):
    """`data` of an escalation: a job (or a message without a usable id) was dead-lettered."""

    model_config = ConfigDict(extra="forbid")

    job_id: str | None
    # The dead-letter key: the job id, or `unknown-seq-<n>` for a message without one.
    key: str
    reason: str = Field(max_length=2000)
    error_type: str
    deliveries: int = Field(ge=1)
    max_deliver: int | None
    dead_letter_subject: str
    worker: str


def cloudevent(event_type: str, subject: str, data: BaseModel) -> dict[str, Any]:
    """A structured CloudEvent of the worker carrying `data`."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": RESULT_SOURCE,
        "type": event_type,
        "subject": subject,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": data.model_dump(mode="json"),
    }
