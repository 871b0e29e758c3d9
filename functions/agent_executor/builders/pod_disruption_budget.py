"""The PodDisruptionBudget that keeps voluntary evictions to one pod at a time."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from functions.agent_executor.builders.capacity import replica_ceiling
from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def wants_pod_disruption_budget(spec: AgentExecutorSpec) -> bool:
    """Explicit setting, else on whenever more than one pod can run."""
    enabled = spec.pod_disruption_budget.enabled
    return replica_ceiling(spec) > 1 if enabled is None else enabled


def build_pod_disruption_budget(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """PDB `<name>`: maxUnavailable 1, so a drain never blocks on a single replica."""
    del spec
    return to_manifest(
        k8s.V1PodDisruptionBudget(
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            metadata=object_meta(workload),
            spec=k8s.V1PodDisruptionBudgetSpec(
                max_unavailable=1,
                selector=k8s.V1LabelSelector(match_labels=workload.selector_labels()),
                # A crash-looping pod must not hold a node drain hostage.
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
        )
    )
