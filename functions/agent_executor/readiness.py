"""Readiness of composed resources and the XR status, from observed state (pure, total)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.agent_executor import names
from functions.agent_executor.names import Workload
from functions.agent_executor.observed import ObservedReader
from functions.agent_executor.spec import AgentExecutorSpec, AgentExecutorStatus

CONDITION_TYPE = "ExecutorReady"
UNREADABLE = "ObservedStateUnreadable"
# Kinds whose operators publish a `Ready` condition worth waiting for.
_READY_CONDITION = {names.SCALED_OBJECT, names.NATS_STREAM, names.NATS_CONSUMER}


@dataclass(frozen=True)
class Readiness:
    """Whether a composed resource is ready, and if not, why."""

    ready: bool
    reason: str
    message: str = ""


def unreadable(problems: tuple[str, ...]) -> Readiness:
    """Not ready, naming what could not be read.

    A verdict on state that cannot be read would be a guess; "not ready" is the safe one.
    """
    return Readiness(False, UNREADABLE, "cannot read its observed state: " + "; ".join(problems))


_unreadable = unreadable


def deployment_readiness(observed: object) -> Readiness:
    """Ready: Available, latest spec observed, every wanted pod updated and ready."""
    read = ObservedReader(observed)
    wanted = read.count("spec.replicas", default=1)
    updated, ready = read.count("status.updatedReplicas"), read.count("status.readyReplicas")
    generation = read.count("metadata.generation")
    seen_generation = read.count("status.observedGeneration")
    available = read.condition("Available")
    if read.problems:
        return _unreadable(read.problems)
    if seen_generation < generation:
        return Readiness(
            False, "RolloutPending", "the Deployment controller has not seen the latest spec"
        )
    if available is None or available.status != "True":
        detail = (available.message if available else "") or "no Available condition yet"
        return Readiness(
            False, "DeploymentUnavailable", f"{ready}/{wanted} replicas ready: {detail}"
        )
    if updated < wanted or ready < wanted:
        return Readiness(
            False, "RolloutInProgress", f"{updated}/{wanted} replicas updated, {ready} ready"
        )
    return Readiness(True, "Available", f"{ready}/{wanted} replicas ready")


def condition_readiness(observed: object) -> Readiness:
    """Ready when the operator reports `Ready=True`."""
    read = ObservedReader(observed)
    ready = read.condition("Ready")
    if read.problems:
        return _unreadable(read.problems)
    if ready is None:
        return Readiness(False, "Pending", "no Ready condition yet")
    if ready.status != "True":
        return Readiness(False, ready.reason or "NotReady", ready.message)
    return Readiness(True, "Ready")


def resource_readiness(name: str, observed: object | None) -> Readiness:
    """Readiness of the composed resource `name` given what Crossplane observed of it.

    Total over any JSON-shaped `observed`: a field of the wrong shape makes the
    resource not ready with reason `ObservedStateUnreadable`, naming the field.
    """
    if observed is None:
        return Readiness(False, "Creating", "not observed yet")
    if name == names.DEPLOYMENT:
        return deployment_readiness(observed)
    if name in _READY_CONDITION:
        return condition_readiness(observed)
    return Readiness(True, "Exists")


def xr_status(
    workload: Workload, spec: AgentExecutorSpec, observed_deployment: object | None
) -> AgentExecutorStatus:
    """The status fields the function owns on the XR; replica counts it cannot read are 0."""
    read = ObservedReader(observed_deployment)
    return AgentExecutorStatus(
        replicas=read.count("status.replicas"),
        ready_replicas=read.count("status.readyReplicas"),
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
