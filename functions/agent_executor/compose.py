"""Choose and build every composed resource of one AgentExecutor (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.agent_executor import names
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
from functions.agent_executor.spec import AgentExecutorSpec

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
