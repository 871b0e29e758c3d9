"""Readiness of composed resources and the XR status, from observed state (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.agent_executor import names
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec, AgentExecutorStatus

CONDITION_TYPE = "ExecutorReady"
# Kinds whose operators publish a `Ready` condition worth waiting for.
_READY_CONDITION = {names.SCALED_OBJECT, names.NATS_STREAM, names.NATS_CONSUMER}


@dataclass(frozen=True)
class Readiness:
    """Whether a composed resource is ready, and if not, why."""

    ready: bool
    reason: str
    message: str = ""


def _condition(observed: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in observed.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def deployment_readiness(observed: dict[str, Any]) -> Readiness:
    """Ready: Available, latest spec observed, every wanted pod updated and ready."""
    status = observed.get("status", {}) or {}
    wanted = _int(observed.get("spec", {}).get("replicas", 1))
    updated, ready = _int(status.get("updatedReplicas")), _int(status.get("readyReplicas"))
    generation = _int(observed.get("metadata", {}).get("generation"))
    if _int(status.get("observedGeneration")) < generation:
        return Readiness(
            False, "RolloutPending", "the Deployment controller has not seen the latest spec"
        )
    available = _condition(observed, "Available")
    if available is None or available.get("status") != "True":
        detail = (available or {}).get("message") or "no Available condition yet"
        return Readiness(
            False, "DeploymentUnavailable", f"{ready}/{wanted} replicas ready: {detail}"
        )
    if updated < wanted or ready < wanted:
        return Readiness(
            False, "RolloutInProgress", f"{updated}/{wanted} replicas updated, {ready} ready"
        )
    return Readiness(True, "Available", f"{ready}/{wanted} replicas ready")


def condition_readiness(observed: dict[str, Any]) -> Readiness:
    """Ready when the operator reports `Ready=True`."""
    ready = _condition(observed, "Ready")
    if ready is None:
        return Readiness(False, "Pending", "no Ready condition yet")
    if ready.get("status") != "True":
        return Readiness(False, ready.get("reason") or "NotReady", ready.get("message") or "")
    return Readiness(True, "Ready")


def resource_readiness(name: str, observed: dict[str, Any] | None) -> Readiness:
    """Readiness of the composed resource `name` given what Crossplane observed of it."""
    if observed is None:
        return Readiness(False, "Creating", "not observed yet")
    if name == names.DEPLOYMENT:
        return deployment_readiness(observed)
    if name in _READY_CONDITION:
        return condition_readiness(observed)
    return Readiness(True, "Exists")


def xr_status(
    workload: Workload, spec: AgentExecutorSpec, observed_deployment: dict[str, Any] | None
) -> AgentExecutorStatus:
    """The status fields the function owns on the XR."""
    status = (observed_deployment or {}).get("status", {}) or {}
    return AgentExecutorStatus(
        replicas=_int(status.get("replicas")),
        ready_replicas=_int(status.get("readyReplicas")),
        image=spec.image,
        endpoint=workload.endpoint,
        stream=spec.nats.stream,
        consumer=spec.nats.consumer,
    )


def summarize(readiness: dict[str, Readiness]) -> Readiness:
    """One XR-level verdict: the first composed resource that is not ready, in a stable order."""
    for name in sorted(readiness):
        verdict = readiness[name]
        if not verdict.ready:
            message = f"{name}: {verdict.message}" if verdict.message else name
            return Readiness(False, verdict.reason, message)
    return Readiness(True, "Available", "every composed resource is ready")
