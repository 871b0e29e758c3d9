"""The KEDA ScaledObject that scales the Deployment on JetStream consumer lag."""

from __future__ import annotations

from typing import Any

from functions.agent_executor.builders.serialize import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_scaled_object(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """ScaledObject `<name>-scaler` with a `nats-jetstream` trigger."""
    scaling, nats = spec.scaling, spec.nats
    return custom_resource(
        "keda.sh/v1alpha1",
        "ScaledObject",
        workload,
        name=workload.scaler_name,
        spec={
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": scaling.polling_interval,
            "cooldownPeriod": scaling.cooldown_period,
            "triggers": [
                {
                    "type": "nats-jetstream",
                    # KEDA reads trigger metadata as strings only.
                    "metadata": {
                        "natsServerMonitoringEndpoint": nats.monitoring_endpoint,
                        "account": nats.account,
                        "stream": nats.stream,
                        "consumer": nats.consumer,
                        "lagThreshold": str(scaling.lag_threshold),
                        "activationLagThreshold": str(scaling.activation_lag_threshold),
                        "useHttps": "false",
                    },
                }
            ],
        },
    )
