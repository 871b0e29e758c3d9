"""The KEDA ScaledObject that scales the Deployment on JetStream consumer lag.

The trigger reads the consumer's lag from the NATS monitoring endpoint, which takes no
credentials (the client port does): no TriggerAuthentication, nothing secret in the trigger.
"""

from __future__ import annotations

from typing import Any

from contract.nats import tenant_account
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def trigger_account(workload: Workload, spec: AgentExecutorSpec) -> str:
    """The NATS account the stream is in: `nats.account`, else the tenant's own account."""
    if spec.nats.account is not None:
        return spec.nats.account
    return tenant_account(workload.namespace)


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
                        "account": trigger_account(workload, spec),
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
