"""Reporting policy violations and escalations: count, log, publish; never fail a job.

Every place that detects a violation calls `GOVERNANCE.violation(...)` (a job-id conflict in
`handling.conflict`, a limit or budget in the runner, a refused tool script through the
run's `PolicyReporter`); a dead letter calls `GOVERNANCE.escalate(...)`. Each is counted and
logged at once, then published as a CloudEvent on core NATS from a background task: a
publish that fails is logged and dropped, so a job is neither failed nor held up by it.

The process has one reporter; the service attaches its NATS connection at start. Without
one (a process serving HTTP only, before start) violations are still counted and logged.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from contract import governance
from contract.nats import DLQ_PREFIX, MSG_ID_HEADER, subject_token
from workers.agent_executor.agent.ports import AgentError, BudgetExceededError
from workers.agent_executor.metrics import GOVERNANCE_VIOLATIONS

log = structlog.get_logger()

# At shutdown, how long events still being handed to NATS may hold up the drain.
FLUSH_SECONDS = 2.0
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
# Violations that end a job, by the job's error type (the violation type is the same name).
FAILURE_VIOLATIONS = frozenset(
    t
    for t in governance.SEVERITY_OF
    if t not in (governance.TOOL_SCRIPT_REFUSED, governance.JOB_ID_CONFLICT)
)


def violation_of(error: AgentError) -> governance.Violation | None:
    """The policy violation a job failure stands for, or None when it is not one."""
    if error.type not in FAILURE_VIOLATIONS:
        return None
    scope = error.scope if isinstance(error, BudgetExceededError) else None
    context: dict[str, Any] = {"scope": scope} if scope else {}
    return governance.Violation(
        type=error.type,  # one of FAILURE_VIOLATIONS: validated by the model
        severity=governance.severity(error.type, scope),
        description=str(error)[:2000],
        context=context,
    )


class Governance:
    """Counts, logs and publishes violations and escalations for this process."""

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker or socket.gethostname()
        self.nc: NatsClient | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def attach(self, nc: NatsClient | None, worker: str | None = None) -> None:
        """Publish through `nc` from now on (None: count and log only), as `worker` (the pod's
        name, POD_NAME) when given."""
        self.nc = nc
        if worker:
            self.worker = worker

    def violation(self, job_id: str | None, violation: governance.Violation) -> None:
        """Count, log and publish one violation."""
        GOVERNANCE_VIOLATIONS.labels(type=violation.type, severity=violation.severity).inc()
        log.warning(
            "policy violation",
            job_id=job_id,
            violation=violation.type,
            severity=violation.severity,
            description=violation.description,
        )
        data = governance.ViolationData(job_id=job_id, worker=self.worker, violation=violation)
        self._send(
            governance.VIOLATION_SUBJECT,
            governance.VIOLATION_TYPE,
            job_id or "unknown",
            data,
            msg_id=None,
        )

    def report(
        self,
        job_id: str | None,
        violation_type: governance.ViolationType,
        description: str,
        **context: Any,
    ) -> None:
        """A violation of `violation_type` (severity from the contract's table)."""
        self.violation(
            job_id,
            governance.Violation(
                type=violation_type,
                severity=governance.severity(violation_type),
                description=description[:2000],
                context=context,
            ),
        )

    def escalate(
        self,
        key: str,
        job_id: str | None,
        reason: str,
        error_type: str,
        deliveries: int,
        max_deliver: int | None,
    ) -> None:
        """Announce a dead letter on agent.control.escalate (after its copy is stored)."""
        data = governance.EscalationData(
            job_id=job_id,
            key=key,
            reason=reason[:2000],
            error_type=error_type,
            deliveries=max(deliveries, 1),
            max_deliver=max_deliver,
            dead_letter_subject=DLQ_PREFIX + subject_token(key),
            worker=self.worker,
        )
        log.warning("escalated", job_id=job_id, key=key, deliveries=deliveries)
        # One escalation per dead letter: a retried dead-letter publish must not repeat it
        # for subscribers that read it from a stream.
        self._send(
            governance.ESCALATE_SUBJECT,
            governance.ESCALATE_TYPE,
            key,
            data,
            msg_id=f"{key}.escalate",
        )

    def _send(
        self, subject: str, event_type: str, about: str, data: BaseModel, msg_id: str | None
    ) -> None:
        if self.nc is None:
            return
        event = governance.cloudevent(event_type, about, data)
        headers = {"Content-Type": CONTENT_TYPE}
        if msg_id:
            headers[MSG_ID_HEADER] = msg_id
        body = json.dumps(event, separators=(",", ":")).encode()
        try:
            task = asyncio.get_running_loop().create_task(self._publish(subject, body, headers))
        except RuntimeError:
            return  # no event loop (a synchronous caller): counted and logged only
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        nc = self.nc
        if nc is None:
            return
        try:
            await nc.publish(subject, body, headers=headers)
        except Exception as exc:
            log.warning("governance event not published", subject=subject, error=str(exc))

    async def flush(self) -> None:
        """Wait (bounded) for events still being handed to NATS: before the connection drains."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=FLUSH_SECONDS)


GOVERNANCE = Governance()
