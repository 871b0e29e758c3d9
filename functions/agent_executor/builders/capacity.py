"""How much each pod gets and how many pods can run."""

from __future__ import annotations

from functions.agent_executor.spec import AgentExecutorSpec, ResourceAmounts, Size

# (requests, limits) per size, as in DESIGN section 3.
SIZES: dict[Size, tuple[dict[str, str], dict[str, str]]] = {
    "micro": ({"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "1Gi"}),
    "small": ({"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "2Gi"}),
    "medium": ({"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "4Gi"}),
    "large": ({"cpu": "1", "memory": "2Gi"}, {"cpu": "4", "memory": "8Gi"}),
}

# The init container only runs SQL migrations through psql.
MIGRATION_RESOURCES = (
    {"cpu": "50m", "memory": "64Mi"},
    {"cpu": "500m", "memory": "256Mi"},
)


def _overlay(base: dict[str, str], override: ResourceAmounts | None) -> dict[str, str]:
    merged = dict(base)
    if override is not None:
        if override.cpu is not None:
            merged["cpu"] = str(override.cpu)
        if override.memory is not None:
            merged["memory"] = str(override.memory)
    return merged


def container_resources(spec: AgentExecutorSpec) -> dict[str, dict[str, str]]:
    """Requests and limits: the size's row with any explicit override laid over it."""
    requests, limits = SIZES[spec.size]
    if spec.resources is not None:
        requests = _overlay(requests, spec.resources.requests)
        limits = _overlay(limits, spec.resources.limits)
    return {"requests": dict(requests), "limits": dict(limits)}


def replica_ceiling(spec: AgentExecutorSpec) -> int:
    """The most pods this executor can run: maxReplicas, or minReplicas when fixed."""
    scaling = spec.scaling
    return scaling.min_replicas if scaling.mode == "fixed" else scaling.max_replicas
