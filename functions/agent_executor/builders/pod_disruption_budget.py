"""The PodDisruptionBudget that keeps voluntary evictions to one pod at a time."""

from __future__ import annotations

from typing import Any

from functions.agent_executor.builders.capacity import replica_ceiling
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def wants_pod_disruption_budget(spec: AgentExecutorSpec) -> bool:
    """Explicit setting, else on whenever more than one pod can run."""
    enabled = spec.pod_disruption_budget.enabled
    return replica_ceiling(spec) > 1 if enabled is None else enabled


def build_pod_disruption_budget(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """PDB `<name>`: maxUnavailable 1, so a drain never blocks on a single replica."""
    del spec
    return custom_resource(
        "policy/v1",
        "PodDisruptionBudget",
        workload,
        spec={
            "maxUnavailable": 1,
            "selector": {"matchLabels": workload.selector_labels()},
            # A crash-looping pod must not hold a node drain hostage.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    )
