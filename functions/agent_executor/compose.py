"""Admit an AgentExecutor, then choose and build every composed resource (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.agent_executor import names
from functions.agent_executor.admission import admit
from functions.agent_executor.builders.deployment import build_deployment
from functions.agent_executor.builders.nats_jetstream import build_consumer, build_stream
from functions.agent_executor.builders.network_policy import build_network_policy
from functions.agent_executor.builders.pod_disruption_budget import (
    build_pod_disruption_budget,
    wants_pod_disruption_budget,
)
from functions.agent_executor.builders.retention import build_retention_cron_job
from functions.agent_executor.builders.scaled_object import build_scaled_object
from functions.agent_executor.builders.service import build_service
from functions.agent_executor.builders.service_account import build_service_account
from functions.agent_executor.builders.service_monitor import build_service_monitor
from functions.agent_executor.names import Workload
from functions.agent_executor.reply import EncodedResources
from functions.agent_executor.spec import AgentExecutorSpec
from functions.agent_executor.struct_wire import struct_bytes

Builder = Callable[[Workload, AgentExecutorSpec], dict[str, Any]]


def selected_builders(spec: AgentExecutorSpec) -> dict[str, Builder]:
    """Composition resource name → builder, for the resources this spec asks for."""
    builders: dict[str, Builder] = {
        names.SERVICE_ACCOUNT: build_service_account,
        names.DEPLOYMENT: build_deployment,
        names.SERVICE: build_service,
    }
    if spec.scaling.mode == "keda":
        builders[names.SCALED_OBJECT] = build_scaled_object
    if wants_pod_disruption_budget(spec):
        builders[names.POD_DISRUPTION_BUDGET] = build_pod_disruption_budget
    if spec.network_policy.enabled:
        builders[names.NETWORK_POLICY] = build_network_policy
    if spec.service_monitor.enabled:
        builders[names.SERVICE_MONITOR] = build_service_monitor
    if spec.nats.manage_stream:
        builders[names.NATS_STREAM] = build_stream
        builders[names.NATS_CONSUMER] = build_consumer
    if spec.retention.enabled:
        builders[names.RETENTION] = build_retention_cron_job
    return builders


def desired_resources(workload: Workload, spec: AgentExecutorSpec) -> dict[str, dict[str, Any]]:
    """Every composed resource's manifest, keyed by composition resource name."""
    return {name: build(workload, spec) for name, build in selected_builders(spec).items()}


@dataclass(frozen=True)
class Composed:
    """The verdict on one XR and, when admitted, its desired resources as encoded Structs."""

    workload: Workload
    spec: AgentExecutorSpec | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # The manifests as `google.protobuf.Struct` wire bytes, ready to go into a response as
    # they are (functions/agent_executor/reply.py).
    encoded: EncodedResources = field(default_factory=EncodedResources)

    @property
    def resources(self) -> tuple[str, ...]:
        """The composition resource names, in the order they were built."""
        return self.encoded.names


def compose_xr(name: str, namespace: str, raw_spec: object) -> Composed:
    """Admit an XR and build its desired resources (pure; no cache)."""
    workload = Workload(name=name, namespace=namespace)
    verdict = admit(name, namespace, raw_spec)
    if verdict.spec is None:
        return Composed(workload, None, tuple(verdict.errors), tuple(verdict.warnings))
    encoded = EncodedResources.encode(
        (key, struct_bytes(manifest))
        for key, manifest in desired_resources(workload, verdict.spec).items()
    )
    return Composed(workload, verdict.spec, (), tuple(verdict.warnings), encoded)
