"""Deterministic names, labels and well-known constants of composed resources."""

from __future__ import annotations

from dataclasses import dataclass

from contract.runtime import HTTP_PORT

COMPONENT = "agent-executor"
PART_OF = "agentplane"
CONTAINER = "agent-executor"
INIT_CONTAINER = "run-migrations"

# Composition resource names: the keys of desired/observed resources.
SERVICE_ACCOUNT = "service-account"
DEPLOYMENT = "deployment"
SERVICE = "service"
SCALED_OBJECT = "scaled-object"
POD_DISRUPTION_BUDGET = "pod-disruption-budget"
NETWORK_POLICY = "network-policy"
SERVICE_MONITOR = "service-monitor"
NATS_STREAM = "nats-stream"
NATS_CONSUMER = "nats-consumer"
RETENTION = "retention"
RETENTION_COMPONENT = "agent-executor-retention"

# Every composition resource name: the keys an observed resource of this XR may have.
RESOURCE_NAMES = (
    SERVICE_ACCOUNT,
    DEPLOYMENT,
    SERVICE,
    SCALED_OBJECT,
    POD_DISRUPTION_BUDGET,
    NETWORK_POLICY,
    SERVICE_MONITOR,
    NATS_STREAM,
    NATS_CONSUMER,
    RETENTION,
)


@dataclass(frozen=True)
class Workload:
    """Identity of one AgentExecutor: its name and namespace."""

    name: str
    namespace: str

    @property
    def scaler_name(self) -> str:
        """Name of the KEDA ScaledObject."""
        return f"{self.name}-scaler"

    @property
    def retention_name(self) -> str:
        """Name of the retention CronJob."""
        return f"{self.name}-retention"

    @property
    def endpoint(self) -> str:
        """The in-cluster HTTP endpoint written to the XR status."""
        return f"http://{self.name}.{self.namespace}.svc:{HTTP_PORT}"

    def selector_labels(self) -> dict[str, str]:
        """Labels that select this workload's pods; immutable once created."""
        return {
            "app.kubernetes.io/name": COMPONENT,
            "app.kubernetes.io/instance": self.name,
        }

    def labels(self) -> dict[str, str]:
        """The recommended `app.kubernetes.io/*` labels for every composed resource."""
        return {
            **self.selector_labels(),
            "app.kubernetes.io/component": COMPONENT,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": "crossplane",
        }
